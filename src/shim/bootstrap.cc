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

#include "base/proc.h"
#include "host/cgroup.h"
#include "base/files.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "host/overlay_group.h"
#include "shim/state_record.h"
#include "task.pb.h"

namespace reaper {
namespace {

int Fail(const std::string& msg) {
  // `start` shares stdout and stderr with containerd, which shows them in its error.
  fprintf(stderr, "containerd-shim-reaper-v2: %s\n", msg.c_str());
  return 1;
}

std::string Cwd() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

bool CanConnect(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof sa.sun_path) return false;
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

Result<UniqueFd> Listen(const std::string& path) {
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
// listener as fd 3, re-executed as `... -socket-fd 3 serve`. Returns its pid.
Result<pid_t> SpawnDaemon(const ShimArgs& a, const std::string& address, int listen_fd) {
  int oom = ReadOomScoreAdj(getppid()) + 1;  // containerd's + 1, as the runc shim does
  std::string fd_arg = "3";
  std::vector<std::string> args = {"containerd-shim-reaper-v2", "-namespace", a.ns, "-id", a.id,
                                   "-address", a.address, "-socket-address", address, "-socket-fd", fd_arg};
  if (a.debug) args.push_back("-debug");
  args.push_back("serve");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
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
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int RunStart(const ShimArgs& a) {
  if (Status st = ValidateId(a.id, "id"); !st.ok()) return Fail(st.message());
  if (a.ns.empty() || a.address.empty()) return Fail("-namespace and -address are required");
  std::string bundle = Cwd();
  std::string group = a.id;
  if (auto spec = LoadSpec(bundle); spec.ok()) group = GroupKey(spec->annotations, a.id);
  std::string address = SocketAddress(a.address, a.ns, group);
  std::string path = SocketPath(address);

  mkdir("/run/containerd", 0711);
  if (mkdir(std::string(kSocketDir).c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(Status::FromErrno(errno, "mkdir " + std::string(kSocketDir)).message());
  }
  // Two `start`s of one pod may race between probe and bind: serialise them (held for
  // microseconds; the lock is on the directory, so no lock file is left behind).
  UniqueFd lock(open(std::string(kSocketDir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock) flock(lock.get(), LOCK_EX);

  auto fd = Listen(path);
  if (!fd.ok() && errno == EADDRINUSE) {
    if (CanConnect(path)) {  // the pod's shim is alive: reuse it
      if (Status st = WriteFileAtomic(bundle + "/address", address); !st.ok()) return Fail(st.message());
      fputs(address.c_str(), stdout);
      return 0;
    }
    unlink(path.c_str());  // stale socket of a dead shim
    fd = Listen(path);
  }
  if (!fd.ok()) return Fail(fd.status().message());
  if (Status st = WriteFileAtomic(bundle + "/address", address); !st.ok()) {
    unlink(path.c_str());
    return Fail(st.message());
  }
  auto pid = SpawnDaemon(a, address, fd->get());
  if (!pid.ok()) {
    unlink(path.c_str());
    return Fail(pid.status().message());
  }
  fputs(address.c_str(), stdout);
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
  // A socket nobody listens on any more is removed (a live grouped shim is never touched).
  auto addr = ReadFile(bundle + "/address", 4096);
  std::string path = addr.ok() ? SocketPath(*addr) : "";
  if (!path.empty() && path.rfind(std::string(kSocketDir) + "/", 0) == 0 && !CanConnect(path)) {
    unlink(path.c_str());
  }
  resp.set_exit_status(status);
  resp.mutable_exited_at()->set_seconds(sec);
  resp.mutable_exited_at()->set_nanos(nsec);
  std::string out = resp.SerializeAsString();
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace reaper
