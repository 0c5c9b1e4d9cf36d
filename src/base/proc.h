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
// The processes whose session id is `sid` (a scan of all of /proc: command-line tools only).
std::vector<pid_t> PidsInSession(pid_t sid);
// The live processes below `root` in the process tree (children, their children, ...), from
// /proc/<pid>/task/<tid>/children: work bounded by the size of that tree. Nothing if the
// kernel lacks those files (CONFIG_PROC_CHILDREN); `*supported` tells.
std::vector<pid_t> Descendants(pid_t root, bool* supported = nullptr);
// Session id of `pid`, or -1 if it is gone or a zombie.
pid_t SessionOf(pid_t pid);

}  // namespace reaper
