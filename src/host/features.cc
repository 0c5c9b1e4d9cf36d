#include "host/features.h"

#include <nlohmann/json.hpp>

#include "host/seccomp.h"
#include "host/security_spec.h"

namespace reaper {

std::string FeaturesJson(int indent) {
  using nlohmann::json;
  json seccomp = {{"enabled", true},
                  {"actions", SeccompActions()},
                  {"operators", SeccompOperators()},
                  {"archs", SeccompSupportedArchitectures()},
                  {"knownFlags", SeccompFlags()},
                  {"supportedFlags", SeccompFlags()}};
  json f = {{"ociVersionMin", "1.0.0"},
            {"ociVersionMax", "1.1.0"},
            {"hooks", json::array()},
            {"mountOptions", {"bind", "rbind", "ro", "rw"}},
            {"linux",
             {{"namespaces", json::array()},
              {"capabilities", CapabilityNames()},
              {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
              {"seccomp", seccomp},
              {"apparmor", {{"enabled", false}}},
              {"selinux", {{"enabled", false}}}}},
            {"annotations", {{"io.github.reaper.runtime", "host-process"}}}};
  return f.dump(indent);
}

}  // namespace reaper
