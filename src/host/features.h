// What Reaper supports, as an OCI runtime-spec features document (runtime-spec
// features.md). One document for both binaries: `reaper-runtime features` prints it and
// `containerd-shim-reaper-v2 -info` returns it inside RuntimeInfo.features
// (docs/protocol.md §2.9). Pure; any thread.
#pragma once

#include <string>

namespace reaper {

// The features JSON. `indent` < 0: compact, one line; otherwise pretty-printed with that
// many spaces. No trailing newline.
std::string FeaturesJson(int indent = -1);

}  // namespace reaper
