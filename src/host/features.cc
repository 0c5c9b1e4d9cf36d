#include "host/features.h"

#include <nlohmann/json.hpp>

namespace reaper {

std::string FeaturesJson(int indent) {
  using nlohmann::json;
  json f = {{"ociVersionMin", "1.0.0"},
            {"ociVersionMax", "1.1.0"},
            {"hooks", json::array()},
            {"mountOptions", {"bind", "rbind", "ro", "rw"}},
            {"linux",
             {{"namespaces", json::array()},
              {"capabilities", json::array()},
              {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
              {"seccomp", {{"enabled", false}}},
              {"apparmor", {{"enabled", false}}},
              {"selinux", {{"enabled", false}}}}},
            {"annotations", {{"io.github.reaper.runtime", "host-process"}}}};
  return f.dump(indent);
}

}  // namespace reaper
