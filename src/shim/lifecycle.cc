#include "shim/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "base/proc.h"
#include "host/cgroup_path.h"
#include "host/cgroup_stats.h"
#include "host/overlay_group.h"
#include "shim/state_record.h"

namespace reaper {

Timestamp Timestamp::Now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp{ts.tv_sec, static_cast<int32_t>(ts.tv_nsec)};
}

Lifecycle::Lifecycle(Reactor& reactor, LifecycleObserver& observer, LifecycleOptions opts)
    : reactor_(reactor), observer_(observer), opts_(std::move(opts)) {
  if (config_.ok() && config_->overlay != OverlayMode::kOff) {
    groups_gc_ = std::make_unique<GroupCollector>(reactor_, *config_);
  }
  if (opts_.cgroup_parent) mounts_ = HostCgroupMounts();
}

namespace {
// Pure v2: the controllers must be enabled in every ancestor's cgroup.subtree_control for the
// container's memory/cpu/pids/io files to exist. Best effort (kubelet's parents have them).
void EnableV2Controllers(const std::string& mount, const std::string& leaf) {
  if (leaf.rfind(mount + "/", 0) != 0) return;
  for (size_t pos = mount.size(); pos != std::string::npos && pos < leaf.size(); pos = leaf.find('/', pos + 1)) {
    std::string dir = leaf.substr(0, pos);
    for (const char* ctl : {"+memory", "+cpu", "+pids", "+io"}) {
      UniqueFd f(open((dir + "/cgroup.subtree_control").c_str(), O_WRONLY | O_CLOEXEC));
      if (f) (void)!write(f.get(), ctl, strlen(ctl));
    }
  }
}
}  // namespace

Lifecycle::~Lifecycle() = default;

Container* Lifecycle::Find(const std::string& id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

Result<Process*> Lifecycle::FindProcess(const std::string& id, const std::string& exec_id) {
  Container* c = Find(id);
  if (!c) return Status(Code::kNotFound, "container " + id + ": not found");
  if (exec_id.empty()) return c->init.get();
  auto it = c->execs.find(exec_id);
  if (it == c->execs.end()) return Status(Code::kNotFound, "exec " + exec_id + " in container " + id + ": not found");
  return it->second.get();
}

Status Lifecycle::CheckPolicy(const Spec& spec) const {
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

namespace {
constexpr auto kGroupBusyBudget = std::chrono::seconds(30);  // waiting for another process's lock
}  // namespace

Status Lifecycle::Create(const std::string& id, const std::string& bundle, Spec spec, const IoPaths& paths) {
  auto c = std::make_unique<Container>();
  c->id = id;
  c->bundle = bundle;
  c->sandbox = IsSandbox(spec);
  auto annotation = [&](std::string_view k) {
    auto it = spec.annotations.find(std::string(k));
    return it == spec.annotations.end() ? std::string() : it->second;
  };
  c->pod_namespace = annotation(kAnnotationSandboxNamespace);
  c->pod_name = annotation(kAnnotationSandboxName);
  c->container_name = annotation(kAnnotationContainerName);
  c->cgroups_path = spec.cgroups_path;
  c->resources = spec.resources;
  auto p = std::make_unique<Process>();
  p->container_id = id;
  p->paths = paths;
  p->state = ProcState::kCreating;  // OnCreated once the child reports ready
  if (c->sandbox) {
    p->spec.args = {"reaper-sandbox"};
  } else {
    p->spec = std::move(spec.process);
    if (Status st = ApplyPrivileges(*c, *p, spec); !st.ok()) return st;
  }
  // Host protection: the overlay group and this container's volume mounts.
  if (!c->sandbox && config_.ok() && config_->overlay != OverlayMode::kOff) {
    auto setup = PrepareProtection(spec);
    if (!setup.ok()) return setup.status();
    c->setup = std::move(*setup);
  } else if (!c->sandbox && !config_.ok()) {
    return config_.status().Wrap("node configuration");
  }
  c->init = std::move(p);
  if (groups_gc_ && !std::exchange(groups_scanned_, true)) groups_gc_->Scan();  // groups left by earlier shims
  Container& ref = *c;
  containers_[id] = std::move(c);
  if (ref.setup) return ContinueSetup(ref, /*sync=*/true);
  if (Status st = FinishCreate(ref, UniqueFd(), nullptr); !st.ok()) return FailCreate(id, st, true);
  return Status::Ok();
}

Status Lifecycle::ApplyPrivileges(Container& c, Process& init, const Spec& spec) {
  if (config_.ok() && config_->full_privileges) {
    // The node restores "full root for every pod" (docs/security.md): the spec's capability
    // sets, seccomp profile and masked/read-only paths are not applied.
    init.spec.capabilities.reset();
    c.masks.root_readonly = spec.root_readonly;
    return Status::Ok();
  }
  if (spec.seccomp) {
    auto prog = config_.ok() ? CompileSeccompCached(*spec.seccomp, config_->state_root + "/seccomp")
                             : CompileSeccomp(*spec.seccomp);
    if (!prog.ok()) return prog.status();
    if (prog->skipped) {
      log::Info("seccomp: syscall names unknown to libseccomp skipped (the default action applies)",
                {{"id", c.id}, {"count", std::to_string(prog->skipped)}});
    }
    c.seccomp = std::make_shared<const SeccompProgram>(std::move(*prog));
  }
  c.masks = PathMasks{spec.masked_paths, spec.readonly_paths, spec.root_readonly};
  return Status::Ok();
}

Status Lifecycle::ContinueSetup(Container& c, bool sync) {
  PendingSetup& su = *c.setup;
  std::string id = c.id;
  // Registered as a user of the group in the same step (under its lock): a removal
  // elsewhere either sees this container or happens entirely before.
  auto attempt = TryOpenGroup(*config_, su.group, OwnedChild::Reap::kBySigchld, opts_.ns + "." + id);
  if (!attempt.ok()) return FailCreate(id, attempt.status(), sync);
  if (attempt->build) {
    su.build = std::move(attempt->build);
    if (Status st = reactor_.Add(su.build->fd(), EPOLLIN, [this, id](uint32_t) { OnGroupBuildReadable(id); });
        !st.ok()) {
      return FailCreate(id, st, sync);
    }
    return Status::Ok();
  }
  if (!attempt->ns) {
    // Another process creates or removes this group right now: look again shortly.
    auto now = std::chrono::steady_clock::now();
    if (su.attempts++ == 0) su.deadline = now + kGroupBusyBudget;
    if (now >= su.deadline) {
      return FailCreate(id, Status(Code::kUnavailable, "overlay group " + su.group.key +
                                                           " stayed locked by another process for 30 s"), sync);
    }
    auto delay = std::chrono::milliseconds(std::min(20 * su.attempts, 500));
    su.retry = reactor_.AddTimer(delay, [this, id] {
      Container* cc = Find(id);
      if (!cc || !cc->setup) return;
      cc->setup->retry = 0;
      (void)ContinueSetup(*cc, false);
    });
    return Status::Ok();
  }
  std::unique_ptr<PendingSetup> done = std::move(c.setup);
  c.group = done->group.key;  // registered as a user once init is forked
  if (Status st = FinishCreate(c, std::move(attempt->ns), &done->mounts); !st.ok()) return FailCreate(id, st, sync);
  return Status::Ok();
}

void Lifecycle::OnGroupBuildReadable(const std::string& id) {
  Container* c = Find(id);
  if (!c || !c->setup || !c->setup->build) return;
  PendingSetup& su = *c->setup;
  auto ns = su.build->Finish();
  if (!ns.ok() && ns.status().code() == Code::kUnavailable) return;  // more to read
  reactor_.Remove(su.build->fd());
  su.build.reset();  // releases the group lock; the helper exits and is reaped as any child
  if (!ns.ok()) {
    (void)FailCreate(id, ns.status(), false);
    return;
  }
  std::unique_ptr<PendingSetup> done = std::move(c->setup);
  c->group = done->group.key;
  if (Status st = FinishCreate(*c, std::move(*ns), &done->mounts); !st.ok()) (void)FailCreate(id, st, false);
}

Status Lifecycle::FailCreate(const std::string& id, const Status& st, bool sync) {
  if (!sync) observer_.OnCreateFailed(id, st);
  DropContainer(id);
  return sync ? st : Status::Ok();
}

void Lifecycle::CancelSetup(Container& c) {
  if (!c.setup) return;
  if (c.setup->build) reactor_.Remove(c.setup->build->fd());
  if (c.setup->retry) reactor_.CancelTimer(c.setup->retry);
  c.setup.reset();
}

Status Lifecycle::SetUpCgroups(Container& c) {
  if (!opts_.cgroup_parent) return Status::Ok();
  // The spec's cgroupsPath, unless it is containerd's default /<namespace>/<id> (ctr, CRI
  // without a cgroup parent): that one goes under the node's cgroup_parent as before.
  std::string rel;
  bool from_spec = !c.cgroups_path.empty() && c.cgroups_path != "/" + opts_.ns + "/" + c.id;
  if (from_spec) {
    auto r = CgroupRelativePath(c.cgroups_path);
    if (!r.ok()) return r.status();
    rel = *r;
  }
  std::string base = *opts_.cgroup_parent + "/" + opts_.ns + "/" + c.id;
  if (from_spec && mounts_.unified) base = *mounts_.unified + "/" + rel;
  if (!from_spec) {
    const std::string& u = mounts_.unified.value_or("");
    rel = !u.empty() && base.rfind(u + "/", 0) == 0 ? base.substr(u.size() + 1) : "reaper/" + opts_.ns + "/" + c.id;
  }
  // A directory left by an earlier container with this id (a killed shim) is removed if it
  // is empty, and otherwise its leftovers are killed and left to die there (it is removed
  // once empty) while this container takes a fresh one ('@' never occurs in an id). Either
  // way the container's cgroup is new: one that was ever killed cannot take a clone3 child.
  for (int n = 1; n <= 8 && !c.cgroup.valid(); ++n) {
    std::string path = n == 1 ? base : base + "@" + std::to_string(n);
    auto make = [&] {
      return from_spec && mounts_.unified ? Cgroup::CreateUnder(*mounts_.unified, path.substr(mounts_.unified->size() + 1))
                                          : Cgroup::Create(path);
    };
    auto cg = make();
    if (cg.ok() && !cg->fresh() && cg->Remove().ok()) cg = make();
    if (!cg.ok()) {
      log::Warn("cgroup tracking unavailable; using session tracking", {{"error", cg.status().message()}});
      break;
    }
    if (cg->fresh()) {
      c.cgroup = std::move(*cg);
      break;
    }
    log::Warn("killing leftover processes in cgroup", {{"cgroup", path}});
    (void)cg->Signal(SIGKILL);
    cgroups_to_remove_.push_back(std::move(*cg));
  }
  if (!c.cgroup.valid()) return Status::Ok();
  bool enforce = config_.ok() && config_->enforce_resources;
  if (!mounts_.pure_v2()) {
    // Hybrid: the v1 controllers hold the processes too (accounting, limits, kubelet's view).
    // Without them the container still runs (tracked by cgroup2), unaccounted; only a node
    // that enforces limits needs them.
    auto v1 = ControllerCgroups::Create(mounts_, rel);
    if (!v1.ok() && enforce) return v1.status().Wrap("v1 controller cgroups (enforce_resources)");
    if (!v1.ok()) {
      log::Warn("v1 controller cgroups unavailable: no statistics for this container",
                {{"id", c.id}, {"error", v1.status().message()}});
      return Status::Ok();
    }
    c.v1 = std::move(*v1);
    if (enforce) REAPER_RETURN_IF_ERROR(ApplyResourcesV1(c.v1.dirs(), c.resources).Wrap("linux.resources"));
  } else {
    EnableV2Controllers(*mounts_.unified, c.cgroup.path());
    if (enforce) REAPER_RETURN_IF_ERROR(ApplyResourcesV2(c.cgroup.path(), c.resources).Wrap("linux.resources"));
  }
  WatchOom(c);
  return Status::Ok();
}

void Lifecycle::WatchOom(Container& c) {
  bool v1 = !mounts_.pure_v2();
  std::string dir = v1 ? c.v1.dirs().memory : c.cgroup.path();
  if (dir.empty()) return;
  if (v1) {
    auto fd = OpenV1OomEventFd(dir);
    if (!fd.ok()) {
      log::Warn("OOM events unavailable", {{"id", c.id}, {"error", fd.status().message()}});
      return;
    }
    c.oom_fd = std::move(*fd);
  } else {
    c.oom_fd.reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!c.oom_fd || inotify_add_watch(c.oom_fd.get(), (dir + "/memory.events").c_str(), IN_MODIFY) < 0) {
      c.oom_fd.reset();
      return;
    }
  }
  if (!v1) c.oom_kills = ReadOomKills(dir, v1);
  std::string id = c.id;
  Status st = reactor_.Add(c.oom_fd.get(), EPOLLIN, [this, id, dir, v1](uint32_t) {
    Container* cc = Find(id);
    if (!cc || !cc->oom_fd) return;
    char buf[4096];
    while (read(cc->oom_fd.get(), buf, v1 ? 8 : sizeof buf) > 0) {
    }
    // v1 signals when the OOM killer is invoked (before the kill is counted) and when the
    // cgroup goes away; v2 rewrites memory.events, whose oom_kill count tells a kill.
    if (v1) {
      if (access((dir + "/memory.oom_control").c_str(), F_OK) != 0) return;  // removed
    } else {
      uint64_t n = ReadOomKills(dir, v1);
      if (n <= cc->oom_kills) return;
      cc->oom_kills = n;
    }
    log::Info("container hit its memory limit: OOM kill", {{"id", id}});
    observer_.OnOom(*cc);
  });
  if (!st.ok()) {
    log::Warn("OOM events unavailable", {{"id", c.id}, {"error", st.message()}});
    c.oom_fd.reset();
  }
}

void Lifecycle::StopOomWatch(Container& c) {
  if (!c.oom_fd) return;
  reactor_.Remove(c.oom_fd.get());
  c.oom_fd.reset();
}

Status Lifecycle::UpdateResources(Container& c, const Resources& r) {
  if (!config_.ok() || !config_->enforce_resources || !c.cgroup.valid()) return Status::Ok();
  Status st = mounts_.pure_v2() ? ApplyResourcesV2(c.cgroup.path(), r) : ApplyResourcesV1(c.v1.dirs(), r);
  if (!st.ok()) return st.Wrap("update resources of " + c.id);
  c.resources = r;
  return Status::Ok();
}

Result<CgroupStats> Lifecycle::Stats(const Container& c, bool* v1) const {
  *v1 = !mounts_.pure_v2();
  if (!c.cgroup.valid() || (*v1 && !c.v1.valid())) {
    return Status(Code::kNotFound, "stats for " + c.id + ": no cgroup: not found");
  }
  return *v1 ? ReadStatsV1(c.v1.dirs()) : ReadStatsV2(c.cgroup.path());
}

Status Lifecycle::FinishCreate(Container& c, UniqueFd group_ns, const std::vector<PreparedMount>* mounts) {
  REAPER_RETURN_IF_ERROR(SetUpCgroups(c));
  Process& init = *c.init;
  if (!c.sandbox) {
    auto io = ProcessIo::Open(reactor_, init.paths);
    if (!io.ok()) return io.status();
    init.io = std::move(*io);
  }
  REAPER_RETURN_IF_ERROR(SpawnProcess(c, init, /*hold=*/true, group_ns.get(), mounts));
  c.start_time = ProcessStartTime(init.pid);
  WriteRecord(c);
  return Status::Ok();
}

Status Lifecycle::Start(Container& c, Process& p) {
  if (p.is_init()) {
    if (!ReleaseHeld(p.release_w)) log::Warn("held child vanished before start", {{"id", c.id}});
    log::Debug("released", {{"id", c.id}});
  } else if (Status st = SpawnProcess(c, p, /*hold=*/false, c.mnt_ns.get(), nullptr); !st.ok()) {
    return st;
  }
  p.state = ProcState::kStarting;  // OnStarted / OnStartFailed once execve succeeded or failed
  return Status::Ok();
}

Status Lifecycle::AddExec(Container& c, const std::string& exec_id, ProcessSpec spec, const IoPaths& paths) {
  auto p = std::make_unique<Process>();
  p->container_id = c.id;
  p->exec_id = exec_id;
  p->spec = std::move(spec);
  p->spec.terminal = paths.terminal;
  // An exec has the container's privileges: its own capability sets if it names them (CRI
  // copies the container's), else init's; no_new_privs if either asks; init's seccomp filter.
  if (config_.ok() && config_->full_privileges) {
    p->spec.capabilities.reset();
  } else if (!p->spec.capabilities) {
    p->spec.capabilities = c.init->spec.capabilities;
  }
  p->spec.no_new_privileges = p->spec.no_new_privileges || c.init->spec.no_new_privileges;
  p->paths = paths;
  auto io = ProcessIo::Open(reactor_, p->paths);
  if (!io.ok()) return io.status();
  p->io = std::move(*io);
  c.execs[exec_id] = std::move(p);
  return Status::Ok();
}

ExitInfo Lifecycle::DeleteExec(Container& c, Process& p) {
  if (p.state == ProcState::kCreated) MarkExited(p, 0);  // never started: releases waiters
  ExitInfo info{p.pid, p.exit_status, p.exited_at};
  std::string exec_id = p.exec_id;
  ForgetProcess(p);
  c.execs.erase(exec_id);
  return info;
}

void Lifecycle::Delete(Container& c, std::function<void(const ExitInfo&)> done) {
  c.deleting = true;
  Process& p = *c.init;
  if (p.state == ProcState::kCreated) {
    // Deleting a created container kills the held child.
    if (p.pid > 0) kill(p.pid, SIGKILL);
    MarkExited(p, 128 + SIGKILL);
  }
  SignalAll(c, SIGKILL);
  for (auto& [_, e] : c.execs) {
    if (e->state != ProcState::kStopped) MarkExited(*e, e->pid > 0 ? 128 + SIGKILL : 0);
  }
  std::string id = c.id;
  if (!p.io || p.io->drained()) return FinishDelete(id, done);
  // Let the last output reach the client, bounded by the grace period.
  auto timer = std::make_shared<Reactor::TimerId>(0);
  *timer = reactor_.AddTimer(opts_.io_grace, [this, id] {
    Container* cc = Find(id);
    if (cc && cc->init->io) cc->init->io->Finish();
  });
  p.io->OnDrained([this, id, done, timer] {
    reactor_.CancelTimer(*timer);
    reactor_.Defer([this, id, done] { FinishDelete(id, done); });
  });
}

Status Lifecycle::Kill(Container& c, Process& p, int sig, bool all) {
  if (!p.is_init()) {
    if (p.pid == 0) return Status(Code::kFailedPrecondition, "process not created");
    if (p.state == ProcState::kStopped) return Status(Code::kNotFound, "process already finished: not found");
    if (kill(p.pid, sig) != 0 && errno != ESRCH) return Status::FromErrno(errno, "kill");
    return Status::Ok();
  }
  if (all) {
    SignalAll(c, sig);
    return Status::Ok();
  }
  if (p.state == ProcState::kStopped) return Status(Code::kNotFound, "process already finished: not found");
  if (p.pid <= 0) return Status(Code::kFailedPrecondition, "container " + c.id + " is still being created");
  if (kill(p.pid, sig) != 0 && errno != ESRCH) return Status::FromErrno(errno, "kill");
  if (c.paused && (sig == SIGKILL || sig == SIGTERM)) kill(p.pid, SIGCONT);
  return Status::Ok();
}

void Lifecycle::SetPaused(Container& c, bool pause) {
  SignalAll(c, pause ? SIGSTOP : SIGCONT);
  c.paused = pause;
}

Status Lifecycle::SpawnProcess(Container& c, Process& p, bool hold, int mnt_ns,
                               const std::vector<PreparedMount>* mounts) {
  SpawnRequest req;
  req.spec = &p.spec;
  req.join_mnt_ns = mnt_ns;
  bool masks = p.is_init() && !c.sandbox && !c.masks.empty();
  req.new_mount_ns = (mounts != nullptr && mnt_ns >= 0) || masks;
  req.mounts = mounts;
  req.masks = masks ? &c.masks : nullptr;
  req.seccomp = c.sandbox ? nullptr : c.seccomp.get();
  if (p.is_init()) c.own_mnt_ns = req.new_mount_ns;
  if (p.io) req.stdio = p.io->child_fds();
  req.cgroup_procs_fd = c.cgroup.valid() ? c.cgroup.procs_fd() : -1;
  req.cgroup_dir_fd = c.cgroup.valid() ? c.cgroup.dir_fd() : -1;
  req.no_clone_into_cgroup = c.cgroup.killed() || !c.cgroup.fresh() ||
                             (config_.ok() && !config_->clone_into_cgroup);
  // On a hybrid node the child joins the v1 controller cgroups itself, as its first step.
  std::vector<UniqueFd> v1_tasks;
  if (c.v1.valid()) {
    auto fds = c.v1.OpenTasks();
    if (!fds.ok()) return fds.status().Wrap("v1 cgroups");
    v1_tasks = std::move(*fds);
    for (const auto& f : v1_tasks) req.v1_tasks_fds.push_back(f.get());
  }
  req.hold = hold;
  req.placeholder = c.sandbox && p.is_init();
  req.self_exe = opts_.self_exe;
  req.reap = OwnedChild::Reap::kBySigchld;
  auto ch = Spawn(req);
  if (!ch.ok()) return ch.status();
  p.release_w = std::move(ch->release_w);
  p.status_r = std::move(ch->status_r);
  p.pid = ch->process.Detach();  // from now on OnChildExit reaps it (the daemon's SIGCHLD)
  by_pid_[p.pid] = &p;
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("spawned", {{"id", p.container_id}, {"exec_id", p.exec_id}, {"pid", std::to_string(p.pid)}, {"held", hold ? "true" : "false"},
                           {"into_cgroup", ch->born_in_cgroup ? "clone3" : "fork"}});
  }
  if (p.io) {
    if (Status st = p.io->Started(); !st.ok()) log::Warn("output copy setup failed", {{"error", st.message()}});
  }
  WatchStatus(p);
  return Status::Ok();
}

void Lifecycle::WatchStatus(Process& p) {
  Process* pp = &p;
  Status st = reactor_.Add(p.status_r.get(), EPOLLIN, [this, pp](uint32_t) { OnStatusReadable(*pp); });
  if (!st.ok()) log::Error("cannot watch child status pipe", {{"error", st.message()}});
}

void Lifecycle::OnStatusReadable(Process& p) {
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

void Lifecycle::ConsumeStatus(Process& p, bool eof) {
  while (auto rec = p.status.Next()) {
    if (rec->kind == 'W') {
      log::Warn(rec->text, {{"id", p.container_id}, {"exec_id", p.exec_id}});
    } else if (rec->kind == 'E') {
      p.spawn_error = rec->text;
    } else if (rec->kind == 'R' && p.state == ProcState::kCreating) {
      p.state = ProcState::kCreated;
      log::Debug("child ready", {{"id", p.container_id}, {"exec_id", p.exec_id}});
      Container* c = Find(p.container_id);
      if (!c->group.empty() || c->own_mnt_ns) {
        // The container's own mount namespace outlives init for as long as we hold it;
        // execs join it.
        c->mnt_ns.reset(open(("/proc/" + std::to_string(p.pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!c->mnt_ns) log::Warn("cannot keep the container's mount namespace", {{"id", c->id}});
      }
      observer_.OnCreated(*c);
    }
  }
  if (!eof) return;
  reactor_.Remove(p.status_r.get());
  p.status_r.reset();
  if (p.state == ProcState::kCreating) {
    // Died during setup: fail Create and forget the container (containerd then Deletes it
    // and expects NotFound).
    std::string id = p.container_id;
    std::string msg = p.spawn_error.empty() ? "process exited during setup" : p.spawn_error;
    observer_.OnCreateFailed(id, Status(Code::kUnknown, msg));
    DropContainer(id);  // `p` stays valid until the loop comes round again
    return;
  }
  if (p.state != ProcState::kStarting) return;
  if (!p.spawn_error.empty()) {
    observer_.OnStartFailed(p, Status(Code::kUnknown, p.spawn_error));
    return;  // the child exits 127; its exit is reported like any other
  }
  p.state = ProcState::kRunning;
  observer_.OnStarted(p);
}

void Lifecycle::OnChildExit(pid_t pid, int wait_status) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return;  // an adopted orphan, or a process already forgotten
  Process& p = *it->second;
  log::Debug("exit seen", {{"id", p.container_id}, {"exec_id", p.exec_id}});
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
  Container* c = Find(p.container_id);
  if (!c) return;
  if (p.is_init()) {
    // No PID namespace will tear the rest down: do it here, as runc does for shared pid ns.
    SignalAll(*c, SIGKILL);
  }
  StartIoGrace(p);
}

void Lifecycle::MarkExited(Process& p, uint32_t exit_status) {
  p.state = ProcState::kStopped;
  p.exit_status = exit_status;
  p.exited_at = Timestamp::Now();
  if (p.pid > 0) by_pid_.erase(p.pid);
  // Recorded before anyone hears of the exit: a shim killed right after a Wait reply still
  // lets `delete` report the real exit status.
  if (p.is_init()) {
    if (Container* c = Find(p.container_id)) WriteRecord(*c);
  }
  observer_.OnExited(p);
}

void Lifecycle::StartIoGrace(Process& p) {
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

std::vector<pid_t> Lifecycle::Pids(const Container& c) const {
  if (c.cgroup.valid()) return c.cgroup.Pids();
  // No cgroup: the processes of the container's sessions (init's and each exec's). Every
  // one of them is this shim's descendant (it is their subreaper), so only this pod's
  // process tree is read, never all of /proc.
  std::vector<pid_t> sessions, out;
  if (c.init->pid > 0) sessions.push_back(c.init->pid);
  for (const auto& [_, e] : c.execs) {
    if (e->pid > 0) sessions.push_back(e->pid);
  }
  if (sessions.empty()) return out;
  bool supported = true;
  for (pid_t p : Descendants(getpid(), &supported)) {
    pid_t sid = SessionOf(p);
    if (std::find(sessions.begin(), sessions.end(), sid) != sessions.end()) out.push_back(p);
  }
  if (!supported) {  // kernel without /proc/<pid>/task/<tid>/children
    for (pid_t sid : sessions) {
      for (pid_t p : PidsInSession(sid)) out.push_back(p);
    }
  }
  return out;
}

void Lifecycle::SignalAll(Container& c, int sig) {
  if (c.cgroup.valid()) {
    if (Status st = c.cgroup.Signal(sig); !st.ok()) log::Warn("signal cgroup", {{"error", st.message()}});
  } else {
    for (pid_t p : Pids(c)) kill(p, sig);
  }
  if (c.paused && (sig == SIGKILL || sig == SIGTERM)) {
    if (c.cgroup.valid()) (void)c.cgroup.Signal(SIGCONT);
    c.paused = sig == SIGTERM ? false : c.paused;
  }
}

void Lifecycle::ForgetProcess(Process& p) {
  if (p.status_r) {
    reactor_.Remove(p.status_r.get());
    p.status_r.reset();
  }
  if (p.io_grace_timer) reactor_.CancelTimer(std::exchange(p.io_grace_timer, 0));
  if (p.pid > 0) {
    auto it = by_pid_.find(p.pid);
    if (it != by_pid_.end() && it->second == &p) by_pid_.erase(it);
  }
  observer_.OnForgotten(p);
  if (p.io) p.io->Finish();
  p.io.reset();
}

void Lifecycle::FinishDelete(const std::string& id, const std::function<void(const ExitInfo&)>& done) {
  Container* c = Find(id);
  if (!c) return;
  const Process& p = *c->init;
  ExitInfo info{p.pid, p.exit_status, p.exited_at};
  unlink((c->bundle + "/" + kStateRecordName).c_str());
  DropContainer(id);
  done(info);
}

void Lifecycle::DropContainer(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Container& c = *it->second;
  CancelSetup(c);
  if (c.init->state != ProcState::kStopped && c.init->pid > 0) kill(c.init->pid, SIGKILL);
  SignalAll(c, SIGKILL);
  for (auto& [_, e] : c.execs) ForgetProcess(*e);
  ForgetProcess(*c.init);
  StopOomWatch(c);
  if (c.cgroup.valid()) {
    if (!c.cgroup.Remove().ok()) cgroups_to_remove_.push_back(std::move(c.cgroup));  // still emptying
    else ForgetParents(c.cgroup.created_parents());
  }
  if (c.v1.valid()) {
    if (!c.v1.Remove().ok()) v1_to_remove_.push_back(std::move(c.v1));
    else ForgetParents(c.v1.created_parents());
  }
  if (!c.group.empty() && config_.ok()) {
    RemoveGroupUser(*config_, c.group, opts_.ns + "." + c.id);
    if (groups_gc_) groups_gc_->Scan();  // the group may be idle from now on
  }
  // Callers may still hold references into the container: destroy it on the next turn.
  reactor_.Defer([dead = std::shared_ptr<Container>(std::move(it->second))] {});
  containers_.erase(it);
}

void Lifecycle::ForgetParents(const std::vector<std::string>& dirs) {
  parents_to_remove_.insert(parents_to_remove_.end(), dirs.begin(), dirs.end());
  RemoveEmptyDirs(&parents_to_remove_);  // the ones another container still uses stay
}

void Lifecycle::AfterReap() {
  for (size_t i = 0; i < cgroups_to_remove_.size();) {
    if (cgroups_to_remove_[i].Remove().ok()) {
      ForgetParents(cgroups_to_remove_[i].created_parents());
      cgroups_to_remove_.erase(cgroups_to_remove_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  for (size_t i = 0; i < v1_to_remove_.size();) {
    if (v1_to_remove_[i].Remove().ok()) {
      ForgetParents(v1_to_remove_[i].created_parents());
      v1_to_remove_.erase(v1_to_remove_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

void Lifecycle::KillEverything() {
  std::vector<std::string> ids;
  for (const auto& [id, _] : containers_) ids.push_back(id);
  for (const auto& id : ids) DropContainer(id);
  AfterReap();
}

Result<std::unique_ptr<PendingSetup>> Lifecycle::PrepareProtection(const Spec& spec) {
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
  auto setup = std::make_unique<PendingSetup>();
  setup->group = std::move(*group);
  setup->mounts = std::move(*mounts);
  return setup;
}

void Lifecycle::WriteRecord(const Container& c) {
  StateRecord rec;
  rec.id = c.id;
  rec.pid = c.init->pid;
  rec.start_time = c.start_time;
  rec.cgroup = c.cgroup.valid() ? c.cgroup.path() : "";
  rec.cgroups_created = c.cgroup.created_parents();
  for (const auto& d : c.v1.created()) rec.cgroups_created.push_back(d);
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
