#include "base/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace reaper::log {
namespace {
Level g_level = Level::kInfo;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

std::string FormatUtc(int64_t sec, long nsec) {
  // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days). glibc's
  // gmtime_r would load the time-zone database (/etc/localtime) on first use although UTC
  // needs none (docs/benchmarks.md "Shim timeline").
  int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
  int64_t rem = sec - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  char buf[64];
  snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", static_cast<long long>(year),
           static_cast<long long>(month), static_cast<long long>(day), static_cast<long long>(rem / 3600),
           static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60), nsec);
  return buf;
}

std::string NowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return FormatUtc(ts.tv_sec, ts.tv_nsec);
}

void SetLevel(Level level) { g_level = level; }
bool Enabled(Level level) { return level >= g_level; }

std::string QuoteIfNeeded(std::string_view v) {
  bool needs = v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) needs = true;
  }
  if (!needs) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < ' ' || c == 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string FormatLine(std::string_view time, Level level, std::string_view msg,
                       std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string line = "time=\"";
  line += time;
  line += "\" level=";
  line += LevelName(level);
  line += " msg=";
  line += QuoteIfNeeded(msg);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += QuoteIfNeeded(v);
  }
  line += '\n';
  return line;
}

void Write(Level level, std::string_view msg,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  if (level < g_level) return;
  std::string line = FormatLine(NowRfc3339(), level, msg, fields);
  ssize_t r = ::write(2, line.data(), line.size());
  (void)r;  // EAGAIN (full FIFO) or EPIPE (containerd down): the line is dropped by design.
}

}  // namespace reaper::log
