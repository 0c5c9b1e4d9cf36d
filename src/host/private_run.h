// A container's own /run, so that a missing volume mount point under it (kubelet's
// /var/run/secrets/kubernetes.io/serviceaccount: /var/run links to /run on most nodes) is
// created in the container's mount namespace, never on the node (docs/security.md
// "Mount points").
//
// Inside an overlay group /run is the node's own (bound in, docs/configuration.md). When a
// mount point must be created directly below it, the child replaces its /run by a private
// tmpfs that mirrors the node's: every entry of the node's /run is bound back at the same name
// (directories recursively and as slaves, so later node mounts below them still appear;
// sockets and files bound too; symlinks copied). New top-level names under /run then live
// in that container's tmpfs for its lifetime.
//
// Contract: call only in the child's own mount namespace (after unshare), in a forked child
// of a single-threaded parent. Plain syscalls; returns 0 or an errno and sets *what.
#pragma once

#include <string>

namespace reaper {

// Whether creating `path` (absolute, clean) below `root_fd` would create its first missing
// component directly in /run, following links inside the root as the mount would.
bool CreatesInRun(int root_fd, const std::string& path);

// Replaces the calling process's /run as above.
int PrivatizeRun(const char** what);

}  // namespace reaper
