// libFuzzer target: reaperctl's Pod manifest parser (tools/reaperctl/pod_manifest.h, on
// yaml-cpp). Bad input must end in UsageError (the message reaperctl prints), never in
// another exception or a crash.
#include <cstdlib>
#include <string>

#include "errors.h"
#include "pod_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto pod = reaperctl::ParsePodManifest(text, "fuzz.yaml");
    for (const auto& c : pod.containers) {
      (void)reaperctl::EffectiveRunAsUser(pod, c);
      (void)reaperctl::EffectiveRunAsGroup(pod, c);
    }
  } catch (const reaperctl::UsageError& e) {
    if (std::string(e.what()).empty()) abort();
  }
  return 0;
}
