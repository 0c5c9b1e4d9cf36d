// Logging in logrus' text format (time="…" level=… msg="…" key=value), the format containerd
// copies from a shim's `log` FIFO into its own log. One write(2) per line to fd 2; a full or
// reader-less FIFO drops the line (EAGAIN/EPIPE) instead of blocking the event loop.
// Thread-compatible (the shim is single-threaded).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace reaper::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetLevel(Level level);
// Whether a line of `level` would be written (to skip building the fields of a debug line).
bool Enabled(Level level);
// The current UTC time as RFC 3339 with nanoseconds ("2026-01-02T03:04:05.123456789Z").
std::string NowRfc3339();
// Pure: seconds since the epoch (UTC) and nanoseconds as RFC 3339, without the time-zone
// database.
std::string FormatUtc(int64_t sec, long nsec);
// Fields are appended as key=value (quoted when needed).
void Write(Level level, std::string_view msg,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

inline void Debug(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string_view>> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string_view>> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string_view>> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string_view>> f = {}) { Write(Level::kError, m, f); }

// Pure: formats one line (with trailing newline). `time` is RFC 3339 with nanoseconds.
std::string FormatLine(std::string_view time, Level level, std::string_view msg,
                       std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
// Quotes a value as logrus does when it contains spaces, quotes or control characters.
std::string QuoteIfNeeded(std::string_view v);

}  // namespace reaper::log
