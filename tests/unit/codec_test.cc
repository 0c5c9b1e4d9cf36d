// Our message code (tools/protogen, src/wire) against libprotobuf's for the same schema:
// protoc's classes for proto/*.proto under package reaperref.* (test-only, this binary alone
// links libprotobuf-lite). Every message type, filled three ways (codec_fill.h), must encode
// to the same bytes and decode both ways to the same values; hand-made inputs cover unknown
// fields of every wire type and malformed inputs.
#include <gtest/gtest.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <random>
#include <string>

#include "bootstrap.pb.h"
#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "codec_fill.h"
#include "events.pb.h"
#include "introspection.pb.h"
#include "reaperref_bootstrap.pb.h"
#include "reaperref_cgroups_v1.pb.h"
#include "reaperref_cgroups_v2.pb.h"
#include "reaperref_events.pb.h"
#include "reaperref_introspection.pb.h"
#include "reaperref_task.pb.h"
#include "reaperref_ttrpc.pb.h"
#include "reaperref_wkt.pb.h"
#include "task.pb.h"
#include "ttrpc.pb.h"
#include "wkt.pb.h"

namespace {

// A byte string from a literal, embedded NULs included.
template <size_t N>
std::string B(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// libprotobuf logs each invalid UTF-8 string it refuses; the malformed inputs have many.
const bool kQuiet = (google::protobuf::SetLogHandler(nullptr), true);

// libprotobuf's encoding with map entries in key order (ours is always in key order).
std::string Theirs(const google::protobuf::MessageLite& m) {
  std::string s;
  {
    google::protobuf::io::StringOutputStream sos(&s);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    EXPECT_TRUE(m.SerializeToCodedStream(&cos));
  }
  return s;
}

template <class Ours, class Ref>
void CheckBothWays(const Ours& ours, const Ref& ref, const std::string& what) {
  SCOPED_TRACE(what);
  std::string a = ours.SerializeAsString();
  std::string b = Theirs(ref);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ours.ByteSizeLong(), a.size());
  // ours -> theirs
  Ref ref2;
  ASSERT_TRUE(ref2.ParseFromString(a));
  EXPECT_EQ(Theirs(ref2), b);
  // theirs -> ours
  Ours ours2;
  ASSERT_TRUE(ours2.ParseFromString(b));
  EXPECT_TRUE(ours2 == ours);
  EXPECT_EQ(ours2.SerializeAsString(), a);
}

template <class Ours, class Ref, class Fill>
void CheckType(Fill fill, const char* name) {
  for (int v = 0; v <= 2; ++v) {
    Ours ours;
    Ref ref;
    fill(&ours, v);
    fill(&ref, v);
    CheckBothWays(ours, ref, std::string(name) + " variant " + std::to_string(v));
  }
  EXPECT_EQ(Ours().GetTypeName(), Ref().GetTypeName().substr(sizeof("reaperref.") - 1));
}

TEST(Codec, EveryMessageTypeEncodesLikeLibprotobuf) {
  int types = 0;
#define REAPER_CHECK(O, R, F)                                      \
  CheckType<O, R>([](auto* m, int v) { F(m, v, 0); }, #O); \
  ++types;
  REAPER_CODEC_CASES(REAPER_CHECK)
#undef REAPER_CHECK
  EXPECT_GE(types, 69);
}

TEST(Codec, NegativeAndExtremeValues) {
  ttrpc::RpcStatus s;
  s.set_code(-1);
  // int32 -1: a 10-byte varint, as protoc writes it.
  EXPECT_EQ(s.SerializeAsString(), B("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"));
  ttrpc::RpcStatus back;
  ASSERT_TRUE(back.ParseFromString(s.SerializeAsString()));
  EXPECT_EQ(back.code(), -1);
  ttrpc::Request r;
  r.set_timeout_nano(INT64_MIN);
  ASSERT_TRUE(back.ParseFromString(B("\x08\x80\x80\x80\x80\xf8\xff\xff\xff\xff\x01")));
  EXPECT_EQ(back.code(), INT32_MIN);
  io::containerd::cgroups::v2::PidsStat p;
  p.set_limit(UINT64_MAX);
  EXPECT_EQ(p.SerializeAsString(), B("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"));
  reaperref::ttrpc::Request rr;
  ASSERT_TRUE(rr.ParseFromString(r.SerializeAsString()));
  EXPECT_EQ(rr.timeout_nano(), INT64_MIN);
  // A 64-bit value in an int32 field keeps the low 32 bits, like protobuf.
  ASSERT_TRUE(back.ParseFromString(B("\x08\xff\xff\xff\xff\x1f")));
  reaperref::ttrpc::RpcStatus rb;
  ASSERT_TRUE(rb.ParseFromString(B("\x08\xff\xff\xff\xff\x1f")));
  EXPECT_EQ(back.code(), rb.code());
  // bool: any non-zero varint is true.
  containerd::task::v2::KillRequest k;
  ASSERT_TRUE(k.ParseFromString(B("\x20\x80\x01")));
  EXPECT_TRUE(k.all());
}

TEST(Codec, EmptyVersusAbsentStrings) {
  containerd::runtime::bootstrap::v1::BootstrapParams p;
  EXPECT_EQ(p.SerializeAsString(), "");
  p.set_namespace_("");  // proto3 without presence: an empty string is not written
  EXPECT_EQ(p.SerializeAsString(), "");
  p.set_socket_dir("");  // `optional`: present though empty
  EXPECT_TRUE(p.has_socket_dir());
  EXPECT_EQ(p.SerializeAsString(), B("\x4a\x00"));
  containerd::runtime::bootstrap::v1::BootstrapParams q;
  ASSERT_TRUE(q.ParseFromString(B("\x4a\x00")));
  EXPECT_TRUE(q.has_socket_dir());
  ASSERT_TRUE(q.ParseFromString(""));
  EXPECT_FALSE(q.has_socket_dir());
  // A present but empty message field is written (tag, length 0).
  ttrpc::Response resp;
  resp.mutable_status();
  EXPECT_EQ(resp.SerializeAsString(), B("\x0a\x00"));
}

TEST(Codec, PackedAndUnpackedRepeatedScalarsBothParse) {
  io::containerd::cgroups::v1::CPUUsage u;
  u.add_per_cpu(1);
  u.add_per_cpu(300);
  EXPECT_EQ(u.SerializeAsString(), B("\x22\x03\x01\xac\x02"));  // packed, as proto3
  io::containerd::cgroups::v1::CPUUsage a;
  ASSERT_TRUE(a.ParseFromString(B("\x20\x01\x20\xac\x02\x22\x01\x05")));
  ASSERT_EQ(a.per_cpu_size(), 3);
  EXPECT_EQ(a.per_cpu(0), 1u);
  EXPECT_EQ(a.per_cpu(1), 300u);
  EXPECT_EQ(a.per_cpu(2), 5u);
  EXPECT_FALSE(a.ParseFromString(B("\x22\x02\x01\xac")));  // truncated inside the run
}

TEST(Codec, MapsAndRepeatedMessages) {
  containerd::types::RuntimeInfo info;
  (*info.mutable_annotations())["b"] = "2";
  (*info.mutable_annotations())["a"] = "";
  reaperref::containerd::types::RuntimeInfo ref;
  (*ref.mutable_annotations())["b"] = "2";
  (*ref.mutable_annotations())["a"] = "";
  CheckBothWays(info, ref, "map");
  // An entry without key or value, one with unknown fields, and a repeated key (last wins).
  std::string in = B("\x2a\x00\x2a\x05\x0a\x01k\x18\x07\x2a\x05\x0a\x01k\x12\x00");
  containerd::types::RuntimeInfo o;
  ASSERT_TRUE(o.ParseFromString(in));
  ASSERT_TRUE(ref.ParseFromString(in));
  EXPECT_EQ(o.annotations().size(), ref.annotations().size());
  EXPECT_EQ(o.annotations().at(""), "");
  EXPECT_EQ(o.annotations().at("k"), "");
  // Two occurrences of a message field merge, like protobuf's.
  std::string twice("\x0a\x02\x08\x05\x0a\x03\x12\x01m", 9);
  ttrpc::Response r;
  ASSERT_TRUE(r.ParseFromString(twice));
  EXPECT_EQ(r.status().code(), 5);
  EXPECT_EQ(r.status().message(), "m");
}

TEST(Codec, UnknownFieldsOfEveryWireTypeAreSkipped) {
  ttrpc::KeyValue kv;
  kv.set_key("k");
  std::string in = kv.SerializeAsString();
  in += B("\xf8\x06\x96\x01");                          // 111: varint
  in += B("\xf9\x06") + std::string(8, '\x01');         // 111: fixed64
  in += B("\xfa\x06\x03xyz");                           // 111: length-delimited
  in += B("\xfd\x06") + std::string(4, '\x02');         // 111: fixed32
  in += B("\xfb\x06\x08\x01\x13\x08\x02\x14\xfc\x06");  // 111: group, nested group 2
  in += B("\x10\x05");                                  // field 2 (value) as a varint
  in += B("\x12\x01v");
  ttrpc::KeyValue o;
  ASSERT_TRUE(o.ParseFromString(in));
  EXPECT_EQ(o.key(), "k");
  EXPECT_EQ(o.value(), "v");
  reaperref::ttrpc::KeyValue ref;
  ASSERT_TRUE(ref.ParseFromString(in));
  EXPECT_EQ(ref.value(), "v");
  // Unknown fields are dropped, not kept.
  EXPECT_EQ(o.SerializeAsString(), B("\x0a\x01k\x12\x01v"));
  // A known field of the wrong wire type is unknown (protobuf does the same).
  containerd::task::v2::CreateTaskRequest c;
  ASSERT_TRUE(c.ParseFromString(B("\x08\x05")));
  EXPECT_EQ(c.id(), "");
}

TEST(Codec, MalformedInputFailsCleanly) {
  const std::string bad[] = {
      B("\x0a"),                                              // tag, no length
      B("\x0a\x05" "abc"),                                    // length beyond the buffer
      B("\x0a\xff\xff\xff\xff\x0f"),                          // huge length
      B("\x08"),                                              // tag, no value (wrong type anyway)
      B("\xff\xff"),                                          // truncated tag varint
      B("\x00\x01"),                                          // field 0
      B("\x0e\x01"),                                          // wire type 6
      B("\x0f\x01"),                                          // wire type 7
      B("\x0c"),                                              // end group without start
      B("\x0b\x14"),                                          // group 1 closed as group 2
      B("\x0b\x08\x01"),                                      // group never closed
      B("\x09\x01\x02\x03"),                                  // truncated fixed64
      B("\x0d\x01\x02"),                                      // truncated fixed32
      B("\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  // 11-byte varint
      B("\x78\x80"),                                          // truncated varint
      B("\x0a\x02\xc3\x28"),                                  // key: invalid UTF-8
      B("\x0a\x03\xed\xa0\x80"),                              // key: a surrogate
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(testing::PrintToString(b));
    ttrpc::KeyValue o;
    EXPECT_FALSE(o.ParseFromString(b));
    reaperref::ttrpc::KeyValue ref;
    EXPECT_FALSE(ref.ParseFromString(b));
  }
  // `bytes` fields take any bytes; `string` fields in nested messages are checked too.
  reaper::wkt::Any any;
  EXPECT_TRUE(any.ParseFromString(B("\x12\x02\xc3\x28")));
  ttrpc::Request r;
  EXPECT_FALSE(r.ParseFromString(B("\x2a\x04\x0a\x02\xc3\x28")));
  // Nested groups beyond the depth limit fail instead of recursing without bound.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += '\x7b';  // start group 15
  EXPECT_FALSE(r.ParseFromString(deep));
  EXPECT_FALSE(r.ParseFromArray("", -1));
}

// Every prefix and many random mutations of full encodings: ours fails exactly when
// libprotobuf fails, and when both succeed they read the same values.
template <class Ours, class Ref>
void Differential(const std::string& good, std::mt19937* rng, int* compared) {
  auto one = [&](const std::string& in) {
    Ours o;
    Ref ref;
    bool ok = o.ParseFromString(in);
    bool ref_ok = ref.ParseFromString(in);
    ASSERT_EQ(ok, ref_ok) << testing::PrintToString(in);
    if (!ok) return;
    Ours via_ref;
    ASSERT_TRUE(via_ref.ParseFromString(Theirs(ref)));
    EXPECT_TRUE(via_ref == o) << testing::PrintToString(in);
    ++*compared;
  };
  for (size_t n = 0; n <= good.size(); ++n) one(good.substr(0, n));
  for (int i = 0; i < 300; ++i) {
    std::string in = good;
    int edits = 1 + static_cast<int>((*rng)() % 3);
    for (int e = 0; e < edits && !in.empty(); ++e) {
      size_t at = (*rng)() % in.size();
      switch ((*rng)() % 3) {
        case 0: in[at] = static_cast<char>((*rng)()); break;
        case 1: in.erase(at, 1); break;
        default: in.insert(at, 1, static_cast<char>((*rng)())); break;
      }
    }
    // libprotobuf accepts a 10th varint byte above 1 (bits beyond 64); we refuse it, like
    // Go's protobuf. Such inputs are not compared.
    bool tenth = false;
    size_t run = 0;
    for (char ch : in) {
      auto c = static_cast<uint8_t>(ch);
      if (run >= 9 && c > 1 && c < 0x80) tenth = true;
      run = (c & 0x80) ? run + 1 : 0;
    }
    if (!tenth) one(in);
  }
}

TEST(Codec, PrefixesAndMutationsAgreeWithLibprotobuf) {
  std::mt19937 rng(18);
  int compared = 0;
#define REAPER_DIFF(O, R, F)                \
  {                                         \
    O o;                                    \
    F(&o, 1, 0);                            \
    Differential<O, R>(o.SerializeAsString(), &rng, &compared); \
  }
  REAPER_CODEC_CASES(REAPER_DIFF)
#undef REAPER_DIFF
  EXPECT_GT(compared, 1000);
}

}  // namespace
