#include "base/paths.h"
#include "shim/shim_args.h"

#include <gtest/gtest.h>

#include "base/sha256.h"

namespace reaper {
namespace {

TEST(ShimArgs, GoStyleFlags) {
  auto a = ParseShimArgs({"-namespace", "k8s.io", "-address", "/run/c.sock", "-publish-binary",
                          "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ns, "k8s.io");
  EXPECT_EQ(a->address, "/run/c.sock");
  EXPECT_EQ(a->id, "abc");
  EXPECT_TRUE(a->debug);
  EXPECT_EQ(a->action, "start");
}

TEST(ShimArgs, EqualsFormDoubleDashAndUnknownFlags) {
  auto a = ParseShimArgs({"--namespace=x", "-future-flag", "val", "-other=1", "-bool-future", "-id", "i",
                          "-bundle", "/b", "delete"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ns, "x");
  EXPECT_EQ(a->id, "i");
  EXPECT_EQ(a->bundle, "/b");
  EXPECT_EQ(a->action, "delete");
}

TEST(ShimArgs, MissingValueIsAnError) { EXPECT_FALSE(ParseShimArgs({"-id"}).ok()); }

TEST(ShimArgs, CleanPathMatchesGo) {
  EXPECT_EQ(CleanPath("/run//containerd/./x/../s/"), "/run/containerd/s");
  EXPECT_EQ(CleanPath("a/../../b"), "../b");
  EXPECT_EQ(CleanPath("/.."), "/");
  EXPECT_EQ(CleanPath(""), ".");
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(ShimArgs, SocketAddressHashesTheJoinedPath) {
  EXPECT_EQ(SocketAddress("/run/containerd/containerd.sock", "k8s.io", "sb1"),
            "unix:///run/containerd/s/" + Sha256Hex("/run/containerd/containerd.sock/k8s.io/sb1"));
  // Empty elements vanish, as in Go's filepath.Join.
  EXPECT_EQ(SocketAddress("/a/", "", "g"), "unix:///run/containerd/s/" + Sha256Hex("/a/g"));
  EXPECT_EQ(SocketPath("unix:///run/x"), "/run/x");
}

}  // namespace
}  // namespace reaper
