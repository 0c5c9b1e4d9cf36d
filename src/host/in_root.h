// Paths a workload can influence (volume mount points, masks), resolved inside the calling
// process's root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): an absolute symlink
// restarts at the container's "/", ".." stops there, and a /proc magic link (/proc/*/root,
// /proc/*/cwd, /proc/self/fd/*) is refused with ELOOP (docs/security.md "Mount points").
//
// Contract: plain syscalls plus std::string; meant for a forked child of a single-threaded
// parent (the heap is consistent there). Never blocks on anything but the filesystem.
#pragma once

#include <cstdint>
#include <string>

namespace reaper {

// An fd (flags | O_CLOEXEC, e.g. O_PATH) of the clean absolute `path` below `root_fd`, or
// -errno (-ELOOP for a magic link or a symlink loop).
int OpenInRoot(int root_fd, const std::string& path, uint64_t flags);

// An O_PATH fd of the mount point `path` below `root_fd`, creating what is missing only
// inside that root: directories 0755, and the last component as an empty 0644 file when
// !is_dir. Every step is resolved again from the root, so a link swapped in meanwhile still
// cannot lead out of it. Returns -errno on failure.
int MakeMountPoint(int root_fd, const std::string& path, bool is_dir);

}  // namespace reaper
