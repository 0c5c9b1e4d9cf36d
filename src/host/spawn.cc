#include "host/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "host/privileges.h"

namespace reaper {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---- child side: only plain syscalls and stack buffers below ----

void SendRecord(int fd, char kind, const char* a, const char* b = "", const char* c = "") {
  char buf[1024];
  size_t n = 0;
  for (const char* s : {a, b, c}) {
    for (; *s && n < sizeof buf - 3; ++s) buf[3 + n++] = *s;
  }
  buf[0] = kind;
  buf[1] = static_cast<char>(n & 0xff);
  buf[2] = static_cast<char>(n >> 8);
  ssize_t r = write(fd, buf, n + 3);
  (void)r;
}

[[noreturn]] void Fail(int fd, const char* what, const char* arg, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s%s: %s", what, arg, strerror(err));
  SendRecord(fd, 'E', msg);
  _exit(127);
}

void ApplyRlimits(int fd, const ProcessSpec& s) {
  for (const auto& rl : s.rlimits) {
    rlimit want{rl.soft, rl.hard};
    if (setrlimit(rl.resource, &want) == 0) continue;
    int err = errno;
    rlimit cur{};
    getrlimit(rl.resource, &cur);
    if (err != EPERM || want.rlim_max <= cur.rlim_max) Fail(fd, "setrlimit ", rl.name.c_str(), err);
    // Raising a hard limit needs CAP_SYS_RESOURCE: clamp to what this node allows and warn.
    rlimit clamped{want.rlim_cur < cur.rlim_max ? want.rlim_cur : cur.rlim_max, cur.rlim_max};
    if (setrlimit(rl.resource, &clamped) != 0) Fail(fd, "setrlimit ", rl.name.c_str(), errno);
    char msg[256];
    snprintf(msg, sizeof msg, "%s clamped to soft=%llu hard=%llu (node does not allow raising the hard limit)",
             rl.name.c_str(), (unsigned long long)clamped.rlim_cur, (unsigned long long)clamped.rlim_max);
    SendRecord(fd, 'W', msg);
  }
}

void ApplyOomScoreAdj(int fd, const ProcessSpec& s) {
  if (!s.oom_score_adj) return;
  int f = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  char v[16];
  int n = snprintf(v, sizeof v, "%d", *s.oom_score_adj);
  if (f >= 0 && write(f, v, n) == n) {
    close(f);
    return;
  }
  int err = errno;
  if (f >= 0) close(f);
  char msg[160];
  snprintf(msg, sizeof msg, "oomScoreAdj %d not applied (%s); keeping the inherited value",
           *s.oom_score_adj, strerror(err));
  SendRecord(fd, 'W', msg);
}

// What the parent computed for the child before forking.
struct ChildPlan {
  bool in_cgroup = false;
  pid_t parent = 0;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  std::optional<CapabilitySets> caps;  // masked to this kernel
  int last_cap = 40;
};

[[noreturn]] void FailAt(int fd, const char* what, const char* path, int err) {
  char w[256];
  snprintf(w, sizeof w, "%s ", what);
  Fail(fd, w, path, err);
}

[[noreturn]] void ChildMain(const SpawnRequest& req, const ChildPlan& plan, int status_w, int release_r, int devnull) {
  const ProcessSpec& s = *req.spec;
  bool in_cgroup = plan.in_cgroup;
  pid_t parent = plan.parent;
  if (req.hold) {
    // A held child dies with the shim (nothing else could ever release it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
  }
  // Only what this child needs stays open; everything else the parent had open (other
  // containers' pipes, sockets, the listener) is closed before anything else happens.
  int in = req.stdio.in, out = req.stdio.out, err = req.stdio.err;
  int cgroup_fd = in_cgroup ? -1 : req.cgroup_procs_fd, mnt_ns = req.join_mnt_ns, hold_fd = req.hold_fd;
  std::vector<int> trees;
  if (req.mounts) {
    for (const auto& m : *req.mounts) trees.push_back(m.tree.get());
  }
  size_t n_trees = trees.size();
  trees.insert(trees.end(), req.v1_tasks_fds.begin(), req.v1_tasks_fds.end());
  if (!KeepOnlyFds({&status_w, &release_r, &devnull, &in, &out, &err, &cgroup_fd, &mnt_ns, &hold_fd}, &trees)) {
    _exit(127);  // cannot even report: the parent sees the status pipe close without 'R'
  }
  std::vector<int> v1(trees.begin() + static_cast<long>(n_trees), trees.end());
  trees.resize(n_trees);
  if (!req.hold) release_r = -1;
  sigset_t all;
  sigfillset(&all);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  sigprocmask(SIG_UNBLOCK, &all, nullptr);
  if (setsid() < 0) Fail(status_w, "setsid", "", errno);
  if (req.stdio.terminal && ioctl(in, TIOCSCTTY, 0) != 0) Fail(status_w, "TIOCSCTTY", "", errno);
  if (cgroup_fd >= 0 && write(cgroup_fd, "0", 1) != 1) Fail(status_w, "join cgroup", "", errno);
  // v1 controllers (hybrid node): this single thread moves itself ("0" into `tasks`), which
  // the kernel does without the threadgroup lock and its RCU grace period (docs/design.md
  // "Tracking"). Every later thread and child is born there.
  for (int fd : v1) {
    if (write(fd, "0", 1) != 1) Fail(status_w, "join the v1 controller cgroups", "", errno);
    close(fd);
  }
  if (mnt_ns >= 0 && setns(mnt_ns, CLONE_NEWNS) != 0) Fail(status_w, "join mount namespace", "", errno);
  if (req.new_mount_ns) {
    if (unshare(CLONE_NEWNS) != 0) Fail(status_w, "unshare mount namespace", "", errno);
    // Unshared from the host's own namespace (no overlay group): nothing mounted here may
    // propagate back to the node.
    if (mnt_ns < 0 && mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      Fail(status_w, "make the container's mount namespace a slave of the node's", "", errno);
    }
    const char* what = "";
    const char* path = "";
    if (req.mounts) {
      int e = AttachMounts(*req.mounts, trees.data(), &what, &path);
      if (e != 0) FailAt(status_w, what, path, e);
    }
    if (req.masks && !req.masks->empty()) {
      int e = ApplyPathMasks(*req.masks, &what, &path);
      if (e != 0) FailAt(status_w, what, path, e);
    }
  }
  int fds[3] = {in, out, err};
  for (int i = 0; i < 3; ++i) {
    if (dup2(fds[i] >= 0 ? fds[i] : devnull, i) < 0) Fail(status_w, "dup2 stdio", "", errno);
  }
  // From here on the child holds only its stdio and its own pipes (the clones of attached
  // mounts would otherwise stay reachable as /proc/self/fd/N, e.g. as a cwd).
  if (!KeepOnlyFds({&status_w, &release_r, &hold_fd})) Fail(status_w, "close inherited fds", "", errno);
  if (chdir(s.cwd.c_str()) != 0) Fail(status_w, "chdir to cwd ", s.cwd.c_str(), errno);
  // A cwd reached through an fd of another mount namespace (CVE-2024-21626) is unreachable
  // from this root: getcwd fails with ENOENT.
  char cwd_buf[PATH_MAX];
  if (req.join_mnt_ns >= 0 && getcwd(cwd_buf, sizeof cwd_buf) == nullptr) {
    Fail(status_w, "cwd outside the container's mount namespace ", s.cwd.c_str(), errno);
  }
  std::string exe;
  if (!req.placeholder) {
    // Safe here: the parent is single-threaded, so the heap is consistent after fork.
    auto resolved = ResolveExecutable(s);
    if (!resolved.ok()) {
      SendRecord(status_w, 'E', resolved.status().message().c_str());
      _exit(127);
    }
    exe = std::move(*resolved);
  }
  if (s.umask) umask(*s.umask);
  ApplyRlimits(status_w, s);
  ApplyOomScoreAdj(status_w, s);
  const CapabilitySets* caps = plan.caps ? &*plan.caps : nullptr;
  const uint64_t sys_admin = uint64_t{1} << kCapSysAdmin;
  // Without no_new_privs the kernel loads a filter only for a caller with CAP_SYS_ADMIN: keep
  // it in the effective set until the filter is loaded (then drop it), or, with no
  // capability sets to apply and a uid change ahead (which clears the effective set), load
  // the filter while still root.
  bool nnp = s.no_new_privileges;
  bool admin_for_seccomp = req.seccomp && !nnp && caps && !(caps->effective & sys_admin);
  bool early_seccomp = req.seccomp && !nnp && !caps && s.uid != 0;
  if (early_seccomp) {
    if (int e = LoadSeccomp(*req.seccomp); e != 0) Fail(status_w, "load the seccomp filter", "", e);
  }
  if (caps) {
    if (int e = CapsBeforeSetuid(caps->bounding, plan.last_cap); e != 0) {
      Fail(status_w, "drop capabilities from the bounding set", "", e);
    }
  }
  if (setgroups(s.additional_gids.size(), s.additional_gids.data()) != 0) {
    Fail(status_w, "setgroups", "", errno);
  }
  if (setgid(s.gid) != 0) Fail(status_w, "setgid", "", errno);
  if (setuid(s.uid) != 0) Fail(status_w, "setuid", "", errno);
  if (caps) {
    uint64_t extra = admin_for_seccomp ? sys_admin : 0;
    if (int e = SetCapSets(caps->effective | extra, caps->permitted | extra, caps->inheritable); e != 0) {
      Fail(status_w, "set capabilities (effective, permitted, inheritable)", "", e);
    }
    int failed = -1;
    SetAmbient(caps->ambient, plan.last_cap, &failed);
    if (failed >= 0) {
      char msg[160];
      snprintf(msg, sizeof msg, "ambient capability %d not raised (not in the permitted and inheritable sets)", failed);
      SendRecord(status_w, 'W', msg);
    }
  }
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(status_w, "set no_new_privs", "", errno);
  }
  SendRecord(status_w, 'R', "");
  if (req.hold) {
    char c;
    ssize_t n;
    do {
      n = read(release_r, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);  // the shim abandoned this process
    prctl(PR_SET_PDEATHSIG, 0);  // started: the workload outlives a crashed shim, as with runc
  }
  if (hold_fd >= 0) {
    char c;
    ssize_t n;
    do {
      n = read(hold_fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);
  }
  // Last: from here on every syscall of this process is filtered, so nothing of the shim's
  // own set-up above is.
  if (req.seccomp && !early_seccomp) {
    if (int e = LoadSeccomp(*req.seccomp); e != 0) Fail(status_w, "load the seccomp filter", "", e);
  }
  if (admin_for_seccomp) {
    if (int e = Capset(caps->effective, caps->permitted, caps->inheritable); e != 0) {
      Fail(status_w, "drop CAP_SYS_ADMIN after loading the seccomp filter", "", e);
    }
  }
  if (req.placeholder) {
    char arg0[] = "reaper-sandbox";
    char arg1[16];
    snprintf(arg1, sizeof arg1, "%s", kPauseArg);
    char* pargv[] = {arg0, arg1, nullptr};
    char* penv[] = {nullptr};
    execve(req.self_exe.c_str(), pargv, penv);
    PauseForever();  // exec of ourselves failed: pausing here is equivalent
  }
  execve(exe.c_str(), plan.argv, plan.envp);  // every fd above 2 is close-on-exec
  int e = errno;
  char what[600];
  snprintf(what, sizeof what, "exec: \"%s\"", s.args[0].c_str());
  Fail(status_w, what, "", e);
}

// clone3 with CLONE_INTO_CGROUP | CLONE_PIDFD and no new stack: returns like fork (0 in the
// child), with the child created inside the cgroup of `cgroup_dir_fd` (Linux >= 5.7, cgroup2).
// -1 when the kernel refuses it (ENOSYS, E2BIG, EINVAL, EOPNOTSUPP, EBUSY...): the caller forks.
pid_t CloneIntoCgroup(int cgroup_dir_fd, int* pidfd) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_dir_fd);
  long r = syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) *pidfd = -1;
  return static_cast<pid_t>(r);
}

bool IsExecutableFile(const std::string& path, int* err) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *err = EISDIR;
    return false;
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    *err = EACCES;
    return false;
  }
  return true;
}

std::string JoinCwd(const std::string& cwd, const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  return cwd == "/" ? "/" + p : cwd + "/" + p;
}

}  // namespace

bool ReleaseHeld(UniqueFd& release_w) {
  if (!release_w) return false;
  char c = 1;
  ssize_t n = write(release_w.get(), &c, 1);
  release_w.reset();
  return n == 1;
}

bool Child::Release() { return ReleaseHeld(release_w); }

Result<std::string> ResolveExecutable(const ProcessSpec& spec) {
  const std::string& a0 = spec.args.at(0);
  int err = 0;
  if (a0.find('/') != std::string::npos) {
    std::string path = JoinCwd(spec.cwd, a0);
    if (IsExecutableFile(path, &err)) return path;
    return Status(err == ENOENT ? Code::kNotFound : Code::kFailedPrecondition,
                  "exec: \"" + a0 + "\": stat " + path + ": " + strerror(err));
  }
  std::string path_env = EnvLookup(spec.env, "PATH").value_or(kDefaultPath);
  size_t i = 0;
  while (i <= path_env.size()) {
    size_t j = path_env.find(':', i);
    if (j == std::string::npos) j = path_env.size();
    std::string dir = path_env.substr(i, j - i);
    if (dir.empty()) dir = ".";
    std::string cand = JoinCwd(spec.cwd, dir + "/" + a0);
    if (IsExecutableFile(cand, &err)) return cand;
    i = j + 1;
  }
  return Status(Code::kNotFound, "exec: \"" + a0 + "\": executable file not found in $PATH");
}

Result<Child> Spawn(const SpawnRequest& req) {
  const ProcessSpec& s = *req.spec;
  // Everything the child needs is built before fork.
  std::vector<char*> argv, envp;
  for (const auto& a : s.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : s.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int sp[2], rp[2];
  if (pipe2(sp, O_CLOEXEC) != 0) return Status::FromErrno(errno, "status pipe");
  UniqueFd status_r(sp[0]), status_w(sp[1]);
  if (pipe2(rp, O_CLOEXEC) != 0) return Status::FromErrno(errno, "release pipe");
  UniqueFd release_r(rp[0]), release_w(rp[1]);
  UniqueFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return Status::FromErrno(errno, "open /dev/null");

  ChildPlan plan;
  plan.parent = getpid();
  plan.argv = argv.data();
  plan.envp = envp.data();
  if (s.capabilities) plan.caps = ForThisKernel(*s.capabilities);
  plan.last_cap = CapLastCap();
  int pidfd = -1;
  bool in_cgroup = false;
  pid_t pid = -1;
  if (req.cgroup_dir_fd >= 0 && !req.no_clone_into_cgroup) {
    pid = CloneIntoCgroup(req.cgroup_dir_fd, &pidfd);
    in_cgroup = pid >= 0;
  }
  if (!in_cgroup) pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    plan.in_cgroup = in_cgroup;
    ChildMain(req, plan, status_w.get(), release_r.get(), devnull.get());
  }

  Child c;
  c.process = OwnedChild(pid, pidfd, req.reap);
  c.born_in_cgroup = in_cgroup;
  c.status_r = std::move(status_r);
  if (req.hold) c.release_w = std::move(release_w);
  fcntl(c.status_r.get(), F_SETFL, O_NONBLOCK);
  return c;
}

void PauseForever() {
  sigset_t none;
  sigemptyset(&none);
  for (;;) sigsuspend(&none);
}

std::optional<StatusDecoder::Record> StatusDecoder::Next() {
  if (buf_.size() < 3) return std::nullopt;
  size_t len = static_cast<unsigned char>(buf_[1]) | (static_cast<size_t>(static_cast<unsigned char>(buf_[2])) << 8);
  if (buf_.size() < 3 + len) return std::nullopt;
  Record r{buf_[0], buf_.substr(3, len)};
  buf_.erase(0, 3 + len);
  return r;
}

}  // namespace reaper
