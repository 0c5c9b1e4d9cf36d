// Host protection through the real shim: overlay groups, volumes, masks, identity.
// The shim's state root is inside the test's temp dir (see ShimProcess).
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <fstream>

#include "shim_fixture.h"

namespace reaper {
namespace {

std::string Sh(const std::string& script, const std::string& annotations = "{}",
               const std::string& mounts = "[]", const std::string& user = R"({"uid":0,"gid":0})") {
  nlohmann::json j;
  j["process"] = {{"args", {"sh", "-c", script}}, {"env", {"PATH=/usr/bin:/bin"}}, {"cwd", "/"}};
  j["process"]["user"] = nlohmann::json::parse(user);
  j["annotations"] = nlohmann::json::parse(annotations);
  j["mounts"] = nlohmann::json::parse(mounts);
  return j.dump();
}

std::string Unique(const std::string& base) { return base + "-" + std::to_string(getpid()); }

class ProtectionTest : public ShimTest {};

TEST_F(ProtectionTest, WritesLandInTheGroupOverlayNotOnTheHost) {
  std::string etc = "/etc/" + Unique("reaper-test"), usr = "/usr/local/" + Unique("reaper-test"),
              tmp = "/tmp/" + Unique("reaper-test");
  auto [code, out] = Run("w1", Sh("echo a > " + etc + " && echo b > " + usr + " && echo c > " + tmp + " && echo ok"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "ok\n");
  for (const auto& p : {etc, usr, tmp}) EXPECT_NE(access(p.c_str(), F_OK), 0) << p << " reached the host";
  // Same group (same containerd namespace): the files are there.
  auto [c2, o2] = Run("w2", Sh("cat " + etc + " " + usr + " " + tmp));
  EXPECT_EQ(c2, 0);
  EXPECT_EQ(o2, "a\nb\nc\n");
  // Another group (named by annotation): they are not.
  auto [c3, o3] = Run("w3", Sh("cat " + etc + " 2>/dev/null || echo absent",
                               R"({"reaper.runtime/overlay-name":"other"})"));
  EXPECT_EQ(o3, "absent\n");
  // Kubernetes namespaces are groups of their own.
  auto [c4, o4] = Run("w4", Sh("test -e " + etc + " && echo present || echo absent",
                               R"({"io.kubernetes.cri.sandbox-namespace":"team-a"})"));
  EXPECT_EQ(o4, "absent\n");
}

TEST_F(ProtectionTest, SensitiveFilesAreMasked) {
  auto [code, out] = Run("m1", Sh("wc -c < /etc/shadow; ls -A /root/.ssh 2>/dev/null | wc -l"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "0\n0\n");
  std::ifstream host("/etc/shadow");
  std::string first;
  std::getline(host, first);
  EXPECT_FALSE(first.empty());  // the host's file is untouched
}

TEST_F(ProtectionTest, VolumesAreBoundPerContainerAndReadOnlyIsEnforced) {
  std::string a = shim_.dir() + "/vol-a", b = shim_.dir() + "/vol-b", secret = shim_.dir() + "/secret";
  mkdir(a.c_str(), 0755);
  mkdir(b.c_str(), 0755);
  mkdir(secret.c_str(), 0755);
  std::ofstream(a + "/f") << "from-a";
  std::ofstream(b + "/f") << "from-b";
  // A tmpfs source in the host mount namespace, as kubelet makes for Secrets.
  ASSERT_EQ(mount("tmpfs", secret.c_str(), "tmpfs", 0, "size=64k"), 0);
  std::ofstream(secret + "/token") << "s3cret";
  auto bind = [](const std::string& src, const std::string& dst, bool ro) {
    return R"({"destination":")" + dst + R"(","type":"bind","source":")" + src + R"(","options":["rbind")" +
           (ro ? R"(,"ro"])" : "]") + "}";
  };
  std::string dest = "/opt/" + Unique("vol");
  std::string mounts_a = "[" + bind(a, dest, false) + "," + bind(secret, "/var/run/secrets/test", true) + "]";
  // Two running containers with different sources at the same destination.
  ASSERT_EQ(Create("va", Sh("sleep 100", "{}", mounts_a)).code, 0);
  ASSERT_EQ(Simple("Start", "va").code, 0);
  ASSERT_EQ(Create("vb", Sh("sleep 100", "{}", "[" + bind(b, dest, true) + "]")).code, 0);
  ASSERT_EQ(Simple("Start", "vb").code, 0);
  auto [ca, oa] = Exec("va", "e", R"({"args":["sh","-c","cat )" + dest + R"(/f; echo; cat /var/run/secrets/test/token; echo; echo x > /var/run/secrets/test/w 2>/dev/null || echo ro-refused"],"cwd":"/"})");
  EXPECT_EQ(ca, 0) << oa;
  EXPECT_EQ(oa, "from-a\ns3cret\nro-refused\n");
  auto [cb, ob] = Exec("vb", "e", R"({"args":["sh","-c","cat )" + dest + R"(/f; echo; echo y > )" + dest + R"(/g 2>/dev/null || echo ro-refused"],"cwd":"/"})");
  EXPECT_EQ(ob, "from-b\nro-refused\n");
  for (const char* id : {"va", "vb"}) {
    Kill(id, SIGKILL);
    Simple("Wait", id);
    EXPECT_EQ(Simple("Delete", id).code, 0);
  }
  // Nothing of it is mounted on the host, and the shim's own namespace is unchanged.
  std::ifstream mi("/proc/" + std::to_string(shim_.pid()) + "/mountinfo");
  std::string text((std::istreambuf_iterator<char>(mi)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(dest), std::string::npos);
  EXPECT_NE(access(dest.c_str(), F_OK), 0);
  umount2(secret.c_str(), MNT_DETACH);
}

// Propagation as the spec asks (CRI: rprivate, rslave, rshared) on a clone of a SHARED host
// mount: rslave receives the node's later mounts and sends none back (critest's rslave spec);
// rprivate neither. Read in the container's /proc/self/mountinfo: "master:N" = slave of the
// node's peer group, "shared:N" = a peer of it.
TEST_F(ProtectionTest, VolumePropagationFollowsTheSpec) {
  std::string src = shim_.dir() + "/shared-src";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(mount(src.c_str(), src.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(mount(nullptr, src.c_str(), nullptr, MS_SHARED, nullptr), 0);
  auto mounts = [&](const std::string& dst, const char* prop) {
    return std::string(R"([{"destination":")") + dst + R"(","type":"bind","source":")" + src +
           R"(","options":["rbind",")" + prop + R"("]}])";
  };
  auto opts_of = [&](const std::string& id, const std::string& dst) {
    auto [code, out] = Run(id, Sh("awk '$5 == \"" + dst + "\" { for (i = 7; $i != \"-\"; i++) printf \"%s \", $i; print \"\" }' /proc/self/mountinfo",
                                  "{}", mounts(dst, id == "pslave" ? "rslave" : id == "pshared" ? "rshared" : "rprivate")));
    EXPECT_EQ(code, 0) << out;
    return out;
  };
  std::string slave = opts_of("pslave", "/mnt/" + Unique("slave"));
  EXPECT_NE(slave.find("master:"), std::string::npos) << slave;
  EXPECT_EQ(slave.find("shared:"), std::string::npos) << "rslave behaves like rshared: " << slave;
  std::string priv = opts_of("pprivate", "/mnt/" + Unique("private"));
  EXPECT_EQ(priv.find("master:"), std::string::npos) << priv;
  EXPECT_EQ(priv.find("shared:"), std::string::npos) << priv;
  EXPECT_NE(priv, "") << "the volume is not mounted";
  std::string shared = opts_of("pshared", "/mnt/" + Unique("shared"));
  EXPECT_NE(shared.find("shared:"), std::string::npos) << shared;
  umount2(src.c_str(), MNT_DETACH);
}

// "ro" makes the volume's own mount read-only and leaves mounts below it as they are
// (Kubernetes' readOnly, runc's ro bind; critest's non-recursive read-only spec); "rro"
// (recursiveReadOnly) makes all of them read-only.
TEST_F(ProtectionTest, ReadOnlyVolumesRecursiveOnlyWhenAsked) {
  std::string src = shim_.dir() + "/ro-src";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((src + "/tmpfs").c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", (src + "/tmpfs").c_str(), "tmpfs", 0, "size=64k"), 0);
  auto check = [&](const std::string& id, const char* ro) {
    std::string dst = "/mnt/" + Unique(id);
    std::string m = std::string(R"([{"destination":")") + dst + R"(","type":"bind","source":")" + src +
                    R"(","options":["rbind",")" + ro + R"("]}])";
    auto [code, out] = Run(id, Sh("touch " + dst + "/top 2>/dev/null && echo top-rw || echo top-ro; touch " + dst +
                                      "/tmpfs/f 2>/dev/null && echo sub-rw || echo sub-ro",
                                  "{}", m));
    EXPECT_EQ(code, 0) << out;
    return out;
  };
  EXPECT_EQ(check("ro1", "ro"), "top-ro\nsub-rw\n");
  EXPECT_EQ(check("rro1", "rro"), "top-ro\nsub-ro\n");
  umount2((src + "/tmpfs").c_str(), MNT_DETACH);
}

// Issue 15's attack: a uid-1000 container of the group plants a link in the overlay that goes
// through /proc/<pid>/root of a process outside the group (the node's real root); the next
// container's volume mount point lies behind it. Before, the shim created the mount point on
// the node (as root) and only the mount failed.
TEST_F(ProtectionTest, AMountPointThroughAProcMagicLinkIsRefusedAndCreatesNothingOnTheHost) {
  std::string host_dir = shim_.dir() + "/host-side", link = "/tmp/" + Unique("evil");
  ASSERT_EQ(mkdir(host_dir.c_str(), 0755), 0);
  std::string vol = shim_.dir() + "/empty-dir";
  ASSERT_EQ(mkdir(vol.c_str(), 0777), 0);
  const std::string uid1000 = R"({"uid":1000,"gid":1000})";
  auto [code, out] = Run("plant", Sh("ln -s /proc/" + std::to_string(shim_.pid()) + "/root" + host_dir + " " + link +
                                         " && echo planted", "{}", "[]", uid1000));
  ASSERT_EQ(out, "planted\n");
  std::string dest = link + "/sub";
  std::string mounts = R"([{"destination":")" + dest + R"(","type":"bind","source":")" + vol + R"(","options":["rbind"]}])";
  Reply r = Create("victim", Sh("true", "{}", mounts, uid1000));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.message.find(dest), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("magic link"), std::string::npos) << r.message;
  EXPECT_NE(access((host_dir + "/sub").c_str(), F_OK), 0) << "the mount point was created on the host";
  EXPECT_NE(access(link.c_str(), F_OK), 0) << "the link reached the host";
}

// A destination that is a symlink in the container's view (critest's "host path is a
// symlink": the same path as source and destination) is followed inside the view: the
// volume lands on the link's target there, and the node's directory is untouched.
TEST_F(ProtectionTest, AMountPointBehindASymlinkLandsOnItsTargetInsideTheView) {
  std::string target = shim_.dir() + "/sym-target", link = shim_.dir() + "/sym-link", vol = shim_.dir() + "/sym-vol";
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(vol.c_str(), 0755), 0);
  std::ofstream(target + "/f") << "node";
  std::ofstream(vol + "/f") << "volume";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  std::string mounts = R"([{"destination":")" + link + R"(","type":"bind","source":")" + vol + R"(","options":["rbind"]}])";
  auto [code, out] = Run("sym", Sh("cat " + link + "/f; echo; cat " + target + "/f", "{}", mounts));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "volume\nvolume");
  std::ifstream f(target + "/f");
  std::string node((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(node, "node");
}

// A volume whose mount point is missing directly below /run (kubelet's
// /var/run/secrets/kubernetes.io/serviceaccount on a node where /var/run links to /run): the
// mount point is created in the container's own /run, never on the node's, and the node's
// /run stays visible in the container (files and directories, submounts included).
TEST_F(ProtectionTest, AMountPointMissingUnderRunIsNotCreatedOnTheNode) {
  std::string top = Unique("reaper-test-run"), present = "/run/" + Unique("reaper-test-present");
  std::string sub = "/run/" + Unique("reaper-test-dir");
  ASSERT_NE(access(("/run/" + top).c_str(), F_OK), 0);
  std::ofstream(present) << "node";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=64k"), 0);
  std::ofstream(sub + "/in-submount") << "sub";
  std::string vol = shim_.dir() + "/run-vol";
  ASSERT_EQ(mkdir(vol.c_str(), 0755), 0);
  std::ofstream(vol + "/token") << "t0ken";
  std::string dest = "/var/run/" + top + "/kubernetes.io/serviceaccount";
  std::string mounts = R"([{"destination":")" + dest + R"(","type":"bind","source":")" + vol + R"(","options":["rbind","ro"]}])";
  auto [code, out] = Run("run1", Sh("cat " + dest + "/token; echo; cat " + present + "; echo; cat " + sub + "/in-submount", "{}", mounts));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "t0ken\nnode\nsub");
  EXPECT_NE(access(("/run/" + top).c_str(), F_OK), 0) << "the mount point was created on the node's /run";
  umount2(sub.c_str(), MNT_DETACH);
  rmdir(sub.c_str());
  unlink(present.c_str());
}

// A node mask that is a symlink (e.g. a distribution links /etc/ssl/private elsewhere): its
// target is masked inside the overlay. Before, the mask was silently skipped and the secret
// stayed readable through the link and at its target.
std::string MaskLink() { return "/tmp/" + Unique("reaper-mask-link"); }
std::string MaskSecret() { return "/tmp/" + Unique("reaper-mask-secret"); }
class MaskLinkTest : public ShimTest {
 protected:
  MaskLinkTest() : ShimTest(Prepared()) {}
  ~MaskLinkTest() override {
    unlink(MaskLink().c_str());
    unlink(MaskSecret().c_str());
  }
  static std::string Prepared() {
    std::ofstream(MaskSecret()) << "s3cret";
    unlink(MaskLink().c_str());
    (void)!symlink(MaskSecret().c_str(), MaskLink().c_str());
    return "masked_paths_extra = [\"" + MaskLink() + "\"]\n";
  }
};

TEST_F(MaskLinkTest, ASymlinkedMaskMasksItsTarget) {
  auto [code, out] = Run("ml", Sh("wc -c < " + MaskLink() + "; wc -c < " + MaskSecret()));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "0\n0\n");
  std::ifstream f(MaskSecret());
  std::string host((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(host, "s3cret");  // the node's file is untouched
}

TEST_F(ProtectionTest, IdentityForInitAndExec) {
  std::string init_out = shim_.Fifo("u1.out");
  FifoReader init_reader(init_out);
  ASSERT_EQ(Create("u1", Sh("id -u; id -g; id -G; exec sleep 100", "{}", "[]",
                           R"({"uid":1000,"gid":1000,"additionalGids":[2000]})"), init_out).message, "");
  ASSERT_EQ(Simple("Start", "u1").message, "");
  auto [c, o] = Exec("u1", "e", R"({"args":["sh","-c","id -u; id -g; id -G"],"cwd":"/","user":{"uid":1000,"gid":1000,"additionalGids":[2000]}})");
  EXPECT_EQ(o, "1000\n1000\n1000 2000\n");
  auto [c2, o2] = Exec("u1", "e2", R"({"args":["id","-G"],"cwd":"/","user":{"uid":1000,"gid":1000}})");
  EXPECT_EQ(o2, "1000\n");  // an empty list clears supplementary groups
  init_reader.ReadUntil("1000 2000\n");  // the init's script has printed all before it is killed
  Kill("u1", SIGKILL);
  Simple("Wait", "u1");
  EXPECT_EQ(init_reader.ReadAll(), "1000\n1000\n1000 2000\n");
}

TEST_F(ProtectionTest, AHalfCreatedGroupDoesNotBlockTheNext) {
  // What a crash during creation leaves: a plain file where the namespace should be bound.
  std::string ns_dir = shim_.dir() + "/state/ns";
  ASSERT_EQ(system(("mkdir -p " + ns_dir + " " + shim_.dir() + "/state/groups/containerd-unit/work/work").c_str()), 0);
  std::ofstream(ns_dir + "/containerd-unit") << "";
  auto [code, out] = Run("h1", Sh("echo fine"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "fine\n");
}

// Another process (a concurrent creator in another pod's shim, or `reaper-overlay remove`)
// holds the group's lock: the shim keeps serving, and the Create completes once it is free.
TEST_F(ProtectionTest, AGroupLockedElsewhereDoesNotBlockTheShim) {
  std::string gdir = shim_.dir() + "/state/groups/containerd-unit";
  ASSERT_EQ(system(("mkdir -p " + gdir).c_str()), 0);
  UniqueFd lock(open((gdir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(lock);
  ASSERT_EQ(flock(lock.get(), LOCK_EX), 0);
  std::string out = shim_.Fifo("l1.out");
  FifoReader reader(out);
  Client creator(shim_.socket());
  task::CreateTaskRequest req;
  req.set_id("l1");
  req.set_bundle(shim_.Bundle("l1", Sh("echo made")));
  req.set_stdout(out);
  creator.SendOnly("Create", req);
  // The loop is free: another client is answered at once while the Create waits.
  Client other(shim_.socket());
  task::ConnectRequest c;
  c.set_id("l1");
  other.SendOnly("Connect", c);
  ASSERT_TRUE(other.Readable(3000)) << "the shim blocked on the group lock";
  EXPECT_FALSE(creator.Readable(300)) << "Create answered while the group was locked";
  auto st = Parse<task::StateResponse>(Simple("State", "l1"));
  EXPECT_EQ(st.status(), task::CREATED);
  EXPECT_EQ(st.pid(), 0u);
  lock.reset();  // released: the shim's retry creates the group and finishes the Create
  ASSERT_TRUE(creator.Readable(10000));
  Reply created;
  ASSERT_TRUE(creator.Recv(&created));
  EXPECT_EQ(created.code, 0) << created.message;
  ASSERT_EQ(Simple("Start", "l1").code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "l1")).exit_status(), 0u);
  EXPECT_EQ(reader.ReadAll(), "made\n");
  EXPECT_EQ(Simple("Delete", "l1").code, 0);
}

TEST_F(ProtectionTest, BadAnnotationsAreRefused) {
  auto [code, out] = Run("b1", Sh("true", R"({"reaper.runtime/overlay-name":"../../etc"})"));
  EXPECT_EQ(code, -1);
  EXPECT_NE(out.find("overlay-name"), std::string::npos) << out;
  auto [c2, o2] = Run("b2", Sh("true", R"({"reaper.runtime/dns-mode":"bogus"})"));
  EXPECT_EQ(c2, -1);
  EXPECT_NE(o2.find("dns-mode"), std::string::npos) << o2;
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

TEST_F(ProtectionTest, DnsModeDecidesWhichResolvConfThePodSees) {
  std::string pod_resolv = shim_.dir() + "/pod-resolv.conf";
  std::ofstream(pod_resolv) << "nameserver 10.96.0.10\nsearch default.svc.cluster.local\n";
  std::string mounts = R"([{"destination":"/etc/resolv.conf","type":"bind","source":")" + pod_resolv +
                       R"(","options":["rbind","ro"]},{"destination":"/etc/hosts","type":"bind","source":")" +
                       pod_resolv + R"(","options":["rbind","ro"]}])";
  auto [c1, o1] = Run("d1", Sh("cat /etc/resolv.conf", R"({"reaper.runtime/dns-mode":"kubernetes"})", mounts));
  EXPECT_EQ(o1, "nameserver 10.96.0.10\nsearch default.svc.cluster.local\n");
  // Host mode (the default) and /etc/hosts are never replaced: the node's files show.
  std::ifstream host_resolv("/etc/resolv.conf");
  std::string want((std::istreambuf_iterator<char>(host_resolv)), std::istreambuf_iterator<char>());
  auto [c2, o2] = Run("d2", Sh("cat /etc/resolv.conf", "{}", mounts));
  EXPECT_EQ(o2, want);
  auto [c3, o3] = Run("d3", Sh("grep -c 10.96.0.10 /etc/hosts || true", R"({"reaper.runtime/dns-mode":"kubernetes"})", mounts));
  EXPECT_EQ(o3, "0\n");
}

TEST_F(ProtectionTest, GroupsCanBeListedAndRemovedWhenUnused) {
  ASSERT_EQ(Run("g1", Sh("echo x > /etc/" + Unique("group-file"))).first, 0);
  std::string env = "REAPER_CONFIG=" + shim_.dir() + "/reaper.toml ";
  std::string bin = std::string(REAPER_OVERLAY_BINARY);
  ASSERT_EQ(Create("g2", Sh("sleep 100")).code, 0);  // a user of the group
  EXPECT_NE(system((env + bin + " remove containerd-unit 2>/dev/null").c_str()), 0);
  Kill("g2", SIGKILL);
  Simple("Wait", "g2");
  ASSERT_EQ(Simple("Delete", "g2").code, 0);
  FILE* f = popen((env + bin + " list").c_str(), "r");
  char buf[512];
  std::string listing;
  while (fgets(buf, sizeof buf, f)) listing += buf;
  pclose(f);
  EXPECT_NE(listing.find("containerd-unit"), std::string::npos) << listing;
  EXPECT_EQ(system((env + bin + " remove containerd-unit >/dev/null").c_str()), 0);
  // A fresh group: the earlier write is gone.
  auto [c, o] = Run("g3", Sh("cat /etc/" + Unique("group-file") + " 2>/dev/null || echo gone"));
  EXPECT_EQ(o, "gone\n");
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

// A shim with a restrictive node policy.
class PolicyTest : public ShimTest {
 protected:
  PolicyTest() : ShimTest("allowed_namespaces = [\"ops\"]\nnon_host_network = \"reject\"\n") {}
};

TEST_F(PolicyTest, NamespacesAndHostNetwork) {
  auto ns = [](const std::string& kns) { return R"({"io.kubernetes.cri.sandbox-namespace":")" + kns + R"("})"; };
  auto [c1, o1] = Run("p1", Sh("echo allowed", ns("ops")));
  EXPECT_EQ(o1, "allowed\n");
  Reply r = Create("p2", Sh("true", ns("dev")));
  EXPECT_EQ(r.code, 7);
  EXPECT_NE(r.message.find("\"dev\" may not run Reaper pods"), std::string::npos) << r.message;
  nlohmann::json j = nlohmann::json::parse(Sh("true", ns("ops")));
  j["linux"]["namespaces"] = {{{"type", "network"}, {"path", "/proc/1/ns/net"}}};
  r = Create("p3", j.dump());
  EXPECT_EQ(r.code, 7);
  EXPECT_NE(r.message.find("hostNetwork: true"), std::string::npos) << r.message;
  // A CRI container joins its sandbox's network namespace (the host's for a hostNetwork
  // pod): only the sandbox decides.
  j["annotations"]["io.kubernetes.cri.container-type"] = "container";
  r = Create("p4", j.dump());
  EXPECT_EQ(r.code, 0) << r.message;
  j["annotations"]["io.kubernetes.cri.container-type"] = "sandbox";
  r = Create("p5", j.dump());
  EXPECT_EQ(r.code, 7) << r.message;
}

}  // namespace
}  // namespace reaper
