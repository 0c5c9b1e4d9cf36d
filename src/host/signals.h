// Signal names and numbers as runc's `kill` accepts them: "TERM", "SIGTERM", "15".
#pragma once

#include <string_view>

#include "base/status.h"

namespace reaper {

// InvalidArgument "unknown signal \"X\"" for anything else (or a number outside 1..64).
Result<int> ParseSignal(std::string_view s);

}  // namespace reaper
