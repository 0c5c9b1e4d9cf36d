// SHA-256 (FIPS 180-4), used only to name shim sockets the way containerd does.
#pragma once

#include <string>
#include <string_view>

namespace reaper {

// Lowercase hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace reaper
