// RemoveTree (src/base/remove_tree.h): rm -rf that never follows a symlink and never crosses
// into another mount. The mount case needs root and skips without it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "base/remove_tree.h"
#include "base/unique_fd.h"
#include "test_util.h"

namespace reaper {
namespace {
using testing::Sh;

std::string TempDir() {
  char tmpl[] = "/tmp/reaper-rmtree.XXXXXX";
  return mkdtemp(tmpl);
}

bool Exists(const std::string& p) {
  struct stat st{};
  return lstat(p.c_str(), &st) == 0;
}

TEST(RemoveTree, RemovesFilesDirsAndLinksButNotWhatLinksPointTo) {
  std::string base = TempDir(), victim = base + "/outside", tree = base + "/tree";
  ASSERT_EQ(mkdir(victim.c_str(), 0700), 0);
  std::ofstream(victim + "/keep") << "precious";
  ASSERT_EQ(Sh("mkdir -p " + tree + "/a/b/c && echo x > " + tree + "/a/b/c/f && touch " + tree + "/top").first, 0);
  ASSERT_EQ(symlink(victim.c_str(), (tree + "/a/link-dir").c_str()), 0);
  ASSERT_EQ(symlink((victim + "/keep").c_str(), (tree + "/a/b/link-file").c_str()), 0);
  ASSERT_EQ(mkfifo((tree + "/a/fifo").c_str(), 0600), 0);
  Status st = RemoveTree(tree);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(Exists(tree));
  EXPECT_TRUE(Exists(victim + "/keep"));
  Sh("rm -rf " + base);
}

TEST(RemoveTree, AnyDepthWithFewFds) {
  std::string base = TempDir(), tree = base + "/deep";
  std::string p = tree;
  ASSERT_EQ(mkdir(p.c_str(), 0700), 0);
  UniqueFd dir(open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < 300; ++i) {  // deeper than the remover's bound, built with *at calls
    ASSERT_EQ(mkdirat(dir.get(), "d", 0700), 0) << i;
    dir.reset(openat(dir.get(), "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir);
  }
  dir.reset();
  Status st = RemoveTree(tree);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(Exists(tree));
  Sh("rm -rf " + base);
}

TEST(RemoveTree, MissingPathIsOkAndRootIsRefused) {
  EXPECT_TRUE(RemoveTree("/tmp/reaper-rmtree-does-not-exist/x").ok());
  EXPECT_EQ(RemoveTree("/").code(), Code::kInvalidArgument);
  EXPECT_EQ(RemoveTree("").code(), Code::kInvalidArgument);
}

TEST(RemoveTree, NeverCrossesAMount) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (bind mount)";
  std::string base = TempDir(), victim = base + "/mounted", tree = base + "/tree";
  ASSERT_EQ(Sh("mkdir -p " + victim + " " + tree + "/sub/mnt && echo precious > " + victim + "/keep").first, 0);
  ASSERT_EQ(mount(victim.c_str(), (tree + "/sub/mnt").c_str(), nullptr, MS_BIND, nullptr), 0);
  Status st = RemoveTree(tree);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.message();
  EXPECT_NE(st.message().find("sub/mnt"), std::string::npos) << st.message();
  EXPECT_TRUE(Exists(victim + "/keep"));
  EXPECT_TRUE(Exists(tree + "/sub/mnt/keep"));
  umount2((tree + "/sub/mnt").c_str(), MNT_DETACH);
  EXPECT_TRUE(RemoveTree(tree).ok());
  Sh("rm -rf " + base);
}

}  // namespace
}  // namespace reaper
