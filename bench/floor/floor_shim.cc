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
//           Kill is a no-op. No events are published: `ctr run --rm` and the CRI plugin need
//           none (the exit reaches them through Wait). Shutdown with no task left unlinks the
//           socket and exits.
//   CRI     so that bench/cri.sh can measure containerd's own floor of a pod start too: a CRI
//           sandbox (annotation io.kubernetes.cri.container-type=sandbox) keeps "running"
//           after Start until Kill (the pod must stay ready while its containers run), and the
//           containers of a pod share their sandbox's floor shim, as the real shims group them
//           (`start` derives the socket from io.kubernetes.cri.sandbox-id, as Reaper does, and
//           answers with the live shim's address).
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
#include "host/oci_spec.h"
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
    on("Kill", &Floor::Kill);
    for (const char* m : {"Exec", "CloseIO", "ResizePty", "Update", "Pause", "Resume"}) {
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
    bool sandbox = false;         // a CRI sandbox: runs from Start until Kill
    bool started = false;
    bool exited = false;
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
    auto spec = reaper::LoadSpec(req.bundle());
    tasks_[id].sandbox = spec.ok() && reaper::IsSandbox(*spec);
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
    task::StartResponse resp;
    resp.set_pid(Pid());
    ReplyMsg(r, resp);
    if (!t->sandbox) Exit(*t);
  }

  // The task's exit, now: every Wait is answered.
  void Exit(Task& t) {
    if (t.exited) return;
    t.exited = true;
    Now(&t.exited_at);
    for (Responder& w : t.waiters) ReplyWait(w, t);
    t.waiters.clear();
  }

  void Kill(const std::string& p, Responder r) {
    task::KillRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    r.Reply(Status::Ok(), {});
    if (t->started && req.exec_id().empty()) Exit(*t);  // only a running sandbox notices
  }

  void Wait(const std::string& p, Responder r) {
    task::WaitRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    if (t->exited) return ReplyWait(r, *t);
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
    resp.set_status(t->exited ? task::STOPPED : t->started ? task::RUNNING : task::CREATED);
    resp.set_stdin(t->req.stdin());
    resp.set_stdout(t->req.stdout());
    resp.set_stderr(t->req.stderr());
    resp.set_terminal(t->req.terminal());
    if (t->exited) {
      resp.set_exit_status(0);
      *resp.mutable_exited_at() = t->exited_at;
    }
    ReplyMsg(r, resp);
  }

  void Delete(const std::string& p, Responder r) {
    task::DeleteRequest req;
    Task* t = ParseAndFind(req, p, r);
    if (!t) return;
    if (!t->exited) Now(&t->exited_at);
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
  // The containers of a CRI pod share their sandbox's shim (the group key, as Reaper's).
  std::string group = a.id;
  if (auto spec = reaper::LoadSpec(reaper::Cwd()); spec.ok()) group = reaper::GroupKey(spec->annotations, a.id);
  std::string address = reaper::SocketAddress(a.address, a.ns, group, dir);
  std::string path = reaper::SocketPath(address);
  auto listener = reaper::ListenUnix(path);
  if (!listener.ok() && listener.status().sys_errno() == EADDRINUSE) {
    if (reaper::CanConnect(path)) {  // the pod's floor shim is alive
      fputs(address.c_str(), stdout);
      return 0;
    }
    unlink(path.c_str());  // a dead floor shim's socket
    listener = reaper::ListenUnix(path);
  }
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
