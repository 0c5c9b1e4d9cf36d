// libFuzzer target: the OCI spec parsers (src/host/oci_spec.h). Input: 1 byte selecting
// ParseSpec (config.json) or ParseProcess (ExecProcessRequest.spec), then the JSON text.
// A successful parse must give values the rest of the shim relies on.
#include <cstdlib>
#include <string_view>

#include "host/oci_spec.h"

namespace {
void Check(bool ok) {
  if (!ok) abort();
}
void CheckProcess(const reaper::ProcessSpec& p) {
  for (const auto& r : p.rlimits) Check(!r.name.empty());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto p = reaper::ParseProcess(json);
    if (p.ok()) CheckProcess(*p);
    else Check(!p.status().message().empty());
    return 0;
  }
  auto s = reaper::ParseSpec(json);
  if (!s.ok()) {
    Check(!s.status().message().empty());
    return 0;
  }
  if (s->has_process) CheckProcess(s->process);
  (void)reaper::IsSandbox(*s);
  (void)reaper::GroupKey(s->annotations, "fuzz");
  (void)reaper::EnvLookup(s->process.env, "PATH");
  return 0;
}
