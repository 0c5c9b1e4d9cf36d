// reaper-runtime commands. State lives in <root>/<id>/: state.json (atomic), exec.fifo while
// the container is created but not started. Status is derived from the kernel: the init
// process alive (same start time) -> created/running, otherwise stopped.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/proc.h"
#include "host/cgroup.h"
#include "host/features.h"
#include "base/files.h"
#include "base/paths.h"
#include "base/remove_tree.h"
#include "base/log.h"
#include "host/mount_plan.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "host/overlay_group.h"
#include "host/pty.h"
#include "runtime/cli.h"
#include "host/signals.h"
#include "host/spawn.h"
#include "base/files.h"
#include "version.h"

namespace reaper::runtime {
namespace {
using nlohmann::json;

struct State {
  std::string id, bundle, created, cgroup, group;
  pid_t pid = 0;
  unsigned long long start_time = 0;
  std::map<std::string, std::string> annotations;
};

std::string Dir(const Globals& g, const std::string& id) { return g.root + "/" + id; }

Status SaveState(const Globals& g, const State& s) {
  json j = {{"id", s.id},          {"bundle", s.bundle}, {"created", s.created}, {"pid", s.pid},
            {"start_time", s.start_time}, {"cgroup", s.cgroup}, {"group", s.group}, {"annotations", s.annotations}};
  return WriteFileAtomic(Dir(g, s.id) + "/state.json", j.dump(-1, ' ', false, json::error_handler_t::replace));
}

Result<State> LoadState(const Globals& g, const std::string& id) {
  REAPER_RETURN_IF_ERROR(ValidateId(id, "container id"));
  auto text = ReadFile(Dir(g, id) + "/state.json", 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return Status(Code::kNotFound, "container does not exist");
    return text.status();
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status(Code::kInternal, "corrupt state of container " + id);
  State s;
  try {
    s.id = j.value("id", id);
    s.bundle = j.value("bundle", "");
    s.created = j.value("created", "");
    s.pid = j.value("pid", 0);
    s.start_time = j.value("start_time", 0ULL);
    s.cgroup = j.value("cgroup", "");
    s.group = j.value("group", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("corrupt state: ") + e.what());
  }
  return s;
}

std::string StatusOf(const Globals& g, const State& s) {
  if (!ProcessAlive(s.pid, s.start_time)) return "stopped";
  if (access((Dir(g, s.id) + "/exec.fifo").c_str(), F_OK) == 0) return "created";
  return "running";
}

json StateJson(const Globals& g, const State& s) {
  std::string status = StatusOf(g, s);
  json j = {{"ociVersion", "1.0.2"}, {"id", s.id},         {"pid", status == "stopped" ? 0 : s.pid},
            {"status", status},      {"bundle", s.bundle}, {"rootfs", s.bundle + "/rootfs"},
            {"created", s.created},  {"owner", ""}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

Status WritePidFile(const std::string& path, pid_t pid) {
  if (path.empty()) return Status::Ok();
  return WriteFileAtomic(path, std::to_string(pid));
}

// Waits for the child's status records until "ready" (create) or EOF (execve done).
// Returns the child's error text if it failed.
Status AwaitChild(Child& ch, bool until_ready) {
  fcntl(ch.status_r.get(), F_SETFL, fcntl(ch.status_r.get(), F_GETFL) & ~O_NONBLOCK);
  StatusDecoder dec;
  char buf[4096];
  for (;;) {
    ssize_t n = read(ch.status_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) dec.Feed(buf, static_cast<size_t>(n));
    while (auto r = dec.Next()) {
      if (r->kind == 'E') return Status(Code::kUnknown, r->text);
      if (r->kind == 'W') fprintf(stderr, "reaper-runtime: warning: %s\n", r->text.c_str());
      if (r->kind == 'R' && until_ready) return Status::Ok();
    }
    if (n <= 0) return until_ready ? Status(Code::kUnknown, "container process exited during setup") : Status::Ok();
  }
}

std::vector<pid_t> Pids(const State& s) {
  if (!s.cgroup.empty()) return Cgroup::Existing(s.cgroup).Pids();
  return ProcessAlive(s.pid, s.start_time) ? PidsInSession(s.pid) : std::vector<pid_t>{};
}

Status SignalAll(const State& s, int sig) {
  if (!s.cgroup.empty()) return Cgroup::Existing(s.cgroup).Signal(sig);
  for (pid_t p : Pids(s)) kill(p, sig);
  return Status::Ok();
}

// Sets up what create and exec share: protection (group + mounts) for create, the terminal.
struct Launch {
  SpawnRequest req;
  std::vector<PreparedMount> mounts;
  PathMasks masks;
  std::optional<SeccompProgram> seccomp;
  UniqueFd ns;
  Pty pty;
};

// The spec's seccomp filter and masks (docs/design.md "Privileges"), unless the node gives
// every container full privileges.
Status SetupPrivileges(const NodeConfig& cfg, const Spec& spec, bool init, Launch& l) {
  if (cfg.full_privileges) {
    l.masks.root_readonly = init && spec.root_readonly;
  } else {
    if (spec.seccomp) {
      auto prog = CompileSeccompCached(*spec.seccomp, cfg.state_root + "/seccomp");
      if (!prog.ok()) return prog.status();
      l.seccomp = std::move(*prog);
      l.req.seccomp = &*l.seccomp;
    }
    if (init) l.masks = PathMasks{spec.masked_paths, spec.readonly_paths, spec.root_readonly};
  }
  if (init && !l.masks.empty()) {
    l.req.new_mount_ns = true;
    l.req.masks = &l.masks;
  }
  return Status::Ok();
}

Status SetupTerminal(const Command& c, bool terminal, Launch& l) {
  if (!terminal) {
    l.req.stdio = StdioFds{0, 1, 2, false};
    return Status::Ok();
  }
  std::string sock = c.get("console-socket");
  if (sock.empty()) return Status(Code::kInvalidArgument, "terminal requested but no --console-socket given");
  auto pty = OpenPty();
  if (!pty.ok()) return pty.status();
  l.pty = std::move(*pty);
  REAPER_RETURN_IF_ERROR(SendFd(sock, l.pty.master.get()));
  l.pty.master.reset();
  l.req.stdio = StdioFds{l.pty.slave.get(), l.pty.slave.get(), l.pty.slave.get(), true};
  return Status::Ok();
}

Result<int> Create(const Globals& g, const Command& c) {
  if (c.args.size() != 1) return Status(Code::kInvalidArgument, "create needs exactly one container id");
  const std::string id = c.args[0];
  REAPER_RETURN_IF_ERROR(ValidateId(id, "container id"));
  std::string bundle = c.get("bundle", c.get("b", "."));
  char abs[4096];
  if (!realpath(bundle.c_str(), abs)) return Status::FromErrno(errno, "bundle " + bundle);
  bundle = abs;
  // state.json is JSON: a path it cannot hold faithfully is refused before anything exists.
  if (!IsUtf8(bundle)) {
    return Status(Code::kInvalidArgument, "bundle path is not valid UTF-8: " + bundle);
  }
  auto spec = LoadSpec(bundle);
  if (!spec.ok()) return spec.status();
  if (!spec->has_process) return Status(Code::kInvalidArgument, "config.json has no process");
  auto cfg = LoadNodeConfig();
  if (!cfg.ok()) return cfg.status();
  if (mkdir(g.root.c_str(), 0700) != 0 && errno != EEXIST) return Status::FromErrno(errno, "mkdir " + g.root);
  std::string dir = Dir(g, id);
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status(Code::kAlreadyExists, "container with id exists: " + id);
    return Status::FromErrno(errno, "mkdir " + dir);
  }
  // Every failure from here on leaves nothing: the child (killed and reaped when `ch` goes),
  // then its cgroup, the group registration and the state directory (this guard, declared
  // first, runs last).
  State s;
  Cgroup cg;
  struct Undo {
    const std::string& dir;
    Cgroup& cg;
    const State& s;
    const NodeConfig& cfg;
    bool armed = true;
    ~Undo() {
      if (!armed) return;
      if (cg.valid()) KillAndRemoveCgroup(cg.path(), std::chrono::milliseconds(2000));
      if (!s.group.empty()) RemoveGroupUser(cfg, s.group, "oci." + s.id);
      if (Status st = RemoveTree(dir); !st.ok()) fprintf(stderr, "reaper-runtime: %s\n", st.message().c_str());
    }
  } undo{dir, cg, s, *cfg};
  if (mkfifo((dir + "/exec.fifo").c_str(), 0600) != 0) return Status::FromErrno(errno, "mkfifo");
  s.id = id;
  s.bundle = bundle;
  s.created = log::NowRfc3339();
  s.annotations = spec->annotations;
  Launch l;
  if (auto parent = cfg->cgroup_parent.empty() ? DefaultCgroupParent() : std::optional<std::string>(cfg->cgroup_parent);
      parent && *parent != "none") {
    auto made = Cgroup::Create(*parent + "/oci/" + id);
    if (made.ok()) {
      cg = std::move(*made);
      s.cgroup = cg.path();
      l.req.cgroup_procs_fd = cg.procs_fd();
      l.req.cgroup_dir_fd = cg.dir_fd();
      // an old directory may have been killed
      l.req.no_clone_into_cgroup = !cg.fresh() || !cfg->clone_into_cgroup;
    }
  }
  if (cfg->overlay != OverlayMode::kOff) {
    auto group = ResolveGroup(*cfg, spec->annotations, "default", "oci");
    if (!group.ok()) return group.status();
    auto plan = PlanBinds(spec->mounts, cfg->dns);
    if (!plan.ok()) return plan.status();
    auto mounts = PrepareMounts(*plan);
    if (!mounts.ok()) return mounts.status();
    l.mounts = std::move(*mounts);
    auto ns = EnsureGroup(*cfg, *group, "oci." + id);  // registered as a user with it
    if (!ns.ok()) return ns.status();
    l.ns = std::move(*ns);
    s.group = group->key;
    l.req.join_mnt_ns = l.ns.get();
    l.req.new_mount_ns = true;
    l.req.mounts = &l.mounts;
  }
  REAPER_RETURN_IF_ERROR(SetupPrivileges(*cfg, *spec, /*init=*/true, l));
  if (cfg->full_privileges) spec->process.capabilities.reset();
  REAPER_RETURN_IF_ERROR(SetupTerminal(c, spec->process.terminal, l));
  l.req.spec = &spec->process;
  // Held open for reading (O_RDWR: no EOF while nobody writes) by the child only: `start`
  // can open the FIFO for writing exactly while the child waits, ENXIO once it is gone.
  UniqueFd hold(open((dir + "/exec.fifo").c_str(), O_RDWR | O_CLOEXEC));
  if (!hold) return Status::FromErrno(errno, "open exec.fifo");
  l.req.hold_fd = hold.get();
  auto ch = Spawn(l.req);
  if (!ch.ok()) return ch.status();
  REAPER_RETURN_IF_ERROR(AwaitChild(*ch, true));
  s.pid = ch->pid();
  s.start_time = ProcessStartTime(s.pid);
  if (!s.group.empty()) (void)AddGroupUser(*cfg, s.group, "oci." + id);
  REAPER_RETURN_IF_ERROR(SaveState(g, s));
  REAPER_RETURN_IF_ERROR(WritePidFile(c.get("pid-file"), s.pid));
  undo.armed = false;
  ch->process.Detach();  // the child now belongs to our caller's subreaper (conmon), as with runc
  return 0;
}

Result<int> Start(const Globals& g, const Command& c) {
  if (c.args.size() != 1) return Status(Code::kInvalidArgument, "start needs exactly one container id");
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  std::string status = StatusOf(g, *s);
  if (status != "created") {
    return Status(Code::kFailedPrecondition, "cannot start a container that is " + status);
  }
  std::string fifo = Dir(g, s->id) + "/exec.fifo";
  UniqueFd f(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!f) return Status(Code::kFailedPrecondition, "cannot start a container that has stopped");
  if (write(f.get(), "1", 1) != 1) return Status::FromErrno(errno, "start " + s->id);
  unlink(fifo.c_str());
  return 0;
}

Result<int> StateCmd(const Globals& g, const Command& c) {
  if (c.args.size() != 1) return Status(Code::kInvalidArgument, "state needs exactly one container id");
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  printf("%s\n", StateJson(g, *s).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  return 0;
}

Result<int> Kill(const Globals& g, const Command& c) {
  if (c.args.empty() || c.args.size() > 2) return Status(Code::kInvalidArgument, "usage: kill [--all] ID [SIGNAL]");
  auto sig = ParseSignal(c.args.size() == 2 ? c.args[1] : "SIGTERM");
  if (!sig.ok()) return sig.status();
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  if (c.has("all") || c.has("a")) {
    REAPER_RETURN_IF_ERROR(SignalAll(*s, *sig));
    return 0;
  }
  if (StatusOf(g, *s) == "stopped") return Status(Code::kFailedPrecondition, "container not running");
  if (kill(s->pid, *sig) != 0) return Status::FromErrno(errno, "kill");
  return 0;
}

Result<int> Delete(const Globals& g, const Command& c) {
  if (c.args.size() != 1) return Status(Code::kInvalidArgument, "delete needs exactly one container id");
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  std::string status = StatusOf(g, *s);
  bool force = c.has("force") || c.has("f");
  if (status != "stopped" && status != "created" && !force) {
    return Status(Code::kFailedPrecondition, "cannot delete container " + s->id + " that is not stopped: " + status);
  }
  (void)SignalAll(*s, SIGKILL);
  if (ProcessAlive(s->pid, s->start_time)) kill(s->pid, SIGKILL);
  if (!s->cgroup.empty()) KillAndRemoveCgroup(s->cgroup, std::chrono::milliseconds(2000));
  if (!s->group.empty()) {
    if (auto cfg = LoadNodeConfig(); cfg.ok()) RemoveGroupUser(*cfg, s->group, "oci." + s->id);
  }
  if (Status st = RemoveTree(Dir(g, s->id)); !st.ok()) return st.Wrap("remove the state of " + s->id);
  return 0;
}

Result<ProcessSpec> ExecProcess(const Command& c, const State& s) {
  if (c.has("process") || c.has("p")) {
    auto text = ReadFile(c.get("process", c.get("p")), 1 << 20);
    if (!text.ok()) return text.status();
    return ParseProcess(*text);
  }
  auto spec = LoadSpec(s.bundle);
  if (!spec.ok()) return spec.status();
  ProcessSpec p = spec->process;  // the container's defaults, as runc does
  p.args.assign(c.args.begin() + 1, c.args.end());
  if (p.args.empty()) return Status(Code::kInvalidArgument, "exec needs a command or --process");
  p.terminal = c.has("tty") || c.has("t");
  if (c.has("cwd")) p.cwd = c.get("cwd");
  for (const char* f : {"env", "e"}) {
    if (auto it = c.flags.find(f); it != c.flags.end()) p.env.insert(p.env.end(), it->second.begin(), it->second.end());
  }
  std::string user = c.get("user", c.get("u"));
  if (!user.empty()) {
    long long uid, gid = 0;
    auto colon = user.find(':');
    if (!ParseInt(user.substr(0, colon), &uid) || uid < 0 || uid >= 4294967295LL ||
        (colon != std::string::npos && (!ParseInt(user.substr(colon + 1), &gid) || gid < 0 || gid >= 4294967295LL))) {
      return Status(Code::kInvalidArgument, "--user must be UID[:GID] with numeric ids: " + user);
    }
    p.uid = static_cast<uint32_t>(uid);
    p.gid = static_cast<uint32_t>(gid);
    p.additional_gids.clear();
  }
  return p;
}

Result<int> Exec(const Globals& g, const Command& c) {
  if (c.args.empty()) return Status(Code::kInvalidArgument, "exec needs a container id");
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  if (StatusOf(g, *s) == "stopped") return Status(Code::kFailedPrecondition, "cannot exec in a stopped container");
  auto p = ExecProcess(c, *s);
  if (!p.ok()) return p.status();
  if (c.has("tty") || c.has("t")) p->terminal = true;
  Launch l;
  UniqueFd cg_procs, cg_dir;
  if (!s->cgroup.empty()) {
    cg_procs.reset(open((s->cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    cg_dir.reset(open(s->cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    l.req.cgroup_procs_fd = cg_procs.get();
    l.req.cgroup_dir_fd = cg_dir.get();
  }
  auto spec = LoadSpec(s->bundle);
  if (!spec.ok()) return spec.status();
  auto cfg = LoadNodeConfig();
  if (!cfg.ok()) return cfg.status();
  REAPER_RETURN_IF_ERROR(SetupPrivileges(*cfg, *spec, /*init=*/false, l));
  // The container's privileges unless the process names its own capability sets.
  if (cfg->full_privileges) p->capabilities.reset();
  else if (!p->capabilities) p->capabilities = spec->process.capabilities;
  p->no_new_privileges = p->no_new_privileges || spec->process.no_new_privileges;
  bool own_ns = !s->group.empty() || !PathMasks{spec->masked_paths, spec->readonly_paths, spec->root_readonly}.empty();
  if (own_ns) {
    l.ns.reset(open(("/proc/" + std::to_string(s->pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
    if (!l.ns) return Status::FromErrno(errno, "open the container's mount namespace");
    l.req.join_mnt_ns = l.ns.get();
  }
  REAPER_RETURN_IF_ERROR(SetupTerminal(c, p->terminal, l));
  l.req.spec = &*p;
  auto ch = Spawn(l.req);
  if (!ch.ok()) return ch.status();
  l.pty.slave.reset();
  REAPER_RETURN_IF_ERROR(AwaitChild(*ch, false));  // a failed exec: dropping `ch` reaps it
  REAPER_RETURN_IF_ERROR(WritePidFile(c.get("pid-file"), ch->pid()));
  if (c.has("detach") || c.has("d")) {
    ch->process.Detach();
    return 0;
  }
  auto ws = ch->process.Wait();
  if (!ws.ok()) return ws.status();
  return WIFEXITED(*ws) ? WEXITSTATUS(*ws) : 128 + WTERMSIG(*ws);
}

Result<int> Ps(const Globals& g, const Command& c) {
  if (c.args.size() != 1) return Status(Code::kInvalidArgument, "ps needs exactly one container id");
  auto s = LoadState(g, c.args[0]);
  if (!s.ok()) return s.status();
  auto pids = Pids(*s);
  std::string format = c.get("format", c.get("f", "table"));
  if (format == "json") {
    printf("%s\n", json(pids).dump().c_str());
    return 0;
  }
  if (format != "table") return Status(Code::kInvalidArgument, "invalid format " + format);
  printf("%-8s %s\n", "PID", "CMD");
  for (pid_t p : pids) {
    auto cmd = ReadFile("/proc/" + std::to_string(p) + "/cmdline", 1 << 16);
    std::string text = cmd.ok() ? *cmd : "";
    for (char& ch : text) {
      if (ch == '\0') ch = ' ';
    }
    printf("%-8d %s\n", p, text.c_str());
  }
  return 0;
}

Result<int> List(const Globals& g, const Command& c) {
  json all = json::array();
  if (DIR* d = opendir(g.root.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto s = LoadState(g, e->d_name);
      if (s.ok()) all.push_back(StateJson(g, *s));
    }
    closedir(d);
  }
  if (c.get("format", c.get("f", "table")) == "json") {
    printf("%s\n", all.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  printf("%-30s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  for (const auto& s : all) {
    printf("%-30s %-8d %-10s %-40s %s\n", s["id"].get<std::string>().c_str(), s["pid"].get<int>(),
           s["status"].get<std::string>().c_str(), s["bundle"].get<std::string>().c_str(),
           s["created"].get<std::string>().c_str());
  }
  return 0;
}

Result<int> Features() {
  printf("%s\n", FeaturesJson(2).c_str());
  return 0;
}
}  // namespace

Result<int> Execute(const Globals& g, const Command& c) {
  if (c.name == "version") {
    printf("reaper-runtime version %s\nspec: 1.0.2\n", REAPER_VERSION);
    return 0;
  }
  if (c.name == "create") return Create(g, c);
  if (c.name == "start") return Start(g, c);
  if (c.name == "state") return StateCmd(g, c);
  if (c.name == "kill") return Kill(g, c);
  if (c.name == "delete") return Delete(g, c);
  if (c.name == "exec") return Exec(g, c);
  if (c.name == "ps") return Ps(g, c);
  if (c.name == "list") return List(g, c);
  if (c.name == "features") return Features();
  return Status(Code::kInvalidArgument, "unknown command \"" + c.name + "\"");
}

}  // namespace reaper::runtime
