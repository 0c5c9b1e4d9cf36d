// libFuzzer target: bytes -> every message type of proto/*.proto (tools/protogen, src/wire).
// The first byte picks the type (in the order of codec_fill.h's list), the rest is decoded.
// Checks: decoding never reads outside the input or crashes (ASan, UBSan) and, when it
// succeeds, encoding the message and decoding that gives the same message, whose encoding is
// the same bytes again (a fixed point).
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "bootstrap.pb.h"
#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "codec_fill.h"
#include "events.pb.h"
#include "introspection.pb.h"
#include "task.pb.h"
#include "ttrpc.pb.h"
#include "wkt.pb.h"

namespace {

void Check(bool ok) {
  if (!ok) abort();
}

template <class M>
void RoundTrip(std::string_view in) {
  M m;
  if (!m.ParseFromString(in)) return;
  std::string a = m.SerializeAsString();
  M back;
  Check(back.ParseFromString(a));
  Check(back == m);
  Check(back.SerializeAsString() == a);
}

using RoundTripFn = void (*)(std::string_view);
#define REAPER_ENTRY(O, R, F) &RoundTrip<O>,
constexpr RoundTripFn kTypes[] = {REAPER_CODEC_CASES(REAPER_ENTRY)};
#undef REAPER_ENTRY

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  kTypes[data[0] % std::size(kTypes)](std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
