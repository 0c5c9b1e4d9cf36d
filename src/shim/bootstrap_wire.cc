#include "shim/bootstrap_wire.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/paths.h"
#include "bootstrap.pb.h"
#include "host/features.h"
#include "introspection.pb.h"

namespace reaper {

StdinBytes ReadStdin(int fd, size_t limit, std::chrono::milliseconds deadline) {
  StdinBytes out;
  if (isatty(fd)) {
    out.terminal = true;
    return out;
  }
  const auto end = std::chrono::steady_clock::now() + deadline;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      return out;
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      out.error = std::string("poll stdin: ") + strerror(errno);
      return out;
    }
    if (r == 0) continue;                   // the deadline check above ends the loop
    if (p.revents & POLLNVAL) return out;   // no stdin at all: as empty
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      out.error = std::string("read stdin: ") + strerror(errno);
      return out;
    }
    if (n == 0) return out;  // EOF
    size_t room = limit - out.data.size();
    if (static_cast<size_t>(n) > room) {
      out.data.append(buf, room);
      out.oversized = true;  // stop here: containerd ignores EPIPE on the rest
      return out;
    }
    out.data.append(buf, static_cast<size_t>(n));
  }
}

const char* StdinKindName(StdinKind k) {
  switch (k) {
    case StdinKind::kEmpty: return "empty";
    case StdinKind::kOptions: return "runtime options";
    case StdinKind::kBootstrap: return "BootstrapParams";
    case StdinKind::kUnknown: return "unknown";
  }
  return "?";
}

StartInput ClassifyStartInput(const StdinBytes& in, std::string_view id, std::string_view ns) {
  StartInput out;
  if (in.terminal || (in.data.empty() && in.error.empty() && !in.timed_out)) return out;
  out.kind = StdinKind::kUnknown;
  if (in.oversized) {
    out.why = "stdin is larger than " + std::to_string(kMaxStdinBytes) + " bytes";
    return out;
  }
  if (in.timed_out) {
    out.why = "stdin did not reach EOF within " + std::to_string(kStdinDeadline.count()) + " ms";
    return out;
  }
  if (!in.error.empty()) {
    out.why = in.error;
    return out;
  }
  containerd::runtime::bootstrap::v1::BootstrapParams bp;
  if (bp.ParseFromString(in.data)) {
    bool ids_match = bp.instance_id() == id && bp.namespace_() == ns;
    bool from_23 = !bp.containerd_version().empty() || bp.has_socket_dir();
    if (ids_match || from_23) {
      out.kind = StdinKind::kBootstrap;
      out.instance_id = bp.instance_id();
      out.ns = bp.namespace_();
      out.log_level = bp.log_level();
      out.containerd_version = bp.containerd_version();
      out.ttrpc_address = bp.containerd_ttrpc_address();
      out.grpc_address = bp.containerd_grpc_address();
      out.containerd_binary = bp.containerd_binary();
      if (bp.has_socket_dir()) out.socket_dir = bp.socket_dir();
      for (const auto& ext : bp.extensions()) out.option_types.push_back(ext.value().type_url());
      return out;
    }
  }
  containerd::runtime::bootstrap::v1::OpaqueAny any;
  if (any.ParseFromString(in.data) && !any.type_url().empty()) {
    out.kind = StdinKind::kOptions;
    out.option_types.push_back(any.type_url());
    return out;
  }
  out.why = "stdin is neither BootstrapParams nor a runtime-options Any (" + std::to_string(in.data.size()) +
            " bytes)";
  return out;
}

Result<std::string> ValidateSocketDir(std::string_view dir) {
  if (dir.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "socket_dir contains a NUL byte");
  }
  if (dir.empty() || dir[0] != '/') {
    return Status(Code::kInvalidArgument, "socket_dir must be an absolute path: " + std::string(dir));
  }
  std::string clean = CleanPath(dir);
  if (clean == "/") return Status(Code::kInvalidArgument, "socket_dir must not be /");
  if (clean.size() > kMaxSocketDirLen) {
    return Status(Code::kInvalidArgument, "socket_dir longer than " + std::to_string(kMaxSocketDirLen) +
                                              " characters: " + clean);
  }
  return clean;
}

bool IsSocketName(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string EncodeRuntimeInfo(std::string_view version, std::string_view revision) {
  containerd::types::RuntimeInfo info;
  info.set_name(std::string(kRuntimeName));
  info.mutable_version()->set_version(std::string(version));
  info.mutable_version()->set_revision(std::string(revision));
  info.mutable_features()->set_type_url(std::string(kFeaturesTypeUrl));
  info.mutable_features()->set_value(FeaturesJson());
  return info.SerializeAsString();
}

}  // namespace reaper
