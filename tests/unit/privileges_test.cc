// The spec's privileges through the real shim (docs/security.md "Privileges"): capability
// sets, no_new_privs, seccomp, masked and read-only paths, a read-only root; for init and
// exec alike; bad profiles fail Create and leave nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "host/privileges.h"
#include "host/security_spec.h"
#include "shim_fixture.h"

namespace reaper {
namespace {

using nlohmann::json;

// containerd's default capability set for CRI containers.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

json Caps(const std::vector<std::string>& names) {
  return {{"bounding", names}, {"effective", names}, {"permitted", names}, {"inheritable", json::array()},
          {"ambient", json::array()}};
}

uint64_t Mask(const std::vector<std::string>& names) {
  uint64_t m = 0;
  for (const auto& n : names) m |= uint64_t{1} << *CapabilityNumber(n);
  return m;
}

std::string Hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

json Process(const std::string& script) {
  return {{"args", {"sh", "-c", script}}, {"env", {"PATH=/usr/bin:/bin"}}, {"cwd", "/"},
          {"user", {{"uid", 0}, {"gid", 0}}}};
}

json SpecFor(const std::string& script) {
  json j;
  j["process"] = Process(script);
  j["annotations"] = json::object();
  return j;
}

// A profile that allows everything but mkdir/mkdirat, which fail with EPERM.
json DenyMkdir() {
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
          {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
}

const char* kStatusLines = "grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\\t'";

class PrivilegesTest : public ShimTest {
 protected:
  std::string Unique(const std::string& base) { return shim_.dir() + "/" + base; }
  // The shim has no children and the container's cgroup does not exist.
  void ExpectNothingLeft(const std::string& id) {
    std::string children;
    std::ifstream f("/proc/" + std::to_string(shim_.pid()) + "/task/" + std::to_string(shim_.pid()) + "/children");
    std::getline(f, children);
    EXPECT_EQ(children, "") << "a child of the shim survived the failed Create";
    if (!shim_.cgroup_parent().empty()) {
      EXPECT_NE(access((shim_.cgroup_parent() + "/unit/" + id).c_str(), F_OK), 0) << "cgroup left behind";
    }
  }
};

TEST_F(PrivilegesTest, DropAllLeavesNoCapabilities) {
  json j = SpecFor(kStatusLines);
  j["process"]["capabilities"] = Caps({});
  auto [code, out] = Run("dropall", j.dump());
  ASSERT_EQ(code, 0) << out;
  std::string z = Hex(0);
  EXPECT_NE(out.find("CapEff:" + z), std::string::npos) << out;
  EXPECT_NE(out.find("CapPrm:" + z), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:" + z), std::string::npos) << out;
  EXPECT_NE(out.find("Seccomp:0"), std::string::npos) << out;  // no profile: unconfined
}

TEST_F(PrivilegesTest, AddNetAdminGivesExactlyTheDefaultSetPlusIt) {
  auto names = kDefaultCaps;
  names.push_back("CAP_NET_ADMIN");
  json j = SpecFor(kStatusLines);
  j["process"]["capabilities"] = Caps(names);
  auto [code, out] = Run("netadmin", j.dump());
  ASSERT_EQ(code, 0) << out;
  std::string want = Hex(Mask(names));
  EXPECT_NE(out.find("CapEff:" + want + "\n"), std::string::npos) << out << " want " << want;
  EXPECT_NE(out.find("CapBnd:" + want + "\n"), std::string::npos) << out;
}

TEST_F(PrivilegesTest, PrivilegedKeepsEveryCapability) {
  json j = SpecFor(kStatusLines);
  j["process"]["capabilities"] = Caps(CapabilityNames());  // what containerd writes for privileged
  auto [code, out] = Run("privileged", j.dump());
  ASSERT_EQ(code, 0) << out;
  // Every capability this node's root holds (a restricted node may lack some).
  EXPECT_NE(out.find("CapEff:" + Hex(AllCapabilities() & OwnPermittedCapabilities()) + "\n"), std::string::npos) << out;
}

TEST_F(PrivilegesTest, NonRootGetsAmbientCapabilities) {
  json j = SpecFor(kStatusLines);
  j["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  j["process"]["capabilities"] = {{"bounding", {"CAP_NET_BIND_SERVICE"}}, {"effective", {"CAP_NET_BIND_SERVICE"}},
                                  {"permitted", {"CAP_NET_BIND_SERVICE"}}, {"inheritable", {"CAP_NET_BIND_SERVICE"}},
                                  {"ambient", {"CAP_NET_BIND_SERVICE"}}};
  auto [code, out] = Run("ambient", j.dump());
  ASSERT_EQ(code, 0) << out;
  std::string want = Hex(Mask({"CAP_NET_BIND_SERVICE"}));
  EXPECT_NE(out.find("CapEff:" + want + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("CapAmb:" + want + "\n"), std::string::npos) << out;
}

// Without no_new_privs the filter is loaded while CAP_SYS_ADMIN is still effective, then
// dropped; with it, no capability is needed. Either way mkdir fails with EPERM.
TEST_F(PrivilegesTest, SeccompProfileDeniesMkdir) {
  for (bool nnp : {false, true}) {
    SCOPED_TRACE(nnp ? "noNewPrivileges" : "no noNewPrivileges");
    std::string dir = Unique(nnp ? "mk-nnp" : "mk");
    json j = SpecFor(std::string(kStatusLines) + "; mkdir " + dir + " 2>&1 || echo denied");
    j["process"]["capabilities"] = Caps(kDefaultCaps);
    j["process"]["noNewPrivileges"] = nnp;
    j["linux"]["seccomp"] = DenyMkdir();
    auto [code, out] = Run(nnp ? "sc-nnp" : "sc", j.dump());
    ASSERT_EQ(code, 0) << out;
    EXPECT_NE(out.find("Seccomp:2"), std::string::npos) << out;
    EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
    EXPECT_NE(out.find("denied"), std::string::npos) << out;
    EXPECT_NE(out.find("CapEff:" + Hex(Mask(kDefaultCaps)) + "\n"), std::string::npos) << "CAP_SYS_ADMIN kept: " << out;
    EXPECT_NE(out.find(nnp ? "NoNewPrivs:1" : "NoNewPrivs:0"), std::string::npos) << out;
    struct stat st{};
    EXPECT_NE(stat(dir.c_str(), &st), 0);
  }
}

TEST_F(PrivilegesTest, ReadonlyPathsRefuseWrites) {
  std::string ro = Unique("ro-path");
  ASSERT_EQ(mkdir(ro.c_str(), 0755), 0);
  json j = SpecFor("touch " + ro + "/f 2>&1 || echo refused; touch " + shim_.dir() + "/rw-ok && echo rw-ok");
  j["linux"]["readonlyPaths"] = {ro, "/no/such/path"};  // a missing path is skipped
  auto [code, out] = Run("ropath", j.dump());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("rw-ok"), std::string::npos) << out;
}

TEST_F(PrivilegesTest, MaskedPathsHideFilesAndDirectories) {
  std::string file = Unique("secret.txt"), dir = Unique("secret-dir"), link = Unique("secret-link");
  std::ofstream(file) << "s3cret";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::ofstream(dir + "/inner") << "hidden";
  std::ofstream other = std::ofstream(Unique("other.txt"));
  other << "linked";
  other.close();
  ASSERT_EQ(symlink(Unique("other.txt").c_str(), link.c_str()), 0);
  // A file is masked with /dev/null, as runc does: reads are empty, writes vanish.
  json j = SpecFor("cat " + file + "; echo; ls -A " + dir + " | wc -l; cat " + Unique("other.txt") +
                   "; echo; echo x > " + file + "; cat " + file + "; touch " + dir + "/new 2>/dev/null || echo dir-ro");
  j["linux"]["maskedPaths"] = {file, dir, link, "/no/such/file"};
  auto [code, out] = Run("masked", j.dump());
  ASSERT_EQ(code, 0) << out;
  // The symlink's target is masked (resolved inside the container's root).
  EXPECT_EQ(out, "\n0\n\ndir-ro\n");
  std::ifstream host(file);
  std::string content;
  std::getline(host, content);
  EXPECT_EQ(content, "s3cret");  // the node's file is untouched
}

TEST_F(PrivilegesTest, ReadonlyRootKeepsVolumesWritable) {
  std::string vol = Unique("vol");
  ASSERT_EQ(mkdir(vol.c_str(), 0755), 0);
  std::string dest = "/mnt/reaper-ro-root-" + std::to_string(getpid());
  json j = SpecFor("touch /reaper-ro-root-test 2>&1 || echo root-refused; touch " + dest +
                   "/f && echo vol-rw; echo x > /dev/null && echo dev-rw");
  j["root"] = {{"path", "rootfs"}, {"readonly", true}};
  j["mounts"] = {{{"destination", dest}, {"type", "bind"}, {"source", vol}, {"options", {"rbind", "rw"}}}};
  auto [code, out] = Run("roroot", j.dump());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_NE(out.find("root-refused"), std::string::npos) << out;
  EXPECT_NE(out.find("vol-rw"), std::string::npos) << out;
  EXPECT_NE(out.find("dev-rw"), std::string::npos) << out;
  EXPECT_EQ(access((vol + "/f").c_str(), F_OK), 0);
}

TEST_F(PrivilegesTest, ExecGetsTheContainersPrivileges) {
  std::string ro = Unique("exec-ro");
  ASSERT_EQ(mkdir(ro.c_str(), 0755), 0);
  json j = SpecFor("sleep 100");
  j["process"]["capabilities"] = Caps({});
  j["process"]["noNewPrivileges"] = true;
  j["linux"]["seccomp"] = DenyMkdir();
  j["linux"]["readonlyPaths"] = {ro};
  ASSERT_EQ(Create("ex", j.dump()).code, 0);
  ASSERT_EQ(Simple("Start", "ex").code, 0);
  // An exec spec without capabilities (as `ctr task exec` sends): the container's.
  json p = Process(std::string(kStatusLines) + "; mkdir " + Unique("exec-mk") + " 2>/dev/null || echo mkdir-denied; touch " +
                   ro + "/f 2>/dev/null || echo ro-refused");
  auto [c1, o1] = Exec("ex", "e1", p.dump());
  EXPECT_EQ(c1, 0) << o1;
  EXPECT_NE(o1.find("CapEff:" + Hex(0)), std::string::npos) << o1;
  EXPECT_NE(o1.find("CapBnd:" + Hex(0)), std::string::npos) << o1;
  EXPECT_NE(o1.find("Seccomp:2"), std::string::npos) << o1;
  EXPECT_NE(o1.find("NoNewPrivs:1"), std::string::npos) << o1;
  EXPECT_NE(o1.find("mkdir-denied"), std::string::npos) << o1;
  EXPECT_NE(o1.find("ro-refused"), std::string::npos) << o1;
  // An exec spec with its own sets (CRI copies the container's process): those.
  json p2 = Process(kStatusLines);
  p2["capabilities"] = Caps({"CAP_KILL"});
  auto [c2, o2] = Exec("ex", "e2", p2.dump());
  EXPECT_EQ(c2, 0) << o2;
  EXPECT_NE(o2.find("CapEff:" + Hex(Mask({"CAP_KILL"}))), std::string::npos) << o2;
  EXPECT_NE(o2.find("Seccomp:2"), std::string::npos) << o2;
  Kill("ex", SIGKILL);
  Simple("Wait", "ex");
  EXPECT_EQ(Simple("Delete", "ex").code, 0);
}

TEST_F(PrivilegesTest, BadCapabilityOrProfileFailsCreateAndLeavesNothing) {
  json bad_cap = SpecFor("true");
  bad_cap["process"]["capabilities"] = Caps({"CAP_CHOWN", "CAP_NOT_A_THING"});
  Reply r1 = Create("badcap", bad_cap.dump());
  EXPECT_EQ(r1.code, static_cast<int>(Code::kInvalidArgument)) << r1.message;
  EXPECT_NE(r1.message.find("unknown capability \"CAP_NOT_A_THING\""), std::string::npos) << r1.message;
  ExpectNothingLeft("badcap");
  json bad_sc = SpecFor("true");
  bad_sc["linux"]["seccomp"] = DenyMkdir();
  bad_sc["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_EXPLODE";
  Reply r2 = Create("badsc", bad_sc.dump());
  EXPECT_EQ(r2.code, static_cast<int>(Code::kInvalidArgument)) << r2.message;
  EXPECT_NE(r2.message.find("unsupported action \"SCMP_ACT_EXPLODE\""), std::string::npos) << r2.message;
  ExpectNothingLeft("badsc");
  // The shim still serves.
  auto [code, out] = Run("after", SpecFor("echo fine").dump());
  EXPECT_EQ(out, "fine\n");
}

class FullPrivilegesTest : public ShimTest {
 protected:
  FullPrivilegesTest() : ShimTest("full_privileges = true\n") {}
};

TEST_F(FullPrivilegesTest, NodeSettingIgnoresTheSpecsRestrictions) {
  json j = SpecFor(std::string(kStatusLines));
  j["process"]["capabilities"] = Caps({});
  j["linux"]["seccomp"] = DenyMkdir();
  auto [code, out] = Run("full", j.dump());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("CapEff:" + Hex(AllCapabilities() & OwnPermittedCapabilities())), std::string::npos) << out;
  EXPECT_NE(out.find("Seccomp:0"), std::string::npos) << out;
}

}  // namespace
}  // namespace reaper
