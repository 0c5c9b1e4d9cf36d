// The real containerd-shim-reaper-v2 binary as containerd 1.6 and 2.x run it
// (docs/protocol.md §2): `-info`, `start` with every stdin shape and a 2.3 socket_dir,
// `delete` and the sockets it may remove. containerd is faked: a gRPC address in a temp dir
// that nobody serves and an events socket (FakeEvents).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "base/files.h"
#include "bootstrap.pb.h"
#include "introspection.pb.h"
#include "shim/shim_args.h"
#include "shim_harness.h"
#include "task.pb.h"
#include "test_util.h"
#include "version.h"

namespace reaper {
namespace {
namespace bs = containerd::runtime::bootstrap::v1;
namespace task = containerd::task::v2;
using testing::Client;
using testing::Entries;
using testing::Reply;

struct Ran {
  int rc = -1;
  std::string out;  // stdout and stderr, merged as containerd reads `start`
  bool eof = false;  // the output pipe reached EOF (nothing kept it open)
};

// Runs the shim with `args` in `cwd` with exactly `env`. stdin: nullopt = closed, else a
// pipe fed with those bytes (then closed). Waits up to 30 s for EOF on the output.
Ran RunShim(const std::vector<std::string>& args, const std::optional<std::string>& input,
            const std::string& cwd, const std::vector<std::string>& env) {
  signal(SIGPIPE, SIG_IGN);  // the shim may stop reading an oversized stdin
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
  std::vector<std::string> argv_s = {"containerd-shim-reaper-v2"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    if (input) dup2(in[0], 0);
    else close(0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execve(REAPER_SHIM_BINARY, argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  UniqueFd w(in[1]), r(out[0]);
  std::thread writer([&] {
    if (input) {
      size_t off = 0;
      while (off < input->size()) {
        ssize_t n = write(w.get(), input->data() + off, input->size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
    }
    w.reset();
  });
  Ran res;
  char buf[4096];
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now()).count());
    pollfd p{r.get(), POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) break;
    ssize_t n = read(r.get(), buf, sizeof buf);
    if (n <= 0) {
      res.eof = n == 0;
      break;
    }
    res.out.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  int st = 0;
  if (!res.eof) kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  res.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

// Waits until `pid` (any process, not only a child) has exited.
bool WaitGone(pid_t pid, int ms) {
  UniqueFd pfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pfd) return errno == ESRCH;
  pollfd p{pfd.get(), POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

// A dead socket inode at `path` (bound, then its listener closed).
void DeadSocket(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << path;
}

bool IsSocket(const std::string& path) {
  struct stat st{};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : "<missing>";
}

// A temp dir (short: socket_dir must stay within 42 characters) with a fake containerd.
class BootstrapCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rbs.XXXXXX";
    dir_ = mkdtemp(tmpl);
    events_ = std::make_unique<testing::FakeEvents>(dir_ + "/ev.sock");
    std::ofstream(dir_ + "/reaper.toml") << "state_root = \"" << dir_ << "/state\"\n";
  }
  void TearDown() override {
    // Every daemon of this test, also those a failed assertion left unregistered: found by
    // the marker in their argv (-address <our temp dir>/containerd.sock), with the socket
    // each was given (-socket-address).
    for (const auto& e : Entries("/proc")) {
      long long pid = 0;
      if (!ParseInt(e, &pid)) continue;
      std::string cmd = Slurp("/proc/" + e + "/cmdline");
      std::vector<std::string> argv;
      for (size_t i = 0, j; i < cmd.size(); i = j + 1) {
        j = cmd.find('\0', i);
        if (j == std::string::npos) j = cmd.size();
        argv.push_back(cmd.substr(i, j - i));
      }
      bool ours = false;
      std::string sock;
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "-address" && argv[i + 1] == Grpc()) ours = true;
        if (argv[i] == "-socket-address") sock = SocketPath(argv[i + 1]);
      }
      if (!ours) continue;  // the daemon, or start's child before it re-executes as one
      kill(static_cast<pid_t>(pid), SIGKILL);
      WaitGone(static_cast<pid_t>(pid), 5000);
      if (!sock.empty()) unlink(sock.c_str());
    }
    for (const auto& s : default_sockets_) unlink(s.c_str());
    events_.reset();
    testing::UnmountUnder(dir_);
    testing::Sh("rm -rf --one-file-system '" + dir_ + "'");
  }
  std::string Grpc() const { return dir_ + "/containerd.sock"; }
  std::vector<std::string> Env(bool ttrpc = true) const {
    std::vector<std::string> e = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "REAPER_CONFIG=" + dir_ + "/reaper.toml"};
    if (ttrpc) e.push_back("TTRPC_ADDRESS=" + dir_ + "/ev.sock");
    return e;
  }
  // <dir>/<name>/config.json; `group` goes into the CRI sandbox-id annotation.
  std::string Bundle(const std::string& name, const std::string& group = "") {
    std::string b = dir_ + "/" + name;
    mkdir(b.c_str(), 0700);
    std::string ann = group.empty() ? "{}" : R"({"io.kubernetes.cri.sandbox-id":")" + group + "\"}";
    std::ofstream(b + "/config.json") << R"({"ociVersion":"1.0.2","process":{"args":["true"],"env":["PATH=/usr/bin:/bin"],"cwd":"/"},"annotations":)"
                                      << ann << "}";
    return b;
  }
  std::vector<std::string> StartArgs(const std::string& id) const {
    return {"-namespace", "unit", "-address", Grpc(), "-publish-binary", "/usr/bin/containerd", "-id", id, "start"};
  }
  bs::BootstrapParams Params(const std::string& id) const {
    bs::BootstrapParams p;
    p.set_instance_id(id);
    p.set_namespace_("unit");
    p.set_containerd_version("v2.3.7");
    p.set_containerd_grpc_address(Grpc());
    p.set_containerd_ttrpc_address(dir_ + "/ev.sock");
    p.set_containerd_binary("/usr/bin/containerd");
    return p;
  }
  // Connects to a started shim: its pid, 0 if it does not answer.
  pid_t DaemonOf(const std::string& socket) {
    Client c(socket);
    if (!c.ok()) return 0;
    task::ConnectRequest req;
    task::ConnectResponse resp;
    Reply r = c.Call("Connect", req);
    if (r.code != 0 || !resp.ParseFromString(r.payload)) return 0;
    return static_cast<pid_t>(resp.shim_pid());
  }
  // Shutdown of an empty daemon: it exits and removes its socket.
  void StopDaemon(const std::string& socket, pid_t pid) {
    Client c(socket);
    task::ShutdownRequest req;
    c.Call("Shutdown", req);
    EXPECT_TRUE(WaitGone(pid, 10000));
    EXPECT_FALSE(IsSocket(socket));
  }

  std::string dir_;
  std::unique_ptr<testing::FakeEvents> events_;
  std::vector<std::string> default_sockets_;
};

// containerd 2.2+ runs `<shim> -info` with no other argument before every task Create.
TEST_F(BootstrapCli, InfoPrintsRuntimeInfoWithoutEnvStdinOrFlags) {
  auto [frc, features] = testing::Sh(std::string(REAPER_RUNTIME_BINARY) + " features");
  ASSERT_EQ(frc, 0);
  std::string options_any;
  {
    bs::OpaqueAny a;
    a.set_type_url("runtimeoptions.v1.Options");
    a.set_value("\x0a\x01x");
    options_any = a.SerializeAsString();
  }
  std::string cwd = dir_ + "/empty";
  mkdir(cwd.c_str(), 0700);
  for (const auto& input : std::vector<std::optional<std::string>>{std::nullopt, "", options_any}) {
    Ran r = RunShim({"-info"}, input, cwd, {});
    ASSERT_EQ(r.rc, 0) << r.out;
    ASSERT_TRUE(r.eof);
    containerd::types::RuntimeInfo info;
    ASSERT_TRUE(info.ParseFromString(r.out));
    EXPECT_EQ(info.name(), "io.containerd.reaper.v2");
    EXPECT_EQ(info.version().version(), REAPER_VERSION);
    EXPECT_EQ(info.features().type_url(), "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
    EXPECT_EQ(nlohmann::json::parse(info.features().value()), nlohmann::json::parse(features));
    EXPECT_EQ(Entries(cwd), std::vector<std::string>{});  // no address, no socket, no daemon state
  }
  // With containerd's usual flags around it too.
  Ran r = RunShim({"-namespace", "k8s.io", "-info"}, "", cwd, Env());
  EXPECT_EQ(r.rc, 0) << r.out;
  containerd::types::RuntimeInfo info;
  EXPECT_TRUE(info.ParseFromString(r.out));
  EXPECT_EQ(info.name(), "io.containerd.reaper.v2");
}

// 1.6–2.2: nothing or an options Any; 2.3 without socket_dir; garbage; oversized. All start,
// in /run/containerd/s, printing only the plain address.
TEST_F(BootstrapCli, StartAcceptsEveryStdinShapeInTheDefaultDir) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (/run/containerd/s, the daemon)";
  bs::OpaqueAny any;
  any.set_type_url("runtimeoptions.v1.Options");
  any.set_value(std::string("\x0a\x02\xff\xfe", 4));
  struct Shape {
    std::string name;
    std::optional<std::string> input;
    std::string logged;  // the line `start` leaves in containerd's log ("" = none)
  };
  const std::string warn = "level=warning msg=\"start: ignoring stdin\" reason=";
  std::vector<Shape> shapes = {
      {"closed", std::nullopt, ""},
      {"empty", "", ""},
      {"options", any.SerializeAsString(), ""},
      {"params", Params("params").SerializeAsString(), ""},
      {"garbage", std::string("\x00\xff garbage \x07", 12),
       warn + "\"stdin is neither BootstrapParams nor a runtime-options Any (12 bytes)\""},
      {"oversized", std::string((10u << 20) + 1, '\x0a'), warn + "\"stdin is larger than 10485760 bytes\""},
  };
  for (const auto& s : shapes) {
    SCOPED_TRACE(s.name);
    std::string b = Bundle(s.name);
    ASSERT_EQ(mkfifo((b + "/log").c_str(), 0700), 0);  // containerd's log FIFO
    UniqueFd log(open((b + "/log").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    std::string want = SocketAddress(Grpc(), "unit", s.name);
    default_sockets_.push_back(SocketPath(want));
    Ran r = RunShim(StartArgs(s.name), s.input, b, Env());
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_TRUE(r.eof) << "the daemon kept start's output open";
    EXPECT_EQ(r.out, want);
    EXPECT_EQ(want.rfind("unix:///run/containerd/s/", 0), 0u);
    EXPECT_TRUE(IsSocket(SocketPath(want)));
    EXPECT_EQ(Slurp(b + "/address"), want);
    EXPECT_EQ(Slurp(b + "/reaper-socket-dir"), "/run/containerd/s");
    pid_t d = DaemonOf(SocketPath(want));
    ASSERT_GT(d, 0);
    // What `start` logged (the daemon's own lines follow it in the same FIFO).
    char buf[8192];
    ssize_t n = read(log.get(), buf, sizeof buf);
    std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    if (s.logged.empty()) {
      EXPECT_EQ(text.find("start:"), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find(s.logged), std::string::npos) << text;
    }
    StopDaemon(SocketPath(want), d);
  }
}

// Flags the daemon is re-executed with are parsed whole.
TEST_F(BootstrapCli, FlagValuesAreParsedWhole) {
  Ran r = RunShim({"-namespace", "unit", "-socket-fd", "3abc", "serve"}, "", dir_, {});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "containerd-shim-reaper-v2: invalid value \"3abc\" for flag -socket-fd: want a file descriptor number\n");
}

// 2.3: BootstrapParams with socket_dir, an [options] extension, log level DEBUG and no
// TTRPC_ADDRESS in the environment.
TEST_F(BootstrapCli, StartHonoursSocketDirLogLevelAndTtrpcAddressOfBootstrapParams) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the daemon)";
  std::string sdir = dir_ + "/s";  // missing: start creates it
  ASSERT_LE(sdir.size(), 42u);
  bs::BootstrapParams p = Params("c23");
  p.set_socket_dir(sdir);
  p.set_log_level(-4);
  p.add_extensions()->mutable_value()->set_type_url("runtimeoptions.v1.Options");
  std::string b = Bundle("c23", "pod23");
  ASSERT_EQ(mkfifo((b + "/log").c_str(), 0700), 0);  // containerd's log FIFO, read before start
  UniqueFd log(open((b + "/log").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(log.valid());

  Ran r = RunShim(StartArgs("c23"), p.SerializeAsString(), b, Env(/*ttrpc=*/false));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.eof);
  std::string want = SocketAddress(Grpc(), "unit", "pod23", sdir);
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(want.rfind("unix://" + sdir + "/", 0), 0u);
  struct stat st{};
  ASSERT_EQ(stat(sdir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(lstat(SocketPath(want).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(Slurp(b + "/address"), want);
  EXPECT_EQ(Slurp(b + "/reaper-socket-dir"), sdir);

  // The [options] type is logged at debug into containerd's log, not onto the address.
  char buf[8192];
  ssize_t n = read(log.get(), buf, sizeof buf);
  std::string logged = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  EXPECT_NE(logged.find("level=debug msg=\"start: stdin\" kind=BootstrapParams "
                        "options_type=runtimeoptions.v1.Options containerd_version=v2.3.7 socket_dir=" + sdir),
            std::string::npos)
      << logged;

  pid_t d = DaemonOf(SocketPath(want));
  ASSERT_GT(d, 0);
  std::string cmdline = Slurp("/proc/" + std::to_string(d) + "/cmdline");
  EXPECT_NE(cmdline.find(std::string("\0-debug\0", 8)), std::string::npos);  // log_level DEBUG
  std::string environ_text = Slurp("/proc/" + std::to_string(d) + "/environ");
  EXPECT_NE(environ_text.find(std::string("\0TTRPC_ADDRESS=", 15) + dir_ + "/ev.sock" + std::string("\0", 1)),
            std::string::npos);

  // Grouping works in the socket dir: a second container of the pod reuses the daemon.
  std::string b2 = Bundle("c23b", "pod23");
  bs::BootstrapParams p2 = Params("c23b");
  p2.set_socket_dir(sdir);
  Ran r2 = RunShim(StartArgs("c23b"), p2.SerializeAsString(), b2, Env(false));
  ASSERT_EQ(r2.rc, 0) << r2.out;
  EXPECT_EQ(r2.out, want);
  EXPECT_EQ(Slurp(b2 + "/reaper-socket-dir"), sdir);

  // Events go to BootstrapParams' ttrpc address.
  Client c(SocketPath(want));
  task::CreateTaskRequest create;
  create.set_id("c23");
  create.set_bundle(b);
  ASSERT_EQ(c.Call("Create", create).code, 0);
  EXPECT_TRUE(events_->WaitForTopic("/tasks/create"));
  task::StateRequest id;  // {id, exec_id}, the shape of Start/Wait/Delete
  id.set_id("c23");
  ASSERT_EQ(c.Call("Start", id).code, 0);
  ASSERT_EQ(c.Call("Wait", id).code, 0);
  ASSERT_EQ(c.Call("Delete", id).code, 0);
  StopDaemon(SocketPath(want), d);
}

TEST_F(BootstrapCli, BadSocketDirIsAClearErrorAndLeavesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (ownership checks)";
  std::string wide = dir_ + "/w";
  mkdir(wide.c_str(), 0700);
  chmod(wide.c_str(), 0777);
  std::string file = dir_ + "/f";
  std::ofstream(file) << "x";
  std::string foreign = dir_ + "/o";
  mkdir(foreign.c_str(), 0700);
  ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
  std::string lnk = dir_ + "/l";
  ASSERT_EQ(symlink((dir_ + "/state").c_str(), lnk.c_str()), 0);
  struct Case {
    std::string dir, message;
  };
  std::string long_dir = "/tmp/" + std::string(38, 'x');
  std::vector<Case> cases = {
      {"rel/s", "socket_dir must be an absolute path: rel/s"},
      {long_dir, "socket_dir longer than 42 characters: " + long_dir},
      {"/", "socket_dir must not be /"},
      {wide, "socket_dir " + wide + " is writable by others (mode 777)"},
      {file, "socket_dir is not a directory: " + file},
      {lnk, "socket_dir is not a directory: " + lnk},
      {foreign, "socket_dir " + foreign + " is owned by uid 65534, not 0"},
  };
  mkdir((dir_ + "/state").c_str(), 0700);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dir);
    std::string b = Bundle("bad");
    bs::BootstrapParams p = Params("bad");
    p.set_socket_dir(c.dir);
    Ran r = RunShim(StartArgs("bad"), p.SerializeAsString(), b, Env());
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.out, "containerd-shim-reaper-v2: " + c.message + "\n");
    EXPECT_EQ(Entries(b), std::vector<std::string>{"config.json"});  // no address, no record
  }
  EXPECT_EQ(Entries(wide), std::vector<std::string>{});
  EXPECT_FALSE(IsSocket(SocketPath(SocketAddress(Grpc(), "unit", "bad"))));
}

// `delete` removes the socket of a dead daemon in a custom socket_dir; it never touches a
// live one, nor anything that is not a 64-hex socket directly in the recorded directory.
TEST_F(BootstrapCli, DeleteRemovesOnlyADeadSocketInTheRecordedDir) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the daemon)";
  std::string sdir = dir_ + "/s";
  auto start = [&](const std::string& id) {
    bs::BootstrapParams p = Params(id);
    p.set_socket_dir(sdir);
    Ran r = RunShim(StartArgs(id), p.SerializeAsString(), Bundle(id), Env());
    EXPECT_EQ(r.rc, 0) << r.out;
    return r.out;
  };
  auto del = [&](const std::string& id) {
    std::string b = dir_ + "/" + id;
    Ran r = RunShim({"-namespace", "unit", "-address", Grpc(), "-id", id, "-bundle", b, "delete"}, std::nullopt, b,
                    Env());
    EXPECT_EQ(r.rc, 0) << r.out;
    task::DeleteResponse resp;
    EXPECT_TRUE(resp.ParseFromString(r.out));
    return resp;
  };
  std::string dead = SocketPath(start("dead"));
  std::string live = SocketPath(start("live"));
  ASSERT_NE(dead, live);
  pid_t dead_pid = DaemonOf(dead), live_pid = DaemonOf(live);
  ASSERT_GT(dead_pid, 0);
  ASSERT_GT(live_pid, 0);
  kill(dead_pid, SIGKILL);
  ASSERT_TRUE(WaitGone(dead_pid, 10000));
  ASSERT_TRUE(IsSocket(dead));  // a SIGKILLed daemon leaves its socket

  EXPECT_EQ(del("dead").exit_status(), 137u);
  EXPECT_FALSE(IsSocket(dead));
  EXPECT_EQ(del("dead").exit_status(), 137u);  // idempotent

  del("live");
  EXPECT_TRUE(IsSocket(live));
  EXPECT_FALSE(WaitGone(live_pid, 0));
  EXPECT_EQ(DaemonOf(live), live_pid);  // still serving

  // Decoys, each dead: a non-hex name in the dir, a hex name outside it, a regular file.
  std::string hex(64, 'a');
  mkdir((dir_ + "/other").c_str(), 0700);
  struct Decoy {
    std::string id, path;
    bool socket;
  };
  std::vector<Decoy> decoys = {{"d1", sdir + "/not-a-hash", true},
                               {"d2", dir_ + "/other/" + hex, true},
                               {"d3", sdir + "/" + std::string(64, 'b'), false},
                               {"d4", sdir + "/" + std::string(63, 'c') + "/", true}};
  for (const auto& d : decoys) {
    SCOPED_TRACE(d.id);
    std::string b = Bundle(d.id);
    std::string path = d.path;
    if (path.back() == '/') path.pop_back();  // d4: the address has a trailing slash
    if (d.socket) DeadSocket(path);
    else std::ofstream(path) << "x";
    ASSERT_TRUE(WriteFileAtomic(b + "/address", "unix://" + d.path).ok());
    ASSERT_TRUE(WriteFileAtomic(b + "/reaper-socket-dir", sdir).ok());
    del(d.id);
    struct stat st{};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << "removed " << path;
  }
  // A record that is not a valid socket dir: nothing is removed.
  std::string b5 = Bundle("d5");
  std::string victim = sdir + "/" + std::string(64, 'e');
  DeadSocket(victim);
  ASSERT_TRUE(WriteFileAtomic(b5 + "/address", "unix://" + victim).ok());
  ASSERT_TRUE(WriteFileAtomic(b5 + "/reaper-socket-dir", "relative/s").ok());
  del("d5");
  EXPECT_TRUE(IsSocket(victim));
  // The same socket with the right record goes.
  ASSERT_TRUE(WriteFileAtomic(b5 + "/reaper-socket-dir", sdir).ok());
  del("d5");
  EXPECT_FALSE(IsSocket(victim));

  StopDaemon(live, live_pid);
}

// A SIGKILLed daemon's socket is replaced by the next start of its group (EADDRINUSE, then
// a failed connect), in a custom socket_dir as in the default one.
TEST_F(BootstrapCli, StartReplacesAStaleSocket) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the daemon)";
  std::string sdir = dir_ + "/s";
  mkdir(sdir.c_str(), 0700);
  std::string want = SocketAddress(Grpc(), "unit", "stale", sdir);
  DeadSocket(SocketPath(want));
  bs::BootstrapParams p = Params("stale");
  p.set_socket_dir(sdir);
  Ran r = RunShim(StartArgs("stale"), p.SerializeAsString(), Bundle("stale"), Env());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, want);
  pid_t d = DaemonOf(SocketPath(want));
  ASSERT_GT(d, 0);
  StopDaemon(SocketPath(want), d);
}

}  // namespace
}  // namespace reaper
