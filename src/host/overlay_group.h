// Overlay groups (design.md §3): a mount namespace whose root is an overlay of the host's
// root filesystem (lower = host /, upper/work under the state root), with the host's /proc,
// /sys, /dev and /run bound in, sensitive paths masked, and other host filesystems either
// overlaid too or hidden (node config `host_filesystems`). Pods of one group share its
// writes; the host never sees them.
//
// A group's namespace is created once, by a short-lived forked helper, and kept alive by
// bind-mounting its nsfs file at <state_root>/ns/<key> (a private mount) — no process
// anchors it. Creation is serialised per group with flock on <state_root>/groups/<key>/lock;
// a crash half-way leaves no valid ns file, so the next container simply creates it again.
// Containers join with setns and then unshare their own mount namespace.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "host/node_config.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

struct GroupRef {
  std::string key;  // k8s-<namespace>[.<overlay-name>] | node | containerd-<ns>[+<overlay-name>]
};

// Pure: the group a container belongs to, from its annotations, the node config and the
// containerd namespace. Invalid annotation values are errors (never silently another group).
// Without Kubernetes annotations the group is "<origin>-<ns>" (origin "containerd" for the
// shim, "oci" for reaper-runtime).
Result<GroupRef> ResolveGroup(const NodeConfig& cfg, const std::map<std::string, std::string>& annotations,
                              const std::string& ns, const std::string& origin = "containerd");

// Paths of a group under the state root.
std::string GroupDir(const NodeConfig& cfg, const std::string& key);
std::string GroupNsPath(const NodeConfig& cfg, const std::string& key);

// Returns an fd (O_RDONLY, CLOEXEC) of the group's mount namespace, creating it if needed.
// Blocks for the duration of a creation (a fork and a few mounts).
Result<UniqueFd> EnsureGroup(const NodeConfig& cfg, const GroupRef& group);

// Marks/unmarks a container as a user of a group (<group dir>/users/<name>).
Status AddGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user);
void RemoveGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user);

struct GroupInfo {
  std::string key;
  bool active = false;              // the namespace exists
  std::vector<std::string> users;   // containers registered as using it
};
std::vector<GroupInfo> ListGroups(const NodeConfig& cfg);
// Removes a group nobody uses: unmounts its namespace and deletes its upper layer.
// FailedPrecondition while containers use it (unless `force`).
Status RemoveGroup(const NodeConfig& cfg, const std::string& key, bool force);

}  // namespace reaper
