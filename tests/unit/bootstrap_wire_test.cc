// Pure tests of what containerd hands the shim binary outside ttrpc (docs/protocol.md §2.4, §2.9):
// the stdin classifier, socket_dir validation, RuntimeInfo, and the flags of -info and
// -socket-fd.
#include "shim/bootstrap_wire.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/unique_fd.h"
#include "bootstrap.pb.h"
#include "host/features.h"
#include "introspection.pb.h"
#include "shim/shim_args.h"
#include "version.h"

namespace reaper {
namespace {
namespace bs = containerd::runtime::bootstrap::v1;

StdinBytes Bytes(const std::string& s) {
  StdinBytes b;
  b.data = s;
  return b;
}

// What containerd 2.0–2.2 write for a runtime with an [options] table.
std::string OptionsAny(const std::string& type, const std::string& value) {
  bs::OpaqueAny a;
  a.set_type_url(type);
  a.set_value(value);
  return a.SerializeAsString();
}

// What containerd 2.3 writes (pkg/shim/util.go Command).
bs::BootstrapParams Params23(const std::string& id, const std::string& ns) {
  bs::BootstrapParams p;
  p.set_instance_id(id);
  p.set_namespace_(ns);
  p.set_log_level(0);
  p.set_containerd_version("v2.3.7");
  p.set_containerd_ttrpc_address("/run/containerd/containerd.sock.ttrpc");
  p.set_containerd_grpc_address("/run/containerd/containerd.sock");
  p.set_containerd_binary("/usr/bin/containerd");
  return p;
}

TEST(BootstrapStdin, EmptyIsEmpty) {
  StartInput in = ClassifyStartInput(Bytes(""), "c1", "k8s.io");
  EXPECT_EQ(in.kind, StdinKind::kEmpty);
  EXPECT_TRUE(in.option_types.empty());
  EXPECT_FALSE(in.debug());
  StdinBytes tty;
  tty.terminal = true;
  EXPECT_EQ(ClassifyStartInput(tty, "c1", "k8s.io").kind, StdinKind::kEmpty);
}

TEST(BootstrapStdin, OptionsAnyOf20To22) {
  std::string any = OptionsAny("runtimeoptions.v1.Options", std::string("\x0a\x03" "abc", 5));
  StartInput in = ClassifyStartInput(Bytes(any), "c1", "k8s.io");
  EXPECT_EQ(in.kind, StdinKind::kOptions);
  EXPECT_EQ(in.option_types, std::vector<std::string>{"runtimeoptions.v1.Options"});
  EXPECT_FALSE(in.socket_dir.has_value());
}

// containerd/containerd#13764: the options Any decodes as a valid BootstrapParams too
// (instance_id = type URL, namespace = value bytes). Other ids and no 2.3-only field: options.
TEST(BootstrapStdin, AmbiguousAnyThatDecodesAsBootstrapParamsWithOtherIds) {
  std::string any = OptionsAny("io.containerd.runc.v1.Options", std::string("\x12\x04runc\xff", 7));
  bs::BootstrapParams as_params;
  ASSERT_TRUE(as_params.ParseFromString(any));  // the ambiguity is real
  EXPECT_EQ(as_params.instance_id(), "io.containerd.runc.v1.Options");
  StartInput in = ClassifyStartInput(Bytes(any), "c1", "k8s.io");
  EXPECT_EQ(in.kind, StdinKind::kOptions);
  EXPECT_EQ(in.option_types, std::vector<std::string>{"io.containerd.runc.v1.Options"});
  // The same bytes are BootstrapParams only if they name our -id and -namespace.
  std::string same = OptionsAny("c1", "k8s.io");
  EXPECT_EQ(ClassifyStartInput(Bytes(same), "c1", "k8s.io").kind, StdinKind::kBootstrap);
}

TEST(BootstrapStdin, BootstrapParamsWithSocketDirAndExtension) {
  bs::BootstrapParams p = Params23("c1", "k8s.io");
  p.set_socket_dir("/run/containerd/s");
  p.set_log_level(-4);  // DEBUG: a 10-byte varint on the wire
  p.add_extensions()->mutable_value()->set_type_url("runtimeoptions.v1.Options");
  StartInput in = ClassifyStartInput(Bytes(p.SerializeAsString()), "c1", "k8s.io");
  ASSERT_EQ(in.kind, StdinKind::kBootstrap);
  EXPECT_EQ(in.instance_id, "c1");
  EXPECT_EQ(in.ns, "k8s.io");
  EXPECT_EQ(in.containerd_version, "v2.3.7");
  EXPECT_EQ(in.ttrpc_address, "/run/containerd/containerd.sock.ttrpc");
  EXPECT_EQ(in.grpc_address, "/run/containerd/containerd.sock");
  EXPECT_EQ(in.containerd_binary, "/usr/bin/containerd");
  EXPECT_EQ(in.socket_dir, std::optional<std::string>("/run/containerd/s"));
  EXPECT_EQ(in.option_types, std::vector<std::string>{"runtimeoptions.v1.Options"});
  EXPECT_EQ(in.log_level, -4);
  EXPECT_TRUE(in.debug());
  p.set_log_level(-8);  // TRACE
  EXPECT_TRUE(ClassifyStartInput(Bytes(p.SerializeAsString()), "c1", "k8s.io").debug());
  p.set_log_level(0);  // INFO
  EXPECT_FALSE(ClassifyStartInput(Bytes(p.SerializeAsString()), "c1", "k8s.io").debug());
}

TEST(BootstrapStdin, BootstrapParamsWithoutSocketDir) {
  bs::BootstrapParams p = Params23("c1", "k8s.io");
  StartInput in = ClassifyStartInput(Bytes(p.SerializeAsString()), "c1", "k8s.io");
  ASSERT_EQ(in.kind, StdinKind::kBootstrap);
  EXPECT_FALSE(in.socket_dir.has_value());
  // Without containerd_version either, matching ids are what makes them BootstrapParams.
  bs::BootstrapParams bare;
  bare.set_instance_id("c1");
  bare.set_namespace_("k8s.io");
  EXPECT_EQ(ClassifyStartInput(Bytes(bare.SerializeAsString()), "c1", "k8s.io").kind, StdinKind::kBootstrap);
  // A 2.3-only field makes them BootstrapParams even if the ids differ from the flags.
  EXPECT_EQ(ClassifyStartInput(Bytes(p.SerializeAsString()), "other", "k8s.io").kind, StdinKind::kBootstrap);
  bs::BootstrapParams only_dir;
  only_dir.set_socket_dir("/tmp/s");
  EXPECT_EQ(ClassifyStartInput(Bytes(only_dir.SerializeAsString()), "c1", "k8s.io").kind, StdinKind::kBootstrap);
}

TEST(BootstrapStdin, GarbageOversizedAndTimedOutAreIgnored) {
  // Not valid protobuf (field 0), not UTF-8: never fatal, never logged by protobuf.
  StartInput g = ClassifyStartInput(Bytes(std::string("\x00\xff\xfe garbage", 11)), "c1", "k8s.io");
  EXPECT_EQ(g.kind, StdinKind::kUnknown);
  EXPECT_EQ(g.why, "stdin is neither BootstrapParams nor a runtime-options Any (11 bytes)");
  // Valid protobuf, but an Any without a type URL and not our ids: unknown too.
  EXPECT_EQ(ClassifyStartInput(Bytes(std::string("\x18\x01", 2)), "c1", "k8s.io").kind, StdinKind::kUnknown);
  StdinBytes big = Bytes(std::string(kMaxStdinBytes, 'x'));
  big.oversized = true;
  StartInput o = ClassifyStartInput(big, "c1", "k8s.io");
  EXPECT_EQ(o.kind, StdinKind::kUnknown);
  EXPECT_EQ(o.why, "stdin is larger than 10485760 bytes");
  StdinBytes late;
  late.timed_out = true;
  EXPECT_EQ(ClassifyStartInput(late, "c1", "k8s.io").why, "stdin did not reach EOF within 5000 ms");
}

TEST(BootstrapStdin, ReadStdinToEofBoundedInSizeAndTime) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  std::string payload(200000, 'a');  // more than one pipe buffer: read while it is written
  std::thread writer([&] {
    size_t off = 0;
    while (off < payload.size()) {
      ssize_t n = write(w.get(), payload.data() + off, payload.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    w.reset();
  });
  StdinBytes got = ReadStdin(r.get());
  writer.join();
  EXPECT_EQ(got.data, payload);
  EXPECT_FALSE(got.oversized || got.timed_out || got.terminal);

  // Over the limit: the first `limit` bytes, flagged, without waiting for EOF.
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r2(p[0]), w2(p[1]);
  ASSERT_EQ(write(w2.get(), "0123456789", 10), 10);
  got = ReadStdin(r2.get(), 4);
  EXPECT_EQ(got.data, "0123");
  EXPECT_TRUE(got.oversized);

  // A writer that never closes: the deadline ends the read.
  ASSERT_EQ(write(w2.get(), "xyz", 3), 3);
  got = ReadStdin(r2.get(), 100, std::chrono::milliseconds(50));
  EXPECT_TRUE(got.timed_out);
  EXPECT_EQ(got.data, "xyz");

  // /dev/null and a closed fd read as empty.
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  got = ReadStdin(null.get());
  EXPECT_TRUE(got.data.empty());
  EXPECT_EQ(ClassifyStartInput(got, "c1", "ns").kind, StdinKind::kEmpty);
  int closed = dup(null.get());
  close(closed);
  got = ReadStdin(closed);
  EXPECT_EQ(ClassifyStartInput(got, "c1", "ns").kind, StdinKind::kEmpty) << got.error;
}

TEST(BootstrapSocketDir, Validation) {
  EXPECT_EQ(*ValidateSocketDir("/run/containerd/s"), "/run/containerd/s");
  EXPECT_EQ(*ValidateSocketDir("/tmp//x/./y/"), "/tmp/x/y");  // cleaned, as containerd does
  std::string max = "/" + std::string(41, 'd');
  EXPECT_EQ(*ValidateSocketDir(max), max);
  EXPECT_EQ(ValidateSocketDir(max + "d").status().message(),
            "socket_dir longer than 42 characters: " + max + "d");
  EXPECT_EQ(ValidateSocketDir("run/s").status().message(), "socket_dir must be an absolute path: run/s");
  EXPECT_EQ(ValidateSocketDir("").status().message(), "socket_dir must be an absolute path: ");
  EXPECT_EQ(ValidateSocketDir("/").status().message(), "socket_dir must not be /");
  EXPECT_EQ(ValidateSocketDir("/a/..").status().message(), "socket_dir must not be /");
  EXPECT_EQ(ValidateSocketDir(std::string("/a\0b", 4)).status().message(), "socket_dir contains a NUL byte");
  EXPECT_EQ(ValidateSocketDir("rel").status().code(), Code::kInvalidArgument);
  // The longest directory still leaves room for "/<64 hex>" in sun_path (108 bytes).
  EXPECT_LT(SocketPath(SocketAddress("/a", "ns", "g", max)).size(), 108u);
}

TEST(BootstrapSocketDir, SocketNames) {
  EXPECT_TRUE(IsSocketName(std::string(64, 'a')));
  EXPECT_TRUE(IsSocketName("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(IsSocketName(std::string(63, 'a')));
  EXPECT_FALSE(IsSocketName(std::string(65, 'a')));
  EXPECT_FALSE(IsSocketName(std::string(64, 'A')));
  EXPECT_FALSE(IsSocketName(std::string(62, 'a') + "/a"));
  EXPECT_FALSE(IsSocketName("containerd.sock"));
}

TEST(BootstrapInfo, RuntimeInfoCarriesNameVersionAndFeatures) {
  containerd::types::RuntimeInfo info;
  ASSERT_TRUE(info.ParseFromString(EncodeRuntimeInfo("1.2.3", "abc")));
  EXPECT_EQ(info.name(), "io.containerd.reaper.v2");
  EXPECT_EQ(info.version().version(), "1.2.3");
  EXPECT_EQ(info.version().revision(), "abc");
  EXPECT_EQ(info.features().type_url(), "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
  // The same document `reaper-runtime features` prints.
  EXPECT_EQ(nlohmann::json::parse(info.features().value()), nlohmann::json::parse(FeaturesJson(2)));
  EXPECT_EQ(nlohmann::json::parse(info.features().value())["ociVersionMax"], "1.1.0");
  EXPECT_FALSE(info.has_options());
  EXPECT_TRUE(info.annotations().empty());
}

TEST(BootstrapArgs, InfoFlagAndWholeSocketFd) {
  auto a = ParseShimArgs({"-info"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->info);
  EXPECT_EQ(a->action, "");
  EXPECT_FALSE(ParseShimArgs({"-info=false"})->info);
  EXPECT_TRUE(ParseShimArgs({"--info", "-namespace", "x"})->info);
  EXPECT_FALSE(ParseShimArgs({"-namespace", "x", "start"})->info);

  EXPECT_EQ(ParseShimArgs({"-socket-fd", "3", "serve"})->socket_fd, 3);
  for (const std::string bad : {"3abc", "", " 3", "-1", "0x3", "99999999999"}) {
    auto r = ParseShimArgs({"-socket-fd=" + bad, "serve"});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(),
              "invalid value \"" + bad + "\" for flag -socket-fd: want a file descriptor number");
  }
}

}  // namespace
}  // namespace reaper
