// Children born in their cgroup (issue 18): clone3(CLONE_INTO_CGROUP) puts the child into the
// container's cgroup as it is created, so it is a member by the time Spawn returns — it never
// runs an instruction in the shim's cgroup; the fork fallback joins it as its first step. On a
// hybrid node the child also joins the v1 controller cgroups itself, by thread, as its first
// step, so that it and every child it later forks are accounted there.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "base/files.h"
#include "host/cgroup.h"
#include "host/cgroup_set.h"
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

// The v1 directory of `controller` for `pid` (a line "N:ctrl,ctrl:/path" of /proc/<pid>/cgroup).
std::string V1Path(pid_t pid, const std::string& controller) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text.ok()) return "";
  size_t pos = 0;
  while (pos < text->size()) {
    size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    std::string line = text->substr(pos, eol - pos);
    pos = eol + 1;
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = "," + line.substr(a + 1, b - a - 1) + ",";
    if (ctrls.find("," + controller + ",") != std::string::npos) return line.substr(b + 1);
  }
  return "";
}

// Waits (5 s at most) until `fd` is readable.
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 5000) == 1;
}

TEST_F(SpawnCgroupTest, JoinsTheV1ControllersBeforeReadyAndItsChildrenFollow) {
  CgroupMounts mounts = HostCgroupMounts();
  if (mounts.pure_v2()) GTEST_SKIP() << "no v1 controller is mounted (not a hybrid node)";
  std::string rel = "reaper/unit-spawn-v1-" + std::to_string(getpid());
  auto v1 = ControllerCgroups::Create(mounts, rel);
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  auto tasks = v1->OpenTasks();
  ASSERT_TRUE(tasks.ok()) << tasks.status().message();
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_r(out[0]), out_w(out[1]);
  spec_.args = {"/bin/sh", "-c", "/bin/sleep 1000 & echo $!; wait"};
  SpawnRequest req = Request();
  req.stdio.out = out_w.get();
  for (const auto& f : *tasks) req.v1_tasks_fds.push_back(f.get());
  UniqueFd grandchild_fd;
  {
    auto ch = Spawn(req);
    ASSERT_TRUE(ch.ok()) << ch.status().message();
    out_w.reset();
    ASSERT_TRUE(WaitReady(*ch));
    for (const auto& m : mounts.v1) {
      EXPECT_EQ(V1Path(ch->pid(), m.controller), "/" + rel) << m.controller << " (held child)";
    }
    ASSERT_TRUE(ch->Release());
    ASSERT_TRUE(Readable(out_r.get())) << "sh printed no pid";
    char buf[32] = {};
    ASSERT_GT(read(out_r.get(), buf, sizeof buf - 1), 0);
    pid_t grandchild = static_cast<pid_t>(atoi(buf));
    ASSERT_GT(grandchild, 0) << buf;
    grandchild_fd.reset(static_cast<int>(syscall(SYS_pidfd_open, grandchild, 0)));
    ASSERT_TRUE(grandchild_fd) << "pidfd_open " << grandchild;
    for (const auto& m : mounts.v1) {
      EXPECT_EQ(V1Path(grandchild, m.controller), "/" + rel) << m.controller << " (the workload's child)";
    }
    kill(grandchild, SIGKILL);
  }  // the Child kills and reaps sh
  ASSERT_TRUE(Readable(grandchild_fd.get())) << "the sleep did not exit";
  // An exited member may linger for an instant until it is released: rmdir until the
  // kernel lets go (bounded, 5 s).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  Status st = v1->Remove();
  while (!st.ok() && std::chrono::steady_clock::now() < deadline) {
    usleep(1000);
    st = v1->Remove();
  }
  EXPECT_TRUE(st.ok()) << st.message();
  auto parents = v1->created_parents();
  RemoveEmptyDirs(&parents);
}

}  // namespace
}  // namespace reaper
