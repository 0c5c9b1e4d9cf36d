// Lifecycle: every container and process of this shim, from Create to Delete, apart from the
// wire. It spawns (held init, exec), watches each child's status pipe, records exits, drains
// output, tears down (cgroup, overlay group registration, durable record) and reports
// progress through a LifecycleObserver. It holds no RPC state: the task service
// (shim/task_service.h) keeps the pending replies and builds every message and event.
//
// Threading: loop thread only; nothing here blocks on a child (exits arrive through
// OnChildExit from the daemon's SIGCHLD handler). Observer callbacks never run inside the
// call that started the step they report, except where a method says so.
// Ownership: the lifecycle owns every Container (and so every Process, its fds and its I/O);
// pointers it hands out stay valid until the next loop turn after the container is dropped.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/reactor.h"
#include "base/status.h"
#include "host/cgroup_path.h"
#include "host/cgroup_stats.h"
#include "host/mount_plan.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "shim/container.h"
#include "shim/group_gc.h"

namespace reaper {

struct LifecycleOptions {
  std::string ns;                            // containerd namespace of this shim
  std::optional<std::string> cgroup_parent;  // e.g. /sys/fs/cgroup/unified/reaper; none: sessions
  std::string self_exe = "/proc/self/exe";
  Result<NodeConfig> config = NodeConfig{};  // an error here fails every Create with it
  std::chrono::milliseconds io_grace{2000};  // output grace after a process exits
};

// Progress of processes, reported to the task service.
class LifecycleObserver {
 public:
  virtual ~LifecycleObserver() = default;
  // Init is set up and held before execve: Create can be answered.
  virtual void OnCreated(const Container& c) = 0;
  // Init died during setup; the container is dropped right after (NotFound from then on).
  virtual void OnCreateFailed(const std::string& id, const Status& error) = 0;
  // execve succeeded (init after Start, or an exec).
  virtual void OnStarted(const Process& p) = 0;
  // execve failed; the process exits (127) and is reported through OnExited afterwards.
  virtual void OnStartFailed(const Process& p, const Status& error) = 0;
  // The exit is recorded (exit_status, exited_at). Output may still be draining.
  virtual void OnExited(const Process& p) = 0;
  // The process is deleted: nothing more will be reported for it.
  virtual void OnForgotten(const Process& p) = 0;
  // The kernel OOM-killed a process of the container (its memory limit was hit).
  virtual void OnOom(const Container&) {}
};

// What Delete reports of a process that is gone.
struct ExitInfo {
  pid_t pid = 0;
  uint32_t exit_status = 0;
  Timestamp exited_at;
};

class Lifecycle {
 public:
  Lifecycle(Reactor& reactor, LifecycleObserver& observer, LifecycleOptions opts);
  ~Lifecycle();
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Node policy: allowed Kubernetes namespaces, host network. PermissionDenied with a reason.
  Status CheckPolicy(const Spec& spec) const;
  // Sets up container `id` from its spec (host protection, cgroup, I/O) and forks its init,
  // held before execve. On error nothing is left and no callback follows; on success
  // OnCreated or OnCreateFailed follows. When the container's overlay group must first be
  // created (or another process holds its lock), the rest of the setup continues on the
  // loop once it exists; the container is known (state creating, pid 0) meanwhile.
  Status Create(const std::string& id, const std::string& bundle, Spec spec, const IoPaths& paths);
  // Releases a created init or spawns a registered exec. On success OnStarted or
  // OnStartFailed follows. Preconditions (states) are the caller's.
  Status Start(Container& c, Process& p);
  // Registers an exec (not started): opens its I/O.
  Status AddExec(Container& c, const std::string& exec_id, ProcessSpec spec, const IoPaths& paths);
  // Removes a stopped or never-started exec (OnExited first if it never ran, then
  // OnForgotten, both before this returns) and returns what it reported.
  ExitInfo DeleteExec(Container& c, Process& p);
  // Kills everything of the container, lets the last output drain (at most the I/O grace),
  // removes it (OnForgotten for each process) and then calls `done` with init's exit.
  void Delete(Container& c, std::function<void(const ExitInfo&)> done);
  // `all`: every process of the container (cgroup, or session fallback).
  Status Kill(Container& c, Process& p, int sig, bool all);
  // SIGSTOP / SIGCONT to every process; the caller checks the states.
  void SetPaused(Container& c, bool pause);
  // Every live process of the container.
  std::vector<pid_t> Pids(const Container& c) const;
  // Usage of the container's cgroups; `v1` says which hierarchy they came from (hybrid node:
  // v1 controllers; pure v2: the container's cgroup2 directory). NotFound without a cgroup.
  Result<CgroupStats> Stats(const Container& c, bool* v1) const;
  // Applies new limits (Update) when the node enforces resources; otherwise accepted as is.
  Status UpdateResources(Container& c, const Resources& r);

  Container* Find(const std::string& id);
  Result<Process*> FindProcess(const std::string& id, const std::string& exec_id);
  bool empty() const { return containers_.empty(); }

  // Called for every child reaped by the SIGCHLD handler (workloads and adopted orphans).
  void OnChildExit(pid_t pid, int wait_status);
  // After a batch of reaps: retries cgroups waiting to become empty.
  void AfterReap();
  // Shim exit: kill everything still running.
  void KillEverything();

 private:
  // `mnt_ns`: namespace to join (-1: stay); with `mounts` (init only) the child unshares its
  // own namespace from it and attaches them.
  Status SpawnProcess(Container& c, Process& p, bool hold, int mnt_ns,
                      const std::vector<PreparedMount>* mounts);
  // Resolves the overlay group and clones the volume sources (the group is opened later).
  Result<std::unique_ptr<PendingSetup>> PrepareProtection(const Spec& spec);
  // Opens (or starts building, or schedules a retry for) the group of a pending setup, and
  // finishes the Create once it is open. `sync`: called from Create itself, so errors are
  // returned rather than reported through OnCreateFailed.
  // The spec's seccomp profile compiled, its masks kept, or neither with full_privileges.
  Status ApplyPrivileges(Container& c, Process& init, const Spec& spec);
  Status ContinueSetup(Container& c, bool sync);
  void OnGroupBuildReadable(const std::string& id);
  // The part of Create after protection: cgroup, I/O, the held init.
  Status FinishCreate(Container& c, UniqueFd group_ns, const std::vector<PreparedMount>* mounts);
  // The container's cgroups: tracking (cgroup2), v1 controllers on hybrid nodes, limits when
  // enforced, the OOM watch. Without a cgroup2 hierarchy, nothing (session tracking).
  Status SetUpCgroups(Container& c);
  void WatchOom(Container& c);
  void StopOomWatch(Container& c);
  void ForgetParents(const std::vector<std::string>& dirs);
  // Ends a Create that failed: returned (sync) or reported, and the container dropped.
  Status FailCreate(const std::string& id, const Status& st, bool sync);
  void CancelSetup(Container& c);
  void WatchStatus(Process& p);
  void OnStatusReadable(Process& p);
  void ConsumeStatus(Process& p, bool eof);
  void MarkExited(Process& p, uint32_t exit_status);
  void StartIoGrace(Process& p);
  void SignalAll(Container& c, int sig);
  // Stops watching the process (status pipe, timers, pid index), closes its I/O, reports it.
  void ForgetProcess(Process& p);
  void FinishDelete(const std::string& id, const std::function<void(const ExitInfo&)>& done);
  // Removes the container now (unknown at once), kills what is left, frees it on the next
  // loop turn so references held by the caller stay valid.
  void DropContainer(const std::string& id);
  void WriteRecord(const Container& c);

  Reactor& reactor_;
  LifecycleObserver& observer_;
  LifecycleOptions opts_;
  Result<NodeConfig>& config_ = opts_.config;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::unordered_map<pid_t, Process*> by_pid_;
  std::vector<Cgroup> cgroups_to_remove_;
  std::unique_ptr<GroupCollector> groups_gc_;  // with a valid node config
  bool groups_scanned_ = false;                // at the first Create
  std::vector<ControllerCgroups> v1_to_remove_;
  // Parent cgroups this shim created (a spec's cgroupsPath): removed once no container of
  // the pod is below them.
  std::vector<std::string> parents_to_remove_;
  CgroupMounts mounts_;
};

}  // namespace reaper
