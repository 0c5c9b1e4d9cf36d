// Bad input, row by row of docs/bad-input.md: the exact message (and ttrpc code or exit code)
// a user sees. Pure parsers first, then the real shim daemon and the binaries.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fstream>
#include <set>

#include "host/cgroup.h"
#include "host/mount_plan.h"
#include "host/node_config.h"
#include "host/oci_spec.h"
#include "runtime/cli.h"
#include "base/sha256.h"
#include "shim/shim_args.h"
#include "test_util.h"
#include "host/signals.h"
#include "shim/state_record.h"
#include "ttrpc/frame.h"

namespace reaper {
namespace {
using testing::Entries;
using testing::Sh;

// ---- ttrpc frames (pure decoder) ----

TEST(BadInputFrame, ShortHeaderWaitsForTheRest) {
  ttrpc::FrameDecoder d;
  d.Feed("\0\0\0", 3);
  EXPECT_FALSE(d.Next());
  EXPECT_EQ(d.buffered(), 3u);
  std::string rest = ttrpc::EncodeFrame(1, ttrpc::kTypeRequest, "x");
  d.Feed(rest.data() + 3, rest.size() - 3);
  auto f = d.Next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "x");
}

// ---- OCI spec (config.json and exec process specs) ----

TEST(BadInputSpec, ExactMessages) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {"{not json", "config.json is not valid JSON"},
      {R"({"process":{"args":["true"]},"linux":{"cgroupsPath":1}})", "linux.cgroupsPath must be a string"},
      {R"({"process":{"args":["true"]},"linux":{"resources":{"memory":{"limit":"1G"}}}})",
       "linux.resources: memory.limit must be an integer"},
      {R"({"process":{"args":["true"]},"linux":{"resources":{"cpu":{"shares":-2}}}})",
       "linux.resources: cpu.shares must not be negative"},
      {"[1]", "config.json must be a JSON object"},
      {"{}", "config.json has no process"},
      {R"({"process":"sh"})", "process must be an object"},
      {R"({"process":{}})", "process.args is missing"},
      {R"({"process":{"args":"sh -c x"}})", "process.args must be an array of strings"},
      {R"({"process":{"args":["sh",1]}})", "process.args must be an array of strings"},
      {R"({"process":{"args":[]}})", "process.args must not be empty"},
      {R"({"process":{"args":[""]}})", "process.args must not be empty"},
      {R"({"process":{"args":["a\u0000b"]}})", "process.args contains a NUL byte"},
      {R"({"process":{"args":["x"],"env":"A=1"}})", "process.env must be an array of strings"},
      {R"({"process":{"args":["x"],"env":["NOEQUALS"]}})", "process.env entry without '=': NOEQUALS"},
      {R"({"process":{"args":["x"],"cwd":5}})", "process.cwd must be a string"},
      {R"({"process":{"args":["x"],"cwd":"tmp"}})", "process.cwd must be an absolute path: tmp"},
      {R"({"process":{"args":["x"],"user":0}})", "process.user must be an object"},
      {R"({"process":{"args":["x"],"user":{"uid":-1}}})", "process.user.uid out of range: -1"},
      {R"({"process":{"args":["x"],"user":{"uid":4294967295}}})", "process.user.uid out of range: 4294967295"},
      {R"({"process":{"args":["x"],"user":{"uid":1.5}}})", "process.user.uid must be an integer"},
      {R"({"process":{"args":["x"],"user":{"gid":"0"}}})", "process.user.gid must be an integer"},
      {R"({"process":{"args":["x"],"user":{"additionalGids":1}}})", "process.user.additionalGids must be an array"},
      {R"({"process":{"args":["x"],"user":{"additionalGids":[-5]}}})", "process.user.additionalGids out of range: -5"},
      {R"({"process":{"args":["x"],"user":{"umask":4096}}})", "process.user.umask must be between 0 and 0777"},
      {R"({"process":{"args":["x"],"oomScoreAdj":"1"}})", "process.oomScoreAdj must be an integer"},
      {R"({"process":{"args":["x"],"oomScoreAdj":-1001}})", "process.oomScoreAdj out of range: -1001"},
      {R"({"process":{"args":["x"],"rlimits":{}}})", "process.rlimits must be an array"},
      {R"({"process":{"args":["x"],"rlimits":[{}]}})", "process.rlimits entries need a type"},
      {R"({"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_X","hard":1,"soft":1}]}})", "unknown rlimit type: RLIMIT_X"},
      {R"({"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":-1,"soft":1}]}})",
       "rlimit RLIMIT_NOFILE needs a non-negative hard"},
      {R"({"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":2}]}})",
       "rlimit RLIMIT_NOFILE: soft limit above hard limit"},
      {R"({"annotations":[],"process":{"args":["x"]}})", "annotations must be an object"},
      {R"({"annotations":{"a":1},"process":{"args":["x"]}})", "annotation a must be a string"},
      {R"({"mounts":{},"process":{"args":["x"]}})", "mounts must be an array"},
      {R"({"mounts":[{"source":"/x"}],"process":{"args":["x"]}})", "every mount needs a destination"},
      {R"({"mounts":[{"destination":"data"}],"process":{"args":["x"]}})", "mount destination must be absolute: data"},
      {R"({"mounts":[{"destination":"/d","options":"ro"}],"process":{"args":["x"]}})",
       "mount options must be an array of strings"},
  };
  for (const auto& c : cases) {
    auto s = ParseSpec(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_EQ(s.status().message(), c.want) << c.json;
  }
  auto p = ParseProcess("[]");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "process spec must be a JSON object");
  p = ParseProcess("{");
  EXPECT_EQ(p.status().message(), "process spec is not valid JSON");
  p = ParseProcess(R"({"args":["x"],"cwd":"rel"})");
  EXPECT_EQ(p.status().message(), "process.cwd must be an absolute path: rel");
}

TEST(BadInputSpec, MountPlanMessages) {
  auto plan = [](const std::string& src, const std::string& dst) {
    return PlanBinds({MountSpec{dst, "bind", src, {"rbind"}}}, DnsMode::kHost);
  };
  auto r = plan("/srv", "/a/../etc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "mount destination is not a clean absolute path: /a/../etc");
  EXPECT_EQ(plan("/srv", "/data/").status().message(), "mount destination is not a clean absolute path: /data/");
  EXPECT_EQ(plan("/srv", "/").status().message(), "a bind mount over / is not allowed");
  EXPECT_EQ(plan("srv", "/data").status().message(), "bind mount source must be an absolute path: srv");
  EXPECT_EQ(plan("", "/data").status().message(), "bind mount source must be an absolute path: ");
  // Targets a host-process pod never gets: skipped, not errors.
  EXPECT_TRUE(plan("/srv", "/proc/sys")->empty());
  EXPECT_TRUE(plan("/srv", "/etc/hosts")->empty());
  auto prepared = PrepareMounts({BindPlan{"/nonexistent/reaper-vol", "/data", false}});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), Code::kNotFound);
  EXPECT_EQ(prepared.status().message(), "mount source /nonexistent/reaper-vol: No such file or directory");
}

// ---- node configuration ----

TEST(BadInputConfig, ExactMessages) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"bogus = 1", "line 1: unknown key bogus"},
      {"[reaper]", "line 1: tables are not used; write plain key = value lines"},
      {"overlay", "line 1: expected key = value"},
      {"overlay =", "line 1: overlay: missing value"},
      {"overlay = \"node", "line 1: overlay: bad string"},
      {"overlay = \"node\" x", "line 1: overlay: bad string"},
      {"overlay = node", "line 1: overlay: not a string, boolean, integer or array"},
      {"overlay = 1", "line 1: overlay must be a string"},
      {"overlay = \"maybe\"", "line 1: overlay must be \"namespace\", \"node\" or \"off\""},
      {"dns_mode = \"k8s\"", "line 1: dns_mode must be \"host\" or \"kubernetes\""},
      {"host_filesystems = \"show\"", "line 1: host_filesystems must be \"overlay\" or \"hide\""},
      {"non_host_network = \"deny\"", "line 1: non_host_network must be \"allow\" or \"reject\""},
      {"non_host_network = true", "line 1: non_host_network must be a string"},
      {"state_root = \"run/reaper\"", "line 1: state_root must be an absolute path"},
      {"state_root = \"/var/lib/re:aper\"", "line 1: state_root must not contain ',', ':' or '\\' (overlay options)"},
      {"cgroup_parent = \"reaper\"", "line 1: cgroup_parent must be \"\", \"none\" or an absolute path"},
      {"enforce_resources = \"yes\"", "line 1: enforce_resources must be a boolean"},
      {"clone_into_cgroup = 1", "line 1: clone_into_cgroup must be a boolean"},
      {"masked_paths = \"/etc/shadow\"", "line 1: masked_paths must be an array of strings"},
      {"masked_paths = [\"/a\" \"/b\"]", "line 1: masked_paths: expected ',' or ']'"},
      {"masked_paths = [\"/a\"] x", "line 1: masked_paths: text after ']'"},
      {"masked_paths_extra = [1]", "line 1: masked_paths_extra: arrays hold \"strings\" only"},
      {"masked_paths_extra = [\"etc/x\"]", "line 1: masked_paths_extra: not a clean absolute path: etc/x"},
      {"allowed_namespaces = \"ops\"", "line 1: allowed_namespaces must be an array of strings"},
      {"# ok\n\ndns_mode = \"host\"\nstate_root = 5", "line 4: state_root must be a string"},
      {"proc_hidepid = \"yes\"", "line 1: proc_hidepid must be a boolean"},
      {"overlay_size = \"4M\"", "line 1: overlay_size must be bytes or \"<n>Ki|Mi|Gi|Ti\" (0 = unlimited)"},
      {"overlay_size = -1", "line 1: overlay_size must be bytes or \"<n>Ki|Mi|Gi|Ti\" (0 = unlimited)"},
      {"overlay_size = true", "line 1: overlay_size must be bytes or \"<n>Ki|Mi|Gi|Ti\" (0 = unlimited)"},
      {"overlay_size = 4096", "line 1: overlay_size must be 0 (unlimited) or at least 1Mi"},
      {"group_idle_timeout = \"1w\"", "line 1: group_idle_timeout must be seconds or \"<n>s|m|h|d\" (0 = never)"},
      {"group_idle_timeout = -5", "line 1: group_idle_timeout must be seconds or \"<n>s|m|h|d\" (0 = never)"},
  };
  for (const auto& c : cases) {
    auto r = ParseNodeConfig(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_EQ(r.status().message(), c.want) << c.text;
  }
  // Valid edge values stay valid.
  EXPECT_TRUE(ParseNodeConfig("cgroup_parent = \"none\"\ncgroup_parent = \"\"\ncgroup_parent = \"/sys/fs/cgroup/x\"").ok());
}

// ---- ids and signals ----

TEST(BadInputId, ExactMessages) {
  EXPECT_EQ(ValidateId("", "container id").message(), "container id must not be empty");
  EXPECT_EQ(ValidateId(std::string(77, 'a'), "container id").message(), "container id longer than 76 characters");
  EXPECT_EQ(ValidateId("a/b", "container id").message(),
            "container id contains a character outside [A-Za-z0-9_.-]: a/b");
  EXPECT_EQ(ValidateId("..", "exec id").message(), "exec id must not start with '.' or '-': ..");
  EXPECT_EQ(ValidateId("-rf", "id").message(), "id must not start with '.' or '-': -rf");
  EXPECT_EQ(ValidateId("a b", "id").code(), Code::kInvalidArgument);
}

TEST(BadInputSignal, RuntimeCliNamesAndNumbers) {
  for (const char* bad : {"SIGFOO", "0", "65", "-9", "1.5", ""}) {
    auto r = ParseSignal(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), std::string("unknown signal \"") + bad + "\"");
  }
  EXPECT_EQ(*ParseSignal("64"), 64);
}

// ---- reaper-runtime command line ----

TEST(BadInputRuntimeCli, MessagesAndExitCode) {
  auto msg = [](std::vector<std::string> a) { return runtime::ParseCommandLine(a).status().message(); };
  EXPECT_EQ(msg({}), "no command given (create, start, state, kill, delete, exec, ps, list, features)");
  EXPECT_EQ(msg({"--log-format", "xml", "list"}), "invalid log format xml");
  EXPECT_EQ(msg({"--root", "relative", "list"}), "--root must be an absolute path");
  EXPECT_EQ(msg({"create", "--bundle"}), "flag needs an argument: --bundle");
  // Through main(): the message goes to stderr and the exit code is 1, before anything is touched.
  char tmpl[] = "/tmp/reaper-rt-bad.XXXXXX";
  std::string root = mkdtemp(tmpl);
  std::string rr = root + "/root";
  auto run = [&](std::vector<std::string> a) {
    std::vector<char*> argv = {const_cast<char*>("reaper-runtime")};
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    return runtime::Main(static_cast<int>(argv.size() - 1), argv.data());
  };
  EXPECT_EQ(run({"--root", rr, "frobnicate"}), 1);
  EXPECT_EQ(run({"--root", rr, "create", "--bundle", root, "../x"}), 1);
  EXPECT_EQ(run({"--root", rr, "kill", "x", "SIGFOO"}), 1);
  EXPECT_EQ(run({"--root", rr, "state", "nosuch"}), 1);
  EXPECT_EQ(run({"--root", rr, "create"}), 1);
  EXPECT_EQ(Entries(root), std::vector<std::string>{});  // not even the root was created
  auto [rc, out] = Sh(std::string(REAPER_RUNTIME_BINARY) + " --root " + rr + " kill x SIGFOO");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "reaper-runtime: unknown signal \"SIGFOO\"\n");
  std::tie(rc, out) = Sh(std::string(REAPER_RUNTIME_BINARY) + " --root " + rr + " create --bundle " + root + " a/b");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "reaper-runtime: container id contains a character outside [A-Za-z0-9_.-]: a/b\n");
  std::tie(rc, out) = Sh(std::string(REAPER_RUNTIME_BINARY) + " --root " + rr + " frobnicate");
  EXPECT_EQ(out, "reaper-runtime: unknown command \"frobnicate\"\n");
  std::tie(rc, out) = Sh(std::string(REAPER_RUNTIME_BINARY) + " --root " + rr + " state nosuch");
  EXPECT_EQ(out, "reaper-runtime: container does not exist\n");
  EXPECT_EQ(Entries(root), std::vector<std::string>{});
  rmdir(root.c_str());
}

// ---- containerd-shim-reaper-v2 command line ----

TEST(BadInputShimCli, FlagsActionsAndIds) {
  std::string shim = REAPER_SHIM_BINARY;
  auto [rc, out] = Sh(shim + " -namespace x -id");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "containerd-shim-reaper-v2: flag needs an argument: -id\n");
  std::tie(rc, out) = Sh(shim + " -namespace x -id a frobnicate");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "containerd-shim-reaper-v2: unknown action \"frobnicate\" (want start or delete)\n");
  // `start` with an id that is not a path component: refused before any socket or file exists.
  char tmpl[] = "/tmp/reaper-shim-bad.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  for (const std::string& bad : std::vector<std::string>{"../evil", "a/b", std::string(77, 'x')}) {
    std::string sock = SocketPath(SocketAddress(dir + "/containerd.sock", "unit", bad));
    std::tie(rc, out) = Sh("cd " + dir + " && " + shim + " -namespace unit -address " + dir +
                           "/containerd.sock -id '" + bad + "' start");
    EXPECT_EQ(rc, 1) << bad;
    EXPECT_EQ(out.rfind("containerd-shim-reaper-v2: id ", 0), 0u) << out;
    EXPECT_NE(access(sock.c_str(), F_OK), 0) << bad;
    EXPECT_EQ(Entries(dir), std::vector<std::string>{}) << bad;  // no address file
  }
  std::tie(rc, out) = Sh("cd " + dir + " && " + shim + " -id a start");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "containerd-shim-reaper-v2: -namespace and -address are required\n");
  rmdir(dir.c_str());
}

// docs/configuration.md's "every key" example, kept valid.
TEST(BadInputConfig, DocumentedExampleOfEveryKeyParses) {
  auto c = ParseNodeConfig(R"(state_root = "/var/lib/reaper"          # absolute path
overlay = "node"                        # "namespace" | "node" | "off"
dns_mode = "kubernetes"                 # "host" | "kubernetes"
host_filesystems = "hide"               # "overlay" | "hide"
masked_paths = ["/etc/shadow", "/root/.ssh"]   # clean absolute paths; replaces the default list
masked_paths_extra = ["/etc/vault/token"]      # clean absolute paths; added to the list
allowed_namespaces = ["ops", "ci"]      # Kubernetes namespace names; [] = all
non_host_network = "reject"             # "allow" | "reject"
cgroup_parent = "/sys/fs/cgroup/reaper" # "" | "none" | absolute path
proc_hidepid = true                     # false | true
overlay_size = "1Gi"                    # bytes | "<n>Ki|Mi|Gi|Ti"; 0 = unlimited
group_idle_timeout = "1h"               # seconds | "<n>s|m|h|d"; 0 = never
enforce_resources = true                # false | true
clone_into_cgroup = false               # true | false (false: fork, then migrate)
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state_root, "/var/lib/reaper");
  EXPECT_EQ(c->overlay, OverlayMode::kNode);
  EXPECT_EQ(c->dns, DnsMode::kKubernetes);
  EXPECT_EQ(c->host_filesystems, HostFilesystems::kHide);
  EXPECT_EQ(c->masked_paths, (std::vector<std::string>{"/etc/shadow", "/root/.ssh", "/etc/vault/token"}));
  EXPECT_EQ(c->allowed_namespaces, (std::vector<std::string>{"ops", "ci"}));
  EXPECT_TRUE(c->reject_non_host_network);
  EXPECT_EQ(c->cgroup_parent, "/sys/fs/cgroup/reaper");
  EXPECT_TRUE(c->proc_hidepid);
  EXPECT_EQ(c->overlay_size, 1ull << 30);
  EXPECT_EQ(c->group_idle_timeout_s, 3600);
  EXPECT_TRUE(c->enforce_resources);
  EXPECT_FALSE(c->clone_into_cgroup);
  EXPECT_TRUE(ParseNodeConfig("")->clone_into_cgroup);
}

}  // namespace
}  // namespace reaper
