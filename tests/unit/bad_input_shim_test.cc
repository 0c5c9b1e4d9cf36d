// Bad input, row by row of docs/bad-input.md, through the real shim daemon and the binaries:
// the exact message (and ttrpc code or exit code) a user sees. The pure rows: bad_input_test.cc.
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
#include "shim_fixture.h"
#include "test_util.h"
#include "host/signals.h"
#include "shim/state_record.h"
#include "ttrpc/frame.h"

// ---- through the real shim daemon (ttrpc) ----

namespace reaper {
namespace {
using testing::Entries;
using testing::Sh;
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
  // Field 1 (id) sent as a varint instead of a string: an unknown field, skipped as protobuf
  // does, so the request has no id.
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
  std::optional<std::string> parent;
  if (!shim_.cgroup_parent().empty()) parent = shim_.cgroup_parent();
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
using testing::Entries;
using testing::Sh;
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
using testing::Entries;
using testing::Sh;

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
using testing::Entries;
using testing::Sh;

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
