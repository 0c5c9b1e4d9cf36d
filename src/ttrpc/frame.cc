#include "ttrpc/frame.h"

#include <algorithm>

namespace reaper::ttrpc {
namespace {
void PutU32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
}  // namespace

void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  PutU32(out, h.length);
  PutU32(out + 4, h.stream_id);
  out[8] = h.type;
  out[9] = h.flags;
}

FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]) {
  return FrameHeader{GetU32(in), GetU32(in + 4), in[8], in[9]};
}

std::string EncodeFrame(uint32_t stream_id, uint8_t type, std::string_view payload) {
  std::string out(kHeaderSize + payload.size(), '\0');
  EncodeHeader(FrameHeader{static_cast<uint32_t>(payload.size()), stream_id, type, 0},
               reinterpret_cast<uint8_t*>(out.data()));
  std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
  return out;
}

void FrameDecoder::Feed(const char* data, size_t n) {
  if (skip_ > 0) {
    size_t s = static_cast<size_t>(std::min<uint64_t>(skip_, n));
    skip_ -= s;
    data += s;
    n -= s;
  }
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<FrameDecoder::Frame> FrameDecoder::Next() {
  if (skip_ > 0) return std::nullopt;
  if (buf_.size() - pos_ < kHeaderSize) return std::nullopt;
  FrameHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(buf_.data() + pos_));
  if (h.length > max_) {
    pos_ += kHeaderSize;
    size_t avail = buf_.size() - pos_;
    size_t s = std::min<uint64_t>(avail, h.length);
    pos_ += s;
    skip_ = h.length - s;
    if (skip_ == 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return Frame{h, {}, true};
  }
  if (buf_.size() - pos_ - kHeaderSize < h.length) return std::nullopt;
  Frame f{h, buf_.substr(pos_ + kHeaderSize, h.length), false};
  pos_ += kHeaderSize + h.length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (64u << 10)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return f;
}

}  // namespace reaper::ttrpc
