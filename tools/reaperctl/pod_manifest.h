// The subset of a Kubernetes Pod manifest (apiVersion v1, kind Pod) that reaperctl runs.
// Parsing is strict: a field reaperctl does not know is an error naming the field
// ("spec.containers[0].ports: unknown field"), so nothing is silently ignored.
// Pure code (unit-tested); throws UsageError.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reaperctl {

struct EnvVar {
  std::string name;
  std::string value;
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  bool read_only = false;
};

struct ContainerSpec {
  std::string name;
  std::string image;              // empty: reaperctl's default image
  std::string image_pull_policy;  // "", Always, IfNotPresent, Never
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::string working_dir;
  bool tty = false;
  bool stdin = false;
  bool stdin_once = false;
  std::vector<VolumeMount> volume_mounts;
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  bool privileged = false;
  // securityContext.capabilities, seccompProfile, readOnlyRootFilesystem,
  // allowPrivilegeEscalation
  std::vector<std::string> cap_add, cap_drop;
  std::string seccomp_type;  // "", RuntimeDefault, Unconfined, Localhost
  std::string seccomp_localhost;
  bool read_only_root = false;
  std::optional<bool> allow_privilege_escalation;
  bool has_resources = false;  // sent to CRI; enforced only where the node sets enforce_resources
  std::optional<int64_t> memory_limit;  // resources.limits.memory, bytes
  std::optional<int64_t> cpu_limit_millis;  // resources.limits.cpu, millicores
};

struct VolumeSpec {
  enum class Kind { kHostPath, kEmptyDir };
  std::string name;
  Kind kind = Kind::kEmptyDir;
  std::string host_path;       // kHostPath
  std::string host_path_type;  // kHostPath: "", Directory, DirectoryOrCreate, File, ...
};

struct PodManifest {
  std::string name;
  std::string ns = "default";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string runtime_class_name;  // empty: reaperctl's default handler
  bool host_network = false;
  std::string restart_policy = "Always";  // Always, OnFailure, Never
  std::optional<int64_t> termination_grace_period;
  std::optional<int64_t> run_as_user;  // spec.securityContext
  std::optional<int64_t> run_as_group;
  std::vector<ContainerSpec> init_containers;
  std::vector<ContainerSpec> containers;
  std::vector<VolumeSpec> volumes;
};

// Parses and validates one Pod document. `source` names the input in messages
// ("pod.yaml: spec.containers[0].name: required").
PodManifest ParsePodManifest(const std::string& yaml_text, const std::string& source);

// Effective user/group of a container (its securityContext, else the pod's).
std::optional<int64_t> EffectiveRunAsUser(const PodManifest& pod, const ContainerSpec& c);
std::optional<int64_t> EffectiveRunAsGroup(const PodManifest& pod, const ContainerSpec& c);

}  // namespace reaperctl
