#include "shim/shim_args.h"

#include <set>

#include "base/files.h"
#include "base/paths.h"
#include "base/sha256.h"

namespace reaper {
namespace {
bool IsAction(const std::string& a) { return a == "start" || a == "delete" || a == "serve"; }
}  // namespace

Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv) {
  ShimArgs out;
  static const std::set<std::string> kBool = {"debug", "info", "v", "version", "h", "help"};
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-' || a == "--") {
      if (a == "--") ++i;
      if (i < argv.size()) out.action = argv[i];
      break;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (kBool.count(name)) {
      bool on = !has_value || value == "true" || value == "1";
      if (name == "debug") out.debug = on;
      if (name == "info") out.info = on;
      if (name == "v" || name == "version") out.action = "version";
      continue;
    }
    static const std::set<std::string> kKnown = {"namespace", "address", "publish-binary", "id",
                                                  "bundle", "socket-fd", "socket-address"};
    if (!has_value) {
      bool next_is_value = i + 1 < argv.size() && !IsAction(argv[i + 1]) &&
                           !(argv[i + 1].size() > 1 && argv[i + 1][0] == '-');
      if (kKnown.count(name)) {
        if (i + 1 >= argv.size()) return Status(Code::kInvalidArgument, "flag needs an argument: -" + name);
        next_is_value = true;
      }
      if (next_is_value) {
        value = argv[++i];
        has_value = true;
      }
    }
    if (name == "namespace") out.ns = value;
    else if (name == "address") out.address = value;
    else if (name == "publish-binary") out.publish_binary = value;
    else if (name == "id") out.id = value;
    else if (name == "bundle") out.bundle = value;
    else if (name == "socket-address") out.socket_address = value;
    else if (name == "socket-fd") {
      long long fd = -1;
      if (!ParseInt(value, &fd) || fd < 0 || fd > 1 << 20) {
        return Status(Code::kInvalidArgument,
                      "invalid value \"" + value + "\" for flag -socket-fd: want a file descriptor number");
      }
      out.socket_fd = static_cast<int>(fd);
    }
  }
  return out;
}

std::string SocketAddress(std::string_view containerd_address, std::string_view ns,
                          std::string_view group, std::string_view dir) {
  std::string joined = std::string(containerd_address) + "/" + std::string(ns) + "/" + std::string(group);
  return "unix://" + std::string(dir) + "/" + Sha256Hex(CleanPath(joined));
}

std::string SocketPath(std::string_view address) {
  if (address.substr(0, 7) == "unix://") return std::string(address.substr(7));
  return std::string(address);
}

}  // namespace reaper
