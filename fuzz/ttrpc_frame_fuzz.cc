// libFuzzer target: the ttrpc frame decoder (src/ttrpc/frame.h) on arbitrary byte streams.
// Input: 1 byte choosing the size limit, then chunk sizes and stream bytes interleaved
// (FuzzedDataProvider). The same stream is decoded in chunks and checked against a plain
// whole-buffer reference decoder: same frames, same oversize reports, same leftover bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ttrpc/frame.h"

namespace {
using reaper::ttrpc::FrameDecoder;
using reaper::ttrpc::FrameHeader;
using reaper::ttrpc::kHeaderSize;

void Check(bool ok) {
  if (!ok) abort();
}

// Reference: the frames in `wire` as the protocol defines them, and the bytes left over.
std::vector<FrameDecoder::Frame> Reference(const std::string& wire, uint32_t max, size_t* left) {
  std::vector<FrameDecoder::Frame> out;
  size_t pos = 0;
  *left = 0;
  while (wire.size() - pos >= kHeaderSize) {
    FrameHeader h = reaper::ttrpc::DecodeHeader(reinterpret_cast<const uint8_t*>(wire.data() + pos));
    pos += kHeaderSize;
    if (h.length > max) {
      out.push_back({h, {}, true});
      if (wire.size() - pos < h.length) return out;  // rest of the stream is skipped payload
      pos += h.length;
      continue;
    }
    if (wire.size() - pos < h.length) {
      pos -= kHeaderSize;
      break;
    }
    out.push_back({h, wire.substr(pos, h.length), false});
    pos += h.length;
  }
  *left = wire.size() - pos;
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr uint32_t kLimits[] = {0, 1, 16, 300, reaper::ttrpc::kMaxMessageSize};
  uint32_t max = in.PickValueInArray(kLimits);
  FrameDecoder dec(max);
  std::string wire;
  std::vector<FrameDecoder::Frame> got;
  while (in.remaining_bytes() > 0) {
    size_t chunk = in.ConsumeIntegralInRange<size_t>(1, 4096);
    std::string bytes = in.ConsumeBytesAsString(chunk);
    wire += bytes;
    dec.Feed(bytes.data(), bytes.size());
    while (auto f = dec.Next()) got.push_back(std::move(*f));
  }
  size_t left = 0;
  auto want = Reference(wire, max, &left);
  Check(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const auto& g = got[i];
    const auto& w = want[i];
    Check(g.oversized == w.oversized);
    Check(g.header.length == w.header.length && g.header.stream_id == w.header.stream_id);
    Check(g.header.type == w.header.type && g.header.flags == w.header.flags);
    Check(g.payload == w.payload);
    Check(g.oversized ? g.payload.empty() && g.header.length > max : g.payload.size() == g.header.length);
    if (!g.oversized) {
      std::string re = reaper::ttrpc::EncodeFrame(g.header.stream_id, g.header.type, g.payload);
      Check(re.size() == kHeaderSize + g.payload.size());
    }
  }
  Check(dec.buffered() == left);
  return 0;
}
