// The shim binary's actions as containerd runs them (docs/protocol.md §2):
//   start  — read stdin (nothing, options Any or 2.3 BootstrapParams), find or create the
//            group's daemon in the socket directory, print its plain address;
//   delete — clean up after one container from its durable record, print DeleteResponse;
//   -info  — print RuntimeInfo (containerd 2.2+ runs it before every task Create);
//   serve  — (internal) the daemon itself, see daemon.h.
// Each runs single-threaded in a short-lived process and may block (stdin is read with a
// deadline, kStdinDeadline in bootstrap_wire.h).
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "shim/shim_args.h"

namespace reaper {

// Each returns the process exit code. Output goes to stdout exactly as containerd expects;
// on success nothing else is written to stdout or stderr.
int RunStart(const ShimArgs& args);
int RunDelete(const ShimArgs& args);
// Needs no flags, no environment and no stdin; reads stdin to EOF if there is one.
int RunInfo();

// A listening unix socket at `path` (a path socket, never abstract), mode 0600. The error of a
// taken name carries EADDRINUSE (Status::sys_errno) and leaves the name alone.
Result<UniqueFd> ListenUnix(const std::string& path);
// True if something accepts on the socket `path`. Non-blocking: a listener whose backlog is
// full is alive too, and a stuck daemon never stalls the caller.
bool CanConnect(const std::string& path);
// The current directory (the bundle, for `start` and `delete`), or "." if it cannot be read.
std::string Cwd();

}  // namespace reaper
