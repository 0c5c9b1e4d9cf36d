// containerd-shim-floor-v1 (runtime type io.containerd.floor.v1): a benchmark-only shim that
// runs nothing. It exists to measure containerd's own floor for `ctr run --rm`: the time
// containerd, ctr and the snapshotter take when the shim costs (almost) nothing, so that
// bench/run.sh can report the part of each real shim's latency that the shim is responsible
// for (docs/benchmarks.md, "The floor shim"). Never installed, never packaged.
//
// What it does, and nothing more:
//   start   the handshake of containerd 1.6 and 2.x as the real shim does it
//           (docs/protocol.md §2.4): stdin read and classified, the socket directory of
//           BootstrapParams (2.3) or /run/containerd/s, the socket address containerd derives,
//           a listener; then a fork (no exec) that serves it, and the plain address on stdout.
//   -info   a RuntimeInfo with a name and a version (containerd 2.2/2.3 run it before Create).
//   delete  a DeleteResponse (exit 0, now): nothing is left to clean up.
//   serve   (the forked child) every Task RPC answered at once from a small table: Create
//           returns the shim's own pid as the task's pid, Start "runs" the task, which exits 0
//           at that instant, Wait returns that exit (held only while the task is not started),
//           Kill is a no-op. No events are published: `ctr run --rm` needs none (the exit
//           reaches it through Wait). Shutdown with no task left unlinks the socket and exits.
//
// Why the shim's own pid is a safe task pid: containerd may read /proc/<pid> of a task or, on
// some paths, signal it. The shim's pid is alive exactly as long as something can ask about
// the task, belongs to no one else, and has no children; a stray signal would end only this
// shim, which containerd then sees as a dead shim and cleans up. Kill, the way ctr and CRI
// signal a task, never sends a signal at all.
#include <fcntl.h>
#include <signal.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/reactor.h"
#include "base/unique_fd.h"
#include "introspection.pb.h"
#include "shim/bootstrap.h"
#include "shim/bootstrap_wire.h"
#include "shim/shim_args.h"
#include "task.pb.h"
#include "ttrpc/server.h"

namespace {

namespace task = containerd::task::v2;
using reaper::Code;
using reaper::Status;
using reaper::UniqueFd;
using reaper::ttrpc::Responder;

constexpr const char* kName = "containerd-shim-floor-v1";
constexpr const char* kService = "containerd.task.v2.Task";

int Fail(const std::string& msg) {
  fprintf(stderr, "%s: %s\n", kName, msg.c_str());  // start's output is containerd's error
  return 1;
}

void Now(reaper::wkt::Timestamp* t) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  t->set_seconds(ts.tv_sec);
  t->set_nanos(static_cast<int32_t>(ts.tv_nsec));
}

template <typename M>
void ReplyMsg(Responder& r, const M& m) {
  r.Reply(Status::Ok(), m.SerializeAsString());
}

// The Task service over one listener. A task is a row: created, then started (= exited 0).
class Floor {
 public:
  Floor(reaper::Reactor& reactor, UniqueFd listener, std::string socket_path)
      : reactor_(reactor), server_(reactor, std::move(listener)), socket_path_(std::move(socket_path)) {}

  Status Start() {
    auto on = [&](const char* method, void (Floor::*fn)(const std::string&, Responder)) {
      server_.Register(kService, method, [this, fn](const std::string& p, Responder r) { (this->*fn)(p, r); });
    };
    on("Create", &Floor::Create);
    on("Start", &Floor::StartTask);
    on("Wait", &Floor::Wait);
    on("State", &Floor::State);
    on("Delete", &Floor::Delete);
    on("Pids", &Floor::Pids);
    on("Connect", &Floor::Connect);
    on("Shutdown", &Floor::Shutdown);
    // NotFound, not an empty reply: containerd skips NotFound when it collects metrics.
    server_.Register(kService, "Stats", [](const std::string&, Responder r) {
      r.Reply(Status(Code::kNotFound, "floor: no stats"));
    });
    for (const char* m : {"Kill", "Exec", "CloseIO", "ResizePty", "Update", "Pause", "Resume"}) {
      server_.Register(kService, m, [](const std::string&, Responder r) { r.Reply(Status::Ok(), {}); });
    }
    server_.Register(kService, "Checkpoint", [](const std::string&, Responder r) {
      r.Reply(Status(Code::kUnimplemented, "floor: no checkpoint"));
    });
    return server_.Start();
  }

 private:
  struct Task {
    task::CreateTaskRequest req;  // id, bundle, stdio paths, as received (State returns them)
    bool started = false;
    reaper::wkt::Timestamp exited_at;
    std::vector<Responder> waiters;  // Wait before Start
  };

  template <typename M>
  bool Parse(M& m, const std::string& payload, Responder& r) {
    if (m.ParseFromString(payload)) return true;
    r.Reply(Status(Code::kInternal, "ttrpc: error unmarshalling payload"));
    return false;
  }
  Task* Find(const std::string& id, Responder& r) {
    auto it = tasks_.find(id);
    if (it != tasks_.end()) return &it->second;
    r.Reply(Status(Code::kNotFound, "task " + id + ": not found"));
    return nullptr;
  }
  // Decodes `req` and finds its task; null (after the error reply) if either fails.
  template <typename M>
  Task* ParseAndFind(M& req, const std::string& payload, Responder& r) {
    return Parse(req, payload, r) ? Find(req.id(), r) : nullptr;
  }
  static uint32_t Pid() { return static_cast<uint32_t>(getpid()); }
  static void ReplyWait(Responder& r, const Task& t) {
    task::WaitResponse resp;
    resp.set_exit_status(0);
    *resp.mutable_exited_at() = t.exited_at;
    ReplyMsg(r, resp);
  }

  void Create(const std::string& p, Responder r) {
    task::CreateTaskRequest req;
    if (!Parse(req, p, r)) return;
    if (tasks_.count(req.id())) return r.Reply(Status(Code::kAlreadyExists, "task " + req.id() + ": already exists"));
    std::string id = req.id();
    tasks_[id].req = std::move(req);
    task::CreateTaskResponse resp;
    resp.set_pid(Pid());
    ReplyMsg(r, resp);
  }

  void StartTask(const std::string& p, Responder r) {
    task::StartRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    if (!req.exec_id().empty()) return r.Reply(Status(Code::kNotFound, "exec " + req.exec_id() + ": not found"));
    t->started = true;
    Now(&t->exited_at);
    task::StartResponse resp;
    resp.set_pid(Pid());
    ReplyMsg(r, resp);
    for (Responder& w : t->waiters) ReplyWait(w, *t);
    t->waiters.clear();
  }

  void Wait(const std::string& p, Responder r) {
    task::WaitRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    if (t->started) return ReplyWait(r, *t);
    t->waiters.push_back(std::move(r));
  }

  void State(const std::string& p, Responder r) {
    task::StateRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    task::StateResponse resp;
    resp.set_id(t->req.id());
    resp.set_bundle(t->req.bundle());
    resp.set_pid(Pid());
    resp.set_status(t->started ? task::STOPPED : task::CREATED);
    resp.set_stdin(t->req.stdin());
    resp.set_stdout(t->req.stdout());
    resp.set_stderr(t->req.stderr());
    resp.set_terminal(t->req.terminal());
    if (t->started) {
      resp.set_exit_status(0);
      *resp.mutable_exited_at() = t->exited_at;
    }
    ReplyMsg(r, resp);
  }

  void Delete(const std::string& p, Responder r) {
    task::DeleteRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    if (!t->started) Now(&t->exited_at);
    task::DeleteResponse resp;
    resp.set_pid(Pid());
    resp.set_exit_status(0);
    *resp.mutable_exited_at() = t->exited_at;
    for (Responder& w : t->waiters) ReplyWait(w, *t);
    tasks_.erase(req.id());
    ReplyMsg(r, resp);
  }

  void Pids(const std::string& p, Responder r) {
    task::PidsRequest req;
    if (!ParseAndFind(req, p, r)) return;
    task::PidsResponse resp;
    resp.add_processes()->set_pid(Pid());
    ReplyMsg(r, resp);
  }

  void Connect(const std::string& p, Responder r) {
    task::ConnectResponse resp;
    resp.set_shim_pid(Pid());
    resp.set_task_pid(Pid());
    ReplyMsg(r, resp);
  }

  void Shutdown(const std::string& p, Responder r) {
    r.Reply(Status::Ok(), {});  // written to the socket before this returns
    if (!tasks_.empty()) return;
    unlink(socket_path_.c_str());
    server_.StopAccepting();
    reactor_.Defer([this] { reactor_.Stop(); });
  }

  reaper::Reactor& reactor_;
  reaper::ttrpc::Server server_;
  std::string socket_path_;
  std::map<std::string, Task> tasks_;
};

Status Serve(UniqueFd listener, const std::string& socket_path) {
  reaper::Reactor reactor;
  REAPER_RETURN_IF_ERROR(reactor.Init());
  Floor floor(reactor, std::move(listener), socket_path);
  REAPER_RETURN_IF_ERROR(floor.Start());
  return reactor.Run();
}

// SIGTERM/SIGINT (a benchmark's teardown): the socket goes with the process, as after Shutdown.
char g_socket_path[sizeof(sockaddr_un::sun_path)];
void OnTerm(int) {
  unlink(g_socket_path);
  _exit(0);
}

// One task per shim, so a taken name is a dead floor shim's socket: replaced.
reaper::Result<UniqueFd> Listen(const std::string& path) {
  auto fd = reaper::ListenUnix(path);
  if (fd.ok() || fd.status().sys_errno() != EADDRINUSE) return fd;
  unlink(path.c_str());
  return reaper::ListenUnix(path);
}

int FloorStart(const reaper::ShimArgs& a) {
  if (a.id.empty() || a.ns.empty() || a.address.empty()) return Fail("-id, -namespace and -address are required");
  reaper::StartInput in = reaper::ClassifyStartInput(reaper::ReadStdin(STDIN_FILENO), a.id, a.ns);
  std::string dir(reaper::kSocketDir);
  if (in.socket_dir && !in.socket_dir->empty()) {
    auto valid = reaper::ValidateSocketDir(*in.socket_dir);
    if (!valid.ok()) return Fail(valid.status().message());
    dir = *valid;
  }
  if (Status st = reaper::MkdirAll(dir, 0700); !st.ok()) return Fail(st.message());
  // No grouping: one shim per task, so the group is the task id.
  std::string address = reaper::SocketAddress(a.address, a.ns, a.id, dir);
  std::string path = reaper::SocketPath(address);
  auto listener = Listen(path);
  if (!listener.ok()) return Fail(listener.status().message());
  UniqueFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return Fail(std::string("open /dev/null: ") + strerror(errno));
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return Fail(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // The daemon must not hold start's stdout/stderr: containerd waits for their EOF.
    setsid();
    dup2(devnull.get(), 0);
    dup2(devnull.get(), 1);
    dup2(devnull.get(), 2);
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_socket_path, sizeof g_socket_path, "%s", path.c_str());  // fits: ListenUnix checked
    signal(SIGTERM, OnTerm);
    signal(SIGINT, OnTerm);
    Status st = Serve(std::move(*listener), path);
    unlink(path.c_str());
    _exit(st.ok() ? 0 : 1);
  }
  fputs(address.c_str(), stdout);
  return 0;
}

int FloorInfo() {
  reaper::ReadStdin(STDIN_FILENO);
  containerd::types::RuntimeInfo info;
  info.set_name("io.containerd.floor.v1");
  info.mutable_version()->set_version("floor");
  std::string out = info.SerializeAsString();
  return fwrite(out.data(), 1, out.size(), stdout) == out.size() && fflush(stdout) == 0 ? 0 : 1;
}

int FloorDelete() {
  task::DeleteResponse resp;
  resp.set_exit_status(0);
  Now(resp.mutable_exited_at());
  std::string out = resp.SerializeAsString();
  return fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int fd = 0; fd <= 2; ++fd) {  // a closed fd 0-2 would become the listener
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 1;
  }
  auto parsed = reaper::ParseShimArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) return Fail(parsed.status().message());
  if (parsed->info) return FloorInfo();
  if (parsed->action == "start") return FloorStart(*parsed);
  if (parsed->action == "delete") return FloorDelete();
  if (parsed->action == "version") {
    printf("%s: the benchmark floor (bench/floor)\n", kName);
    return 0;
  }
  return Fail("unknown action \"" + parsed->action + "\" (want start or delete)");
}
