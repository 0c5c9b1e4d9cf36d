#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "host/cgroup.h"
#include "base/log.h"
#include "shim/state_record.h"
#include "base/status.h"

namespace reaper {
namespace {

TEST(Status, WrapKeepsCodeAndAddsContext) {
  Status s = Status::FromErrno(ENOENT, "open /x").Wrap("create t1");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "create t1: open /x: No such file or directory");
  EXPECT_EQ(CodeFromErrno(EEXIST), Code::kAlreadyExists);
  EXPECT_EQ(CodeFromErrno(EPERM), Code::kPermissionDenied);
}

TEST(Log, LogrusFormat) {
  std::string line = log::FormatLine("2026-01-01T00:00:00.000000000Z", log::Level::kWarn, "a b",
                                     {{"id", "t1"}, {"err", "x\"y"}});
  EXPECT_EQ(line, "time=\"2026-01-01T00:00:00.000000000Z\" level=warning msg=\"a b\" id=t1 err=\"x\\\"y\"\n");
}

// UTC without glibc's time-zone database, checked against gmtime_r over leap years, century
// rules, month ends and the epoch's neighbourhood.
TEST(Log, FormatUtcMatchesGmtime) {
  for (int64_t sec : {int64_t{0}, int64_t{-1}, int64_t{951782400} /* 2000-02-29 */, int64_t{4107542399} /* 2100-02-28T23:59:59 */,
                      int64_t{1798761600}, int64_t{253402300799} /* 9999-12-31T23:59:59 */}) {
    for (int64_t d = -3; d <= 3; ++d) {
      int64_t t = sec + d * 86400 + d * 3599;
      time_t tt = static_cast<time_t>(t);
      tm g{};
      ASSERT_NE(gmtime_r(&tt, &g), nullptr);
      char want[64];
      snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000000007Z", g.tm_year + 1900, g.tm_mon + 1,
               g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec);
      EXPECT_EQ(log::FormatUtc(t, 7), want) << t;
    }
  }
  EXPECT_EQ(log::FormatUtc(1798761600, 123456789), "2027-01-01T00:00:00.123456789Z");
}

TEST(StateRecord, RoundTripAndAtomicWrite) {
  char dir[] = "/tmp/reaper-unit.XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  StateRecord r;
  r.id = "c1";
  r.pid = 42;
  r.start_time = 777;
  r.cgroup = "/sys/fs/cgroup/x";
  r.group = "k8s-default";
  r.exited = true;
  r.exit_status = 137;
  ASSERT_TRUE(WriteStateRecord(dir, r).ok());
  struct stat st{};
  ASSERT_EQ(stat((std::string(dir) + "/" + kStateRecordName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadStateRecord(dir);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, "c1");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 777u);
  EXPECT_EQ(back->exit_status, 137u);
  EXPECT_EQ(back->group, "k8s-default");
  EXPECT_EQ(access((std::string(dir) + "/" + kStateRecordName + ".tmp").c_str(), F_OK), -1);
  EXPECT_FALSE(DecodeStateRecord("garbage").ok());
  unlink((std::string(dir) + "/" + kStateRecordName).c_str());
  rmdir(dir);
}

TEST(Cgroup, FindsCgroup2Mount) {
  const char* mi =
      "25 30 0:23 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
      "26 30 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(*FindCgroup2Mount(mi), "/sys/fs/cgroup/unified");
  EXPECT_FALSE(FindCgroup2Mount("25 30 0:23 / /x rw - ext4 /dev/sda rw\n"));
}

}  // namespace
}  // namespace reaper

#include "host/node_config.h"

namespace reaper {
namespace {

TEST(NodeConfig, DefaultsAndKeys) {
  auto d = ParseNodeConfig("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state_root, "/run/reaper");
  EXPECT_EQ(d->overlay, OverlayMode::kNamespace);
  EXPECT_FALSE(d->masked_paths.empty());
  EXPECT_FALSE(d->full_privileges);  // the spec's privileges by default
  auto c = ParseNodeConfig(
      "# comment\nstate_root = \"/var/lib/reaper\"  # trailing\noverlay = \"node\"\ndns_mode = \"kubernetes\"\n"
      "masked_paths = [\"/a\", \"/b\"]\nmasked_paths_extra = [\"/c\"]\nallowed_namespaces = []\n"
      "non_host_network = \"reject\"\nhost_filesystems = \"hide\"\nfull_privileges = true\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state_root, "/var/lib/reaper");
  EXPECT_EQ(c->overlay, OverlayMode::kNode);
  EXPECT_EQ(c->dns, DnsMode::kKubernetes);
  EXPECT_EQ(c->masked_paths, (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_TRUE(c->reject_non_host_network);
  EXPECT_EQ(c->host_filesystems, HostFilesystems::kHide);
  EXPECT_TRUE(c->full_privileges);
  EXPECT_FALSE(ParseNodeConfig("full_privileges = \"yes\"").ok());
}

// Issue 15: proc_hidepid, overlay_size, group_idle_timeout. Off / unlimited / never by default.
TEST(NodeConfig, ProcSizeAndIdleKeys) {
  auto d = ParseNodeConfig("");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->proc_hidepid);
  EXPECT_EQ(d->overlay_size, 0u);
  EXPECT_EQ(d->group_idle_timeout_s, 0);
  auto c = ParseNodeConfig("proc_hidepid = true\noverlay_size = \"4Mi\"\ngroup_idle_timeout = \"10m\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->proc_hidepid);
  EXPECT_EQ(c->overlay_size, 4u << 20);
  EXPECT_EQ(c->group_idle_timeout_s, 600);
  struct Size {
    const char* text;
    unsigned long long want;
  } sizes[] = {{"overlay_size = 0", 0},           {"overlay_size = \"0\"", 0},
               {"overlay_size = 1048576", 1 << 20}, {"overlay_size = \"2Gi\"", 2ull << 30},
               {"overlay_size = \"512Ki\"", 0},    {"overlay_size = \"1Ti\"", 1ull << 40}};
  for (const auto& z : sizes) {
    auto r = ParseNodeConfig(z.text);
    if (z.want == 0 && std::string(z.text).find("Ki") != std::string::npos) {
      EXPECT_FALSE(r.ok()) << z.text;  // below 1Mi
      continue;
    }
    ASSERT_TRUE(r.ok()) << z.text << ": " << r.status().message();
    EXPECT_EQ(r->overlay_size, z.want) << z.text;
  }
  long long s = 0;
  EXPECT_TRUE(ParseDuration("90", &s));
  EXPECT_EQ(s, 90);
  EXPECT_TRUE(ParseDuration("2h", &s));
  EXPECT_EQ(s, 7200);
  EXPECT_TRUE(ParseDuration("1d", &s));
  EXPECT_EQ(s, 86400);
  for (const char* bad : {"", "m", "1.5h", "-1", "10 m", "1w", "99999999999999999"}) EXPECT_FALSE(ParseDuration(bad, &s)) << bad;
  unsigned long long b = 0;
  for (const char* bad : {"", "4M", "4mi", "4 Mi", "4G", "1.5Gi", "99999999999999Ti"}) EXPECT_FALSE(ParseSize(bad, &b)) << bad;
}

TEST(NodeConfig, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"bogus = 1", "line 1: unknown key bogus"},
      {"\n\noverlay = \"maybe\"", "line 3: overlay must be"},
      {"state_root = relative", "line 1: state_root: not a string"},
      {"state_root = \"rel\"", "absolute"},
      {"[table]", "tables are not used"},
      {"masked_paths = [\"/a\", 3]", "arrays hold"},
      {"masked_paths = [\"/a/../b\"]", "not a clean absolute path"},
      {"no equals sign", "expected key = value"},
      {"dns_mode = \"unterminated", "bad string"},
  };
  for (const auto& c : cases) {
    auto r = ParseNodeConfig(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace reaper

#include "host/overlay_group.h"

namespace reaper {
namespace {

TEST(OverlayGroup, ResolveGroupKeys) {
  NodeConfig cfg;
  std::map<std::string, std::string> k8s = {{"io.kubernetes.cri.sandbox-namespace", "team-a"}};
  EXPECT_EQ(ResolveGroup(cfg, k8s, "k8s.io")->key, "k8s-team-a");
  k8s["reaper.runtime/overlay-name"] = "build";
  EXPECT_EQ(ResolveGroup(cfg, k8s, "k8s.io")->key, "k8s-team-a.build");
  EXPECT_EQ(ResolveGroup(cfg, {}, "default")->key, "containerd-default");
  EXPECT_EQ(ResolveGroup(cfg, {{"reaper.runtime/overlay-name", "x"}}, "k8s.io")->key, "containerd-k8s.io+x");
  EXPECT_EQ(ResolveGroup(cfg, {}, "default", "oci")->key, "oci-default");
  cfg.overlay = OverlayMode::kNode;
  EXPECT_EQ(ResolveGroup(cfg, k8s, "k8s.io")->key, "node");
  cfg.overlay = OverlayMode::kNamespace;
  for (const char* bad : {"Upper", "-x", "a_b", "../e", ""}) {
    if (!*bad) continue;
    EXPECT_FALSE(ResolveGroup(cfg, {{"reaper.runtime/overlay-name", bad}}, "default").ok()) << bad;
  }
  EXPECT_FALSE(ResolveGroup(cfg, {{"io.kubernetes.cri.sandbox-namespace", "Bad_NS"}}, "default").ok());
}

}  // namespace
}  // namespace reaper
