// Pure tests of resource accounting (run as any user): cgroupsPath forms, cgroup mounts, stats
// read over a fake cgroup tree in a temp dir (v1 hybrid and pure v2), limits written into a
// fake tree, and the Metrics encoding containerd decodes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/remove_tree.h"
#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "host/cgroup_limits.h"
#include "host/cgroup_path.h"
#include "host/cgroup_stats.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "shim/stats_wire.h"
#include "task.pb.h"

namespace reaper {
namespace {

class FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/reaper-cgfake.XXXXXX";
    ASSERT_TRUE(mkdtemp(t));
    root_ = t;
  }
  void TearDown() override { (void)RemoveTree(root_); }
  std::string Dir(const std::string& rel) {
    std::string p = root_;
    for (size_t pos = 0; pos != std::string::npos;) {
      size_t e = rel.find('/', pos);
      p += "/" + rel.substr(pos, e == std::string::npos ? e : e - pos);
      mkdir(p.c_str(), 0755);
      pos = e == std::string::npos ? e : e + 1;
    }
    return p;
  }
  static void Put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string Get(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string root_;
};

TEST(CgroupPath, CgroupfsForm) {
  EXPECT_EQ(*CgroupRelativePath("/kubepods/burstable/pod123/abc"), "kubepods/burstable/pod123/abc");
  EXPECT_EQ(*CgroupRelativePath("/k8s.io/abc/"), "k8s.io/abc");
  EXPECT_EQ(*CgroupRelativePath("rel/x"), "rel/x");
  EXPECT_FALSE(CgroupRelativePath("/a/../b").ok());
  EXPECT_FALSE(CgroupRelativePath("/a//b").ok());
  EXPECT_FALSE(CgroupRelativePath("/").ok());
  EXPECT_FALSE(CgroupRelativePath("").ok());
}

TEST(CgroupPath, SystemdForm) {
  EXPECT_EQ(*CgroupRelativePath("kubepods-burstable-pod1a2b.slice:cri-containerd:abc"),
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-abc.scope");
  EXPECT_EQ(*CgroupRelativePath("kubepods.slice:cri-containerd:abc"), "kubepods.slice/cri-containerd-abc.scope");
  EXPECT_EQ(*CgroupRelativePath(":docker:abc"), "system.slice/docker-abc.scope");
  EXPECT_EQ(*CgroupRelativePath("-.slice:p:abc"), "p-abc.scope");
  EXPECT_EQ(*CgroupRelativePath("system.slice::abc"), "system.slice/abc.scope");
  EXPECT_EQ(*CgroupRelativePath("kubepods.slice:p:sub.slice"), "kubepods.slice/sub.slice");
  EXPECT_FALSE(CgroupRelativePath("a:b").ok());
  EXPECT_FALSE(CgroupRelativePath("a.slice:b:c:d").ok());
  EXPECT_FALSE(CgroupRelativePath("bad:p:abc").ok());
  EXPECT_FALSE(CgroupRelativePath("a--b.slice:p:abc").ok());
  EXPECT_FALSE(CgroupRelativePath("-a.slice:p:abc").ok());
  EXPECT_FALSE(CgroupRelativePath("a.slice:p:x/y").ok());
}

TEST(CgroupPath, MountsHybridAndPureV2) {
  const char* hybrid =
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  auto m = ParseCgroupMounts(hybrid);
  EXPECT_FALSE(m.pure_v2());
  EXPECT_EQ(*m.unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m.V1Mount("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(m.V1Mount("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(m.V1Mount("blkio"), "");
  auto shared = ParseCgroupMounts("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
  EXPECT_EQ(shared.V1Mount("cpu"), shared.V1Mount("cpuacct"));
  auto v2 = ParseCgroupMounts("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_TRUE(v2.pure_v2());
  EXPECT_EQ(*v2.unified, "/sys/fs/cgroup");
}

TEST_F(FakeTree, StatsV1) {
  V1Dirs d{Dir("memory/kubepods/c1"), Dir("cpu/kubepods/c1"), Dir("cpuacct/kubepods/c1"), Dir("pids/kubepods/c1"),
           Dir("blkio/kubepods/c1")};
  Put(d.memory + "/memory.usage_in_bytes", "73400320\n");
  Put(d.memory + "/memory.max_usage_in_bytes", "80000000\n");
  Put(d.memory + "/memory.limit_in_bytes", "9223372036854771712\n");
  Put(d.memory + "/memory.stat", "cache 4096\nrss 67108864\ntotal_rss 67108864\ntotal_inactive_file 1048576\n");
  Put(d.memory + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Put(d.cpuacct + "/cpuacct.usage", "1500000000\n");
  Put(d.cpuacct + "/cpuacct.usage_user", "1000000000\n");
  Put(d.cpuacct + "/cpuacct.usage_sys", "500000000\n");
  Put(d.cpuacct + "/cpuacct.usage_percpu", "1000000000 500000000 \n");
  Put(d.cpu + "/cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 7000\n");
  Put(d.pids + "/pids.current", "5\n");
  Put(d.pids + "/pids.max", "max\n");
  Put(d.blkio + "/blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n");
  Put(d.blkio + "/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\n");
  CgroupStats s = ReadStatsV1(d);
  EXPECT_TRUE(s.has_memory && s.has_cpu && s.has_pids && s.has_io);
  EXPECT_EQ(s.memory_usage, 73400320u);
  EXPECT_EQ(s.memory_limit, kNoLimit);
  EXPECT_EQ(s.WorkingSet(true), 73400320u - 1048576u);
  EXPECT_EQ(s.Stat("total_rss"), 67108864u);
  EXPECT_EQ(s.oom_kills, 2u);
  EXPECT_EQ(s.cpu_total_ns, 1500000000u);
  EXPECT_EQ(s.cpu_user_ns, 1000000000u);
  EXPECT_EQ(s.cpu_kernel_ns, 500000000u);
  EXPECT_EQ(s.cpu_per_cpu_ns.size(), 2u);
  EXPECT_EQ(s.cpu_throttled_periods, 3u);
  EXPECT_EQ(s.pids_current, 5u);
  EXPECT_EQ(s.pids_limit, 0u);
  ASSERT_EQ(s.io.size(), 1u);
  EXPECT_EQ(s.io[0].read_bytes, 4096u);
  EXPECT_EQ(s.io[0].write_ios, 2u);

  // What containerd's CRI reads from the v1 Metrics.
  containerd::task::v2::StatsResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeStatsResponse(s, true)));
  EXPECT_EQ(resp.stats().type_url(), "io.containerd.cgroups.v1.Metrics");
  io::containerd::cgroups::v1::Metrics m;
  ASSERT_TRUE(m.ParseFromString(resp.stats().value()));
  EXPECT_EQ(m.memory().usage().usage(), 73400320u);
  EXPECT_EQ(m.memory().total_inactive_file(), 1048576u);
  EXPECT_EQ(m.memory().total_rss(), 67108864u);
  EXPECT_EQ(m.cpu().usage().total(), 1500000000u);
  EXPECT_EQ(m.cpu().usage().user(), 1000000000u);
  EXPECT_EQ(m.pids().current(), 5u);
  EXPECT_EQ(m.memory_oom_control().oom_kill(), 2u);
  EXPECT_EQ(m.blkio().io_service_bytes_recursive_size(), 2);
}

TEST_F(FakeTree, StatsV1CpuacctStatFallbackAndMissingControllers) {
  V1Dirs d;
  d.cpuacct = Dir("cpuacct/x");
  Put(d.cpuacct + "/cpuacct.usage", "42\n");
  Put(d.cpuacct + "/cpuacct.stat", "user 3\nsystem 1\n");
  CgroupStats s = ReadStatsV1(d);
  EXPECT_TRUE(s.has_cpu);
  EXPECT_FALSE(s.has_memory);
  EXPECT_FALSE(s.has_pids);
  uint64_t tick = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(s.cpu_user_ns, 3 * tick);
  EXPECT_EQ(s.cpu_kernel_ns, 1 * tick);
}

TEST_F(FakeTree, StatsV2) {
  std::string d = Dir("kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope");
  Put(d + "/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\n");
  Put(d + "/memory.current", "70000000\n");
  Put(d + "/memory.max", "33554432\n");
  Put(d + "/memory.stat", "anon 67108864\nfile 2000000\ninactive_file 1000000\npgfault 77\n");
  Put(d + "/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
  Put(d + "/pids.current", "3\n");
  Put(d + "/pids.max", "64\n");
  Put(d + "/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  CgroupStats s = ReadStatsV2(d);
  EXPECT_EQ(s.cpu_total_ns, 2500000u);
  EXPECT_EQ(s.memory_limit, 33554432u);
  EXPECT_EQ(s.WorkingSet(false), 69000000u);
  EXPECT_EQ(s.oom_kills, 1u);
  EXPECT_EQ(s.pids_limit, 64u);
  ASSERT_EQ(s.io.size(), 1u);
  EXPECT_EQ(s.io[0].write_bytes, 200u);
  containerd::task::v2::StatsResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeStatsResponse(s, false)));
  EXPECT_EQ(resp.stats().type_url(), "io.containerd.cgroups.v2.Metrics");
  io::containerd::cgroups::v2::Metrics m;
  ASSERT_TRUE(m.ParseFromString(resp.stats().value()));
  EXPECT_EQ(m.cpu().usage_usec(), 2500u);
  EXPECT_EQ(m.memory().usage(), 70000000u);
  EXPECT_EQ(m.memory().inactive_file(), 1000000u);
  EXPECT_EQ(m.memory().anon(), 67108864u);
  EXPECT_EQ(m.memory_events().oom_kill(), 1u);
  EXPECT_EQ(m.io().usage(0).rbytes(), 100u);
  EXPECT_EQ(m.pids().current(), 3u);
}

TEST(Resources, ParseSpecAndUpdateJson) {
  auto r = ParseResources(R"({"memory":{"limit":33554432,"swap":33554432},
      "cpu":{"shares":512,"quota":50000,"period":100000},"pids":{"limit":32},"devices":[]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r->memory_limit, 33554432);
  EXPECT_EQ(*r->cpu_shares, 512u);
  EXPECT_EQ(*r->cpu_quota, 50000);
  EXPECT_EQ(*r->cpu_period, 100000u);
  EXPECT_EQ(*r->pids_limit, 32);
  EXPECT_TRUE(ParseResources("{}")->empty());
  EXPECT_TRUE(ParseResources("null")->empty());
  EXPECT_FALSE(ParseResources(R"({"memory":{"limit":"x"}})").ok());
  EXPECT_FALSE(ParseResources(R"({"cpu":{"shares":-1}})").ok());
  EXPECT_FALSE(ParseResources("[").ok());
  EXPECT_EQ(SharesToWeight(2), 1u);
  EXPECT_EQ(SharesToWeight(1024), 39u);
  EXPECT_EQ(SharesToWeight(262144), 10000u);

  auto spec = ParseSpec(R"({"process":{"args":["true"],"cwd":"/"},
      "linux":{"cgroupsPath":"/kubepods/pod1/c1","resources":{"memory":{"limit":1048576}}}})");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->cgroups_path, "/kubepods/pod1/c1");
  EXPECT_EQ(*spec->resources.memory_limit, 1048576);
}

TEST_F(FakeTree, ApplyLimitsV1AndV2) {
  V1Dirs d{Dir("memory/c"), Dir("cpu/c"), "", Dir("pids/c"), ""};
  for (const char* f : {"memory/c/memory.limit_in_bytes", "cpu/c/cpu.shares", "cpu/c/cpu.cfs_quota_us",
                        "cpu/c/cpu.cfs_period_us", "pids/c/pids.max"}) {
    Put(root_ + "/" + f, "");
  }
  Resources r;
  r.memory_limit = 33554432;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.pids_limit = 16;
  ASSERT_TRUE(ApplyResourcesV1(d, r).ok());
  EXPECT_EQ(Get(d.memory + "/memory.limit_in_bytes"), "33554432");
  EXPECT_EQ(Get(d.cpu + "/cpu.shares"), "512");
  EXPECT_EQ(Get(d.cpu + "/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Get(d.pids + "/pids.max"), "16");

  std::string v2 = Dir("v2/c");
  for (const char* f : {"memory.max", "cpu.weight", "cpu.max", "pids.max"}) Put(v2 + "/" + f, "");
  ASSERT_TRUE(ApplyResourcesV2(v2, r).ok());
  EXPECT_EQ(Get(v2 + "/memory.max"), "33554432");
  EXPECT_EQ(Get(v2 + "/cpu.weight"), "20");
  EXPECT_EQ(Get(v2 + "/cpu.max"), "50000 100000");
  EXPECT_EQ(Get(v2 + "/pids.max"), "16");
  // A missing controller file is an error that names it.
  Resources only_mem;
  only_mem.memory_limit = 1;
  Status st = ApplyResourcesV2(root_, only_mem);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("memory.max"), std::string::npos);
}

TEST(NodeConfigResources, EnforceResourcesKey) {
  EXPECT_FALSE(ParseNodeConfig("")->enforce_resources);
  EXPECT_TRUE(ParseNodeConfig("enforce_resources = true\n")->enforce_resources);
  EXPECT_FALSE(ParseNodeConfig("enforce_resources = \"yes\"\n").ok());
}

}  // namespace
}  // namespace reaper
