// Where a container's cgroups live (docs/design.md "Tracking every process"): the spec's
// linux.cgroupsPath in either form kubelet writes, and the node's cgroup hierarchies (pure
// cgroup v2, or v1 controllers plus an empty cgroup2 on hybrid nodes). Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reaper {

// linux.cgroupsPath as a path relative to a hierarchy's root (no leading '/'):
//  * cgroupfs form "/kubepods/burstable/pod<uid>/<id>" -> "kubepods/burstable/pod<uid>/<id>";
//    a relative path is taken as it is;
//  * systemd form "slice:prefix:name" -> "<slice path>/<prefix>-<name>.scope", where
//    "kubepods-burstable-pod1.slice" expands to
//    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice", an empty slice
//    is "system.slice", "-.slice" is the root, and a name ending in ".slice" is used as it is.
// InvalidArgument for "..", empty components, a malformed slice or a wrong number of fields.
Result<std::string> CgroupRelativePath(std::string_view cgroups_path);

// The systemd slice name expanded into its path ("a-b.slice" -> "a.slice/a-b.slice").
Result<std::string> ExpandSlice(std::string_view slice);

// The v1 controllers Reaper places processes in (accounting, and limits when enforced).
inline constexpr const char* kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids", "blkio"};

struct CgroupMounts {
  std::optional<std::string> unified;  // the cgroup2 mount
  struct V1 {
    std::string controller;  // one of kV1Controllers
    std::string mount;       // its hierarchy's mount point ("cpu,cpuacct" share one)
  };
  std::vector<V1> v1;
  // No v1 controller of ours is mounted: the cgroup2 hierarchy holds the controllers.
  bool pure_v2() const { return v1.empty(); }
  // Mount point of a v1 controller, or "".
  std::string V1Mount(std::string_view controller) const;
};

// Pure: the hierarchies in a /proc/self/mountinfo text (the first mount of each).
CgroupMounts ParseCgroupMounts(std::string_view mountinfo);
// Reads /proc/self/mountinfo.
CgroupMounts HostCgroupMounts();

}  // namespace reaper
