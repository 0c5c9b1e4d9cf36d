// The protobuf wire format (proto3), for the message code tools/protogen/protogen.py generates
// from proto/*.proto (docs/design.md "Our own message code").
//
// Contracts:
// - Writers append to a std::string and never fail. Values are written the way protoc's C++
//   code writes them: negative int32/int64/enum values as 10-byte varints, bool as 0/1,
//   length-delimited fields with a varint length.
// - Reader never reads outside the buffer it was given. Every Read*/Skip returns false on
//   malformed input and then the caller stops: a truncated value, a varint longer than 10
//   bytes (or whose 10th byte carries bits beyond 64), a field number of 0 or above 2^29-1,
//   wire types 6 and 7, a length beyond the rest of the buffer, an end-group tag without its
//   start, groups nested deeper than kMaxGroupDepth.
// - Unknown fields, of every wire type (groups included), are skipped, not kept: a message
//   parsed and serialized again drops them. A known field that arrives with another wire
//   type than its declared one is treated as unknown (protobuf does the same), except that
//   a repeated scalar field accepts both its packed and unpacked encodings.
// - `string` fields must hold well-formed UTF-8 on parse (protobuf's proto3 rule: the parse
//   fails otherwise); `bytes` fields are not checked. Nothing is checked on serialize.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace reaper::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

inline constexpr uint32_t kMaxFieldNumber = (1u << 29) - 1;
inline constexpr int kMaxGroupDepth = 100;

void PutVarint(std::string* out, uint64_t v);
void PutTag(std::string* out, uint32_t field, WireType type);
// A varint field (int32/int64/enum values sign-extended to 64 bits by the caller).
void PutVarintField(std::string* out, uint32_t field, uint64_t v);
// A length-delimited field: tag, length, bytes.
void PutLenField(std::string* out, uint32_t field, std::string_view bytes);

class Reader {
 public:
  explicit Reader(std::string_view buf) : p_(buf.data()), end_(buf.data() + buf.size()) {}
  bool done() const { return p_ == end_; }
  bool ReadTag(uint32_t* field, WireType* type);
  bool ReadVarint(uint64_t* v);
  // A length-delimited value; `out` views into the buffer.
  bool ReadLen(std::string_view* out);
  // A length-delimited value copied into `out`; `utf8` checks it (a `string` field).
  bool ReadString(std::string* out, bool utf8);
  // Skips the value of a field whose tag was just read.
  bool Skip(uint32_t field, WireType type) { return SkipValue(field, type, 0); }

 private:
  bool SkipValue(uint32_t field, WireType type, int depth);
  bool SkipBytes(size_t n);
  const char* p_;
  const char* end_;
};

// Reads a packed run of varints (the value of a packed repeated field); calls add(v) for each.
template <typename Add>
bool ReadPackedVarints(std::string_view bytes, Add add) {
  Reader r(bytes);
  while (!r.done()) {
    uint64_t v;
    if (!r.ReadVarint(&v)) return false;
    add(v);
  }
  return true;
}

}  // namespace reaper::wire
