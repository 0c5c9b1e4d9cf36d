// containerd.task.v2.Task RPC handlers. Status codes follow protocol.md §1.10 and §3.3.
#include <signal.h>

#include <algorithm>
#include <unistd.h>

#include "events.pb.h"
#include "log.h"
#include "overlay_group.h"
#include "task.pb.h"
#include "task_service.h"

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
}  // namespace

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
  s.Register(kService, "Pause", [this](const std::string& p, ttrpc::Responder r) { PauseResume(p, r, true); });
  s.Register(kService, "Resume", [this](const std::string& p, ttrpc::Responder r) { PauseResume(p, r, false); });
  s.Register(kService, "Checkpoint", [](const std::string&, ttrpc::Responder r) {
    r.Reply(Status(Code::kUnimplemented, "checkpoint is not supported for host processes"));
  });
  s.Register(kService, "Stats", [this](const std::string& p, ttrpc::Responder r) {
    task::StatsRequest req;
    if (!Parse(req, p, r)) return;
    // NotFound is what containerd's Metrics silently skips (protocol.md §3.3).
    r.Reply(NotFound(FindContainer(req.id()) ? "stats for " + req.id() : "container " + req.id()));
  });
}

Container* TaskService::FindContainer(const std::string& id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

Result<Process*> TaskService::FindProcess(const std::string& id, const std::string& exec_id) {
  Container* c = FindContainer(id);
  if (!c) return NotFound("container " + id);
  if (exec_id.empty()) return c->init.get();
  auto it = c->execs.find(exec_id);
  if (it == c->execs.end()) return NotFound("exec " + exec_id + " in container " + id);
  return it->second.get();
}

void TaskService::Create(const std::string& payload, ttrpc::Responder r) {
  task::CreateTaskRequest req;
  if (!Parse(req, payload, r)) return;
  const std::string& id = req.id();
  if (Status st = ValidateId(id, "container id"); !st.ok()) return r.Reply(st);
  if (containers_.count(id)) return r.Reply(Status(Code::kAlreadyExists, "container " + id + ": already exists"));
  if (req.bundle().empty() || req.bundle()[0] != '/') {
    return r.Reply(Status(Code::kInvalidArgument, "bundle must be an absolute path: " + req.bundle()));
  }
  if (!req.checkpoint().empty()) return r.Reply(Status(Code::kUnimplemented, "restore from checkpoint is not supported"));
  auto spec = LoadSpec(req.bundle());
  if (!spec.ok()) return r.Reply(LaunchError(spec.status(), "create " + id));

  if (Status st = CheckPolicy(*spec); !st.ok()) return r.Reply(st);
  auto c = std::make_unique<Container>();
  c->id = id;
  c->bundle = req.bundle();
  c->sandbox = IsSandbox(*spec);
  auto p = std::make_unique<Process>();
  p->container_id = id;
  p->paths = IoPaths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  if (c->sandbox) {
    p->spec.args = {"reaper-sandbox"};
  } else {
    p->spec = std::move(spec->process);
  }
  // Host protection: the overlay group and this container's volume mounts.
  std::vector<PreparedMount> mounts;
  UniqueFd group_ns;
  if (!c->sandbox && config_.ok() && config_->overlay != OverlayMode::kOff) {
    auto prepared = PrepareProtection(*c, *spec, &group_ns);
    if (!prepared.ok()) return r.Reply(LaunchError(prepared.status(), "create " + id));
    mounts = std::move(*prepared);
  } else if (!c->sandbox && !config_.ok()) {
    return r.Reply(LaunchError(config_.status(), "create " + id + ": node configuration"));
  }
  if (opts_.cgroup_parent) {
    std::string path = *opts_.cgroup_parent + "/" + opts_.ns + "/" + id;
    auto cg = Cgroup::Create(path);
    if (cg.ok()) {
      c->cgroup = std::move(*cg);
      if (c->cgroup.Populated()) {  // leftovers of an earlier container with this id
        log::Warn("killing leftover processes in cgroup", {{"cgroup", path}});
        (void)c->cgroup.Signal(SIGKILL);
      }
    } else {
      log::Warn("cgroup tracking unavailable; using session tracking", {{"error", cg.status().message()}});
    }
  }
  if (!c->sandbox) {
    auto io = ProcessIo::Open(reactor_, p->paths);
    if (!io.ok()) {
      if (c->cgroup.valid()) (void)c->cgroup.Remove();
      return r.Reply(LaunchError(io.status(), "create " + id));
    }
    p->io = std::move(*io);
  }
  c->init = std::move(p);
  Container& ref = *c;
  containers_[id] = std::move(c);
  Process& init = *ref.init;
  if (Status st = SpawnProcess(ref, init, /*hold=*/true, group_ns.get(), &mounts); !st.ok()) {
    DropContainer(id);
    return r.Reply(LaunchError(st, "create " + id));
  }
  if (!ref.group.empty()) {
    if (Status st = AddGroupUser(*config_, ref.group, opts_.ns + "." + id); !st.ok()) {
      log::Warn("cannot register the container in its overlay group", {{"error", st.message()}});
    }
  }
  init.state = ProcState::kCreating;
  init.pending = r;  // replied when the child reports ready (task_lifecycle.cc)
  ref.start_time = ProcessStartTime(init.pid);
  WriteRecord(ref);
}

Status TaskService::CheckPolicy(const Spec& spec) const {
  if (!config_.ok()) return Status::Ok();  // reported by Create itself
  const NodeConfig& cfg = *config_;
  auto it = spec.annotations.find(std::string(kAnnotationSandboxNamespace));
  if (!cfg.allowed_namespaces.empty() && it != spec.annotations.end()) {
    bool ok = std::find(cfg.allowed_namespaces.begin(), cfg.allowed_namespaces.end(), it->second) !=
              cfg.allowed_namespaces.end();
    if (!ok) {
      return Status(Code::kPermissionDenied, "node policy: Kubernetes namespace \"" + it->second +
                                                 "\" may not run Reaper pods (allowed_namespaces)");
    }
  }
  // Only a sandbox (or a non-CRI spec) says whether the pod asked for the host network: CRI
  // gives every container of a pod a "network" entry that joins the sandbox's namespace,
  // which for a hostNetwork pod is the host's own.
  bool cri_container = spec.annotations.count(std::string(kAnnotationContainerType)) != 0 && !IsSandbox(spec);
  bool own_netns = !cri_container &&
                   std::find(spec.namespaces.begin(), spec.namespaces.end(), "network") != spec.namespaces.end();
  if (own_netns && cfg.reject_non_host_network) {
    return Status(Code::kPermissionDenied,
                  "node policy: Reaper pods run on the host network; set hostNetwork: true (non_host_network = reject)");
  }
  if (own_netns) {
    auto sb = spec.annotations.find(std::string(kAnnotationSandboxId));
    log::Warn("pod did not ask for hostNetwork but runs on the host network",
              {{"sandbox", sb == spec.annotations.end() ? "" : sb->second}});
  }
  return Status::Ok();
}

void TaskService::Start(const std::string& payload, ttrpc::Responder r) {
  task::StartRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  Container& c = *FindContainer(req.id());
  if (p.state != ProcState::kCreated) {
    return r.Reply(Status(Code::kFailedPrecondition, "cannot start a process that is not in the created state"));
  }
  if (!p.is_init() && c.init->state != ProcState::kRunning) {
    return r.Reply(Status(Code::kFailedPrecondition, "container " + c.id + " is not running"));
  }
  if (p.is_init()) {
    Child ch;
    ch.release_w = std::move(p.release_w);
    if (!ch.Release()) log::Warn("held child vanished before start", {{"id", c.id}});
  } else if (Status st = SpawnProcess(c, p, /*hold=*/false, c.mnt_ns.get(), nullptr); !st.ok()) {
    return r.Reply(LaunchError(st, "start exec " + p.exec_id));
  }
  p.state = ProcState::kStarting;
  p.pending = r;  // replied once execve succeeded or failed (task_lifecycle.cc)
}

void TaskService::Delete(const std::string& payload, ttrpc::Responder r) {
  task::DeleteRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  Container& c = *FindContainer(req.id());
  if (p.state == ProcState::kRunning || p.state == ProcState::kStarting) {
    return r.Reply(Status(Code::kFailedPrecondition, "cannot delete a running process"));
  }
  if (c.deleting) return r.Reply(Status(Code::kFailedPrecondition, "delete of " + c.id + " is in progress"));
  if (p.state == ProcState::kCreating) {
    return r.Reply(Status(Code::kFailedPrecondition, "process is still being created"));
  }
  if (!p.is_init()) {
    if (p.state == ProcState::kCreated) MarkExited(p, 0);  // never started: releases waiters
    task::DeleteResponse resp;
    resp.set_pid(static_cast<uint32_t>(p.pid));
    resp.set_exit_status(p.exit_status);
    SetTime(resp.mutable_exited_at(), p.exited_at);
    containerd::events::TaskDelete ev;
    ev.set_container_id(c.id);
    ev.set_pid(resp.pid());
    ev.set_exit_status(resp.exit_status());
    *ev.mutable_exited_at() = resp.exited_at();
    ev.set_id(p.exec_id);
    ForgetProcess(p);
    c.execs.erase(req.exec_id());
    Publish("/tasks/delete", "containerd.events.TaskDelete", ev.SerializeAsString());
    return ReplyMsg(r, resp);
  }
  c.deleting = true;
  if (p.state == ProcState::kCreated) {
    // Deleting a created container kills the held child.
    if (p.pid > 0) kill(p.pid, SIGKILL);
    MarkExited(p, 128 + SIGKILL);
  }
  SignalAll(c, SIGKILL);
  for (auto& [_, e] : c.execs) {
    if (e->state != ProcState::kStopped) MarkExited(*e, e->pid > 0 ? 128 + SIGKILL : 0);
  }
  if (!p.io || p.io->drained()) return FinishDelete(c.id, r);
  // Let the last output reach the client, bounded by the grace period.
  std::string id = c.id;
  auto timer = std::make_shared<Reactor::TimerId>(0);
  *timer = reactor_.AddTimer(opts_.io_grace, [this, id, r] {
    Container* cc = FindContainer(id);
    if (cc && cc->init->io) cc->init->io->Finish();
  });
  p.io->OnDrained([this, id, r, timer] {
    reactor_.CancelTimer(*timer);
    reactor_.Defer([this, id, r] { FinishDelete(id, r); });
  });
}

void TaskService::Exec(const std::string& payload, ttrpc::Responder r) {
  task::ExecProcessRequest req;
  if (!Parse(req, payload, r)) return;
  Container* c = FindContainer(req.id());
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
    // Audit: every exec, with its argv, user and terminal.
    std::string argv;
    for (const auto& a : spec->args) argv += (argv.empty() ? "" : " ") + log::QuoteIfNeeded(a);
    log::Info("exec", {{"id", c->id}, {"exec_id", req.exec_id()}, {"argv", argv},
                       {"uid", std::to_string(spec->uid)}, {"gid", std::to_string(spec->gid)},
                       {"tty", req.terminal() ? "true" : "false"}});
  }
  auto p = std::make_unique<Process>();
  p->container_id = c->id;
  p->exec_id = req.exec_id();
  p->spec = std::move(*spec);
  p->spec.terminal = req.terminal();
  p->paths = IoPaths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  auto io = ProcessIo::Open(reactor_, p->paths);
  if (!io.ok()) return r.Reply(LaunchError(io.status(), "exec " + req.exec_id()));
  p->io = std::move(*io);
  c->execs[req.exec_id()] = std::move(p);
  containerd::events::TaskExecAdded ev;
  ev.set_container_id(c->id);
  ev.set_exec_id(req.exec_id());
  Publish("/tasks/exec-added", "containerd.events.TaskExecAdded", ev.SerializeAsString());
  ReplyEmpty(r);
}

void TaskService::State(const std::string& payload, ttrpc::Responder r) {
  task::StateRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  const Process& p = **pr;
  const Container& c = *FindContainer(req.id());
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
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  if (p.state != ProcState::kStopped) {
    // Released by MarkExited, with no timeout of our own. Waits of clients that went away
    // (containerd restarts re-send theirs) are dropped here so the list cannot grow.
    std::erase_if(p.waiters, [](const ttrpc::Responder& w) { return w.orphaned(); });
    p.waiters.push_back(r);
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
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  Container& c = *FindContainer(req.id());
  int sig = static_cast<int>(req.signal());
  if (!p.is_init()) {
    if (p.pid == 0) return r.Reply(Status(Code::kFailedPrecondition, "process not created"));
    if (p.state == ProcState::kStopped) return r.Reply(NotFound("process already finished"));
    if (kill(p.pid, sig) != 0 && errno != ESRCH) return r.Reply(Status::FromErrno(errno, "kill"));
    return ReplyEmpty(r);
  }
  if (req.all()) {
    SignalAll(c, sig);
    return ReplyEmpty(r);
  }
  if (p.state == ProcState::kStopped) return r.Reply(NotFound("process already finished"));
  if (kill(p.pid, sig) != 0 && errno != ESRCH) return r.Reply(Status::FromErrno(errno, "kill"));
  if (c.paused && (sig == SIGKILL || sig == SIGTERM)) kill(p.pid, SIGCONT);
  ReplyEmpty(r);
}

void TaskService::Pids(const std::string& payload, ttrpc::Responder r) {
  task::PidsRequest req;
  if (!Parse(req, payload, r)) return;
  Container* c = FindContainer(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  std::map<pid_t, std::string> exec_of;
  for (const auto& [eid, e] : c->execs) {
    if (e->pid > 0) exec_of[e->pid] = eid;
  }
  task::PidsResponse resp;
  for (pid_t pid : AllPids(*c)) {
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
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  if (req.stdin() && (*pr)->io) (*pr)->io->CloseStdin();
  ReplyEmpty(r);
}

void TaskService::ResizePty(const std::string& payload, ttrpc::Responder r) {
  task::ResizePtyRequest req;
  if (!Parse(req, payload, r)) return;
  auto pr = FindProcess(req.id(), req.exec_id());
  if (!pr.ok()) return r.Reply(pr.status());
  Process& p = **pr;
  if (!p.io) return ReplyEmpty(r);
  if (Status st = p.io->Resize(req.width(), req.height()); !st.ok()) return r.Reply(st);
  ReplyEmpty(r);
}

void TaskService::Update(const std::string& payload, ttrpc::Responder r) {
  task::UpdateTaskRequest req;
  if (!Parse(req, payload, r)) return;
  if (!FindContainer(req.id())) return r.Reply(NotFound("container " + req.id()));
  // Host processes get no resource limits; accepting keeps kubelet's updates working.
  ReplyEmpty(r);
}

void TaskService::PauseResume(const std::string& payload, ttrpc::Responder r, bool pause) {
  task::PauseRequest req;  // ResumeRequest has the same shape
  if (!Parse(req, payload, r)) return;
  Container* c = FindContainer(req.id());
  if (!c) return r.Reply(NotFound("container " + req.id()));
  if (c->init->state != ProcState::kRunning) {
    return r.Reply(Status(Code::kFailedPrecondition, "container " + c->id + " is not running"));
  }
  if (c->paused == pause) {
    return r.Reply(Status(Code::kFailedPrecondition, std::string("container ") + c->id +
                                                         (pause ? " is already paused" : " is not paused")));
  }
  SignalAll(*c, pause ? SIGSTOP : SIGCONT);
  c->paused = pause;
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
  if (Container* c = FindContainer(req.id())) resp.set_task_pid(static_cast<uint32_t>(c->init->pid));
  ReplyMsg(r, resp);
}

void TaskService::Shutdown(const std::string& payload, ttrpc::Responder r) {
  task::ShutdownRequest req;
  if (!Parse(req, payload, r)) return;
  ReplyEmpty(r);
  if (containers_.empty() && opts_.on_empty) reactor_.Defer(opts_.on_empty);
}

}  // namespace reaper
