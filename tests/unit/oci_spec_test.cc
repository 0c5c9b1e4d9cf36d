#include "host/oci_spec.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "host/seccomp.h"
#include "host/spawn.h"

namespace reaper {
namespace {

TEST(OciSpec, ParsesProcess) {
  auto s = ParseSpec(R"({"process":{"args":["sh","-c","x"],"env":["A=1","PATH=/bin"],"cwd":"/tmp",
    "user":{"uid":1000,"gid":1000,"additionalGids":[2000]},"noNewPrivileges":true,"oomScoreAdj":5,
    "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":512}]},
    "annotations":{"io.kubernetes.cri.sandbox-id":"sb"}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->process.args, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_EQ(s->process.cwd, "/tmp");
  EXPECT_EQ(s->process.uid, 1000u);
  EXPECT_EQ(s->process.additional_gids, std::vector<uint32_t>{2000});
  EXPECT_TRUE(s->process.no_new_privileges);
  EXPECT_EQ(*s->process.oom_score_adj, 5);
  ASSERT_EQ(s->process.rlimits.size(), 1u);
  EXPECT_EQ(s->process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(GroupKey(s->annotations, "c1"), "sb");
  EXPECT_FALSE(IsSandbox(*s));
}

TEST(OciSpec, RejectsBadInputWithAClearMessage) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {"{}", "no process"},
      {R"({"process":{"args":[]}})", "must not be empty"},
      {R"({"process":{"args":["x"],"user":{"uid":-1}}})", "uid out of range"},
      {R"({"process":{"args":["x"],"user":{"uid":4294967295}}})", "uid out of range"},
      {R"({"process":{"args":["x"],"user":{"gid":"0"}}})", "gid must be an integer"},
      {R"({"process":{"args":["x"],"env":["NOEQUALS"]}})", "without '='"},
      {R"({"process":{"args":["x"],"cwd":"rel"}})", "absolute"},
      {R"({"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_BOGUS","hard":1,"soft":1}]}})", "unknown rlimit"},
      {R"({"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":2}]}})", "soft limit above"},
      {R"({"process":{"args":["x"],"oomScoreAdj":5000}})", "oomScoreAdj out of range"},
  };
  for (const auto& c : cases) {
    auto s = ParseSpec(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_NE(s.status().message().find(c.want), std::string::npos) << s.status().message();
  }
}

TEST(OciSpec, SandboxNeedsNoProcess) {
  auto s = ParseSpec(R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(IsSandbox(*s));
}

TEST(OciSpec, GroupKeyPrecedence) {
  std::map<std::string, std::string> a = {{"io.kubernetes.cri.sandbox-id", "sb"},
                                          {"io.containerd.runc.v2.group", "g"}};
  EXPECT_EQ(GroupKey(a, "id"), "g");
  EXPECT_EQ(GroupKey({}, "id"), "id");
}

TEST(OciSpec, ValidateId) {
  EXPECT_TRUE(ValidateId("abc-1_2.3", "id").ok());
  EXPECT_TRUE(ValidateId(std::string(76, 'a'), "id").ok());
  EXPECT_FALSE(ValidateId(std::string(77, 'a'), "id").ok());
  EXPECT_FALSE(ValidateId("a/b", "id").ok());
  EXPECT_FALSE(ValidateId("..", "id").ok());
  EXPECT_FALSE(ValidateId(".hidden", "id").ok());
  EXPECT_FALSE(ValidateId("", "id").ok());
  EXPECT_FALSE(ValidateId("-x", "id").ok());
}

TEST(OciSpec, EnvLookupLastWins) {
  EXPECT_EQ(*EnvLookup({"PATH=/a", "PATHX=1", "PATH=/b"}, "PATH"), "/b");
  EXPECT_FALSE(EnvLookup({"PATHX=1"}, "PATH"));
}

TEST(ResolveExecutable, UsesTheSpecPathNotTheShims) {
  ProcessSpec p;
  p.args = {"sh"};
  p.env = {"PATH=/nonexistent:/bin"};
  auto r = ResolveExecutable(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/bin/sh");
  p.env = {"PATH=/nonexistent"};
  r = ResolveExecutable(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "exec: \"sh\": executable file not found in $PATH");
  p.args = {"/no/such/binary"};
  r = ResolveExecutable(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/no/such/binary"), std::string::npos);
}

TEST(StatusDecoder, SplitsRecords) {
  StatusDecoder d;
  std::string wire = std::string("W\x03\x00" "abc", 6) + std::string("R\x00\x00", 3);
  d.Feed(wire.data(), 4);
  EXPECT_FALSE(d.Next());
  d.Feed(wire.data() + 4, wire.size() - 4);
  auto r1 = d.Next();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->kind, 'W');
  EXPECT_EQ(r1->text, "abc");
  auto r2 = d.Next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->kind, 'R');
  EXPECT_FALSE(d.Next());
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

TEST(OciSpecPrivileges, ParsesCapabilitiesIntoBits) {
  auto s = ParseSpec(R"({"process":{"args":["x"],"capabilities":{
    "bounding":["CAP_CHOWN","CAP_NET_ADMIN"],"effective":["CAP_NET_ADMIN"],"permitted":["CAP_NET_ADMIN"],
    "inheritable":[],"ambient":["CAP_CHECKPOINT_RESTORE"]}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->process.capabilities);
  const CapabilitySets& c = *s->process.capabilities;
  EXPECT_EQ(c.bounding, (uint64_t{1} << 0) | (uint64_t{1} << 12));
  EXPECT_EQ(c.effective, uint64_t{1} << 12);
  EXPECT_EQ(c.permitted, uint64_t{1} << 12);
  EXPECT_EQ(c.inheritable, 0u);
  EXPECT_EQ(c.ambient, uint64_t{1} << 40);
  // Absent: unchanged; present but empty ("drop ALL"): every set empty.
  auto none = ParseSpec(R"({"process":{"args":["x"]}})");
  EXPECT_FALSE(none->process.capabilities);
  auto all_dropped = ParseProcess(R"({"args":["x"],"capabilities":{}})");
  ASSERT_TRUE(all_dropped.ok());
  EXPECT_EQ(*all_dropped->capabilities, CapabilitySets{});
  EXPECT_EQ(CapabilityNumber("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(CapabilityNames().size(), 41u);
}

TEST(OciSpecPrivileges, ParsesSeccompMasksAndReadonlyRoot) {
  auto s = ParseSpec(R"({"process":{"args":["x"]},"root":{"path":"rootfs","readonly":true},
    "linux":{"maskedPaths":["/proc/kcore","/sys/firmware"],"readonlyPaths":["/proc/sys"],
      "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
        "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                    {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                     "args":[{"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"}]},
                    {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->root_readonly);
  EXPECT_EQ(s->masked_paths, (std::vector<std::string>{"/proc/kcore", "/sys/firmware"}));
  EXPECT_EQ(s->readonly_paths, std::vector<std::string>{"/proc/sys"});
  ASSERT_TRUE(s->seccomp);
  const SeccompSpec& sc = *s->seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 38u);
  EXPECT_EQ(sc.architectures.size(), 2u);
  EXPECT_EQ(sc.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  ASSERT_EQ(sc.syscalls.size(), 3u);
  EXPECT_EQ(sc.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  ASSERT_EQ(sc.syscalls[1].args.size(), 1u);
  EXPECT_EQ(sc.syscalls[1].args[0].value, 8u);
  EXPECT_EQ(sc.syscalls[1].args[0].op, "SCMP_CMP_EQ");
  EXPECT_EQ(sc.syscalls[2].errno_ret, 1u);
  auto plain = ParseSpec(R"({"process":{"args":["x"]}})");
  EXPECT_FALSE(plain->seccomp);  // Unconfined: no field
  EXPECT_FALSE(plain->root_readonly);
}

TEST(OciSpecPrivileges, BadPrivilegeFieldsAreInvalidArgument) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"({"process":{"args":["x"],"capabilities":{"bounding":["CAP_BOGUS"]}}})", "unknown capability \"CAP_BOGUS\""},
      {R"({"process":{"args":["x"],"capabilities":{"effective":["NET_ADMIN"]}}})", "unknown capability \"NET_ADMIN\""},
      {R"({"process":{"args":["x"],"capabilities":{"ambient":"CAP_CHOWN"}}})", "must be an array"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{}}})", "defaultAction is missing"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_BOGUS"}}})", "unsupported action"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}}})", "unknown architecture"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]}}})", "unsupported flag"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}}})", "index must be between 0 and 5"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_XX"}]}]}}})", "unknown operator"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}}})", "names must not be empty"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_NOTIFY"}}})", "unsupported action"},
      {R"({"process":{"args":["x"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1}}})", "errno between"},
      {R"({"process":{"args":["x"]},"linux":{"maskedPaths":["relative"]}})", "not an absolute path"},
  };
  for (const auto& c : cases) {
    auto s = ParseSpec(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_NE(s.status().message().find(c.want), std::string::npos) << s.status().message();
  }
}

TEST(SeccompCompile, CompilesProfilesAndSkipsUnknownSyscalls) {
  SeccompSpec s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  s.syscalls.push_back(SeccompRule{{"read", "write", "no_such_syscall_reaper"}, "SCMP_ACT_ALLOW", {}, {}});
  // Two conditions on one argument: separate rules, as libseccomp allows one per argument.
  s.syscalls.push_back(SeccompRule{{"personality"}, "SCMP_ACT_ALLOW", {},
                                   {SeccompArg{0, 0, 0, "SCMP_CMP_EQ"}, SeccompArg{0, 8, 0, "SCMP_CMP_EQ"}}});
  s.syscalls.push_back(SeccompRule{{"clone"}, "SCMP_ACT_ALLOW", {}, {SeccompArg{0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ"}}});
  s.syscalls.push_back(SeccompRule{{"mkdir"}, "SCMP_ACT_ERRNO", {}, {}});  // = default: skipped
  auto p = CompileSeccomp(s);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_GT(p->filter.size(), 10u);
  EXPECT_EQ(p->skipped, 1u);
  EXPECT_EQ(p->flags, 0u);
  // The cache: the second compilation reads the file the first wrote; a damaged file is
  // replaced.
  char tmpl[] = "/tmp/reaper-seccomp-cache.XXXXXX";
  std::string dir = std::string(mkdtemp(tmpl)) + "/seccomp";
  auto c1 = CompileSeccompCached(s, dir);
  ASSERT_TRUE(c1.ok()) << c1.status().message();
  EXPECT_EQ(c1->filter.size(), p->filter.size());
  std::string file;
  for (const auto& e : std::filesystem::directory_iterator(dir)) file = e.path();
  ASSERT_FALSE(file.empty());
  auto c2 = CompileSeccompCached(s, dir);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(memcmp(c2->filter.data(), p->filter.data(), p->filter.size() * sizeof(sock_filter)), 0);
  EXPECT_EQ(c2->skipped, 1u);
  { std::ofstream(file, std::ios::trunc) << "garbage"; }
  auto c3 = CompileSeccompCached(s, dir);
  ASSERT_TRUE(c3.ok());
  EXPECT_EQ(c3->filter.size(), p->filter.size());
  SeccompSpec other = s;
  other.default_errno_ret = 38;  // another profile, another file
  ASSERT_TRUE(CompileSeccompCached(other, dir).ok());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  SeccompSpec arm = s;
  arm.architectures = {"SCMP_ARCH_PARISC"};  // known to the parser, maybe not to libseccomp
  auto pa = CompileSeccomp(arm);
  if (!pa.ok()) {
    EXPECT_EQ(pa.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace reaper
