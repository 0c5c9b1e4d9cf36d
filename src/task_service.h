// TaskService: containerd.task.v2.Task for host processes (protocol.md §3).
// Owns every container and process of this shim. Handlers reply at once or keep the
// Responder and reply when the kernel reports progress (child ready, execve done, exit,
// output drained), so nothing blocks the loop. Loop thread only.
//
// Files: task_rpc.cc (the RPC handlers), task_lifecycle.cc (spawning, exits, cleanup).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "container.h"
#include "event_publisher.h"
#include "mount_plan.h"
#include "node_config.h"
#include "reactor.h"
#include "ttrpc_server.h"

namespace reaper {

struct TaskServiceOptions {
  std::string ns;
  std::optional<std::string> cgroup_parent;  // e.g. /sys/fs/cgroup/unified/reaper; none: sessions
  std::string self_exe = "/proc/self/exe";
  Result<NodeConfig> config = NodeConfig{};  // an error here fails every Create with it
  std::chrono::milliseconds io_grace{2000};  // output grace after a process exits
  std::function<void()> on_empty;            // Shutdown with no container left
};

class TaskService {
 public:
  TaskService(Reactor& reactor, EventPublisher& events, TaskServiceOptions opts);
  ~TaskService();
  void RegisterWith(ttrpc::Server& server);
  // Called for every child reaped by the SIGCHLD handler (workloads and adopted orphans).
  void OnChildExit(pid_t pid, int wait_status);
  // After a batch of reaps: retries cgroups waiting to become empty.
  void AfterReap();
  bool empty() const { return containers_.empty(); }
  // Shim exit: kill everything still running (used on SIGTERM with no client).
  void KillEverything();

 private:
  // ---- RPCs (task_rpc.cc) ----
  void Create(const std::string& payload, ttrpc::Responder r);
  void Start(const std::string& payload, ttrpc::Responder r);
  void Delete(const std::string& payload, ttrpc::Responder r);
  void Exec(const std::string& payload, ttrpc::Responder r);
  void State(const std::string& payload, ttrpc::Responder r);
  void Wait(const std::string& payload, ttrpc::Responder r);
  void Kill(const std::string& payload, ttrpc::Responder r);
  void Pids(const std::string& payload, ttrpc::Responder r);
  void CloseIO(const std::string& payload, ttrpc::Responder r);
  void ResizePty(const std::string& payload, ttrpc::Responder r);
  void Update(const std::string& payload, ttrpc::Responder r);
  void PauseResume(const std::string& payload, ttrpc::Responder r, bool pause);
  void Connect(const std::string& payload, ttrpc::Responder r);
  void Shutdown(const std::string& payload, ttrpc::Responder r);

  // ---- lifecycle (task_lifecycle.cc) ----
  // `mnt_ns`: namespace to join (-1: stay); with `mounts` (init only) the child unshares its
  // own namespace from it and attaches them.
  Status SpawnProcess(Container& c, Process& p, bool hold, int mnt_ns,
                      const std::vector<PreparedMount>* mounts);
  // Resolves and (if needed) creates the overlay group, registers the container in it, and
  // clones the volume sources. Sets *group_ns; returns the mounts to attach.
  Result<std::vector<PreparedMount>> PrepareProtection(Container& c, const Spec& spec, UniqueFd* group_ns);
  void WatchStatus(Process& p);
  void OnStatusReadable(Process& p);
  void ConsumeStatus(Process& p, bool eof);
  void MarkExited(Process& p, uint32_t exit_status);
  void StartIoGrace(Process& p);
  void SignalAll(Container& c, int sig);
  std::vector<pid_t> AllPids(const Container& c) const;
  // Stops watching the process (status pipe, timers, pid index) and closes its I/O.
  void ForgetProcess(Process& p);
  void FinishDelete(const std::string& id, ttrpc::Responder r);
  // Removes the container now (unknown to RPCs at once), kills what is left, frees it on the
  // next loop turn so references held by the caller stay valid.
  void DropContainer(const std::string& id);
  void WriteRecord(const Container& c);
  // Node policy: allowed Kubernetes namespaces, host network. PermissionDenied with a reason.
  Status CheckPolicy(const Spec& spec) const;
  void Publish(const std::string& topic, const std::string& type, const std::string& value);

  Container* FindContainer(const std::string& id);
  Result<Process*> FindProcess(const std::string& id, const std::string& exec_id);

  Reactor& reactor_;
  EventPublisher& events_;
  TaskServiceOptions opts_;
  Result<NodeConfig>& config_ = opts_.config;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::unordered_map<pid_t, Process*> by_pid_;
  std::vector<Cgroup> cgroups_to_remove_;
};

}  // namespace reaper
