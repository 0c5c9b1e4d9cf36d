// libFuzzer target: the node config parser (src/host/node_config.h ParseNodeConfig), the TOML
// subset of /etc/reaper/reaper.toml. Errors must carry a message.
#include <cstdlib>
#include <string_view>

#include "host/node_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto cfg = reaper::ParseNodeConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!cfg.ok() && cfg.status().message().empty()) abort();
  return 0;
}
