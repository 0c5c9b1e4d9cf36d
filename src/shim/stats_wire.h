// CgroupStats (host/cgroup_stats.h) as the Any containerd expects in a StatsResponse: an
// io.containerd.cgroups.v1.Metrics on hybrid/v1 nodes, io.containerd.cgroups.v2.Metrics on
// pure v2 nodes, as runc's shim sends (docs/protocol.md "Stats"). Pure.
#pragma once

#include <string>

#include "host/cgroup_stats.h"

namespace reaper {

inline constexpr const char* kMetricsV1Type = "io.containerd.cgroups.v1.Metrics";
inline constexpr const char* kMetricsV2Type = "io.containerd.cgroups.v2.Metrics";

// The serialized StatsResponse.
std::string EncodeStatsResponse(const CgroupStats& s, bool v1);

}  // namespace reaper
