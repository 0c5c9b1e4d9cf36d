// Pure path arithmetic on slash-separated strings (no filesystem access).
#pragma once

#include <string>
#include <string_view>

namespace reaper {

// Go's path.Clean for absolute and relative slash paths.
std::string CleanPath(std::string_view p);
// True for "/", or an absolute path that CleanPath leaves unchanged.
bool IsCleanAbsolute(std::string_view p);
// True if `path` is `dir` or lies below it (both clean and absolute).
bool PathUnder(std::string_view path, std::string_view dir);
// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsUtf8(std::string_view s);

}  // namespace reaper
