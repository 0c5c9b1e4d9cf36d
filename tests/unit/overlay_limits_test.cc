// Overlay groups' limits through the real shim (issue 15, items 4-7): a private /proc with
// hidepid (proc_hidepid), a per-group size limit (overlay_size), idle groups removed
// (group_idle_timeout, `reaper-overlay gc`), `remove --force` under a running pod, and
// exec audit lines that name the pod. The shim's state root is in the test's temp dir.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>

#include "shim_fixture.h"

namespace reaper {
namespace {

std::string Sh(const std::string& script, const std::string& annotations = "{}",
               const std::string& user = R"({"uid":0,"gid":0})") {
  nlohmann::json j;
  j["process"] = {{"args", {"sh", "-c", script}}, {"env", {"PATH=/usr/bin:/bin"}}, {"cwd", "/"}};
  j["process"]["user"] = nlohmann::json::parse(user);
  j["annotations"] = nlohmann::json::parse(annotations);
  j["mounts"] = nlohmann::json::array();
  return j.dump();
}

const char* kUser1000 = R"({"uid":1000,"gid":1000})";

std::string KubeNs(const std::string& ns) { return R"({"io.kubernetes.cri.sandbox-namespace":")" + ns + R"("})"; }

// Runs reaper-overlay with this shim's config; returns {exit code, stdout + stderr}.
std::pair<int, std::string> Overlay(const ShimProcess& shim, std::vector<std::string> args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {-1, "pipe"};
  std::string env_cfg = "REAPER_CONFIG=" + shim.dir() + "/reaper.toml";
  // Built before fork: the test process has threads (the fake events service).
  std::vector<char*> argv{const_cast<char*>("reaper-overlay")};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {env_cfg.data(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    execve(REAPER_OVERLAY_BINARY, argv.data(), envp);
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

bool MountedAt(const std::string& path) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::string a, b, c, d, mp;
    f >> a >> b >> c >> d >> mp;
    if (mp == path) return true;
  }
  return false;
}

// Waits (inotify, at most `ms`) until `dir/name` no longer exists.
bool WaitGone(const std::string& dir, const std::string& name, int ms) {
  UniqueFd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in || inotify_add_watch(in.get(), dir.c_str(), IN_DELETE | IN_MOVED_FROM) < 0) {
    return access((dir + "/" + name).c_str(), F_OK) != 0;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (access((dir + "/" + name).c_str(), F_OK) == 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{in.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) == 1) {
      char buf[4096];
      while (read(in.get(), buf, sizeof buf) > 0) {
      }
    }
  }
  return true;
}

// ---- item 4: proc_hidepid ----

class ProcHidepidTest : public ShimTest {
 protected:
  ProcHidepidTest() : ShimTest("proc_hidepid = true\n") {}
};

// Without the option a uid-1000 pod sees every process of the node: this test's own
// (uid 0) /proc entry, its command line and its root.
TEST_F(ShimTest, WithoutProcHidepidOtherUsersProcessesAreVisible) {
  std::string me = "/proc/" + std::to_string(getpid());
  auto [code, out] = Run("v1", Sh("test -e " + me + " && echo visible || echo hidden", "{}", kUser1000));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "visible\n");
}

TEST_F(ProcHidepidTest, AUid1000PodCannotSeeARootProcess) {
  std::string me = "/proc/" + std::to_string(getpid());
  auto [code, out] = Run("h1", Sh("test -e " + me + " && echo visible || echo hidden; "
                                  "cat " + me + "/cmdline >/dev/null 2>&1 && echo cmdline || echo no-cmdline; "
                                  "ls /proc/1/root/ >/dev/null 2>&1 && echo root || echo no-root; "
                                  "test -e /proc/$$ && echo self",
                                  "{}", kUser1000));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "hidden\nno-cmdline\nno-root\nself\n");
  // Root pods still see everything, and the host's own /proc is unchanged.
  auto [c2, o2] = Run("h2", Sh("test -e " + me + " && echo visible"));
  EXPECT_EQ(o2, "visible\n");
  std::ifstream mounts("/proc/self/mountinfo");
  std::string text((std::istreambuf_iterator<char>(mounts)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("hidepid"), std::string::npos) << "the option reached the host's /proc";
}

// The limit of hidepid (docs/security.md): pods of different Kubernetes namespaces that run as
// the SAME uid still see each other, and read each other's overlay through /proc/<pid>/root.
// A distinct uid per tenant is what separates them.
TEST_F(ProcHidepidTest, SameUidInAnotherNamespaceStillReadsThroughProcRoot) {
  std::string out_a = shim_.Fifo("a.out");
  FifoReader reader(out_a);
  ASSERT_EQ(Create("a", Sh("echo tenant-a > /tmp/secret-a && echo ready && exec sleep 100", KubeNs("team-a"), kUser1000),
                   out_a).message, "");
  ASSERT_EQ(Simple("Start", "a").message, "");
  ASSERT_NE(reader.ReadUntil("ready\n").find("ready"), std::string::npos);
  auto pid = Parse<task::StateResponse>(Simple("State", "a")).pid();
  std::string through = "/proc/" + std::to_string(pid) + "/root/tmp/secret-a";
  auto [c1, o1] = Run("b", Sh("cat " + through + " 2>/dev/null || echo denied", KubeNs("team-b"), kUser1000));
  EXPECT_EQ(o1, "tenant-a\n") << "same uid: hidepid does not separate these pods";
  auto [c2, o2] = Run("c", Sh("cat " + through + " 2>/dev/null || echo denied", KubeNs("team-c"),
                              R"({"uid":1001,"gid":1001})"));
  EXPECT_EQ(o2, "denied\n") << "another uid must not read tenant a's overlay";
  Kill("a", SIGKILL);
  Simple("Wait", "a");
  Simple("Delete", "a");
}

// ---- item 5: overlay_size ----

class OverlaySizeTest : public ShimTest {
 protected:
  OverlaySizeTest() : ShimTest("overlay_size = \"4Mi\"\n") {}
};

TEST_F(OverlaySizeTest, AFullGroupGetsEnospcAndOtherGroupsStillWrite) {
  auto [c1, o1] = Run("s1", Sh("dd if=/dev/zero of=/big bs=1M count=8 2>&1 | grep -o 'No space left on device' | head -1"));
  EXPECT_EQ(c1, 0) << o1;
  EXPECT_EQ(o1, "No space left on device\n");
  // Another group (another Kubernetes namespace) is not affected.
  auto [c2, o2] = Run("s2", Sh("head -c 2M /dev/zero > /f && echo written", KubeNs("team-b")));
  EXPECT_EQ(o2, "written\n");
  // Nothing of it is on state_root's own filesystem.
  std::string gdir = shim_.dir() + "/state/groups/containerd-unit";
  EXPECT_NE(access((gdir + "/upper/big").c_str(), F_OK), 0);
  EXPECT_NE(access((gdir + "/upper").c_str(), F_OK), 0) << "the upper layer is not on the group's tmpfs";
  // The full group stays full for its next pod; removing it frees the space.
  auto [c3, o3] = Run("s3", Sh("test -e /big && echo still-there"));
  EXPECT_EQ(o3, "still-there\n");
  auto [rc, text] = Overlay(shim_, {"remove", "containerd-unit"});
  ASSERT_EQ(rc, 0) << text;
  auto [c4, o4] = Run("s4", Sh("test -e /big && echo still-there || echo gone; "
                               "head -c 3M /dev/zero > /g && echo room"));
  EXPECT_EQ(o4, "gone\nroom\n");
}

// ---- item 6: idle groups, gc, remove --force ----

class GroupIdleTest : public ShimTest {
 protected:
  GroupIdleTest() : ShimTest("group_idle_timeout = 1\n") {}
};

TEST_F(GroupIdleTest, AnIdleGroupIsRemovedAndTheNsDirUnmounted) {
  std::string state = shim_.dir() + "/state";
  ASSERT_EQ(Create("k1", Sh("sleep 100")).message, "");
  ASSERT_TRUE(MountedAt(state + "/ns"));
  // A used group is never removed: the loop keeps answering meanwhile.
  auto [c, o] = Run("k2", Sh("echo x > /etc/idle-mark && echo ok"));
  ASSERT_EQ(o, "ok\n");
  ASSERT_EQ(access((state + "/groups/containerd-unit").c_str(), F_OK), 0);
  Kill("k1", SIGKILL);
  Simple("Wait", "k1");
  ASSERT_EQ(Simple("Delete", "k1").code, 0);
  // Idle from now on: removed after 1 s, and with it the last group, so ns is unmounted.
  EXPECT_TRUE(WaitGone(state + "/groups", "containerd-unit", 10000)) << "the idle group was not removed";
  EXPECT_TRUE(WaitGone(state, "ns", 10000)) << "state_root/ns stayed";
  EXPECT_FALSE(MountedAt(state + "/ns"));
  // The next pod gets a fresh group.
  auto [c3, o3] = Run("k3", Sh("cat /etc/idle-mark 2>/dev/null || echo fresh"));
  EXPECT_EQ(o3, "fresh\n");
}

// The group's lock is held elsewhere (a creation or `reaper-overlay remove` in another
// process) when the group falls due: the shim neither waits for it nor stops serving, and
// removes the group once the lock is free.
TEST_F(GroupIdleTest, ALockedIdleGroupIsRetriedWithoutBlockingTheLoop) {
  std::string groups = shim_.dir() + "/state/groups";
  ASSERT_EQ(Run("l1", Sh("true")).first, 0);  // idle from now on, due in 1 s
  UniqueFd lock(open((groups + "/containerd-unit/lock").c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(lock);
  ASSERT_EQ(flock(lock.get(), LOCK_EX), 0);
  // Bounded wait for something that must not happen: the removal while the lock is held.
  EXPECT_FALSE(WaitGone(groups, "containerd-unit", 2500)) << "removed while locked";
  Client other(shim_.socket());
  task::ConnectRequest c;
  c.set_id("l1");
  other.SendOnly("Connect", c);
  EXPECT_TRUE(other.Readable(1000)) << "the shim's loop is blocked";
  lock.reset();
  EXPECT_TRUE(WaitGone(groups, "containerd-unit", 10000)) << "not removed once the lock was free";
}

TEST_F(ShimTest, OverlayGcRemovesUnusedGroupsOnlyAndUnmountsNs) {
  std::string state = shim_.dir() + "/state";
  ASSERT_EQ(Run("g1", Sh("true", KubeNs("team-a"))).first, 0);
  ASSERT_EQ(Create("g2", Sh("sleep 100", KubeNs("team-b"))).message, "");
  auto [rc, out] = Overlay(shim_, {"gc"});  // group_idle_timeout 0: every unused group
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "removed k8s-team-a\n");
  EXPECT_EQ(access((state + "/groups/k8s-team-b").c_str(), F_OK), 0);
  EXPECT_TRUE(MountedAt(state + "/ns")) << "unmounted while a group is left";
  Kill("g2", SIGKILL);
  Simple("Wait", "g2");
  ASSERT_EQ(Simple("Delete", "g2").code, 0);
  std::tie(rc, out) = Overlay(shim_, {"gc", "--idle", "1h"});
  EXPECT_EQ(out, "");  // idle for less than an hour
  std::tie(rc, out) = Overlay(shim_, {"gc", "--idle", "0"});
  EXPECT_EQ(out, "removed k8s-team-b\n");
  EXPECT_FALSE(MountedAt(state + "/ns"));
  EXPECT_NE(access((state + "/ns").c_str(), F_OK), 0);
  // Groups are made again afterwards (ns is mounted again, privately).
  auto [c, o] = Run("g3", Sh("echo again", KubeNs("team-a")));
  EXPECT_EQ(o, "again\n");
  EXPECT_TRUE(MountedAt(state + "/ns"));
}

// `remove` refuses a group in use; `remove --force` detaches it: the running pod keeps its
// files (the detached namespace and, with overlay_size, its tmpfs live until it exits), the
// next container of the group starts from a fresh one.
TEST_F(OverlaySizeTest, RemoveForceUnderARunningPodDetachesTheGroup) {
  std::string out = shim_.Fifo("r1.out");
  FifoReader reader(out);
  ASSERT_EQ(Create("r1", Sh("echo kept > /tmp/mark && echo ready && exec sleep 100"), out).message, "");
  ASSERT_EQ(Simple("Start", "r1").message, "");
  ASSERT_NE(reader.ReadUntil("ready\n").find("ready"), std::string::npos);
  auto [rc, text] = Overlay(shim_, {"remove", "containerd-unit"});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("is used by 1 container(s), e.g. unit.r1"), std::string::npos) << text;
  std::tie(rc, text) = Overlay(shim_, {"remove", "--force", "containerd-unit"});
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("1 running container(s) keep the detached group"), std::string::npos) << text;
  auto [c1, o1] = Exec("r1", "e1", R"({"args":["sh","-c","cat /tmp/mark && echo more >> /tmp/mark && echo wrote"],"cwd":"/"})");
  EXPECT_EQ(o1, "kept\nwrote\n");
  auto [c2, o2] = Run("r2", Sh("cat /tmp/mark 2>/dev/null || echo fresh"));
  EXPECT_EQ(o2, "fresh\n");
  Kill("r1", SIGKILL);
  Simple("Wait", "r1");
  EXPECT_EQ(Simple("Delete", "r1").code, 0);
}

// Without overlay_size the upper layer is on state_root: `remove --force` deletes it under the
// running pod (docs/configuration.md says so), which keeps running in the detached group.
TEST_F(ShimTest, RemoveForceWithoutSizeLimitDeletesTheUpperUnderTheRunningPod) {
  std::string out = shim_.Fifo("f1.out");
  FifoReader reader(out);
  ASSERT_EQ(Create("f1", Sh("echo kept > /tmp/mark && echo ready && exec sleep 100"), out).message, "");
  ASSERT_EQ(Simple("Start", "f1").message, "");
  ASSERT_NE(reader.ReadUntil("ready\n").find("ready"), std::string::npos);
  auto [rc, text] = Overlay(shim_, {"remove", "--force", "containerd-unit"});
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("its writable layer was deleted under them"), std::string::npos) << text;
  // What overlayfs still shows of the deleted layer is undefined (cached files may still read);
  // new files in the deleted directories cannot be created. The pod keeps running.
  auto [c1, o1] = Exec("f1", "e1", R"({"args":["sh","-c","echo x > /tmp/new 2>/dev/null && echo wrote || echo write-failed; echo alive"],"cwd":"/"})");
  EXPECT_EQ(o1, "write-failed\nalive\n");
  EXPECT_NE(access((shim_.dir() + "/state/groups/containerd-unit/upper/tmp/mark").c_str(), F_OK), 0);
  auto [c2, o2] = Run("f2", Sh("cat /tmp/mark 2>/dev/null || echo fresh"));
  EXPECT_EQ(o2, "fresh\n");
  Kill("f1", SIGKILL);
  Simple("Wait", "f1");
  EXPECT_EQ(Simple("Delete", "f1").code, 0);
}

// ---- item 7: the exec audit line names the pod ----

class AuditTest : public ShimTest {
 protected:
  AuditTest() : ShimTest("", /*capture_log=*/true) {}
};

TEST_F(AuditTest, ExecLineNamesThePodArgvUserAndTerminal) {
  std::string ann = R"({"io.kubernetes.cri.sandbox-namespace":"team-a","io.kubernetes.cri.sandbox-name":"web-0",)"
                    R"("io.kubernetes.cri.container-name":"app","io.kubernetes.cri.container-type":"container"})";
  ASSERT_EQ(Create("a1", Sh("exec sleep 100", ann)).message, "");
  ASSERT_EQ(Simple("Start", "a1").message, "");
  auto [code, out] = Exec("a1", "e1", R"({"args":["sh","-c","true","two words"],"cwd":"/","user":{"uid":1000,"gid":1000}})");
  EXPECT_EQ(code, 0) << out;
  std::string log = shim_.log();
  size_t at = log.find(" exec_id=e1 ");
  ASSERT_NE(at, std::string::npos) << log;
  std::string line = log.substr(log.rfind('\n', at) + 1, log.find('\n', at) - log.rfind('\n', at) - 1);
  EXPECT_NE(line.find(R"(level=info msg=exec id=a1 exec_id=e1 namespace=team-a pod=web-0 container=app )"
                      R"(argv="sh -c true \"two words\"" uid=1000 gid=1000 tty=false)"),
            std::string::npos)
      << line;
  // A task without Kubernetes annotations (ctr) says so with empty fields.
  ASSERT_EQ(Create("a2", Sh("exec sleep 100")).message, "");
  ASSERT_EQ(Simple("Start", "a2").message, "");
  Exec("a2", "e2", R"({"args":["true"],"cwd":"/"})");
  EXPECT_NE(shim_.log().find(R"(id=a2 exec_id=e2 namespace="" pod="" container="" argv=true uid=0 gid=0 tty=false)"),
            std::string::npos)
      << shim_.log();
  for (const char* id : {"a1", "a2"}) {
    Kill(id, SIGKILL);
    Simple("Wait", id);
    Simple("Delete", id);
  }
}

}  // namespace
}  // namespace reaper
