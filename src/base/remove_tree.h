// RemoveTree: rm -rf without its dangers. Blocking (walks the whole tree): for command-line
// tools and background work, never on the shim's event loop.
#pragma once

#include <string>

#include "base/status.h"

namespace reaper {

// Removes `path` and everything below it. Never follows a symbolic link (a link is removed,
// not its target) and never crosses into another mount: a mount point below `path` is left
// alone and the removal fails with FailedPrecondition naming it (nothing outside `path` is
// ever touched). Directories nested deeper than a fixed bound are moved up and removed from
// there, so any depth is removed with a bounded number of open fds. A missing `path` is OK.
Status RemoveTree(const std::string& path);

}  // namespace reaper
