// The shim binary's actions as containerd runs them (protocol.md §2):
//   start  — find or create the group's daemon, print its address;
//   delete — clean up after one container from its durable record, print DeleteResponse;
//   serve  — (internal) the daemon itself, see shim_daemon.h.
#pragma once

#include "shim/shim_args.h"

namespace reaper {

// Each returns the process exit code. Output goes to stdout exactly as containerd expects.
int RunStart(const ShimArgs& args);
int RunDelete(const ShimArgs& args);

}  // namespace reaper
