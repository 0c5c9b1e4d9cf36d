// ttrpc v1.1 framing as pure code (docs/protocol.md §1.2–1.4): a 10-byte big-endian header
// (length u32 | stream u32 | type u8 | flags u8) followed by `length` payload bytes.
// No I/O here, so it is unit-tested and fuzzed directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reaper::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxMessageSize = 4u << 20;  // 4 MiB, both directions
inline constexpr uint8_t kTypeRequest = 1;
inline constexpr uint8_t kTypeResponse = 2;

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]);
FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]);
// Header + payload. The caller keeps payload within kMaxMessageSize.
std::string EncodeFrame(uint32_t stream_id, uint8_t type, std::string_view payload);

// Incremental decoder for a byte stream. Feed() what was read, then call Next() until it
// returns nothing. A frame whose length exceeds the limit is reported once as `oversized`
// (header only) and its payload is skipped as it arrives, so memory stays bounded.
class FrameDecoder {
 public:
  struct Frame {
    FrameHeader header;
    std::string payload;
    bool oversized = false;
  };
  explicit FrameDecoder(uint32_t max_size = kMaxMessageSize) : max_(max_size) {}
  void Feed(const char* data, size_t n);
  std::optional<Frame> Next();
  // Bytes held but not yet returned (excludes skipped oversize payload).
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  uint32_t max_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t skip_ = 0;  // payload bytes of an oversized frame still to discard
};

}  // namespace reaper::ttrpc
