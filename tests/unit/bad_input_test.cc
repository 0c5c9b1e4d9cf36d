// Bad input, row by row of docs/bad-input.md: the exact message (and ttrpc code or exit code)
// a user sees. Pure parsers first, then the real shim daemon and the binaries.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fstream>
#include <set>

#include "cgroup.h"
#include "mount_plan.h"
#include "node_config.h"
#include "oci_spec.h"
#include "runtime_cli.h"
#include "sha256.h"
#include "shim_args.h"
#include "shim_fixture.h"
#include "signals.h"
#include "state_record.h"
#include "ttrpc_frame.h"

namespace reaper {
namespace {

// Runs a shell command; returns {exit status, stdout+stderr}.
std::pair<int, std::string> Sh(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
      {"masked_paths = \"/etc/shadow\"", "line 1: masked_paths must be an array of strings"},
      {"masked_paths = [\"/a\" \"/b\"]", "line 1: masked_paths: expected ',' or ']'"},
      {"masked_paths = [\"/a\"] x", "line 1: masked_paths: text after ']'"},
      {"masked_paths_extra = [1]", "line 1: masked_paths_extra: arrays hold \"strings\" only"},
      {"masked_paths_extra = [\"etc/x\"]", "line 1: masked_paths_extra: not a clean absolute path: etc/x"},
      {"allowed_namespaces = \"ops\"", "line 1: allowed_namespaces must be an array of strings"},
      {"# ok\n\ndns_mode = \"host\"\nstate_root = 5", "line 4: state_root must be a string"},
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

}  // namespace
}  // namespace reaper

// ---- through the real shim daemon (ttrpc) ----

namespace reaper {
namespace {
namespace task = containerd::task::v2;
using testing::Client;
using testing::Reply;

class BadInputShim : public ShimTest {};

TEST_F(BadInputShim, FramesGetGoServerCodesAndMessages) {
  using namespace reaper::ttrpc;
  Reply r;
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(101, kTypeRequest, std::string(kMaxMessageSize + 1, 'x'))));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 8);
  EXPECT_EQ(r.message, "message length 4194305 exceed maximum message size of 4194304");
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(2, kTypeRequest, "")));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "StreamID must be odd for client initiated streams");
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(103, kTypeRequest, "\xff\xff\xff")));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "unmarshal request error: malformed ttrpc.Request");
  // A short header, then the peer goes away: that connection ends, the shim keeps serving.
  {
    Client partial(shim_.socket());
    ASSERT_TRUE(partial.ok());
    ASSERT_TRUE(testing::WriteAll(partial.fd(), std::string("\0\0\0\x10\0", 5)));
  }
  {
    Client truncated(shim_.socket());  // full header, half the payload
    ASSERT_TRUE(testing::WriteAll(truncated.fd(), EncodeFrame(1, kTypeRequest, std::string(16, 'a')).substr(0, 18)));
  }
  Client fresh(shim_.socket());
  task::ConnectRequest c;
  EXPECT_EQ(fresh.Call("Connect", c).code, 0);
  EXPECT_EQ(client_->Call("Connect", c).code, 0);
}

TEST_F(BadInputShim, RequestsWithUnknownNamesOrBadPayloads) {
  Reply r;
  client_->Send("Create", "", "containerd.task.v3.Task");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 12);
  EXPECT_EQ(r.message, "service containerd.task.v3.Task");
  client_->Send("Frobnicate", "");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 12);
  EXPECT_EQ(r.message, "method Frobnicate");
  client_->Send("Create", "\xff\xff");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 13);
  EXPECT_EQ(r.message, "ttrpc: error unmarshalling payload: invalid containerd.task.v2.CreateTaskRequest");
  // Field 1 (id) sent as a varint instead of a string: protobuf keeps it as an unknown field,
  // so the request has no id.
  client_->Send("Create", std::string("\x08\x05", 2));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "container id must not be empty");
  EXPECT_EQ(Kill("nope", 9).message, "container nope: not found");
  EXPECT_EQ(Simple("State", "nope").message, "container nope: not found");
  ASSERT_EQ(Create("run", Spec(R"(["sleep","100"])")).code, 0);
  r = Simple("State", "run", "ghost");
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.message, "exec ghost in container run: not found");
  r = Kill("run", 65);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "invalid signal 65");
  r = Kill("run", 0xffffffffu);
  EXPECT_EQ(r.message, "invalid signal 4294967295");
  task::CreateTaskRequest ck;
  ck.set_id("ck");
  ck.set_bundle(shim_.Bundle("ck", Spec(R"(["true"])")));
  ck.set_checkpoint("/x");
  r = client_->Call("Create", ck);
  EXPECT_EQ(r.code, 12);
  EXPECT_EQ(r.message, "restore from checkpoint is not supported");
  r = client_->Call("Checkpoint", ck);
  EXPECT_EQ(r.message, "checkpoint is not supported for host processes");
}

TEST_F(BadInputShim, IdsAreRefusedBeforeAnyPathIsBuilt) {
  auto parent = DefaultCgroupParent();
  std::vector<std::string> state_before = Entries(shim_.dir() + "/state");
  struct Case {
    std::string id, want;
  } cases[] = {
      {"", "container id must not be empty"},
      {"../evil", "container id must not start with '.' or '-': ../evil"},
      {"..", "container id must not start with '.' or '-': .."},
      {"a/b", "container id contains a character outside [A-Za-z0-9_.-]: a/b"},
      {std::string(77, 'x'), "container id longer than 76 characters"},
  };
  for (const auto& c : cases) {
    task::CreateTaskRequest req;
    req.set_id(c.id);
    req.set_bundle(shim_.Bundle("bundle", Spec(R"(["true"])")));
    Reply r = client_->Call("Create", req);
    EXPECT_EQ(r.code, 3) << c.id;
    EXPECT_EQ(r.message, c.want);
  }
  if (parent) {  // the cgroup a bad id would have named: <parent>/unit/../evil, <parent>/unit/a/b
    EXPECT_NE(access((*parent + "/evil").c_str(), F_OK), 0);
    EXPECT_NE(access((*parent + "/unit/a").c_str(), F_OK), 0);
  }
  EXPECT_EQ(Entries(shim_.dir() + "/state"), state_before);
  EXPECT_EQ(Entries(shim_.dir() + "/bundle"), std::vector<std::string>{"config.json"});  // no state record
  // Exec ids follow the same rule.
  ASSERT_EQ(Create("x1", Spec(R"(["sleep","100"])")).code, 0);
  ASSERT_EQ(Simple("Start", "x1").code, 0);
  for (std::string bad : {"../e", "e/1", ""}) {
    task::ExecProcessRequest ex;
    ex.set_id("x1");
    ex.set_exec_id(bad);
    ex.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/"})");
    Reply r = client_->Call("Exec", ex);
    EXPECT_EQ(r.code, 3) << bad;
    EXPECT_EQ(r.message.rfind("exec id ", 0), 0u) << r.message;
  }
  Kill("x1", SIGKILL);
}

TEST_F(BadInputShim, BundlesSpecsAndPaths) {
  task::CreateTaskRequest req;
  req.set_id("rel");
  req.set_bundle("relative/bundle");
  Reply r = client_->Call("Create", req);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "bundle must be an absolute path: relative/bundle");
  std::string empty = shim_.dir() + "/empty-bundle";
  mkdir(empty.c_str(), 0700);
  req.set_id("nocfg");
  req.set_bundle(empty);
  r = client_->Call("Create", req);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.message, "create nocfg: open " + empty + "/config.json: No such file or directory");
  r = Create("badjson", "{\"process\":");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create badjson: " + shim_.dir() + "/badjson/config.json: config.json is not valid JSON");
  r = Create("noproc", R"({"ociVersion":"1.0.2"})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create noproc: " + shim_.dir() + "/noproc/config.json: config.json has no process");
  r = Create("noargs", R"({"process":{"cwd":"/"}})");
  EXPECT_EQ(r.message, "create noargs: " + shim_.dir() + "/noargs/config.json: process.args is missing");
  r = Create("relcwd", R"({"process":{"args":["true"],"cwd":"tmp"}})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create relcwd: " + shim_.dir() + "/relcwd/config.json: process.cwd must be an absolute path: tmp");
  r = Create("nocwd", R"({"process":{"args":["true"],"cwd":"/no/such/dir"}})");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.message, "create nocwd: chdir to cwd /no/such/dir: No such file or directory");
  r = Create("nobin", Spec(R"(["no-such-binary-xyz"])"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.message, "create nobin: exec: \"no-such-binary-xyz\": executable file not found in $PATH");
  r = Create("uid", R"({"process":{"args":["true"],"user":{"uid":-1}}})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create uid: " + shim_.dir() + "/uid/config.json: process.user.uid out of range: -1");
  auto mount = [](const std::string& src, const std::string& dst) {
    return R"({"process":{"args":["true"],"cwd":"/"},"mounts":[{"destination":")" + dst +
           R"(","type":"bind","source":")" + src + R"(","options":["rbind"]}]})";
  };
  r = Create("nosrc", mount("/nonexistent/reaper-vol", "/data"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.message, "create nosrc: mount source /nonexistent/reaper-vol: No such file or directory");
  r = Create("reldst", mount(shim_.dir(), "data"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create reldst: " + shim_.dir() + "/reldst/config.json: mount destination must be absolute: data");
  r = Create("dotdst", mount(shim_.dir(), "/opt/../etc"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create dotdst: mount destination is not a clean absolute path: /opt/../etc");
  r = Create("relsrc", mount("srv", "/data"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create relsrc: bind mount source must be an absolute path: srv");
  r = Create("ann1", R"({"process":{"args":["true"]},"annotations":{"reaper.runtime/overlay-name":"../../etc"}})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create ann1: annotation reaper.runtime/overlay-name must be a DNS label: ../../etc");
  r = Create("ann2", R"({"process":{"args":["true"]},"annotations":{"reaper.runtime/dns-mode":"bogus"}})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create ann2: annotation reaper.runtime/dns-mode must be host or kubernetes: bogus");
  r = Create("ann3", R"({"process":{"args":["true"]},"annotations":{"io.kubernetes.cri.sandbox-namespace":"Bad_NS"}})");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create ann3: invalid Kubernetes namespace: Bad_NS");
  // Log URIs: a binary:// logger is never run (CVE-2026-53488); file:// must be absolute.
  r = Create("binlog", Spec(R"(["true"])"), "binary:///bin/sh?x=1");
  EXPECT_EQ(r.code, 12);
  EXPECT_EQ(r.message, "create binlog: unsupported stdio URI scheme: binary:///bin/sh?x=1");
  r = Create("rellog", Spec(R"(["true"])"), "file://log.txt");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create rellog: file:// log path must be absolute: file://log.txt");
  // None of them left a container behind.
  for (const char* id : {"nocfg", "badjson", "nocwd", "nobin", "nosrc", "ann1", "binlog", "rellog"}) EXPECT_EQ(Simple("State", id).code, 5) << id;
}

TEST_F(BadInputShim, ExecErrors) {
  ASSERT_EQ(Create("c", Spec(R"(["sleep","100"])")).code, 0);
  task::ExecProcessRequest ex;
  ex.set_id("c");
  ex.set_exec_id("e1");
  ex.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/"})");
  Reply r = client_->Call("Exec", ex);  // created, not started
  EXPECT_EQ(r.code, 9);
  EXPECT_EQ(r.message, "container c is not running");
  ASSERT_EQ(Simple("Start", "c").code, 0);
  ex.mutable_spec()->set_value("{ nope");
  r = client_->Call("Exec", ex);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "exec e1: process spec is not valid JSON");
  ex.mutable_spec()->set_value(R"({"args":[],"cwd":"/"})");
  EXPECT_EQ(client_->Call("Exec", ex).message, "exec e1: process.args must not be empty");
  ex.mutable_spec()->set_value(R"({"args":["no-such-binary-xyz"],"cwd":"/","env":["PATH=/bin"]})");
  ASSERT_EQ(client_->Call("Exec", ex).code, 0);
  r = Client(shim_.socket()).Call("Exec", ex);
  EXPECT_EQ(r.code, 6);
  EXPECT_EQ(r.message, "exec process e1: already exists");
  r = Simple("Start", "c", "e1");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.message, "start exec e1: exec: \"no-such-binary-xyz\": executable file not found in $PATH");
  ex.set_id("ghost");
  r = client_->Call("Exec", ex);
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.message, "container ghost: not found");
  ASSERT_EQ(Kill("c", SIGKILL).code, 0);
  ASSERT_EQ(Parse<task::WaitResponse>(Simple("Wait", "c")).exit_status(), 137u);
  ex.set_id("c");
  ex.set_exec_id("e2");
  ex.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/"})");
  r = client_->Call("Exec", ex);  // stopped
  EXPECT_EQ(r.code, 9);
  EXPECT_EQ(r.message, "container c is not running");
  ASSERT_EQ(Create("sb", R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})").code, 0);
  ASSERT_EQ(Simple("Start", "sb").code, 0);
  ex.set_id("sb");
  r = client_->Call("Exec", ex);
  EXPECT_EQ(r.code, 9);
  EXPECT_EQ(r.message, "cannot exec in a sandbox container");
  Kill("sb", SIGKILL);
}

// CVE-2024-21626: a cwd through /proc/self/fd must never land on an fd the shim holds. With a
// volume the child holds its cloned mount trees until they are attached; none is left open.
TEST_F(BadInputShim, CwdThroughProcSelfFdIsRefused) {
  std::string vol = shim_.dir() + "/vol";
  mkdir(vol.c_str(), 0755);
  std::string mounts = R"(,"mounts":[{"destination":"/opt/reaper-unit-vol","type":"bind","source":")" + vol +
                       R"(","options":["rbind"]}]})";
  for (int n = 3; n < 40; ++n) {
    std::string cwd = "/proc/self/fd/" + std::to_string(n);
    std::string id = "fd" + std::to_string(n);
    Reply r = Create(id, R"({"process":{"args":["true"],"env":["PATH=/bin:/usr/bin"],"cwd":")" + cwd + "\"}" + mounts);
    EXPECT_EQ(r.code, 2) << cwd;
    EXPECT_EQ(r.message.rfind("create " + id + ": chdir to cwd " + cwd + ": ", 0), 0u) << r.message;
  }
}
}  // namespace
}  // namespace reaper

// ---- workload hygiene (issue 8 item 8) ----

namespace reaper {
namespace {
namespace task = containerd::task::v2;

class HygieneShim : public ShimTest {};

// Exec and init with a volume: fds 0-2 only, the spec's environment only, the spec's cwd.
TEST_F(HygieneShim, ExecAndInitWithVolumesSeeOnlyStdioAndTheSpecEnv) {
  std::string vol = shim_.dir() + "/vol";
  mkdir(vol.c_str(), 0755);
  std::string script = "ls /proc/self/fd | wc -l; env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort; pwd";
  nlohmann::json j = nlohmann::json::parse(Spec(R"(["sh","-c","x"])"));
  j["process"]["args"][2] = script;
  j["process"]["cwd"] = "/tmp";
  j["mounts"] = nlohmann::json::parse(R"([{"destination":"/opt/reaper-hyg","type":"bind","source":")" + vol +
                                      R"(","options":["rbind","ro"]}])");
  auto [code, out] = Run("h1", j.dump());
  ASSERT_EQ(code, 0) << out;
  // ls sees 0, 1, 2 and its own directory fd.
  EXPECT_EQ(out, "4\nONLY=this\nPATH=/usr/bin:/bin\n/tmp\n");
  j["process"]["args"][2] = "exec sleep 100";
  ASSERT_EQ(Create("h2", j.dump()).code, 0);
  ASSERT_EQ(Simple("Start", "h2").code, 0);
  auto [ec, eout] = Exec("h2", "e1", R"({"args":["sh","-c",")" + script +
                                         R"("],"env":["PATH=/bin:/usr/bin","EXEC_ONLY=1"],"cwd":"/opt"})");
  ASSERT_EQ(ec, 0) << eout;
  EXPECT_EQ(eout, "4\nEXEC_ONLY=1\nPATH=/bin:/usr/bin\n/opt\n");
  Kill("h2", SIGKILL);
  Simple("Wait", "h2");
}

// The state record in a real bundle: 0600, written by rename (no temp file stays behind).
TEST_F(HygieneShim, StateRecordIsPrivateAndAtomic) {
  ASSERT_EQ(Create("s1", Spec(R"(["sleep","100"])")).code, 0);
  std::string rec = shim_.dir() + "/s1/" + kStateRecordName;
  struct stat st{};
  ASSERT_EQ(stat(rec.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(Entries(shim_.dir() + "/s1"), (std::vector<std::string>{"config.json", kStateRecordName}));
  ASSERT_EQ(Simple("Start", "s1").code, 0);
  ASSERT_EQ(Kill("s1", SIGKILL).code, 0);
  ASSERT_EQ(Parse<task::WaitResponse>(Simple("Wait", "s1")).exit_status(), 137u);
  // Wait is answered just before the record is rewritten in the same turn of the shim's
  // single-threaded loop: one more round trip orders us after it.
  ASSERT_EQ(Simple("State", "s1").code, 0);
  ASSERT_EQ(stat(rec.c_str(), &st), 0);  // rewritten with the exit
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadStateRecord(shim_.dir() + "/s1")->exit_status, 137u);
  EXPECT_EQ(Entries(shim_.dir() + "/s1"), (std::vector<std::string>{"config.json", kStateRecordName}));
  ASSERT_EQ(Simple("Delete", "s1").code, 0);
  EXPECT_EQ(Entries(shim_.dir() + "/s1"), std::vector<std::string>{"config.json"});
}

// CVE-2020-15257: the socket `start` creates is a path socket, 0600, in a 0700 directory; the
// daemon holds no abstract socket. Then Shutdown removes it.
TEST(HygieneSocket, StartBindsAPrivatePathSocketNeverAbstract) {
  char tmpl[] = "/tmp/reaper-sock-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/config.json") << Spec(R"(["true"])");
  std::ofstream(dir + "/reaper.toml") << "state_root = \"" << dir << "/state\"\n";
  std::string address = dir + "/containerd.sock";
  std::string want = SocketPath(SocketAddress(address, "unit", "sock-test"));
  auto [rc, out] = Sh("cd " + dir + " && TTRPC_ADDRESS=" + dir + "/events.sock REAPER_CONFIG=" + dir +
                      "/reaper.toml " + REAPER_SHIM_BINARY + " -namespace unit -address " + address +
                      " -id sock-test start");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "unix://" + want);
  struct stat st{};
  ASSERT_EQ(lstat(want.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // The directory is shared with containerd's other shims: we create it 0700, containerd's
  // own shims create it 0600. Either way only root can reach into it.
  ASSERT_EQ(stat(std::string(kSocketDir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  EXPECT_EQ(st.st_uid, 0u);
  ASSERT_EQ(stat((dir + "/address").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  Client client(want);
  ASSERT_TRUE(client.ok());
  task::ConnectRequest c;
  task::ConnectResponse cr;
  Reply r = client.Call("Connect", c);
  ASSERT_TRUE(cr.ParseFromString(r.payload));
  pid_t daemon = static_cast<pid_t>(cr.shim_pid());
  ASSERT_GT(daemon, 0);
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, daemon, 0)));
  // Every socket of the daemon, looked up in /proc/net/unix: none has an abstract ('@') name.
  std::set<std::string> inodes;
  std::string fd_dir = "/proc/" + std::to_string(daemon) + "/fd";
  for (const auto& e : Entries(fd_dir)) {
    char link[256];
    ssize_t n = readlink((fd_dir + "/" + e).c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    std::string l(link, static_cast<size_t>(n));
    if (l.rfind("socket:[", 0) == 0) inodes.insert(l.substr(8, l.size() - 9));
  }
  EXPECT_FALSE(inodes.empty());
  std::ifstream unix_table("/proc/net/unix");
  std::string line;
  std::getline(unix_table, line);  // header
  size_t named = 0;
  while (std::getline(unix_table, line)) {
    std::istringstream f(line);
    std::string num, ref, proto, flags, type, state, inode, path;
    f >> num >> ref >> proto >> flags >> type >> state >> inode >> path;
    if (!inodes.count(inode)) continue;
    EXPECT_NE(path.rfind("@", 0), 0u) << line;
    if (path.empty()) continue;
    EXPECT_EQ(path, want) << line;  // the listener, and accepted connections, which share its name
    ++named;
  }
  EXPECT_GE(named, 1u);
  task::ShutdownRequest sd;
  EXPECT_EQ(client.Call("Shutdown", sd).code, 0);
  pollfd p{pidfd.get(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1);  // the daemon exited
  EXPECT_NE(access(want.c_str(), F_OK), 0);
  EXPECT_EQ(system(("rm -rf '" + dir + "'").c_str()), 0);
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

// A node config that does not parse fails every container create with the line, rather than
// running the pod unprotected; the sandbox placeholder needs no config and still starts.
class BadConfigShim : public ShimTest {
 protected:
  BadConfigShim() : ShimTest("overlay = \"off\"\nbogus = 1\n") {}
};

TEST_F(BadConfigShim, EveryCreateFailsNamingTheLine) {
  Reply r = Create("c1", Spec(R"(["true"])"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.message, "create c1: node configuration: " + shim_.dir() + "/reaper.toml: line 3: unknown key bogus");
  EXPECT_EQ(Simple("State", "c1").code, 5);
  EXPECT_EQ(Create("sb", R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})").code, 0);
  Kill("sb", SIGKILL);
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

// A peer with other credentials (were the socket reachable at all) is closed without an answer.
TEST_F(ShimTest, BadInputPeerWithOtherCredentialsIsClosed) {
  ASSERT_EQ(chmod(shim_.dir().c_str(), 0711), 0);
  ASSERT_EQ(chmod(shim_.socket().c_str(), 0666), 0);
  pid_t child = fork();
  if (child == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(10);
    Client c(shim_.socket());
    if (!c.ok()) _exit(11);
    c.Send("Connect", "");
    Reply r;
    _exit(c.Recv(&r) ? 12 : 0);  // EOF instead of a reply
  }
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  task::ConnectRequest c;
  EXPECT_EQ(client_->Call("Connect", c).code, 0);  // still serving its owner
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

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
}

}  // namespace
}  // namespace reaper
