// Facts about other processes from /proc (blocking reads of small files; callers on the
// shim's event loop use them only for bounded work: one process, or one session scan).
#pragma once

#include <sys/types.h>

#include <vector>

namespace reaper {

// Start time (clock ticks since boot, /proc/<pid>/stat field 22), 0 if the process is gone.
unsigned long long ProcessStartTime(pid_t pid);
// True if `pid` runs (not a zombie) and, when start_time != 0, is the same process.
bool ProcessAlive(pid_t pid, unsigned long long start_time);
// The processes whose session id is `sid` (a scan of /proc; the fallback when a container
// has no cgroup).
std::vector<pid_t> PidsInSession(pid_t sid);

}  // namespace reaper
