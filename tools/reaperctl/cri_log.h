// The CRI container log format, as containerd's CRI plugin writes it (protocol.md §5.5):
//   <RFC3339Nano time> <stdout|stderr> <tags> <text>\n
// where tags is "F" (full line) or "P" (partial: the text continues in the next record).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

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
  // Follow mode ends once this returns false (and the file is drained). Called about twice a
  // second while the file is idle.
  std::function<bool()> running;
  int out_fd = 1;
};

// Writes the text of a CRI log file to opts.out_fd. Without follow, a missing file is an
// Error; with follow, reaperctl waits for it to appear while the container runs.
void PrintCriLog(const std::string& path, const LogOptions& opts);

}  // namespace reaperctl
