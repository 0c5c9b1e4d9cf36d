// What a spawned child holds (issue 12 defects 2 and 3): a held init keeps only its own pipes,
// so another process's input still reaches EOF; reaper-runtime's failed `create` leaves
// nothing behind.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "base/files.h"
#include "base/proc.h"
#include "host/cgroup.h"
#include "shim_fixture.h"
#include "test_util.h"

namespace reaper {
namespace {
using testing::Entries;
using testing::Sh;

// The targets of /proc/<pid>/fd/*, by fd number.
std::map<int, std::string> OpenFds(pid_t pid) {
  std::map<int, std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& n : Entries(dir)) {
    char buf[512];
    ssize_t len = readlink((dir + "/" + n).c_str(), buf, sizeof buf - 1);
    out[std::stoi(n)] = len > 0 ? std::string(buf, static_cast<size_t>(len)) : "?";
  }
  return out;
}

// Runs reaper-runtime with output to a file (a child it leaves behind must not keep the
// test's pipe open); returns {exit status, output}.
std::pair<int, std::string> Runtime(const std::string& base, const std::string& args) {
  auto [rc, out] = Sh("REAPER_CONFIG=" + base + "/reaper.toml " + REAPER_RUNTIME_BINARY + " " + args + " >" +
                      base + "/out 2>&1; echo $?");
  auto text = ReadFile(base + "/out");
  return {std::atoi(out.c_str()), text.ok() ? *text : ""};
}

// Processes carrying the test's marker in their environment; killed, so a failure leaves none.
std::string KillMarked(const std::string& base) {
  auto [rc, pids] = Sh("grep -l 'E2E_MARK=" + base + "' /proc/[0-9]*/environ 2>/dev/null | grep -v self | cut -d/ -f3");
  if (!pids.empty()) Sh("kill -9 " + pids);
  return pids;
}

TEST_F(ShimTest, HeldChildHoldsOnlyItsOwnPipesAndOthersStillSeeEof) {
  // s1 reads stdin to EOF; the shim holds a writer of its FIFO until CloseIO.
  std::string in = shim_.Fifo("in"), out = shim_.Fifo("out");
  FifoReader reader(out);
  ASSERT_EQ(Create("s1", Spec(R"(["wc","-l"])"), out, in).code, 0);
  ASSERT_EQ(Simple("Start", "s1").code, 0);
  // A second container, created (held before execve) while that writer is open.
  auto cr = Parse<task::CreateTaskResponse>(Create("held", Spec(R"(["sleep","1000"])")));
  pid_t held = static_cast<pid_t>(cr.pid());
  ASSERT_GT(held, 0);
  auto fds = OpenFds(held);
  // 0-2 (/dev/null here), the status pipe and the release pipe: nothing of the shim's.
  EXPECT_EQ(fds.size(), 5u);
  for (const auto& [fd, target] : fds) {
    if (fd <= 2) {
      EXPECT_EQ(target, "/dev/null") << fd;
    } else {
      EXPECT_EQ(target.rfind("pipe:", 0), 0u) << "fd " << fd << " -> " << target;
    }
  }
  task::CloseIORequest close;
  close.set_id("s1");
  close.set_stdin(true);
  ASSERT_EQ(client_->Call("CloseIO", close).code, 0);
  ASSERT_EQ(reader.ReadAll(5000), "0\n");  // EOF reached wc although `held` exists
  auto wr = Parse<task::WaitResponse>(Simple("Wait", "s1"));
  EXPECT_EQ(wr.exit_status(), 0u);
  EXPECT_EQ(Simple("Delete", "held").code, 0);
  EXPECT_EQ(Simple("Delete", "s1").code, 0);
}

// reaper-runtime create on a bundle path that is not UTF-8: a clear error, exit 1, and no
// child, cgroup or state directory left.
TEST(RuntimeCreate, NonUtf8BundleIsRefusedAndLeavesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string id = "u1-" + std::to_string(getpid());
  char tmpl[] = "/tmp/reaper-rt-utf8.XXXXXX";
  std::string base = mkdtemp(tmpl);
  std::string bundle = base + "/b\xff\xfe";
  ASSERT_EQ(mkdir(bundle.c_str(), 0700), 0);
  std::ofstream(bundle + "/config.json")
      << R"({"ociVersion":"1.0.2","process":{"args":["sleep","1000"],"env":["E2E_MARK=)" << base
      << R"("],"cwd":"/"}})";
  std::string root = base + "/root";
  std::ofstream(base + "/reaper.toml") << "state_root = \"" << base << "/state\"\noverlay = \"off\"\n";
  auto [rc, out] = Runtime(base, "--root " + root + " create --bundle '" + bundle + "' " + id);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("bundle path is not valid UTF-8"), std::string::npos) << out;
  EXPECT_EQ(Entries(root), std::vector<std::string>{});  // no state dir
  EXPECT_EQ(KillMarked(base), "") << "a child of the failed create still ran";
  auto cg = FindCgroup2Mount(ReadFile("/proc/self/mountinfo").value());
  if (cg) {
    EXPECT_NE(access((*cg + "/reaper/oci/" + id).c_str(), F_OK), 0) << "cgroup left behind";
  }
  Sh("rm -rf '" + base + "'");
}

// Any failure after the fork (here: the pid file cannot be written) kills the child and
// removes its cgroup and state.
TEST(RuntimeCreate, FailureAfterTheForkLeavesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string id = "u2-" + std::to_string(getpid());
  char tmpl[] = "/tmp/reaper-rt-fail.XXXXXX";
  std::string base = mkdtemp(tmpl);
  std::string bundle = base + "/bundle";
  ASSERT_EQ(mkdir(bundle.c_str(), 0700), 0);
  std::ofstream(bundle + "/config.json")
      << R"({"ociVersion":"1.0.2","process":{"args":["sleep","1000"],"env":["E2E_MARK=)" << base
      << R"("],"cwd":"/"}})";
  std::string root = base + "/root";
  std::ofstream(base + "/reaper.toml") << "state_root = \"" << base << "/state\"\noverlay = \"off\"\n";
  auto [rc, out] = Runtime(base, "--root " + root + " create --bundle " + bundle + " --pid-file " + base +
                                     "/no/such/dir/pid " + id);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(Entries(root), std::vector<std::string>{});
  EXPECT_EQ(KillMarked(base), "") << "a child of the failed create still ran";
  auto cg = FindCgroup2Mount(ReadFile("/proc/self/mountinfo").value());
  if (cg) {
    EXPECT_NE(access((*cg + "/reaper/oci/" + id).c_str(), F_OK), 0) << "cgroup left behind";
  }
  Sh("rm -rf '" + base + "'");
}

}  // namespace
}  // namespace reaper
