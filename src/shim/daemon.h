// The long-lived shim daemon (`serve`): one epoll loop serving the Task API for every
// container of one pod, reaping children as their subreaper (docs/design.md "Process and threads").
#pragma once

#include "shim/shim_args.h"

namespace reaper {

// Runs until the last container is gone and Shutdown arrives, or SIGTERM/SIGINT.
// Returns the process exit code.
int RunDaemon(const ShimArgs& args);

}  // namespace reaper
