// The spec's linux.maskedPaths and linux.readonlyPaths, and root.readonly, applied by a
// spawned child inside its own mount namespace after its volumes are attached
// (docs/design.md "Privileges"). The node's own masks (node_config masked_paths) are the
// overlay group's and stay in force.
#pragma once

#include <string>
#include <vector>

namespace reaper {

struct PathMasks {
  std::vector<std::string> masked;    // linux.maskedPaths
  std::vector<std::string> readonly;  // linux.readonlyPaths
  bool root_readonly = false;         // root.readonly: the root mount only (volumes keep their mode)
  bool empty() const { return masked.empty() && readonly.empty() && !root_readonly; }
};

// Child side (a forked child of a single-threaded parent, in its own mount namespace, with
// CAP_SYS_ADMIN). Each path is resolved from "/" with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS), so a symlink cannot lead a mask out of the container's view and a
// /proc/<pid>/root-style link is refused; a missing path is skipped (as runc does).
// A masked directory gets an empty read-only tmpfs, a masked file a read-only bind of
// /dev/null; a read-only path is bound on itself (recursively) and made read-only; then the
// root mount is made read-only if asked. Returns 0 or the errno, with *what and *path set.
int ApplyPathMasks(const PathMasks& m, const char** what, const char** path);

}  // namespace reaper
