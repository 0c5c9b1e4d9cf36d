// TaskService: containerd.task.v2.Task over ttrpc (docs/protocol.md §3). It decodes every
// request, checks what the wire promises (ids, states, codes), asks the Lifecycle to act, and
// is the one place that builds the Task API's replies and events (task_service.cc). Replies
// that wait for the kernel (Create: child ready; Start: execve; Wait: exit; Delete: output
// drained) keep their Responder here, keyed by process, until the lifecycle reports.
// Loop thread only; no handler blocks.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/reactor.h"
#include "shim/event_publisher.h"
#include "shim/lifecycle.h"
#include "ttrpc/server.h"

namespace reaper {

struct TaskServiceOptions : LifecycleOptions {
  std::function<void()> on_empty;  // Shutdown with no container left
};

class TaskService : public LifecycleObserver {
 public:
  TaskService(Reactor& reactor, EventPublisher& events, TaskServiceOptions opts);
  ~TaskService() override;
  void RegisterWith(ttrpc::Server& server);
  // The daemon's SIGCHLD handler reports every reaped child here, then calls AfterReap.
  void OnChildExit(pid_t pid, int wait_status) { lifecycle_.OnChildExit(pid, wait_status); }
  void AfterReap() { lifecycle_.AfterReap(); }
  bool empty() const { return lifecycle_.empty(); }
  // Shim exit: kill everything still running (used on SIGTERM with no client).
  void KillEverything() { lifecycle_.KillEverything(); }

 private:
  // ---- RPCs ----
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
  void Stats(const std::string& payload, ttrpc::Responder r);

  // ---- LifecycleObserver ----
  void OnCreated(const Container& c) override;
  void OnCreateFailed(const std::string& id, const Status& error) override;
  void OnStarted(const Process& p) override;
  void OnStartFailed(const Process& p, const Status& error) override;
  void OnExited(const Process& p) override;
  void OnForgotten(const Process& p) override;
  void OnOom(const Container& c) override;

  using Key = std::pair<std::string, std::string>;  // container id, exec id
  static Key KeyOf(const Process& p) { return {p.container_id, p.exec_id}; }
  // Replies to (and forgets) the Create or Start waiting on `key`, if any.
  void ReplyPending(const Key& key, const Status& st, const std::string& payload = {});
  void Publish(const std::string& topic, const std::string& type, const std::string& value);

  Reactor& reactor_;
  EventPublisher& events_;
  std::function<void()> on_empty_;
  Lifecycle lifecycle_;
  std::map<Key, ttrpc::Responder> pending_;               // Create or Start in progress
  std::map<Key, std::vector<ttrpc::Responder>> waiters_;  // Wait until exit
};

}  // namespace reaper
