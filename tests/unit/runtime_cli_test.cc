#include "runtime/cli.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "host/signals.h"

namespace reaper {
namespace {

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(*ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("SIGKILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("WINCH"), SIGWINCH);
  for (const char* bad : {"BOGUS", "0", "65", "-1", "SIG", ""}) {
    auto r = ParseSignal(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("unknown signal"), std::string::npos);
  }
}

TEST(RuntimeCli, GlobalAndCommandFlagsLikeRunc) {
  auto p = runtime::ParseCommandLine({"--root", "/run/x", "--log", "/tmp/l.json", "--log-format", "json",
                                      "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file=/p",
                                      "--console-socket", "/s", "--no-pivot", "id1"});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->first.root, "/run/x");
  EXPECT_EQ(p->first.log_path, "/tmp/l.json");
  EXPECT_TRUE(p->first.log_json);
  EXPECT_EQ(p->second.name, "create");
  EXPECT_EQ(p->second.get("bundle"), "/b");
  EXPECT_EQ(p->second.get("pid-file"), "/p");
  EXPECT_TRUE(p->second.has("no-pivot"));
  EXPECT_EQ(p->second.args, std::vector<std::string>{"id1"});
}

TEST(RuntimeCli, ExecArgumentsAfterTheIdAreTheCommand) {
  auto p = runtime::ParseCommandLine({"exec", "-t", "--env", "A=1", "id1", "sh", "-c", "echo --x"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->second.has("t"));
  EXPECT_EQ(p->second.get("env"), "A=1");
  EXPECT_EQ(p->second.args, (std::vector<std::string>{"id1", "sh", "-c", "echo --x"}));
}

TEST(RuntimeCli, BadCommandLines) {
  EXPECT_FALSE(runtime::ParseCommandLine({}).ok());
  EXPECT_FALSE(runtime::ParseCommandLine({"--log-format", "xml", "list"}).ok());
  EXPECT_FALSE(runtime::ParseCommandLine({"--root", "relative", "list"}).ok());
  EXPECT_FALSE(runtime::ParseCommandLine({"create", "--bundle"}).ok());
}

}  // namespace
}  // namespace reaper
