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
  // Each group gets a private /proc mounted with hidepid=invisible: a non-root pod sees only
  // its own uid's processes (not their command lines, environments or roots).
  bool proc_hidepid = false;
  // Bytes each group may write: its upper/work dirs live on a tmpfs of this size inside the
  // group's mount namespace (freed with it). 0: unlimited, on state_root's filesystem.
  unsigned long long overlay_size = 0;
  // A group nobody uses is removed after this many seconds (by any live shim, or
  // `reaper-overlay gc`). 0: never.
  long long group_idle_timeout_s = 0;
  // Every pod gets full root, as the original Reaper: the spec's capability sets, seccomp
  // profile and masked/read-only paths are ignored (docs/security.md). Default: the spec's.
  bool full_privileges = false;
  // Apply the spec's linux.resources (memory, CPU, pids) to the container's cgroups, and
  // Update changes them. Off: accounted, never limited (docs/configuration.md).
  bool enforce_resources = false;
  // Children are born in their cgroup with clone3(CLONE_INTO_CGROUP) where the kernel takes
  // it. false: always fork, and the child moves itself into its cgroup as its first step (the
  // migration costs 5-15 ms per start, docs/design.md "Tracking"). An
  // escape hatch for kernels whose clone3 misbehaves, and the "before" of bench/timeline.sh.
  bool clone_into_cgroup = true;
};

std::vector<std::string> DefaultMaskedPaths();

// Pure: "<n>", "<n>Ki|Mi|Gi|Ti" (powers of 1024) -> bytes; false on anything else.
bool ParseSize(std::string_view s, unsigned long long* out);
// Pure: "<n>", "<n>s|m|h|d" -> seconds; false on anything else.
bool ParseDuration(std::string_view s, long long* out);

// Pure: parses the file's text on top of the defaults.
Result<NodeConfig> ParseNodeConfig(std::string_view text);
// Reads $REAPER_CONFIG or /etc/reaper/reaper.toml; a missing file gives the defaults.
Result<NodeConfig> LoadNodeConfig();

}  // namespace reaper
