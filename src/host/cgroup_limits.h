// The spec's linux.resources that Reaper applies when the node enables it
// (enforce_resources, docs/configuration.md): memory limit, CPU shares/quota/period, pids
// limit. Blocking writes of cgroupfs files (microseconds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "host/cgroup_stats.h"

namespace reaper {

struct Resources {
  std::optional<int64_t> memory_limit;  // bytes; <= 0 or absent: no limit
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;     // usec per period; <= 0: no limit
  std::optional<uint64_t> cpu_period;   // usec
  std::optional<int64_t> pids_limit;    // <= 0: no limit
  bool empty() const { return !memory_limit && !cpu_shares && !cpu_quota && !cpu_period && !pids_limit; }
};

// An OCI LinuxResources JSON object (config.json's linux.resources, or the value of
// UpdateTaskRequest.resources, which containerd encodes as that JSON). InvalidArgument on bad
// types; fields Reaper does not apply are ignored.
Result<Resources> ParseResources(std::string_view json);

// cpu.shares -> cpu.weight, as the OCI runtimes convert it (2..262144 -> 1..10000).
uint64_t SharesToWeight(uint64_t shares);

Status ApplyResourcesV1(const V1Dirs& dirs, const Resources& r);
Status ApplyResourcesV2(const std::string& dir, const Resources& r);

}  // namespace reaper
