// Small file helpers on plain syscalls (the shim avoids iostreams: their locale machinery
// costs resident memory in every shim process).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace reaper {

// Whole file (up to `limit` bytes) as a string; errors name the path.
Result<std::string> ReadFile(const std::string& path, size_t limit = 16u << 20);
// Splits on any of the characters in `seps`, dropping empty fields.
std::vector<std::string_view> SplitFields(std::string_view s, std::string_view seps = " \t\n");
// Parses a whole base-10 integer field; false on anything else.
bool ParseInt(std::string_view s, long long* out);

}  // namespace reaper
