// The parts of an OCI runtime spec (config.json) and process spec that Reaper honours,
// parsed from JSON as pure code. Validation happens here, before anything touches the system.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "host/security_spec.h"
#include "host/cgroup_limits.h"

namespace reaper {

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  std::string name;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=value", exactly as given
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  bool terminal = false;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::vector<Rlimit> rlimits;
  // process.capabilities; absent: the process keeps the capabilities its uid gives it.
  std::optional<CapabilitySets> capabilities;
};

struct MountSpec {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Spec {
  ProcessSpec process;
  std::vector<MountSpec> mounts;
  std::vector<std::string> namespaces;  // linux.namespaces[].type ("network" = not hostNetwork)
  std::map<std::string, std::string> annotations;
  bool has_process = false;
  std::optional<SeccompSpec> seccomp;       // linux.seccomp; absent = unconfined
  std::vector<std::string> masked_paths;    // linux.maskedPaths
  std::vector<std::string> readonly_paths;  // linux.readonlyPaths
  bool root_readonly = false;               // root.readonly
  std::string cgroups_path;  // linux.cgroupsPath as written (host/cgroup_path.h), "" if none
  Resources resources;       // linux.resources (applied only with enforce_resources)
};

inline constexpr std::string_view kAnnotationContainerType = "io.kubernetes.cri.container-type";
inline constexpr std::string_view kAnnotationSandboxId = "io.kubernetes.cri.sandbox-id";
inline constexpr std::string_view kAnnotationRuncGroup = "io.containerd.runc.v2.group";
inline constexpr std::string_view kAnnotationReaperGroup = "io.containerd.reaper.v2.group";
inline constexpr std::string_view kAnnotationSandboxNamespace = "io.kubernetes.cri.sandbox-namespace";
inline constexpr std::string_view kAnnotationSandboxName = "io.kubernetes.cri.sandbox-name";
inline constexpr std::string_view kAnnotationContainerName = "io.kubernetes.cri.container-name";
// The only pod annotations Reaper honours (docs/configuration.md).
inline constexpr std::string_view kAnnotationOverlayName = "reaper.runtime/overlay-name";
inline constexpr std::string_view kAnnotationDnsMode = "reaper.runtime/dns-mode";

// Parses a whole config.json. A missing `process` is allowed only for sandboxes.
Result<Spec> ParseSpec(std::string_view json);
// Parses an OCI `process` object (ExecProcessRequest.spec, JSON).
Result<ProcessSpec> ParseProcess(std::string_view json);
// Reads <bundle>/config.json and parses it; errors name the file.
Result<Spec> LoadSpec(const std::string& bundle);

bool IsSandbox(const Spec& spec);
// The grouping key for one-shim-per-pod (docs/protocol.md §2.4): group annotations, then the
// CRI sandbox id, then the task id itself.
std::string GroupKey(const std::map<std::string, std::string>& annotations, const std::string& id);

// Value of NAME in a KEY=value list, if present.
std::optional<std::string> EnvLookup(const std::vector<std::string>& env, std::string_view name);

// Container and exec ids become path components: 1..76 chars of [A-Za-z0-9_.-], not starting
// with '.' or '-' (so never "." or ".." and never a flag).
Status ValidateId(std::string_view id, std::string_view what);

}  // namespace reaper
