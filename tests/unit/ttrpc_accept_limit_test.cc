// Regression (issue 12, defect 5): the real shim daemon at its RLIMIT_NOFILE with clients
// connecting. accept(2) fails with EMFILE while the backlog stays readable; the old server
// retried at once, forever (518,602 "accept failed" lines in 2 s). It must back off: a bounded
// log, an idle CPU, and service again once connections close.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "shim_harness.h"
#include "task.pb.h"
#include "test_util.h"

namespace reaper {
namespace {

using testing::Client;
using testing::Dial;
using testing::ListenAt;
using testing::Reply;
using namespace std::chrono_literals;

constexpr rlim_t kNoFile = 32;

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    usleep(10'000);
  }
  return true;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; pos += needle.size()) ++n;
  return n;
}

// utime + stime of `pid`, in clock ticks.
long CpuTicks(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream f(stat.substr(p + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; f >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

size_t OpenFds(pid_t pid) { return testing::Entries("/proc/" + std::to_string(pid) + "/fd").size(); }

// The shim daemon with a low nofile limit and its log (stderr) in a file.
class LimitedShim {
 public:
  LimitedShim() {
    char tmpl[] = "/tmp/reaper-accept-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/shim.sock";
    log_ = dir_ + "/shim.log";
    std::ofstream(dir_ + "/reaper.toml") << "state_root = \"" << dir_ << "/state\"\n";
    UniqueFd l = ListenAt(socket_);
    int logfd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = fork();
    if (pid_ == 0) {
      rlimit rl{kNoFile, kNoFile};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
      // Out of the way first: dup2 onto its own number would keep O_CLOEXEC.
      int lf = fcntl(l.get(), F_DUPFD_CLOEXEC, 10);
      int lg = fcntl(logfd, F_DUPFD_CLOEXEC, 10);
      int null = open("/dev/null", O_RDWR | O_CLOEXEC);
      dup2(lf, 3);
      dup2(null, 0);
      dup2(null, 1);
      dup2(lg, 2);
      setenv("TTRPC_ADDRESS", (dir_ + "/no-containerd.sock").c_str(), 1);
      setenv("REAPER_CONFIG", (dir_ + "/reaper.toml").c_str(), 1);
      setenv("REAPER_CGROUP_PARENT", "none", 1);
      execl(REAPER_SHIM_BINARY, "containerd-shim-reaper-v2", "-namespace", "unit", "-id", "accept-limit",
            "-address", (dir_ + "/containerd.sock").c_str(), "-socket-address", ("unix://" + socket_).c_str(),
            "-socket-fd", "3", "serve", nullptr);
      _exit(127);
    }
    close(logfd);
  }
  ~LimitedShim() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (const char* f : {"/shim.sock", "/shim.log", "/reaper.toml"}) unlink((dir_ + f).c_str());
    rmdir((dir_ + "/state").c_str());
    rmdir(dir_.c_str());
  }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string dir_, socket_, log_;
  pid_t pid_ = -1;
};

// One Connect RPC on a fresh connection, with a receive timeout so a deaf shim cannot hang us.
bool Serves(const LimitedShim& shim) {
  Client c(shim.socket());
  if (!c.ok()) return false;
  timeval tv{2, 0};
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  containerd::task::v2::ConnectRequest req;
  req.set_id("accept-limit");
  Reply r = c.Call("Connect", req);
  containerd::task::v2::ConnectResponse resp;
  return r.code == 0 && resp.ParseFromString(r.payload) && resp.shim_pid() == static_cast<uint32_t>(shim.pid());
}

TEST(TtrpcAcceptLimit, BacksOffAtTheFdLimitAndServesAgain) {
  LimitedShim shim;
  ASSERT_TRUE(WaitUntil([&] { return shim.log().find("shim started") != std::string::npos; }, 10s))
      << shim.log();
  size_t baseline_fds = OpenFds(shim.pid());  // set up, no connection yet
  ASSERT_TRUE(Serves(shim));

  // Far more clients than fds: the shim accepts until EMFILE, the rest wait in the backlog.
  std::vector<UniqueFd> clients;
  for (rlim_t i = 0; i < 2 * kNoFile; ++i) {
    UniqueFd fd = Dial(shim.socket());
    ASSERT_TRUE(fd.valid()) << "connect " << i;
    clients.push_back(std::move(fd));
  }
  ASSERT_TRUE(WaitUntil([&] { return shim.log().find("accept failed") != std::string::npos; }, 10s))
      << "the shim never hit its fd limit\n" << shim.log();

  // A measurement window, not a synchronisation: what the shim does while stuck at the limit.
  long cpu0 = CpuTicks(shim.pid());
  usleep(2'000'000);
  long cpu1 = CpuTicks(shim.pid());
  std::string log = shim.log();
  size_t accept_lines = CountLines(log, "accept failed");
  std::printf("at the fd limit for 2 s: %zu \"accept failed\" lines, log %zu bytes, %ld CPU ticks\n",
              accept_lines, log.size(), cpu1 - cpu0);
  EXPECT_LE(accept_lines, 2u) << "accept failures must be logged once per interval";
  EXPECT_LT(log.size(), 16u * 1024) << "log grew to " << log.size() << " bytes";
  EXPECT_LE(cpu1 - cpu0, 10) << "CPU ticks in 2 s at the fd limit (" << sysconf(_SC_CLK_TCK) << "/s)";

  // Clients leave: fds are freed, the listener is watched again, the backlog drains.
  clients.clear();
  EXPECT_TRUE(WaitUntil([&] { return Serves(shim); }, 10s)) << "the shim does not serve again";
  EXPECT_TRUE(WaitUntil([&] { return OpenFds(shim.pid()) == baseline_fds; }, 10s))
      << "fds " << OpenFds(shim.pid()) << ", baseline " << baseline_fds;
  EXPECT_LE(CountLines(shim.log(), "accept failed"), 3u);
}

}  // namespace
}  // namespace reaper
