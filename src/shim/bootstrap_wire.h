// The bytes containerd hands the shim binary and takes back, outside ttrpc
// (docs/protocol.md §2.4, §2.9): what `start` finds on stdin (nothing, a runtime-options Any, or a
// containerd 2.3 BootstrapParams), the socket directory 2.3 hands over, and the RuntimeInfo
// `-info` prints. Pure code, except ReadStdin (one fd, bounded in size and time).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reaper {

// containerd's Go shim reads at most this much stdin (docs/protocol.md §2.4.1).
inline constexpr size_t kMaxStdinBytes = 10u << 20;
// containerd writes stdin from memory as soon as the binary runs; a stdin that has not
// reached EOF by then is not containerd's (a test's terminal-less pipe, say) and is ignored.
inline constexpr std::chrono::milliseconds kStdinDeadline{5000};

struct StdinBytes {
  std::string data;
  bool oversized = false;  // more than the limit: `data` holds the first `limit` bytes
  bool timed_out = false;  // no EOF before the deadline
  bool terminal = false;   // stdin is a terminal: not read at all
  std::string error;       // read(2) failed (data holds what came before)
};

// Reads `fd` to EOF, at most `limit` bytes and until `deadline`; never fails (problems are
// reported in the result). A closed fd reads as empty. Blocks the calling thread.
StdinBytes ReadStdin(int fd, size_t limit = kMaxStdinBytes, std::chrono::milliseconds deadline = kStdinDeadline);

enum class StdinKind {
  kEmpty,      // 1.6–2.2 without an [options] table
  kOptions,    // 2.0–2.2 with an [options] table: a google.protobuf.Any
  kBootstrap,  // 2.3: containerd.runtime.bootstrap.v1.BootstrapParams
  kUnknown,    // none of these (garbage, oversized, timed out): ignored
};
const char* StdinKindName(StdinKind k);

// LogLevel of BootstrapParams: DEBUG is -4, TRACE -8; at or below DEBUG the daemon runs
// with -debug.
inline constexpr int32_t kBootstrapLogLevelDebug = -4;

struct StartInput {
  StdinKind kind = StdinKind::kEmpty;
  std::string why;                        // kUnknown: what was wrong
  std::vector<std::string> option_types;  // type URLs of the runtime options (any kind)
  // kBootstrap only:
  std::string instance_id, ns, containerd_version, ttrpc_address, grpc_address, containerd_binary;
  int32_t log_level = 0;
  std::optional<std::string> socket_dir;  // as sent (validate with ValidateSocketDir)

  bool debug() const { return kind == StdinKind::kBootstrap && log_level <= kBootstrapLogLevelDebug; }
};

// Tells the stdin shapes apart (docs/protocol.md §2.4.2). An options Any also decodes as a
// valid BootstrapParams (instance_id = type URL, namespace = value), so the bytes are
// BootstrapParams only if they decode as such AND either instance_id/namespace equal the
// -id/-namespace flags or containerd_version/socket_dir is present; otherwise they are an
// options Any if they decode as one with a type URL; otherwise kUnknown.
StartInput ClassifyStartInput(const StdinBytes& in, std::string_view id, std::string_view ns);

// The socket directory of BootstrapParams.socket_dir, cleaned: absolute, not "/", no NUL,
// at most kMaxSocketDirLen characters after cleaning (containerd's own rule,
// docs/protocol.md §2.4.3). The error says which rule failed.
inline constexpr size_t kMaxSocketDirLen = 42;
Result<std::string> ValidateSocketDir(std::string_view dir);

// True for a 64-character lowercase hex name (a socket name `start` creates).
bool IsSocketName(std::string_view name);

// The serialized containerd.types.RuntimeInfo `-info` prints (docs/protocol.md §2.9).
inline constexpr std::string_view kRuntimeName = "io.containerd.reaper.v2";
inline constexpr std::string_view kFeaturesTypeUrl =
    "types.containerd.io/opencontainers/runtime-spec/1/features/Features";
std::string EncodeRuntimeInfo(std::string_view version, std::string_view revision);

}  // namespace reaper
