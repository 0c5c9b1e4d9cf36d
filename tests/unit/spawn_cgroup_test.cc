// Children born in their cgroup (issue 18): clone3(CLONE_INTO_CGROUP) puts the child into the
// container's cgroup as it is created, so it is a member by the time Spawn returns — it never
// runs an instruction in the shim's cgroup; the fork fallback joins it as its first step.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "host/cgroup.h"
#include "host/spawn.h"

namespace reaper {
namespace {

class SpawnCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (cgroups)";
    auto root = FindCgroup2Mount(ReadFile("/proc/self/mountinfo").value());
    if (!root) GTEST_SKIP() << "no cgroup2 hierarchy on this node";
    auto cg = Cgroup::Create(*root + "/reaper/unit-spawn-" + std::to_string(getpid()));
    ASSERT_TRUE(cg.ok()) << cg.status().message();
    cg_ = std::move(*cg);
    spec_.args = {"/bin/sleep", "1000"};
    spec_.env = {"PATH=/bin:/usr/bin"};
  }
  void TearDown() override {
    if (cg_.valid()) {
      EXPECT_TRUE(cg_.Remove().ok());
    }
  }
  bool Member(pid_t pid) {
    for (pid_t p : cg_.Pids()) {
      if (p == pid) return true;
    }
    return false;
  }
  // Reads status records until "ready" (5 s at most).
  bool WaitReady(Child& ch) {
    StatusDecoder dec;
    for (;;) {
      pollfd p{ch.status_r.get(), POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) return false;
      char buf[512];
      ssize_t n = read(ch.status_r.get(), buf, sizeof buf);
      if (n <= 0) return false;
      dec.Feed(buf, static_cast<size_t>(n));
      while (auto r = dec.Next()) {
        if (r->kind == 'R') return true;
        if (r->kind == 'E') return false;
      }
    }
  }
  SpawnRequest Request() {
    SpawnRequest req;
    req.spec = &spec_;
    req.hold = true;
    req.cgroup_dir_fd = cg_.dir_fd();
    req.cgroup_procs_fd = cg_.procs_fd();
    return req;
  }
  Cgroup cg_;
  ProcessSpec spec_;
};

TEST_F(SpawnCgroupTest, BornInTheCgroup) {
  auto ch = Spawn(Request());
  ASSERT_TRUE(ch.ok()) << ch.status().message();
  EXPECT_TRUE(ch->born_in_cgroup) << "clone3(CLONE_INTO_CGROUP) was not used";
  EXPECT_TRUE(Member(ch->pid())) << "not a member when Spawn returned";  // before it ran anything of ours
  EXPECT_GE(ch->process.pidfd(), 0);
  ASSERT_TRUE(WaitReady(*ch));
  EXPECT_TRUE(Member(ch->pid()));
}  // dropping the Child kills and reaps it; the cgroup empties

TEST_F(SpawnCgroupTest, FallbackJoinsBeforeReady) {
  SpawnRequest req = Request();
  req.no_clone_into_cgroup = true;  // as on a kernel without clone3 or a cgroup v1-only node
  auto ch = Spawn(req);
  ASSERT_TRUE(ch.ok()) << ch.status().message();
  EXPECT_FALSE(ch->born_in_cgroup);
  ASSERT_TRUE(WaitReady(*ch));
  EXPECT_TRUE(Member(ch->pid())) << "the fallback child did not join its cgroup";
}

TEST_F(SpawnCgroupTest, NoCgroupStaysInTheParents) {
  SpawnRequest req = Request();
  req.cgroup_dir_fd = -1;
  req.cgroup_procs_fd = -1;
  auto ch = Spawn(req);
  ASSERT_TRUE(ch.ok()) << ch.status().message();
  EXPECT_FALSE(ch->born_in_cgroup);
  ASSERT_TRUE(WaitReady(*ch));
  EXPECT_FALSE(Member(ch->pid()));
}

}  // namespace
}  // namespace reaper
