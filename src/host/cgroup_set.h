// The v1 controller cgroups of one container on a hybrid node (memory, cpu, cpuacct, pids,
// blkio), beside its cgroup2 tracking cgroup (host/cgroup.h). clone3(CLONE_INTO_CGROUP) only
// reaches the cgroup2 hierarchy, so each new child joins these itself through their `tasks`
// files as its first step: the shim opens them (OpenTasks) and the child, single-threaded,
// writes "0" into each (host/spawn.h). A thread moving itself takes no threadgroup
// lock; a process moved by pid through `cgroup.procs` waits for an RCU grace period (5-15 ms
// measured, docs/design.md "Tracking").
// Blocking opens/rmdirs of cgroupfs entries (microseconds; never waits on a process).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "host/cgroup_path.h"
#include "host/cgroup_stats.h"

namespace reaper {

class ControllerCgroups {
 public:
  ControllerCgroups() = default;
  // mkdir -p <controller mount>/<rel> for every mounted v1 controller of kV1Controllers
  // (a mount shared by several controllers once). Records every directory it created, so
  // Remove takes away exactly those (kubelet's pod cgroups stay kubelet's).
  static Result<ControllerCgroups> Create(const CgroupMounts& mounts, const std::string& rel);

  bool valid() const { return !leaves_.empty(); }
  const V1Dirs& dirs() const { return dirs_; }
  // Every directory Create made (leaves and parents), for the durable record.
  const std::vector<std::string>& created() const { return created_; }
  // The parents among them: the owner removes them once empty (RemoveEmptyDirs), since
  // other containers of the pod may share them.
  std::vector<std::string> created_parents() const;
  // Every leaf's `tasks` file, open for writing (close-on-exec), for a child to join them.
  Result<std::vector<UniqueFd>> OpenTasks() const;
  // rmdir of the leaves. OK once all are gone; otherwise the first error (EBUSY while a
  // member is still exiting): call again later.
  Status Remove();

 private:
  V1Dirs dirs_;
  std::vector<std::string> leaves_;   // distinct leaf directories not yet removed
  std::vector<std::string> all_leaves_;
  std::vector<std::string> created_;  // in creation order (parents before children)
};

// v1: an eventfd that becomes readable when the memory cgroup `memory_dir` hits OOM (and when
// the cgroup is removed), registered through cgroup.event_control on memory.oom_control.
Result<UniqueFd> OpenV1OomEventFd(const std::string& memory_dir);
// Current oom_kill count of a v1 memory cgroup (memory.oom_control) or a v2 cgroup
// (memory.events).
uint64_t ReadOomKills(const std::string& dir, bool v1);

}  // namespace reaper
