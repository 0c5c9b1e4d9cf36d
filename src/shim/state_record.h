// The durable record of one container, kept in its bundle so that the `delete` action can
// clean up after a shim that died (docs/protocol.md §2.8): who to kill (cgroup, or pid + start
// time against pid reuse) and the exit status if the shim saw the exit. Written atomically
// (temp file + rename), mode 0600.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace reaper {

struct StateRecord {
  std::string id;
  pid_t pid = 0;
  unsigned long long start_time = 0;  // /proc/<pid>/stat field 22
  std::string cgroup;                 // absolute path, empty without cgroup tracking
  std::vector<std::string> cgroups_created;  // other cgroup dirs the shim made (v1, parents)
  std::string group;                  // overlay group key the container is registered in
  std::string ns;                     // containerd namespace
  bool exited = false;
  uint32_t exit_status = 0;
  int64_t exited_sec = 0;
  int32_t exited_nsec = 0;
};

inline constexpr const char* kStateRecordName = "reaper-state.json";

// Pure: JSON text <-> record.
std::string EncodeStateRecord(const StateRecord& r);
Result<StateRecord> DecodeStateRecord(const std::string& json);

Status WriteStateRecord(const std::string& bundle, const StateRecord& r);
Result<StateRecord> ReadStateRecord(const std::string& bundle);

}  // namespace reaper
