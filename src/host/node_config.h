// Node configuration: /etc/reaper/reaper.toml (or $REAPER_CONFIG in the shim's own
// environment, which is containerd's — a pod can never set it). The file is a small TOML
// subset: `key = value` lines, values are "strings", true/false, integers or ["arrays", "of
// strings"]; `#` comments. Unknown keys and bad values are errors that name the line.
// Every key has a default that works; see docs/configuration.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reaper {

enum class OverlayMode { kNamespace, kNode, kOff };
enum class DnsMode { kHost, kKubernetes };
enum class HostFilesystems { kOverlay, kHide };

struct NodeConfig {
  std::string state_root = "/run/reaper";
  OverlayMode overlay = OverlayMode::kNamespace;
  DnsMode dns = DnsMode::kHost;
  HostFilesystems host_filesystems = HostFilesystems::kOverlay;
  std::vector<std::string> masked_paths;  // defaults from DefaultMaskedPaths()
  std::string cgroup_parent;              // "" = <cgroup2 mount>/reaper, "none" = sessions
  // Policy. Empty: every Kubernetes namespace may run Reaper pods.
  std::vector<std::string> allowed_namespaces;
  // A pod that did not ask for hostNetwork still runs on the host network; "reject" refuses
  // it so that cluster policy tools never see a host-network pod as isolated.
  bool reject_non_host_network = false;
  // Apply the spec's linux.resources (memory, CPU, pids) to the container's cgroups, and
  // Update changes them. Off: accounted, never limited (docs/configuration.md).
  bool enforce_resources = false;
};

std::vector<std::string> DefaultMaskedPaths();

// Pure: parses the file's text on top of the defaults.
Result<NodeConfig> ParseNodeConfig(std::string_view text);
// Reads $REAPER_CONFIG or /etc/reaper/reaper.toml; a missing file gives the defaults.
Result<NodeConfig> LoadNodeConfig();

}  // namespace reaper
