#include "wire/wire.h"

#include "base/paths.h"

namespace reaper::wire {

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutTag(std::string* out, uint32_t field, WireType type) { PutVarint(out, (uint64_t{field} << 3) | type); }

void PutVarintField(std::string* out, uint32_t field, uint64_t v) {
  PutTag(out, field, kVarint);
  PutVarint(out, v);
}

void PutLenField(std::string* out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, kLen);
  PutVarint(out, bytes.size());
  out->append(bytes);
}

bool Reader::ReadVarint(uint64_t* v) {
  uint64_t r = 0;
  for (int i = 0; i < 10; ++i) {
    if (p_ == end_) return false;
    uint8_t b = static_cast<uint8_t>(*p_++);
    if (i == 9 && b > 1) return false;  // bits beyond 64, or an 11th byte
    r |= uint64_t{b & 0x7fu} << (7 * i);
    if (b < 0x80) {
      *v = r;
      return true;
    }
  }
  return false;
}

bool Reader::ReadTag(uint32_t* field, WireType* type) {
  uint64_t t;
  if (!ReadVarint(&t)) return false;
  uint64_t f = t >> 3;
  uint32_t w = static_cast<uint32_t>(t & 7);
  if (f == 0 || f > kMaxFieldNumber || w > kFixed32) return false;
  *field = static_cast<uint32_t>(f);
  *type = static_cast<WireType>(w);
  return true;
}

bool Reader::SkipBytes(size_t n) {
  if (static_cast<size_t>(end_ - p_) < n) return false;
  p_ += n;
  return true;
}

bool Reader::ReadLen(std::string_view* out) {
  uint64_t n;
  if (!ReadVarint(&n)) return false;
  if (n > static_cast<uint64_t>(end_ - p_)) return false;
  *out = std::string_view(p_, static_cast<size_t>(n));
  p_ += n;
  return true;
}

bool Reader::ReadString(std::string* out, bool utf8) {
  std::string_view s;
  if (!ReadLen(&s) || (utf8 && !IsUtf8(s))) return false;
  out->assign(s);
  return true;
}

bool Reader::SkipValue(uint32_t field, WireType type, int depth) {
  uint64_t v64;
  std::string_view s;
  switch (type) {
    case kVarint: return ReadVarint(&v64);
    case kFixed64: return SkipBytes(8);
    case kFixed32: return SkipBytes(4);
    case kLen: return ReadLen(&s);
    case kStartGroup:
      if (depth >= kMaxGroupDepth) return false;
      for (;;) {
        uint32_t f;
        WireType t;
        if (!ReadTag(&f, &t)) return false;
        if (t == kEndGroup) return f == field;
        if (!SkipValue(f, t, depth + 1)) return false;
      }
    case kEndGroup: return false;  // without its start group
  }
  return false;
}

}  // namespace reaper::wire
