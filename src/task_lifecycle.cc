// Process lifecycle of TaskService: spawning, the child's status pipe, exits, cleanup.
#include <signal.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include "events.pb.h"
#include "log.h"
#include "overlay_group.h"
#include "state_record.h"
#include "task.pb.h"
#include "task_service.h"

namespace reaper {
namespace task = containerd::task::v2;

Timestamp Timestamp::Now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp{ts.tv_sec, static_cast<int32_t>(ts.tv_nsec)};
}

namespace {
void SetTime(reaper::wkt::Timestamp* t, const Timestamp& ts) {
  t->set_seconds(ts.sec);
  t->set_nanos(ts.nsec);
}
}  // namespace

TaskService::TaskService(Reactor& reactor, EventPublisher& events, TaskServiceOptions opts)
    : reactor_(reactor), events_(events), opts_(std::move(opts)) {}

TaskService::~TaskService() = default;

void TaskService::Publish(const std::string& topic, const std::string& type, const std::string& value) {
  events_.Publish(topic, type, value);
}

Status TaskService::SpawnProcess(Container& c, Process& p, bool hold, int mnt_ns,
                                 const std::vector<PreparedMount>* mounts) {
  SpawnRequest req;
  req.spec = &p.spec;
  req.join_mnt_ns = mnt_ns;
  req.new_mount_ns = mounts != nullptr && mnt_ns >= 0;
  req.mounts = mounts;
  if (p.io) req.stdio = p.io->child_fds();
  req.cgroup_procs_fd = c.cgroup.valid() ? c.cgroup.procs_fd() : -1;
  req.hold = hold;
  req.placeholder = c.sandbox && p.is_init();
  req.self_exe = opts_.self_exe;
  auto ch = Spawn(req);
  if (!ch.ok()) return ch.status();
  p.pid = ch->pid;
  p.release_w = std::move(ch->release_w);
  p.status_r = std::move(ch->status_r);
  by_pid_[p.pid] = &p;
  if (p.io) {
    if (Status st = p.io->Started(); !st.ok()) log::Warn("output copy setup failed", {{"error", st.message()}});
  }
  WatchStatus(p);
  return Status::Ok();
}

void TaskService::WatchStatus(Process& p) {
  Process* pp = &p;
  Status st = reactor_.Add(p.status_r.get(), EPOLLIN, [this, pp](uint32_t) { OnStatusReadable(*pp); });
  if (!st.ok()) log::Error("cannot watch child status pipe", {{"error", st.message()}});
}

void TaskService::OnStatusReadable(Process& p) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(p.status_r.get(), buf, sizeof buf);
    if (n > 0) {
      p.status.Feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return ConsumeStatus(p, false);
    return ConsumeStatus(p, true);  // EOF: execve happened, or the child died
  }
}

void TaskService::ConsumeStatus(Process& p, bool eof) {
  while (auto rec = p.status.Next()) {
    if (rec->kind == 'W') {
      log::Warn(rec->text, {{"id", p.container_id}, {"exec_id", p.exec_id}});
    } else if (rec->kind == 'E') {
      p.spawn_error = rec->text;
    } else if (rec->kind == 'R' && p.state == ProcState::kCreating) {
      p.state = ProcState::kCreated;
      Container* c = FindContainer(p.container_id);
      if (!c->group.empty()) {
        // The container's own mount namespace outlives init for as long as we hold it;
        // execs join it.
        c->mnt_ns.reset(open(("/proc/" + std::to_string(p.pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!c->mnt_ns) log::Warn("cannot keep the container's mount namespace", {{"id", c->id}});
      }
      task::CreateTaskResponse resp;
      resp.set_pid(static_cast<uint32_t>(p.pid));
      p.pending.Reply(Status::Ok(), resp.SerializeAsString());
      containerd::events::TaskCreate ev;
      ev.set_container_id(p.container_id);
      ev.set_bundle(c->bundle);
      ev.mutable_io()->set_stdin(p.paths.stdin_path);
      ev.mutable_io()->set_stdout(p.paths.stdout_path);
      ev.mutable_io()->set_stderr(p.paths.stderr_path);
      ev.mutable_io()->set_terminal(p.paths.terminal);
      ev.set_pid(static_cast<uint32_t>(p.pid));
      Publish("/tasks/create", "containerd.events.TaskCreate", ev.SerializeAsString());
    }
  }
  if (!eof) return;
  reactor_.Remove(p.status_r.get());
  p.status_r.reset();
  if (p.state == ProcState::kCreating) {
    // Died during setup: fail Create and forget the container (containerd then Deletes it
    // and expects NotFound).
    std::string msg = p.spawn_error.empty() ? "process exited during setup" : p.spawn_error;
    p.pending.Reply(Status(Code::kUnknown, "create " + p.container_id + ": " + msg));
    DropContainer(p.container_id);  // `p` stays valid until the loop comes round again
    return;
  }
  if (p.state != ProcState::kStarting) return;
  if (!p.spawn_error.empty()) {
    std::string what = p.is_init() ? "start " + p.container_id : "start exec " + p.exec_id;
    p.pending.Reply(Status(Code::kUnknown, what + ": " + p.spawn_error));
    return;  // the child exits 127; its exit is reported like any other
  }
  p.state = ProcState::kRunning;
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
  p.pending.Reply(Status::Ok(), resp.SerializeAsString());
}

void TaskService::OnChildExit(pid_t pid, int wait_status) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return;  // an adopted orphan, or a process already forgotten
  Process& p = *it->second;
  // The status pipe is complete once the child is dead: settle Create/Start first so the
  // Start event always precedes the exit event.
  if (p.status_r) {
    OnStatusReadable(p);
    it = by_pid_.find(pid);
    if (it == by_pid_.end() || it->second != &p) return;  // a failed Create dropped it
  }
  uint32_t code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                         : 128 + static_cast<uint32_t>(WTERMSIG(wait_status));
  if (p.state == ProcState::kStopped) {
    by_pid_.erase(pid);
    return;
  }
  if (p.io) p.io->FlushOutputs();
  MarkExited(p, code);
  Container* c = FindContainer(p.container_id);
  if (!c) return;
  if (p.is_init()) {
    // No PID namespace will tear the rest down: do it here, as runc does for shared pid ns.
    SignalAll(*c, SIGKILL);
  }
  StartIoGrace(p);
}

void TaskService::MarkExited(Process& p, uint32_t exit_status) {
  p.state = ProcState::kStopped;
  p.exit_status = exit_status;
  p.exited_at = Timestamp::Now();
  if (p.pid > 0) by_pid_.erase(p.pid);
  // Recorded before anyone hears of the exit: a shim killed right after a Wait reply still
  // lets `delete` report the real exit status.
  if (p.is_init()) {
    if (Container* c = FindContainer(p.container_id)) WriteRecord(*c);
  }
  if (p.pending.replied() == false) {
    p.pending.Reply(Status(Code::kUnknown, "process exited before it started"));
  }
  containerd::events::TaskExit ev;
  ev.set_container_id(p.container_id);
  ev.set_id(p.event_id());
  ev.set_pid(static_cast<uint32_t>(p.pid));
  ev.set_exit_status(exit_status);
  SetTime(ev.mutable_exited_at(), p.exited_at);
  if (p.pid > 0) Publish("/tasks/exit", "containerd.events.TaskExit", ev.SerializeAsString());
  task::WaitResponse resp;
  resp.set_exit_status(exit_status);
  SetTime(resp.mutable_exited_at(), p.exited_at);
  std::string bytes = resp.SerializeAsString();
  for (auto& w : p.waiters) w.Reply(Status::Ok(), bytes);
  p.waiters.clear();
}

void TaskService::StartIoGrace(Process& p) {
  if (!p.io || p.io->drained() || p.io_grace_timer) return;
  // A background child may keep the output pipe open forever; after the grace period the
  // client gets EOF anyway (CRI's ExecSync waits for it with no timeout).
  std::string id = p.container_id, exec_id = p.exec_id;
  p.io_grace_timer = reactor_.AddTimer(opts_.io_grace, [this, id, exec_id] {
    auto pr = FindProcess(id, exec_id);
    if (!pr.ok()) return;
    (*pr)->io_grace_timer = 0;
    if ((*pr)->io) (*pr)->io->Finish();
  });
}

std::vector<pid_t> TaskService::AllPids(const Container& c) const {
  if (c.cgroup.valid()) return c.cgroup.Pids();
  std::vector<pid_t> out;
  auto add_session = [&out](pid_t sid) {
    for (pid_t p : PidsInSession(sid)) out.push_back(p);
  };
  if (c.init->pid > 0) add_session(c.init->pid);
  for (const auto& [_, e] : c.execs) {
    if (e->pid > 0) add_session(e->pid);
  }
  return out;
}

void TaskService::SignalAll(Container& c, int sig) {
  if (c.cgroup.valid()) {
    if (Status st = c.cgroup.Signal(sig); !st.ok()) log::Warn("signal cgroup", {{"error", st.message()}});
  } else {
    for (pid_t p : AllPids(c)) kill(p, sig);
  }
  if (c.paused && (sig == SIGKILL || sig == SIGTERM)) {
    if (c.cgroup.valid()) (void)c.cgroup.Signal(SIGCONT);
    c.paused = sig == SIGTERM ? false : c.paused;
  }
}

void TaskService::ForgetProcess(Process& p) {
  if (p.status_r) {
    reactor_.Remove(p.status_r.get());
    p.status_r.reset();
  }
  if (p.io_grace_timer) reactor_.CancelTimer(std::exchange(p.io_grace_timer, 0));
  if (p.pid > 0) {
    auto it = by_pid_.find(p.pid);
    if (it != by_pid_.end() && it->second == &p) by_pid_.erase(it);
  }
  if (!p.pending.replied()) p.pending.Reply(Status(Code::kNotFound, "process deleted"));
  for (auto& w : p.waiters) w.Reply(Status(Code::kNotFound, "process deleted"));
  p.waiters.clear();
  if (p.io) p.io->Finish();
  p.io.reset();
}

void TaskService::FinishDelete(const std::string& id, ttrpc::Responder r) {
  Container* c = FindContainer(id);
  if (!c) return r.Reply(Status(Code::kNotFound, "container " + id + ": not found"));
  Process& p = *c->init;
  task::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(p.pid));
  resp.set_exit_status(p.exit_status);
  SetTime(resp.mutable_exited_at(), p.exited_at);
  containerd::events::TaskDelete ev;
  ev.set_container_id(id);
  ev.set_pid(resp.pid());
  ev.set_exit_status(resp.exit_status());
  *ev.mutable_exited_at() = resp.exited_at();
  unlink((c->bundle + "/" + kStateRecordName).c_str());
  DropContainer(id);
  Publish("/tasks/delete", "containerd.events.TaskDelete", ev.SerializeAsString());
  r.Reply(Status::Ok(), resp.SerializeAsString());
}

void TaskService::DropContainer(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Container& c = *it->second;
  if (c.init->state != ProcState::kStopped && c.init->pid > 0) kill(c.init->pid, SIGKILL);
  SignalAll(c, SIGKILL);
  for (auto& [_, e] : c.execs) ForgetProcess(*e);
  ForgetProcess(*c.init);
  if (c.cgroup.valid()) {
    if (!c.cgroup.Remove().ok()) cgroups_to_remove_.push_back(std::move(c.cgroup));  // still emptying
  }
  if (!c.group.empty() && config_.ok()) RemoveGroupUser(*config_, c.group, opts_.ns + "." + c.id);
  // Callers may still hold references into the container: destroy it on the next turn.
  reactor_.Defer([dead = std::shared_ptr<Container>(std::move(it->second))] {});
  containers_.erase(it);
}

void TaskService::AfterReap() {
  for (size_t i = 0; i < cgroups_to_remove_.size();) {
    if (cgroups_to_remove_[i].Remove().ok()) {
      cgroups_to_remove_.erase(cgroups_to_remove_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

void TaskService::KillEverything() {
  std::vector<std::string> ids;
  for (const auto& [id, _] : containers_) ids.push_back(id);
  for (const auto& id : ids) DropContainer(id);
  AfterReap();
}

Result<std::vector<PreparedMount>> TaskService::PrepareProtection(Container& c, const Spec& spec,
                                                                   UniqueFd* group_ns) {
  const NodeConfig& cfg = *config_;
  auto group = ResolveGroup(cfg, spec.annotations, opts_.ns);
  if (!group.ok()) return group.status();
  DnsMode dns = cfg.dns;
  if (auto it = spec.annotations.find(std::string(kAnnotationDnsMode)); it != spec.annotations.end()) {
    if (it->second == "host") dns = DnsMode::kHost;
    else if (it->second == "kubernetes" || it->second == "k8s") dns = DnsMode::kKubernetes;
    else return Status(Code::kInvalidArgument, "annotation reaper.runtime/dns-mode must be host or kubernetes: " + it->second);
  }
  auto plan = PlanBinds(spec.mounts, dns);
  if (!plan.ok()) return plan.status();
  auto mounts = PrepareMounts(*plan);
  if (!mounts.ok()) return mounts.status();
  auto ns = EnsureGroup(cfg, *group);
  if (!ns.ok()) return ns.status();
  c.group = group->key;  // registered as a user once the container exists (Create)
  *group_ns = std::move(*ns);
  return mounts;
}

void TaskService::WriteRecord(const Container& c) {
  StateRecord rec;
  rec.id = c.id;
  rec.pid = c.init->pid;
  rec.start_time = c.start_time;
  rec.cgroup = c.cgroup.valid() ? c.cgroup.path() : "";
  rec.group = c.group;
  rec.ns = opts_.ns;
  if (c.init->state == ProcState::kStopped) {
    rec.exited = true;
    rec.exit_status = c.init->exit_status;
    rec.exited_sec = c.init->exited_at.sec;
    rec.exited_nsec = c.init->exited_at.nsec;
  }
  if (Status st = WriteStateRecord(c.bundle, rec); !st.ok()) {
    log::Warn("cannot write state record", {{"error", st.message()}});
  }
}

}  // namespace reaper
