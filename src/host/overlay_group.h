// Overlay groups (docs/design.md "Host protection"): a mount namespace whose root is an overlay of the host's
// root filesystem (lower = host /, upper/work under the state root), with the host's /proc,
// /sys, /dev and /run bound in, sensitive paths masked, and other host filesystems either
// overlaid too or hidden (node config `host_filesystems`). Pods of one group share its
// writes; the host never sees them.
//
// A group's namespace is created once, by a short-lived forked helper, and kept alive by
// bind-mounting its nsfs file at <state_root>/ns/<key> (a private mount) — no process
// anchors it. Creation and removal are serialised per group with flock on
// <state_root>/groups/<key>/lock, held only for a fork and a few mounts (creation) or a
// rename (removal); a crash half-way leaves no valid ns file, so the next container simply
// creates it again. Containers join with setns and then unshare their own mount namespace.
//
// The shim never blocks on any of it: TryOpenGroup takes the lock with LOCK_NB and hands back
// a GroupBuild whose helper pipe the caller watches on its event loop. EnsureGroup is the
// blocking form for command-line tools.
//
// Node options: `overlay_size` puts the writable layers on a size-limited tmpfs mounted over
// the group directory inside the helper's namespace only (freed with the namespace);
// `proc_hidepid` gives the group a procfs of its own with hidepid=invisible. Idle groups are
// removed by DetachGroup (+ RemoveTree) and ReleaseNsDirIfUnused; see shim/group_gc.h.
#pragma once

#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/child.h"
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

// A group namespace being built: owns the group's lock and the helper (killed if the build is
// dropped unfinished). Loop-friendly: call Finish() whenever fd() is readable.
class GroupBuild {
 public:
  GroupBuild(std::string key, std::string ns_path, UniqueFd lock, OwnedChild helper, UniqueFd report_r,
             UniqueFd go_w);
  ~GroupBuild();
  // The helper's report pipe (non-blocking).
  int fd() const { return report_r_.get(); }
  // Reads what the helper reported; once it is ready, binds its namespace and returns an fd
  // of it. Unavailable while the report is incomplete; any other error is final.
  Result<UniqueFd> Finish();
  // `user_file` (if not empty) is created once the namespace is bound, under the lock;
  // `ns_dir_lock` (shared) keeps <state_root>/ns mounted until then.
  void Enrol(UniqueFd ns_dir_lock, std::string user_file) {
    ns_dir_lock_ = std::move(ns_dir_lock);
    user_file_ = std::move(user_file);
  }

 private:
  std::string key_, ns_path_;
  UniqueFd lock_;
  OwnedChild helper_;
  UniqueFd report_r_, go_w_;
  UniqueFd ns_dir_lock_;
  std::string user_file_;
  std::string msg_;
};

// One non-blocking attempt: `ns` if the group exists; else `build` if this caller took the
// lock and forked the helper; else neither (another process holds the lock: retry later).
struct GroupAttempt {
  UniqueFd ns;
  std::unique_ptr<GroupBuild> build;
};
// `reap`: how the helper is reaped (the shim's SIGCHLD handler, or the GroupBuild).
// `user` (if not empty) is registered as a user of the group (AddGroupUser) in the same step
// as the namespace is found or bound, under the group's lock (shared when it exists), so a
// concurrent removal either sees the user or happens entirely before.
Result<GroupAttempt> TryOpenGroup(const NodeConfig& cfg, const GroupRef& group, OwnedChild::Reap reap,
                                  const std::string& user = "");

// Returns an fd (O_RDONLY, CLOEXEC) of the group's mount namespace, creating it if needed.
// Blocks (waits for the lock and for the helper): command-line tools only.
Result<UniqueFd> EnsureGroup(const NodeConfig& cfg, const GroupRef& group, const std::string& user = "");

// Marks/unmarks a container as a user of a group (<group dir>/users/<name>).
Status AddGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user);
void RemoveGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user);

struct GroupInfo {
  std::string key;
  bool active = false;              // the namespace exists
  std::vector<std::string> users;   // containers registered as using it
  time_t idle_since = 0;            // when its users last changed (meaningful when none are left)
};
std::vector<GroupInfo> ListGroups(const NodeConfig& cfg);
// Removes a group nobody uses: unmounts its namespace and deletes its upper layer (moved
// aside under the lock, then removed without it, never across a mount or a symlink), then
// unmounts <state_root>/ns if no group is left (ReleaseNsDirIfUnused).
// FailedPrecondition while containers use it (unless `force`). Blocking: a CLI's work.
// With `force`, running containers keep the detached namespace: see docs/configuration.md.
Status RemoveGroup(const NodeConfig& cfg, const std::string& key, bool force);
// The first half of RemoveGroup: unmounts the namespace anchor and renames the group's
// directory into <state_root>/trash, returning that path (for RemoveTree). With !block,
// Unavailable if another process holds the group's lock (for the shim's event loop).
Result<std::string> DetachGroup(const NodeConfig& cfg, const std::string& key, bool force, bool block);
// Unmounts (and removes) <state_root>/ns when no group directory is left. A creation in
// progress (it holds <state_root>/ns.lock shared) keeps it; with !block that is not waited for.
Status ReleaseNsDirIfUnused(const NodeConfig& cfg, bool block);

}  // namespace reaper
