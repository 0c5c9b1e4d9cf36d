// Which of a spec's mounts a host-process container applies, as pure code, and the two halves
// of applying them: the shim clones each source from the host mount namespace (where kubelet
// mounted Secrets and projected volumes) with open_tree, the child attaches the clones in its
// own mount namespace with move_mount (docs/design.md "Host protection").
#pragma once

#include <string>
#include <vector>

#include "host/node_config.h"
#include "host/oci_spec.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

enum class Propagation { kPrivate, kSlave, kShared, kUnbindable };

struct BindPlan {
  std::string source;
  std::string destination;
  bool read_only = false;     // "ro": the volume's own mount (as runc and Kubernetes' readOnly)
  bool recursive_ro = false;  // "rro": every mount below it too (recursiveReadOnly)
  bool recursive = true;      // "rbind" (CRI's); plain "bind" leaves submounts out
  Propagation propagation = Propagation::kPrivate;  // [r]private | [r]slave | [r]shared | [r]unbindable
};

// Bind mounts only (type "bind" or a bind/rbind option); never under /proc, /sys or /dev;
// never /etc/hosts or /etc/hostname (the pod sees the node's); /etc/resolv.conf only in
// kubernetes DNS mode. Sources and destinations must be clean absolute paths.
Result<std::vector<BindPlan>> PlanBinds(const std::vector<MountSpec>& mounts, DnsMode dns);

// A cloned, detached mount tree ready to be attached at `destination`.
struct PreparedMount {
  UniqueFd tree;
  std::string destination;
  bool is_dir = true;
};

// Parent side (host mount namespace): open_tree(OPEN_TREE_CLONE[|AT_RECURSIVE]) of each
// source, read-only where asked (only the top mount for "ro", all for "rro"), with the asked
// propagation applied to the clone (a clone of a shared mount is otherwise a peer of it, so
// a mount made in the pod would appear on the node). A missing source is an error naming it.
Result<std::vector<PreparedMount>> PrepareMounts(const std::vector<BindPlan>& plan);

// Child side, inside the container's mount namespace: resolves each destination inside the
// container's root (host/in_root.h: symlinks stay in the view, magic links are refused),
// creates missing mount points there, then attaches each tree by fd. `tree_fds[i]` is the fd of mounts[i].tree in the calling process
// (a spawned child renumbers its fds). Fine in a forked child of a single-threaded parent.
// On failure returns the errno and sets *what to a static description.
int AttachMounts(const std::vector<PreparedMount>& mounts, const int* tree_fds, const char** what,
                 const char** path);

}  // namespace reaper
