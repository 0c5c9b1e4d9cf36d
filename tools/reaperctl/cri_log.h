// The CRI container log format, as containerd's CRI plugin writes it for kubelet:
//   <RFC3339Nano time> <stdout|stderr> <tags> <text>\n
// where tags is "F" (full line) or "P" (partial: the text continues in the next record).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "log_follow.h"

namespace reaperctl {

struct CriLogRecord {
  std::string_view time;
  std::string_view stream;  // "stdout" or "stderr"
  bool partial = false;
  std::string_view text;    // without the newline
};

// Pure: parses one record (without its trailing '\n'); nullopt if malformed.
std::optional<CriLogRecord> ParseCriLogRecord(std::string_view line);

// Pure: turns complete records in `buf` into the text the container wrote (a '\n' after each
// full record), appends it to `out`, and erases the consumed bytes from `buf` (an unfinished
// last line stays). Malformed records are passed through as they are.
void DecodeCriLog(std::string& buf, std::string& out);

struct LogOptions {
  bool follow = false;
  // Only the last `tail` records (-1: all), as kubectl's --tail.
  int64_t tail = -1;
  // Follow mode: asks the runtime about the container. May block (up to its own deadline);
  // the file is not read meanwhile, nothing is lost.
  std::function<ProbeResult()> probe;
  FollowPolicy::Params policy;
  // Progress lines about the runtime connection and the file (for stderr); may be empty.
  std::function<void(const std::string&)> note;
  std::string container = "container";  // for messages
  int out_fd = 1;
};

// Writes the text of a CRI log file to opts.out_fd. A missing file is an Error, unless
// following: then reaperctl waits for it while the container runs.
//
// Following (what `logs -f` promises, README.md): the file stays open and is read on as it
// grows (inotify), whatever happens to the runtime; every record is written exactly once.
// It ends when a probe says the container exited or was removed, after the file is read to
// its end (the runtime finishes a container's log before it reports the exit), and returns.
// While the runtime does not answer, it keeps following and retries (FollowPolicy); when it
// gives up it writes out what the file holds and throws Error (exit 125) saying so. A log
// file that is replaced at its path (rotation) is read to its end, then the new one from its
// start; a truncated one is read again from its start.
// Single-threaded; blocks until the end.
void PrintCriLog(const std::string& path, const LogOptions& opts);

}  // namespace reaperctl
