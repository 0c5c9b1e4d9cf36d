#include "shim/bootstrap.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

#include "base/files.h"
#include "base/log.h"
#include "base/proc.h"
#include "host/cgroup.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "host/overlay_group.h"
#include "shim/bootstrap_wire.h"
#include "shim/state_record.h"
#include "task.pb.h"
#include "version.h"

#ifndef REAPER_REVISION
#define REAPER_REVISION ""  // RuntimeInfo.version.revision: no VCS revision is built in yet
#endif

namespace reaper {
namespace {

int Fail(const std::string& msg) {
  // `start` shares stdout and stderr with containerd, which shows them in its error.
  fprintf(stderr, "containerd-shim-reaper-v2: %s\n", msg.c_str());
  return 1;
}

// The name, in the bundle, of the file that records which socket directory `start` used,
// so `delete` finds the socket whatever containerd's socket_dir (docs/protocol.md §2.4.3).
constexpr const char* kSocketDirRecord = "reaper-socket-dir";

// Writes one logrus line to the bundle's `log` FIFO, which containerd copies into its own
// log; `start` must not write to stdout/stderr (containerd parses them as the address).
// Dropped if containerd is not reading (no FIFO, no reader, full).
void StartLog(log::Level level, std::string_view msg,
              std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  UniqueFd fd(open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return;
  struct stat st{};
  if (fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  std::string line = log::FormatLine(log::NowRfc3339(), level, msg, fields);
  ssize_t n = write(fd.get(), line.data(), line.size());
  (void)n;
}

// The socket directory for this `start`: BootstrapParams.socket_dir (containerd 2.3), else
// /run/containerd/s as before. A given directory is created 0700 if missing and must be a
// directory (not a symlink) of ours that nobody else can write to.
Result<std::string> PrepareSocketDir(const StartInput& in) {
  if (!in.socket_dir || in.socket_dir->empty()) {
    mkdir("/run/containerd", 0711);
    if (mkdir(std::string(kSocketDir).c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + std::string(kSocketDir));
    }
    return std::string(kSocketDir);
  }
  auto dir = ValidateSocketDir(*in.socket_dir);
  if (!dir.ok()) return dir.status();
  REAPER_RETURN_IF_ERROR(MkdirAll(*dir, 0700).Wrap("socket_dir"));
  struct stat st{};
  if (lstat(dir->c_str(), &st) != 0) return Status::FromErrno(errno, "socket_dir: lstat " + *dir);
  if (!S_ISDIR(st.st_mode)) return Status(Code::kInvalidArgument, "socket_dir is not a directory: " + *dir);
  if (st.st_uid != geteuid()) {
    return Status(Code::kPermissionDenied, "socket_dir " + *dir + " is owned by uid " +
                                               std::to_string(st.st_uid) + ", not " + std::to_string(geteuid()));
  }
  if (st.st_mode & 022) {
    return Status(Code::kPermissionDenied, "socket_dir " + *dir + " is writable by others (mode " +
                                               std::to_string((st.st_mode >> 6) & 7) +
                                               std::to_string((st.st_mode >> 3) & 7) +
                                               std::to_string(st.st_mode & 7) + ")");
  }
  return dir;
}

// Writes <bundle>/address and <bundle>/reaper-socket-dir (both atomic, 0600).
Status RecordAddress(const std::string& bundle, const std::string& address, const std::string& dir) {
  REAPER_RETURN_IF_ERROR(WriteFileAtomic(bundle + "/" + kSocketDirRecord, dir));
  return WriteFileAtomic(bundle + "/address", address);
}

int ReadOomScoreAdj(pid_t pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/oom_score_adj");
  long long v = 0;
  if (text.ok()) {
    auto f = SplitFields(*text);
    if (f.empty() || !ParseInt(f[0], &v)) v = 0;
  }
  return static_cast<int>(v);
}

// Forks the daemon: new session, /dev/null stdio (stderr: the bundle's log FIFO), the
// listener as fd 3, re-executed as `... -socket-fd 3 serve`. containerd's environment is
// passed on; without TTRPC_ADDRESS there, BootstrapParams' address is used. Returns its pid.
Result<pid_t> SpawnDaemon(const ShimArgs& a, const StartInput& in, const std::string& address, int listen_fd) {
  int oom = ReadOomScoreAdj(getppid()) + 1;  // containerd's + 1, as the runc shim does
  std::string fd_arg = "3";
  std::vector<std::string> args = {"containerd-shim-reaper-v2", "-namespace", a.ns, "-id", a.id,
                                   "-address", a.address, "-socket-address", address, "-socket-fd", fd_arg};
  if (a.debug || in.debug()) args.push_back("-debug");
  args.push_back("serve");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  const char* ttrpc = getenv("TTRPC_ADDRESS");
  bool use_bootstrap_ttrpc = (!ttrpc || !*ttrpc) && !in.ttrpc_address.empty();
  for (char** e = environ; e && *e; ++e) {
    if (use_bootstrap_ttrpc && strncmp(*e, "TTRPC_ADDRESS=", 14) == 0) continue;
    env_store.emplace_back(*e);
  }
  if (use_bootstrap_ttrpc) env_store.push_back("TTRPC_ADDRESS=" + in.ttrpc_address);
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  UniqueFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd logfd(open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!devnull) return Status::FromErrno(errno, "open /dev/null");
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    setsid();
    dup2(devnull.get(), 0);
    dup2(devnull.get(), 1);
    dup2(logfd ? logfd.get() : devnull.get(), 2);
    dup2(listen_fd, 3);  // dup2 clears close-on-exec on the copy
    syscall(SYS_close_range, 4U, ~0U, 0U);  // nothing else of containerd's reaches the daemon
    if (oom > 1000) oom = 1000;
    if (FILE* f = fopen("/proc/self/oom_score_adj", "we")) {
      fprintf(f, "%d", oom);
      fclose(f);
    }
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// The socket named in <bundle>/address is removed only if it is a socket inode with a
// 64-hex name directly inside the recorded socket directory (<bundle>/reaper-socket-dir;
// /run/containerd/s for bundles of older versions) and nothing accepts on it: a live
// grouped shim is never touched (docs/protocol.md §2.8). Holds the directory lock `start`
// takes, so a `start` binding a fresh socket at that path cannot interleave.
void RemoveDeadSocket(const std::string& bundle) {
  auto addr = ReadFile(bundle + "/address", 4096);
  if (!addr.ok()) return;
  std::string dir(kSocketDir);
  if (auto rec = ReadFile(bundle + "/" + kSocketDirRecord, 4096); rec.ok()) {
    auto valid = ValidateSocketDir(*rec);
    if (!valid.ok() || *valid != *rec) return;
    dir = *valid;
  }
  std::string path = SocketPath(*addr);
  if (path.size() <= dir.size() + 1 || path.compare(0, dir.size() + 1, dir + "/") != 0) return;
  if (!IsSocketName(std::string_view(path).substr(dir.size() + 1))) return;
  UniqueFd lock(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock) return;
  flock(lock.get(), LOCK_EX);
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  if (!CanConnect(path)) unlink(path.c_str());
}

}  // namespace

std::string Cwd() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

bool CanConnect(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof sa.sun_path) return false;
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 || errno == EAGAIN;  // EAGAIN: backlog full
}

Result<UniqueFd> ListenUnix(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::FromErrno(errno, "socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return Status(Code::kInvalidArgument, "socket path too long: " + path);
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return Status::FromErrno(errno, "bind " + path);
  }
  if (chmod(path.c_str(), 0600) != 0) return Status::FromErrno(errno, "chmod " + path);
  if (listen(fd.get(), 128) != 0) return Status::FromErrno(errno, "listen " + path);
  return fd;
}

int RunStart(const ShimArgs& a) {
  if (Status st = ValidateId(a.id, "id"); !st.ok()) return Fail(st.message());
  if (a.ns.empty() || a.address.empty()) return Fail("-namespace and -address are required");
  // stdin: nothing, an options Any or BootstrapParams (docs/protocol.md §2.4.1-2); never fatal.
  StartInput in = ClassifyStartInput(ReadStdin(STDIN_FILENO), a.id, a.ns);
  std::string bundle = Cwd();
  if (in.kind == StdinKind::kUnknown) {
    StartLog(log::Level::kWarn, "start: ignoring stdin", {{"reason", in.why}});
  } else if (a.debug || in.debug()) {
    std::string types;
    for (const auto& t : in.option_types) types += (types.empty() ? "" : ",") + t;
    StartLog(log::Level::kDebug, "start: stdin",
             {{"kind", StdinKindName(in.kind)}, {"options_type", types},
              {"containerd_version", in.containerd_version}, {"socket_dir", in.socket_dir.value_or("")}});
  }
  std::string group = a.id;
  if (auto spec = LoadSpec(bundle); spec.ok()) group = GroupKey(spec->annotations, a.id);

  auto dir = PrepareSocketDir(in);
  if (!dir.ok()) return Fail(dir.status().message());
  std::string address = SocketAddress(a.address, a.ns, group, *dir);
  std::string path = SocketPath(address);
  // Two `start`s of one pod may race between probe and bind: serialise them (held for
  // microseconds; the lock is on the directory, so no lock file is left behind).
  UniqueFd lock(open(dir->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock) flock(lock.get(), LOCK_EX);

  auto fd = ListenUnix(path);
  if (!fd.ok() && fd.status().sys_errno() == EADDRINUSE) {
    if (CanConnect(path)) {  // the pod's shim is alive: reuse it
      if (Status st = RecordAddress(bundle, address, *dir); !st.ok()) return Fail(st.message());
      fputs(address.c_str(), stdout);
      return 0;
    }
    unlink(path.c_str());  // stale socket of a dead shim
    fd = ListenUnix(path);
  }
  if (!fd.ok()) return Fail(fd.status().message());
  if (Status st = RecordAddress(bundle, address, *dir); !st.ok()) {
    unlink(path.c_str());
    return Fail(st.message());
  }
  auto pid = SpawnDaemon(a, in, address, fd->get());
  if (!pid.ok()) {
    unlink(path.c_str());
    return Fail(pid.status().message());
  }
  fputs(address.c_str(), stdout);
  return 0;
}

int RunInfo() {
  ReadStdin(STDIN_FILENO);  // the runtime options, if any: Reaper has none (docs/protocol.md §2.9)
  std::string out = EncodeRuntimeInfo(REAPER_VERSION, REAPER_REVISION);
  if (fwrite(out.data(), 1, out.size(), stdout) != out.size() || fflush(stdout) != 0) {
    return Fail(std::string("write RuntimeInfo: ") + strerror(errno));
  }
  return 0;
}

int RunDelete(const ShimArgs& a) {
  std::string bundle = a.bundle.empty() ? Cwd() : a.bundle;
  containerd::task::v2::DeleteResponse resp;
  uint32_t status = 128 + SIGKILL;  // what runc reports when the shim is gone
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t sec = now.tv_sec;
  int32_t nsec = static_cast<int32_t>(now.tv_nsec);
  if (auto rec = ReadStateRecord(bundle); rec.ok() && rec->id == a.id) {
    resp.set_pid(static_cast<uint32_t>(rec->pid));
    if (!rec->cgroup.empty()) {
      KillAndRemoveCgroup(rec->cgroup, std::chrono::milliseconds(3000));
      RemoveEmptyDirs(&rec->cgroups_created);  // v1 controller cgroups, created parents (if empty)
    } else if (rec->pid > 0 && rec->start_time != 0 && ProcessStartTime(rec->pid) == rec->start_time) {
      kill(-rec->pid, SIGKILL);  // its process group (the session leader's pid)
      kill(rec->pid, SIGKILL);
    }
    if (rec->exited) {
      status = rec->exit_status;
      sec = rec->exited_sec;
      nsec = rec->exited_nsec;
    }
    if (!rec->group.empty()) {
      if (auto cfg = LoadNodeConfig(); cfg.ok()) RemoveGroupUser(*cfg, rec->group, rec->ns + "." + rec->id);
    }
    unlink((bundle + "/" + kStateRecordName).c_str());
  }
  RemoveDeadSocket(bundle);
  resp.set_exit_status(status);
  resp.mutable_exited_at()->set_seconds(sec);
  resp.mutable_exited_at()->set_nanos(nsec);
  std::string out = resp.SerializeAsString();
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace reaper
