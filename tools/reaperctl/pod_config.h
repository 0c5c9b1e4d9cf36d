// Builds the CRI messages kubelet would send for a Pod manifest. Pure code (unit-tested).
#pragma once

#include <cstdint>
#include <string>

#include "api.pb.h"
#include "pod_manifest.h"

namespace reaperctl {

// kubelet's own label keys (kubelet/types/labels.go); CRI runtimes and tools key on them.
inline constexpr char kLabelPodName[] = "io.kubernetes.pod.name";
inline constexpr char kLabelPodNamespace[] = "io.kubernetes.pod.namespace";
inline constexpr char kLabelPodUid[] = "io.kubernetes.pod.uid";
inline constexpr char kLabelContainerName[] = "io.kubernetes.container.name";
inline constexpr char kAnnoGracePeriod[] = "io.kubernetes.pod.terminationGracePeriod";

// What reaperctl records for its own later commands (logs, exec, attach, rm).
inline constexpr char kLabelManaged[] = "reaperctl.reaper.io/managed";
inline constexpr char kAnnoKind[] = "reaperctl.reaper.io/kind";    // "init" or "app"
inline constexpr char kAnnoIndex[] = "reaperctl.reaper.io/index";  // position in its list
inline constexpr char kAnnoTty[] = "reaperctl.reaper.io/tty";
inline constexpr char kAnnoStdin[] = "reaperctl.reaper.io/stdin";
inline constexpr char kAnnoRestartPolicy[] = "reaperctl.reaper.io/restart-policy";
inline constexpr char kAnnoLogDirectory[] = "reaperctl.reaper.io/log-directory";
inline constexpr char kAnnoVolumeDirectory[] = "reaperctl.reaper.io/volume-directory";

inline constexpr char kDefaultHandler[] = "reaper-v2";
inline constexpr int64_t kDefaultGracePeriod = 30;  // Kubernetes' default

// Node-side choices for one pod.
struct PodPlan {
  std::string uid;               // the Pod's UID (random, as the API server would assign)
  std::string handler;           // CRI runtime handler
  std::string log_directory;     // <log root>/<namespace>_<name>_<uid>
  std::string volume_directory;  // <root>/pods/<uid>/volumes (emptyDir volumes live here)
  std::string default_image;     // for containers without `image:`
};

// kubelet's runtime handler for a pod: runtimeClassName, else reaper-v2.
std::string HandlerFor(const PodManifest& pod);
// The image reference of a container; throws UsageError if it has none and there is no default.
std::string ImageFor(const ContainerSpec& c, const PodPlan& plan);
// Host directory of an emptyDir volume.
std::string EmptyDirPath(const PodPlan& plan, const std::string& volume);
// Host path a volume mount binds.
std::string VolumeHostPath(const PodManifest& pod, const PodPlan& plan, const std::string& volume);

runtime::v1::PodSandboxConfig BuildSandboxConfig(const PodManifest& pod, const PodPlan& plan);

// `index` is the container's position in initContainers or containers.
runtime::v1::ContainerConfig BuildContainerConfig(const PodManifest& pod, const PodPlan& plan,
                                                  const ContainerSpec& c, bool init, int index,
                                                  uint32_t attempt);

}  // namespace reaperctl
