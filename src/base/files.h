// Small file helpers on plain syscalls (the shim avoids iostreams: their locale machinery
// costs resident memory in every shim process). Any thread; nothing here keeps state.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reaper {

// Whole file (up to `limit` bytes) as a string; errors name the path. Blocks on the read.
Result<std::string> ReadFile(const std::string& path, size_t limit = 16u << 20);
// Writes `data` to `path` atomically: `path`.tmp (0600, created afresh, never followed if it
// is a symlink), fsync-free write, then rename(2). A failure leaves `path` as it was.
Status WriteFileAtomic(const std::string& path, const std::string& data);
// mkdir -p: creates every missing component of the absolute `path` with `mode`.
Status MkdirAll(const std::string& path, mode_t mode = 0755);
// Splits on any of the characters in `seps`, dropping empty fields.
std::vector<std::string_view> SplitFields(std::string_view s, std::string_view seps = " \t\n");
// Parses a whole base-10 integer field (no sign for the unsigned form); false on anything
// else: empty, "3abc", " 3", overflow.
bool ParseInt(std::string_view s, long long* out);
bool ParseUint(std::string_view s, unsigned long long* out);

}  // namespace reaper
