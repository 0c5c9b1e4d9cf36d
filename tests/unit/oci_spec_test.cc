#include "host/oci_spec.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

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
