#include "shim/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "host/cgroup.h"
#include "shim/event_publisher.h"
#include "base/log.h"
#include "base/reactor.h"
#include "shim/task_service.h"
#include "ttrpc/server.h"

namespace reaper {
namespace {

class Daemon {
 public:
  explicit Daemon(const ShimArgs& a)
      : args_(a),
        events_(reactor_, EnvOr("TTRPC_ADDRESS", a.address + ".ttrpc"), a.ns),
        service_(reactor_, events_, Options(a)),
        server_(reactor_, UniqueFd(a.socket_fd)) {}

  int Run() {
    Status st = Setup();
    if (!st.ok()) {
      log::Error("shim setup failed", {{"error", st.message()}});
      Cleanup();
      return 1;
    }
    log::Info("shim started", {{"pid", std::to_string(getpid())}, {"namespace", args_.ns}});
    st = reactor_.Run();
    if (!st.ok()) log::Error("event loop failed", {{"error", st.message()}});
    Cleanup();
    return st.ok() ? 0 : 1;
  }

 private:
  static std::string EnvOr(const char* name, const std::string& fallback) {
    const char* v = getenv(name);
    return v && *v ? v : fallback;
  }

  TaskServiceOptions Options(const ShimArgs& a) {
    TaskServiceOptions o;
    o.ns = a.ns;
    const char* cg = getenv("REAPER_CGROUP_PARENT");  // the shim's own environment, never a pod's
    if (cg && *cg) {
      if (std::string(cg) != "none") o.cgroup_parent = cg;
    } else {
      o.cgroup_parent = DefaultCgroupParent();
    }
    o.on_empty = [this] { BeginExit(); };
    o.config = LoadNodeConfig();
    if (!o.config.ok()) log::Error("invalid node configuration", {{"error", o.config.status().message()}});
    if (o.config.ok() && !o.config->cgroup_parent.empty() && !(cg && *cg)) {
      if (o.config->cgroup_parent == "none") o.cgroup_parent.reset();
      else o.cgroup_parent = o.config->cgroup_parent;
    }
    return o;
  }

  Status Setup() {
    if (args_.socket_fd < 3) return Status(Code::kInvalidArgument, "serve needs -socket-fd");
    REAPER_RETURN_IF_ERROR(reactor_.Init());
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return Status::FromErrno(errno, "PR_SET_CHILD_SUBREAPER");
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return Status::FromErrno(errno, "sigprocmask");
    sigfd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd_) return Status::FromErrno(errno, "signalfd");
    REAPER_RETURN_IF_ERROR(reactor_.Add(sigfd_.get(), EPOLLIN, [this](uint32_t) { OnSignal(); }));
    service_.RegisterWith(server_);
    REAPER_RETURN_IF_ERROR(server_.Start());
    Reap();  // anything that died before the signalfd existed
    return Status::Ok();
  }

  void OnSignal() {
    signalfd_siginfo si;
    bool chld = false;
    while (read(sigfd_.get(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGCHLD) {
        chld = true;
      } else {
        log::Info("shim received a termination signal; exiting", {{"signal", std::to_string(si.ssi_signo)}});
        BeginExit();
      }
    }
    if (chld) Reap();
  }

  void Reap() {
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      service_.OnChildExit(pid, status);
    }
    service_.AfterReap();
  }

  void BeginExit() {
    if (exiting_) return;
    exiting_ = true;
    // Unlink first: a `start` racing with our exit then creates a fresh shim instead of
    // handing containerd a socket that is about to close.
    std::string path = SocketPath(args_.socket_address);
    if (!path.empty()) unlink(path.c_str());
    server_.StopAccepting();
    auto stop = [this] { reactor_.Stop(); };
    reactor_.AddTimer(std::chrono::seconds(5), stop);  // bounded flush of queued events
    events_.OnIdle(stop);
  }

  void Cleanup() {
    std::string path = SocketPath(args_.socket_address);
    if (!path.empty()) unlink(path.c_str());
  }

  ShimArgs args_;
  Reactor reactor_;
  EventPublisher events_;
  TaskService service_;
  ttrpc::Server server_;
  UniqueFd sigfd_;
  bool exiting_ = false;
};

}  // namespace

int RunDaemon(const ShimArgs& args) {
  if (args.debug) log::SetLevel(log::Level::kDebug);
  Daemon d(args);
  return d.Run();
}

}  // namespace reaper
