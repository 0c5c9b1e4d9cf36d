// Process tracking through the cgroup v2 hierarchy, without limits (docs/design.md "Tracking
// every process of a container"): every process of a container lives in one cgroup, so
// Kill(all), Pids and cleanup reach daemons that called setsid. Works on hybrid hosts, where
// the v2 hierarchy is mounted without controllers. Blocking reads of small cgroup files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

// Pure: mount point of the first cgroup2 filesystem in a /proc/self/mountinfo text.
std::optional<std::string> FindCgroup2Mount(std::string_view mountinfo);
// "<cgroup2 mount>/reaper", or nothing if this node has no cgroup2 hierarchy.
std::optional<std::string> DefaultCgroupParent();

class Cgroup {
 public:
  Cgroup() = default;
  // mkdir -p `path`; opens cgroup.procs and the directory for joining. An existing
  // directory is used as it is (fresh() false): it may hold leftovers, or have been killed.
  static Result<Cgroup> Create(const std::string& path);
  // The same for `<root>/<rel>`, creating missing parents one by one and remembering them
  // (a spec's cgroupsPath, whose parents are kubelet's on a real node and nobody's in tests):
  // the owner removes those once they are empty (RemoveEmptyDirs).
  static Result<Cgroup> CreateUnder(const std::string& root, const std::string& rel);
  const std::vector<std::string>& created_parents() const { return created_parents_; }
  // An existing cgroup (the `delete` action), not opened for joining.
  static Cgroup Existing(const std::string& path);

  const std::string& path() const { return path_; }
  bool valid() const { return !path_.empty(); }
  // fd of cgroup.procs (O_WRONLY): a child writes "0" to it to join. Owned by this object.
  int procs_fd() const { return procs_.get(); }
  // fd of the cgroup's directory, for clone3(CLONE_INTO_CGROUP). Owned by this object.
  int dir_fd() const { return dir_.get(); }

  std::vector<pid_t> Pids() const;
  // SIGKILL uses cgroup.kill (atomic, kernel >= 5.14) when present; other signals, and older
  // kernels, signal each member. Members that exit meanwhile are not an error.
  Status Signal(int sig);
  // Created by Create (not found there), and never sent cgroup.kill by this object. Only such
  // a cgroup takes clone3(CLONE_INTO_CGROUP): on a cgroup that was ever killed, kernels such
  // as 6.18 kill the new child at birth (docs/design.md "Tracking").
  bool fresh() const { return fresh_; }
  bool killed() const { return killed_; }
  bool Populated() const;
  // rmdir; fails with EBUSY while populated, OK if already gone.
  Status Remove();

 private:
  std::string path_;
  UniqueFd procs_;
  UniqueFd dir_;
  bool fresh_ = true;
  bool killed_ = false;
  std::vector<std::string> created_parents_;  // outermost first
};

// mkdir of every missing directory from `root` down to `<root>/<rel>`, appending each one
// made to `created` (outermost first). A parent that vanishes meanwhile (another shim removed
// it as it emptied) is made again.
Status MkdirRecorded(const std::string& root, const std::string& rel, std::vector<std::string>* created);
// rmdir of `dirs`, deepest first (duplicates dropped). What could not be removed (still in
// use by another container) stays in `dirs`, to be tried again later.
void RemoveEmptyDirs(std::vector<std::string>* dirs);

// SIGKILLs every member, waits (inotify on cgroup.events, at most `budget`) until the cgroup
// is empty, then removes it. For cleanup by a process that is not the members' parent.
void KillAndRemoveCgroup(const std::string& path, std::chrono::milliseconds budget);


}  // namespace reaper
