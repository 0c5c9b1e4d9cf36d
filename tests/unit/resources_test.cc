// Resource accounting and opt-in limits with the real shim daemon (root; docs/protocol.md
// "Stats"): the spec's cgroupsPath in both forms holds the processes in every hierarchy, Stats
// reports their memory and CPU, enforce_resources applies linux.resources (a 32 MiB limit
// OOM-kills a 64 MiB allocation and publishes TaskOOM, a pids limit stops a fork bomb), the
// same pods run to completion without it, and Delete leaves no cgroup behind.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "host/cgroup_path.h"
#include "shim_fixture.h"

namespace reaper {
namespace {

namespace cg1 = io::containerd::cgroups::v1;

bool Exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// The cgroups of one test: a top-level name of its own in every hierarchy, removed with the
// test whatever happened (processes killed first).
struct TestCgroups {
  std::string top = "reaper-restest-" + std::to_string(getpid());
  CgroupMounts mounts = HostCgroupMounts();
  std::vector<std::string> Roots() const {
    std::vector<std::string> out;
    for (const auto& m : mounts.v1) out.push_back(m.mount + "/" + top);
    if (mounts.unified) out.push_back(*mounts.unified + "/" + top);
    return out;
  }
  ~TestCgroups() {
    for (const auto& r : Roots()) {
      if (!Exists(r)) continue;
      // find -depth: kill members, then rmdir (the v2 helper does cgroup.kill; v1 by pid).
      std::string cmd = "find '" + r + "' -depth -type d | while read -r d; do "
                        "for p in $(cat \"$d/cgroup.procs\" 2>/dev/null); do kill -9 $p 2>/dev/null; done; "
                        "for i in $(seq 50); do rmdir \"$d\" 2>/dev/null && break; sleep 0.1; done; done";
      int rc = system(cmd.c_str());
      (void)rc;
    }
  }
  bool AnyLeft() const {
    for (const auto& r : Roots()) {
      if (Exists(r)) return true;
    }
    return false;
  }
};

std::string SpecWith(const std::string& args_json, const std::string& cgroups_path, const std::string& resources = "{}") {
  nlohmann::json j = nlohmann::json::parse(Spec(args_json));
  j["linux"] = {{"cgroupsPath", cgroups_path}, {"resources", nlohmann::json::parse(resources)}};
  return j.dump();
}

constexpr const char* kAlloc64 =
    R"J(["python3","-c","import sys,time\nb=b'\\x01'*(64<<20)\nprint('ready',flush=True)\ntime.sleep(600)"])J";

class ResourcesTest : public ShimTest {
 protected:
  ResourcesTest() : ShimTest("overlay = \"off\"\n") {}
  explicit ResourcesTest(const std::string& cfg) : ShimTest(cfg) {}
  void SetUp() override {
    ShimTest::SetUp();
    if (IsSkipped()) return;
    if (shim_.cgroup_parent().empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
    if (cg_.mounts.pure_v2() || cg_.mounts.V1Mount("memory").empty()) GTEST_SKIP() << "written for the v1 hybrid nodes here";
    if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3";
  }
  cg1::Metrics Stats(const std::string& id) {
    task::StatsRequest req;
    req.set_id(id);
    Reply r = client_->Call("Stats", req);
    EXPECT_EQ(r.code, 0) << r.message;
    task::StatsResponse resp;
    EXPECT_TRUE(resp.ParseFromString(r.payload));
    EXPECT_EQ(resp.stats().type_url(), "io.containerd.cgroups.v1.Metrics");
    cg1::Metrics m;
    EXPECT_TRUE(m.ParseFromString(resp.stats().value()));
    return m;
  }
  std::string CgroupOf(pid_t pid, const std::string& controller) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(f, line)) {
      auto a = line.find(':'), b = line.find(':', a + 1);
      std::string ctrls = line.substr(a + 1, b - a - 1);
      if (("," + ctrls + ",").find("," + controller + ",") != std::string::npos) return line.substr(b + 1);
    }
    return "";
  }
  TestCgroups cg_;
};

TEST_F(ResourcesTest, CgroupfsPathHoldsTheProcessesAndStatsShowMemory) {
  std::string path = "/" + cg_.top + "/burstable/pod1/mem";
  std::string out = shim_.Fifo("mem.out");
  FifoReader reader(out);
  ASSERT_EQ(Create("mem", SpecWith(kAlloc64, path), out).code, 0);
  ASSERT_EQ(Simple("Start", "mem").code, 0);
  ASSERT_NE(reader.ReadUntil("ready", 30000).find("ready"), std::string::npos);
  task::StateResponse st;
  ASSERT_TRUE(st.ParseFromString(Simple("State", "mem").payload));
  for (const char* c : {"memory", "cpu", "cpuacct", "pids"}) {
    EXPECT_EQ(CgroupOf(static_cast<pid_t>(st.pid()), c), path) << c;
  }
  EXPECT_EQ(CgroupOf(static_cast<pid_t>(st.pid()), ""), path);  // 0::<path> (the cgroup2 line)
  cg1::Metrics m = Stats("mem");
  EXPECT_GE(m.memory().usage().usage(), 64u << 20);
  EXPECT_GE(m.memory().usage().usage() - m.memory().total_inactive_file(), 64u << 20);  // working set
  EXPECT_GE(m.memory().total_rss(), 60u << 20);
  EXPECT_GE(m.pids().current(), 1u);
  EXPECT_GT(m.cpu().usage().total(), 0u);
  // An exec joins the same cgroups.
  auto [code, text] = Exec("mem", "e1", R"({"args":["cat","/proc/self/cgroup"],"cwd":"/","env":["PATH=/usr/bin:/bin"]})");
  EXPECT_EQ(code, 0);
  EXPECT_NE(text.find(":memory:" + path), std::string::npos) << text;
  ASSERT_EQ(Kill("mem", SIGKILL).code, 0);
  ASSERT_EQ(Simple("Wait", "mem").code, 0);
  ASSERT_EQ(Simple("Delete", "mem").code, 0);
  EXPECT_FALSE(cg_.AnyLeft()) << "a cgroup was left after Delete";
}

TEST_F(ResourcesTest, BadCgroupsPathFailsCreateAndLeavesNothing) {
  Reply r = Create("badcg", SpecWith(R"(["true"])", "/" + cg_.top + "/../escape"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create badcg: linux.cgroupsPath: bad component in \"/" + cg_.top + "/../escape\"");
  r = Create("badsd", SpecWith(R"(["true"])", "nodots:p:x"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create badsd: linux.cgroupsPath: bad slice \"nodots\"");
  EXPECT_EQ(Simple("State", "badcg").code, 5);
  EXPECT_FALSE(cg_.AnyLeft());
}

TEST_F(ResourcesTest, SystemdPathAndCpuTimeGrows) {
  // '-' nests slices: this test's tree starts at reaperrestest<pid>.slice.
  std::string stem = "reaperrestest" + std::to_string(getpid());
  TestCgroups sys;
  sys.top = stem + ".slice";
  std::string slice = stem + "-pod2.slice";
  std::string rel = *CgroupRelativePath(slice + ":cri-containerd:busy");
  ASSERT_EQ(rel, sys.top + "/" + slice + "/cri-containerd-busy.scope");
  std::string out = shim_.Fifo("busy.out");
  FifoReader reader(out);
  const char* busy = R"(["sh","-c","i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo a; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo b; while :; do :; done"])";
  ASSERT_EQ(Create("busy", SpecWith(busy, slice + ":cri-containerd:busy"), out).code, 0);
  ASSERT_EQ(Simple("Start", "busy").code, 0);
  EXPECT_TRUE(Exists(cg_.mounts.V1Mount("cpuacct") + "/" + rel));
  ASSERT_NE(reader.ReadUntil("a\n", 60000).find("a\n"), std::string::npos);
  uint64_t first = Stats("busy").cpu().usage().total();
  ASSERT_NE(reader.ReadUntil("b\n", 60000).find("b\n"), std::string::npos);
  cg1::Metrics m = Stats("busy");
  EXPECT_GT(first, 0u);
  EXPECT_GT(m.cpu().usage().total(), first);
  EXPECT_GT(m.cpu().usage().user(), 0u);
  ASSERT_EQ(Kill("busy", SIGKILL).code, 0);
  ASSERT_EQ(Simple("Wait", "busy").code, 0);
  ASSERT_EQ(Simple("Delete", "busy").code, 0);
  EXPECT_FALSE(sys.AnyLeft()) << "a cgroup was left after Delete";
}

constexpr const char* kLimits = R"({"memory":{"limit":33554432},"pids":{"limit":16},"cpu":{"shares":512,"quota":50000,"period":100000}})";
constexpr const char* kForkBomb = R"(["sh","-c","for i in $(seq 64); do sleep 1000 & done; echo forked"])";

TEST_F(ResourcesTest, WithoutEnforceLimitsAreNotAppliedAndPodsRunToCompletion) {
  std::string path = "/" + cg_.top + "/pod3/";
  auto [code, text] = Run("big", SpecWith(R"J(["python3","-c","b=b'\\x01'*(64<<20); print('done')"])J", path + "big", kLimits));
  EXPECT_EQ(code, 0) << text;
  EXPECT_NE(text.find("done"), std::string::npos);
  auto [fcode, ftext] = Run("fork", SpecWith(kForkBomb, path + "fork", kLimits));
  EXPECT_EQ(fcode, 0) << ftext;
  EXPECT_NE(ftext.find("forked"), std::string::npos);
  for (const auto& e : shim_.events().WaitFor(1)) EXPECT_NE(e.topic, "/tasks/oom");
  EXPECT_FALSE(cg_.AnyLeft());
}

class EnforcedResourcesTest : public ResourcesTest {
 protected:
  EnforcedResourcesTest() : ResourcesTest("overlay = \"off\"\nenforce_resources = true\n") {}
};

TEST_F(EnforcedResourcesTest, MemoryLimitOomKillsAndPublishesTaskOOM) {
  std::string path = "/" + cg_.top + "/pod4/oom";
  ASSERT_EQ(Create("oom", SpecWith(kAlloc64, path, kLimits)).code, 0);
  EXPECT_EQ(Stats("oom").memory().usage().limit(), 33554432u);
  ASSERT_EQ(Simple("Start", "oom").code, 0);
  task::WaitResponse w;
  ASSERT_TRUE(w.ParseFromString(Simple("Wait", "oom").payload));
  EXPECT_EQ(w.exit_status(), 137u);
  ASSERT_TRUE(shim_.events().WaitForTopic("/tasks/oom")) << "no TaskOOM published";
  EXPECT_GE(Stats("oom").memory_oom_control().oom_kill(), 1u);
  ASSERT_EQ(Simple("Delete", "oom").code, 0);
  EXPECT_FALSE(cg_.AnyLeft());
}

TEST_F(EnforcedResourcesTest, PidsLimitStopsAForkBombAndUpdateChangesLimits) {
  std::string path = "/" + cg_.top + "/pod5/";
  auto [code, text] = Run("fork", SpecWith(kForkBomb, path + "fork", kLimits));
  EXPECT_NE(code, 0) << text;
  EXPECT_EQ(text.find("forked"), std::string::npos) << text;
  // Update (CRI UpdateContainerResources) changes the limits of a running container.
  ASSERT_EQ(Create("upd", SpecWith(R"(["sleep","1000"])", path + "upd", kLimits)).code, 0);
  ASSERT_EQ(Simple("Start", "upd").code, 0);
  task::UpdateTaskRequest u;
  u.set_id("upd");
  u.mutable_resources()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  u.mutable_resources()->set_value(R"({"memory":{"limit":67108864},"pids":{"limit":32}})");
  Reply r = client_->Call("Update", u);
  ASSERT_EQ(r.code, 0) << r.message;
  cg1::Metrics m = Stats("upd");
  EXPECT_EQ(m.memory().usage().limit(), 67108864u);
  EXPECT_EQ(m.pids().limit(), 32u);
  u.mutable_resources()->set_value("{\"memory\":{\"limit\":\"x\"}}");
  r = client_->Call("Update", u);
  EXPECT_EQ(r.code, 3);  // InvalidArgument
  EXPECT_EQ(r.message, "linux.resources: memory.limit must be an integer");
  ASSERT_EQ(Kill("upd", SIGKILL).code, 0);
  ASSERT_EQ(Simple("Wait", "upd").code, 0);
  ASSERT_EQ(Simple("Delete", "upd").code, 0);
  EXPECT_FALSE(cg_.AnyLeft());
}

}  // namespace
}  // namespace reaper
