// Command line of containerd-shim-reaper-v2 in Go `flag` syntax (docs/protocol.md §2.2), and the
// socket address containerd expects (§2.4.3). Pure code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reaper {

struct ShimArgs {
  std::string ns;              // -namespace
  std::string address;         // -address: containerd's gRPC socket path
  std::string publish_binary;  // -publish-binary
  std::string id;              // -id
  std::string bundle;          // -bundle
  bool debug = false;          // -debug
  bool info = false;           // -info: print RuntimeInfo and exit (containerd 2.2+)
  int socket_fd = -1;          // -socket-fd (internal: the daemon's inherited listener)
  std::string socket_address;  // -socket-address (internal: unix://... of that listener)
  std::string action;          // start | delete | serve | "version" (-v)
};

// Accepts -flag value, -flag=value and --flag; unknown flags are ignored (a following
// argument that is not an action or a flag is taken as their value). A value that does not
// fit its flag (e.g. `-socket-fd 3abc`) is an error naming the flag.
Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv);

// Where shim sockets live unless containerd 2.3 hands over BootstrapParams.socket_dir
// (docs/protocol.md §2.4.3).
inline constexpr std::string_view kSocketDir = "/run/containerd/s";

// "unix://<dir>/<sha256(Clean(address/ns/group))>", as containerd's shim package computes it.
std::string SocketAddress(std::string_view containerd_address, std::string_view ns,
                          std::string_view group, std::string_view dir = kSocketDir);

// Strips "unix://"; returns the filesystem path of an address.
std::string SocketPath(std::string_view address);

}  // namespace reaper
