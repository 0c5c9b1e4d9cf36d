// containerd.task.v2.Task: request decoding, wire-level checks, every reply and every event.
// Status codes follow docs/protocol.md §1.10 and §3.3.
#include "shim/task_service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "events.pb.h"
#include "shim/stats_wire.h"
#include "task.pb.h"

namespace reaper {
namespace task = containerd::task::v2;
namespace {

constexpr const char* kService = "containerd.task.v2.Task";

template <typename M>
bool Parse(M& m, const std::string& payload, ttrpc::Responder& r) {
  if (m.ParseFromString(payload)) return true;
  r.Reply(Status(Code::kInternal, "ttrpc: error unmarshalling payload: invalid " + m.GetTypeName()));
  return false;
}

template <typename M>
void ReplyMsg(ttrpc::Responder& r, const M& m) {
  r.Reply(Status::Ok(), m.SerializeAsString());
}

void ReplyEmpty(ttrpc::Responder& r) { r.Reply(Status::Ok(), {}); }

Status NotFound(const std::string& what) { return Status(Code::kNotFound, what + ": not found"); }

task::Status ToWire(const Process& p, bool paused) {
  switch (p.state) {
    case ProcState::kCreating:
    case ProcState::kCreated:
    case ProcState::kStarting: return task::CREATED;
    case ProcState::kRunning: return paused ? task::PAUSED : task::RUNNING;
    case ProcState::kStopped: return task::STOPPED;
  }
  return task::UNKNOWN;
}

void SetTime(reaper::wkt::Timestamp* t, const Timestamp& ts) {
  t->set_seconds(ts.sec);
  t->set_nanos(ts.nsec);
}

// Launch failures reach kubelet as StartContainer errors; keep the code for bad input and
// duplicates, report the rest as Unknown like runc's "OCI runtime create failed".
Status LaunchError(const Status& st, const std::string& what) {
  Code c = st.code();
  if (c != Code::kInvalidArgument && c != Code::kAlreadyExists && c != Code::kUnimplemented) c = Code::kUnknown;
  return Status(c, what + ": " + st.message());
}

task::DeleteResponse DeleteReply(const ExitInfo& info) {
  task::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(info.pid));
  resp.set_exit_status(info.exit_status);
  SetTime(resp.mutable_exited_at(), info.exited_at);
  return resp;
}

containerd::events::TaskDelete DeleteEvent(const std::string& container_id, const task::DeleteResponse& resp) {
  containerd::events::TaskDelete ev;
  ev.set_container_id(container_id);
  ev.set_pid(resp.pid());
  ev.set_exit_status(resp.exit_status());
  *ev.mutable_exited_at() = resp.exited_at();
  return ev;
}
}  // namespace

TaskService::TaskService(Reactor& reactor, EventPublisher& events, TaskServiceOptions opts)
    : reactor_(reactor),
      events_(events),
      on_empty_(std::move(opts.on_empty)),
      lifecycle_(reactor, *this, static_cast<LifecycleOptions&&>(std::move(opts))) {}

TaskService::~TaskService() = default;

void TaskService::Publish(const std::string& topic, const std::string& type, const std::string& value) {
  log::Debug("event queued", {{"topic", topic}});
  events_.Publish(topic, type, value);
}

void TaskService::ReplyPending(const Key& key, const Status& st, const std::string& payload) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  ttrpc::Responder r = std::move(it->second);
  pending_.erase(it);
  r.Reply(st, payload);
}

void TaskService::RegisterWith(ttrpc::Server& s) {
  auto reg = [&](const char* method, void (TaskService::*fn)(const std::string&, ttrpc::Responder)) {
    s.Register(kService, method, [this, fn](const std::string& p, ttrpc::Responder r) { (this->*fn)(p, r); });
  };
  reg("Create", &TaskService::Create);
  reg("Start", &TaskService::Start);
  reg("Delete", &TaskService::Delete);
  reg("Exec", &TaskService::Exec);
  reg("State", &TaskService::State);
  reg("Wait", &TaskService::Wait);
  reg("Kill", &TaskService::Kill);
  reg("Pids", &TaskService::Pids);
  reg("CloseIO", &TaskService::CloseIO);
  reg("ResizePty", &TaskService::ResizePty);
  reg("Update", &TaskService::Update);
  reg("Connect", &TaskService::Connect);
  reg("Shutdown", &TaskService::Shutdown);
  reg("Stats", &TaskService::Stats);
  s.Register(kService, "Pause", [this](const std::string& p, ttrpc::Responder r) { PauseResume(p, r, true); });
  s.Register(kService, "Resume", [this](const std::string& p, ttrpc::Responder r) { PauseResume(p, r, false); });
  s.Register(kService, "Checkpoint", [](const std::string&, ttrpc::Responder r) {
    r.Reply(Status(Code::kUnimplemented, "checkpoint is not supported for host processes"));
  });
}

// ---- RPCs ----

void TaskService::Create(const std::string& payload, ttrpc::Responder r) {
  task::CreateTaskRequest req;
  if (!Parse(req, payload, r)) return;
  const std::string& id = req.id();
  if (Status st = ValidateId(id, "container id"); !st.ok()) return r.Reply(st);
  if (lifecycle_.Find(id)) return r.Reply(Status(Code::kAlreadyExists, "container " + id + ": already exists"));
  if (req.bundle().empty() || req.bundle()[0] != '/') {
    return r.Reply(Status(Code::kInvalidArgument, "bundle must be an absolute path: " + req.bundle()));
  }
  if (!req.checkpoint().empty()) return r.Reply(Status(Code::kUnimplemented, "restore from checkpoint is not supported"));
  auto spec = LoadSpec(req.bundle());
  if (!spec.ok()) return r.Reply(LaunchError(spec.status(), "create " + id));
  if (Status st = lifecycle_.CheckPolicy(*spec); !st.ok()) return r.Reply(st);
  IoPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  if (Status st = lifecycle_.Create(id, req.bundle(), std::move(*spec), paths); !st.ok()) {
    return r.Reply(LaunchError(st, "create " + id));
  }
  pending_[{id, ""}] = r;  // OnCreated / OnCreateFailed
}

void TaskService::Start(const std::string& payload, ttrpc::Responder r) {
  task::StartRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  Container& c = *lifecycle_.Find(req.id());
  if (p.state != ProcState::kCreated) {
    return r.Reply(Status(Code::kFailedPrecondition, "cannot start a process that is not in the created state"));
  }
  if (!p.is_init() && c.init->state != ProcState::kRunning) {
    return r.Reply(Status(Code::kFailedPrecondition, "container " + c.id + " is not running"));
  }
  if (Status st = lifecycle_.Start(c, p); !st.ok()) return r.Reply(LaunchError(st, "start exec " + p.exec_id));
  pending_[KeyOf(p)] = r;  // OnStarted / OnStartFailed
}

void TaskService::Delete(const std::string& payload, ttrpc::Responder r) {
  task::DeleteRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  Container& c = *lifecycle_.Find(req.id());
  if (p.state == ProcState::kRunning || p.state == ProcState::kStarting) {
    return r.Reply(Status(Code::kFailedPrecondition, "cannot delete a running process"));
  }
  if (c.deleting) return r.Reply(Status(Code::kFailedPrecondition, "delete of " + c.id + " is in progress"));
  if (p.state == ProcState::kCreating) {
    return r.Reply(Status(Code::kFailedPrecondition, "process is still being created"));
  }
  if (!p.is_init()) {
    std::string exec_id = p.exec_id;
    task::DeleteResponse resp = DeleteReply(lifecycle_.DeleteExec(c, p));
    auto ev = DeleteEvent(c.id, resp);
    ev.set_id(exec_id);
    Publish("/tasks/delete", "containerd.events.TaskDelete", ev.SerializeAsString());
    return ReplyMsg(r, resp);
  }
  std::string id = c.id;
  lifecycle_.Delete(c, [this, id, r](const ExitInfo& info) mutable {
    task::DeleteResponse resp = DeleteReply(info);
    Publish("/tasks/delete", "containerd.events.TaskDelete", DeleteEvent(id, resp).SerializeAsString());
    ReplyMsg(r, resp);
  });
}

void TaskService::Exec(const std::string& payload, ttrpc::Responder r) {
  task::ExecProcessRequest req;
  if (!Parse(req, payload, r)) return;
  Container* c = lifecycle_.Find(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  if (Status st = ValidateId(req.exec_id(), "exec id"); !st.ok()) return r.Reply(st);
  if (c->execs.count(req.exec_id())) {
    return r.Reply(Status(Code::kAlreadyExists, "exec process " + req.exec_id() + ": already exists"));
  }
  if (c->sandbox) return r.Reply(Status(Code::kFailedPrecondition, "cannot exec in a sandbox container"));
  if (c->init->state != ProcState::kRunning) {
    return r.Reply(Status(Code::kFailedPrecondition, "container " + c->id + " is not running"));
  }
  auto spec = ParseProcess(req.spec().value());
  if (!spec.ok()) return r.Reply(spec.status().Wrap("exec " + req.exec_id()));
  {
    // Audit: every exec, with the pod it enters (CRI annotations; "" for ctr tasks), its
    // argv, user and terminal.
    std::string argv;
    for (const auto& a : spec->args) argv += (argv.empty() ? "" : " ") + log::QuoteIfNeeded(a);
    log::Info("exec", {{"id", c->id}, {"exec_id", req.exec_id()}, {"namespace", c->pod_namespace},
                       {"pod", c->pod_name}, {"container", c->container_name}, {"argv", argv},
                       {"uid", std::to_string(spec->uid)}, {"gid", std::to_string(spec->gid)},
                       {"tty", req.terminal() ? "true" : "false"}});
  }
  IoPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  if (Status st = lifecycle_.AddExec(*c, req.exec_id(), std::move(*spec), paths); !st.ok()) {
    return r.Reply(LaunchError(st, "exec " + req.exec_id()));
  }
  containerd::events::TaskExecAdded ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  Publish("/tasks/exec-added", "containerd.events.TaskExecAdded", ev.SerializeAsString());
  ReplyEmpty(r);
}

void TaskService::State(const std::string& payload, ttrpc::Responder r) {
  task::StateRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  const Process& p = **pr;
  const Container& c = *lifecycle_.Find(req.id());
  task::StateResponse resp;
  resp.set_id(p.is_init() ? c.id : p.exec_id);
  resp.set_bundle(c.bundle);
  resp.set_pid(static_cast<uint32_t>(p.pid));
  resp.set_status(ToWire(p, c.paused));
  resp.set_stdin(p.paths.stdin_path);
  resp.set_stdout(p.paths.stdout_path);
  resp.set_stderr(p.paths.stderr_path);
  resp.set_terminal(p.paths.terminal);
  if (p.state == ProcState::kStopped) {
    resp.set_exit_status(p.exit_status);
    SetTime(resp.mutable_exited_at(), p.exited_at);
  }
  resp.set_exec_id(p.exec_id);
  ReplyMsg(r, resp);
}

void TaskService::Wait(const std::string& payload, ttrpc::Responder r) {
  task::WaitRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  if (p.state != ProcState::kStopped) {
    // Released by OnExited, with no timeout of our own. Waits of clients that went away
    // (containerd restarts re-send theirs) are dropped here so the list cannot grow.
    auto& list = waiters_[KeyOf(p)];
    std::erase_if(list, [](const ttrpc::Responder& w) { return w.orphaned(); });
    list.push_back(r);
    return;
  }
  task::WaitResponse resp;
  resp.set_exit_status(p.exit_status);
  SetTime(resp.mutable_exited_at(), p.exited_at);
  ReplyMsg(r, resp);
}

void TaskService::Kill(const std::string& payload, ttrpc::Responder r) {
  task::KillRequest req;
  if (!Parse(req, payload, r)) return;
  if (req.signal() >= static_cast<uint32_t>(NSIG)) {
    return r.Reply(Status(Code::kInvalidArgument, "invalid signal " + std::to_string(req.signal())));
  }
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Container& c = *lifecycle_.Find(req.id());
  if (Status st = lifecycle_.Kill(c, **pr, static_cast<int>(req.signal()), req.all()); !st.ok()) {
    return r.Reply(st);
  }
  ReplyEmpty(r);
}

void TaskService::Pids(const std::string& payload, ttrpc::Responder r) {
  task::PidsRequest req;
  if (!Parse(req, payload, r)) return;
  Container* c = lifecycle_.Find(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  std::map<pid_t, std::string> exec_of;
  for (const auto& [eid, e] : c->execs) {
    if (e->pid > 0) exec_of[e->pid] = eid;
  }
  task::PidsResponse resp;
  std::vector<pid_t> pids = lifecycle_.Pids(*c);
  // A container that exited but is not deleted yet answers its init's pid: containerd 2.x,
  // after its own restart, deletes every app container whose Pids is empty as a leaked shim,
  // and CRI would then record exit code 255 instead of the real one (docs/protocol.md §3).
  if (pids.empty() && c->init->state == ProcState::kStopped && c->init->pid > 0) pids.push_back(c->init->pid);
  for (pid_t pid : pids) {
    auto* pi = resp.add_processes();
    pi->set_pid(static_cast<uint32_t>(pid));
    if (auto it = exec_of.find(pid); it != exec_of.end()) {
      task::ProcessDetails d;
      d.set_exec_id(it->second);
      pi->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
      pi->mutable_info()->set_value(d.SerializeAsString());
    }
  }
  ReplyMsg(r, resp);
}

void TaskService::CloseIO(const std::string& payload, ttrpc::Responder r) {
  task::CloseIORequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  if (req.stdin() && (*pr)->io) (*pr)->io->CloseStdin();
  ReplyEmpty(r);
}

void TaskService::ResizePty(const std::string& payload, ttrpc::Responder r) {
  task::ResizePtyRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = lifecycle_.FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  if (!p.io) return ReplyEmpty(r);
  if (Status st = p.io->Resize(req.width(), req.height()); !st.ok()) return r.Reply(st);
  ReplyEmpty(r);
}

void TaskService::Update(const std::string& payload, ttrpc::Responder r) {
  task::UpdateTaskRequest req;
  if (!Parse(req, payload, r)) return;
  Container* c = lifecycle_.Find(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  // containerd sends the OCI LinuxResources as JSON. Without enforce_resources nothing is
  // applied; accepting keeps kubelet's updates (and in-place resize) working.
  auto res = ParseResources(req.resources().value().empty() ? "{}" : req.resources().value());
  if (!res.ok()) return r.Reply(res.status());
  if (Status st = lifecycle_.UpdateResources(*c, *res); !st.ok()) return r.Reply(Status(Code::kUnknown, st.message()));
  ReplyEmpty(r);
}

void TaskService::PauseResume(const std::string& payload, ttrpc::Responder r, bool pause) {
  task::PauseRequest req;  // ResumeRequest has the same shape
  if (!Parse(req, payload, r)) return;
  Container* c = lifecycle_.Find(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  if (c->init->state != ProcState::kRunning) {
    return r.Reply(Status(Code::kFailedPrecondition, "container " + c->id + " is not running"));
  }
  if (c->paused == pause) {
    return r.Reply(Status(Code::kFailedPrecondition, std::string("container ") + c->id +
                                                         (pause ? " is already paused" : " is not paused")));
  }
  lifecycle_.SetPaused(*c, pause);
  if (pause) {
    containerd::events::TaskPaused ev;
    ev.set_container_id(c->id);
    Publish("/tasks/paused", "containerd.events.TaskPaused", ev.SerializeAsString());
  } else {
    containerd::events::TaskResumed ev;
    ev.set_container_id(c->id);
    Publish("/tasks/resumed", "containerd.events.TaskResumed", ev.SerializeAsString());
  }
  ReplyEmpty(r);
}

void TaskService::Connect(const std::string& payload, ttrpc::Responder r) {
  task::ConnectRequest req;
  if (!Parse(req, payload, r)) return;
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(getpid()));
  if (Container* c = lifecycle_.Find(req.id())) resp.set_task_pid(static_cast<uint32_t>(c->init->pid));
  ReplyMsg(r, resp);
}

void TaskService::Shutdown(const std::string& payload, ttrpc::Responder r) {
  task::ShutdownRequest req;
  if (!Parse(req, payload, r)) return;
  ReplyEmpty(r);
  if (lifecycle_.empty() && on_empty_) reactor_.Defer(on_empty_);
}

void TaskService::Stats(const std::string& payload, ttrpc::Responder r) {
  task::StatsRequest req;
  if (!Parse(req, payload, r)) return;
  // NotFound (no cgroup to read: session tracking) is what containerd's Metrics silently
  // skips (docs/protocol.md §3.3); an empty reply would fail stats for the whole node.
  Container* c = lifecycle_.Find(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  bool v1 = false;
  auto st = lifecycle_.Stats(*c, &v1);
  if (!st.ok()) return r.Reply(st.status());
  r.Reply(Status::Ok(), EncodeStatsResponse(*st, v1));
}

// ---- what the lifecycle reports ----

void TaskService::OnOom(const Container& c) {
  containerd::events::TaskOOM ev;
  ev.set_container_id(c.id);
  Publish("/tasks/oom", "containerd.events.TaskOOM", ev.SerializeAsString());
}

void TaskService::OnCreated(const Container& c) {
  const Process& p = *c.init;
  task::CreateTaskResponse resp;
  resp.set_pid(static_cast<uint32_t>(p.pid));
  ReplyPending(KeyOf(p), Status::Ok(), resp.SerializeAsString());
  containerd::events::TaskCreate ev;
  ev.set_container_id(c.id);
  ev.set_bundle(c.bundle);
  ev.mutable_io()->set_stdin(p.paths.stdin_path);
  ev.mutable_io()->set_stdout(p.paths.stdout_path);
  ev.mutable_io()->set_stderr(p.paths.stderr_path);
  ev.mutable_io()->set_terminal(p.paths.terminal);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  Publish("/tasks/create", "containerd.events.TaskCreate", ev.SerializeAsString());
}

void TaskService::OnCreateFailed(const std::string& id, const Status& error) {
  ReplyPending({id, ""}, LaunchError(error, "create " + id));
}

void TaskService::OnStarted(const Process& p) {
  if (p.is_init()) {
    containerd::events::TaskStart ev;
    ev.set_container_id(p.container_id);
    ev.set_pid(static_cast<uint32_t>(p.pid));
    Publish("/tasks/start", "containerd.events.TaskStart", ev.SerializeAsString());
  } else {
    containerd::events::TaskExecStarted ev;
    ev.set_container_id(p.container_id);
    ev.set_exec_id(p.exec_id);
    ev.set_pid(static_cast<uint32_t>(p.pid));
    Publish("/tasks/exec-started", "containerd.events.TaskExecStarted", ev.SerializeAsString());
  }
  task::StartResponse resp;
  resp.set_pid(static_cast<uint32_t>(p.pid));
  ReplyPending(KeyOf(p), Status::Ok(), resp.SerializeAsString());
}

void TaskService::OnStartFailed(const Process& p, const Status& error) {
  std::string what = p.is_init() ? "start " + p.container_id : "start exec " + p.exec_id;
  ReplyPending(KeyOf(p), Status(error.code(), what + ": " + error.message()));
}

void TaskService::OnExited(const Process& p) {
  ReplyPending(KeyOf(p), Status(Code::kUnknown, "process exited before it started"));
  containerd::events::TaskExit ev;
  ev.set_container_id(p.container_id);
  ev.set_id(p.event_id());
  ev.set_pid(static_cast<uint32_t>(p.pid));
  ev.set_exit_status(p.exit_status);
  SetTime(ev.mutable_exited_at(), p.exited_at);
  if (p.pid > 0) Publish("/tasks/exit", "containerd.events.TaskExit", ev.SerializeAsString());
  auto it = waiters_.find(KeyOf(p));
  if (it == waiters_.end()) return;
  task::WaitResponse resp;
  resp.set_exit_status(p.exit_status);
  SetTime(resp.mutable_exited_at(), p.exited_at);
  std::string bytes = resp.SerializeAsString();
  std::vector<ttrpc::Responder> waiters = std::move(it->second);
  waiters_.erase(it);
  for (auto& w : waiters) w.Reply(Status::Ok(), bytes);
}

void TaskService::OnForgotten(const Process& p) {
  ReplyPending(KeyOf(p), Status(Code::kNotFound, "process deleted"));
  auto it = waiters_.find(KeyOf(p));
  if (it == waiters_.end()) return;
  std::vector<ttrpc::Responder> waiters = std::move(it->second);
  waiters_.erase(it);
  for (auto& w : waiters) w.Reply(Status(Code::kNotFound, "process deleted"));
}

}  // namespace reaper
