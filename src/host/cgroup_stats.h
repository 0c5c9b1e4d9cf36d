// Resource usage of one container's cgroups, read from cgroupfs files (docs/protocol.md
// "Stats"). Plain numbers: the shim turns them into containerd's cgroups v1 or v2 Metrics.
// Blocking reads of small pseudo-files (microseconds; the kernel computes them on read).
// Every reader takes directories, so tests run them over a fake tree in a temp dir.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace reaper {

inline constexpr uint64_t kNoLimit = UINT64_MAX;

struct IoDeviceStats {
  uint64_t major = 0, minor = 0;
  uint64_t read_bytes = 0, write_bytes = 0, read_ios = 0, write_ios = 0;
};

struct CgroupStats {
  // CPU, nanoseconds (v1 cpuacct; v2 cpu.stat usec * 1000).
  uint64_t cpu_total_ns = 0, cpu_user_ns = 0, cpu_kernel_ns = 0;
  std::vector<uint64_t> cpu_per_cpu_ns;
  uint64_t cpu_periods = 0, cpu_throttled_periods = 0, cpu_throttled_ns = 0;
  // Memory, bytes. `stat` holds memory.stat as it is (v1: rss, cache, total_inactive_file, ...;
  // v2: anon, file, inactive_file, ...).
  uint64_t memory_usage = 0, memory_max_usage = 0, memory_limit = kNoLimit, memory_failcnt = 0;
  uint64_t swap_usage = 0, swap_limit = kNoLimit;
  std::map<std::string, uint64_t> memory_stat;
  uint64_t oom_kills = 0;  // v1 memory.oom_control oom_kill, v2 memory.events oom_kill
  bool under_oom = false;
  uint64_t pids_current = 0, pids_limit = 0;  // limit 0: none
  std::vector<IoDeviceStats> io;
  bool has_memory = false, has_cpu = false, has_pids = false, has_io = false;

  uint64_t Stat(const std::string& key) const {
    auto it = memory_stat.find(key);
    return it == memory_stat.end() ? 0 : it->second;
  }
  // usage - inactive file, as the kubelet computes it (never below 0).
  uint64_t WorkingSet(bool v1) const;
};

// The v1 controller directories of one container ("" where a controller is not mounted).
struct V1Dirs {
  std::string memory, cpu, cpuacct, pids, blkio;
};

CgroupStats ReadStatsV1(const V1Dirs& dirs);
// A cgroup2 directory with the controllers enabled (pure v2 node).
CgroupStats ReadStatsV2(const std::string& dir);

// Pure parsers, exposed for the tests.
std::map<std::string, uint64_t> ParseFlatKeyed(const std::string& text);  // "key value\n"...
// "max" -> kNoLimit, a number -> itself; false when neither.
bool ParseLimit(const std::string& text, uint64_t* out);

}  // namespace reaper
