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

std::string NowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900, t.tm_mon + 1,
           t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

void SetLevel(Level level) { g_level = level; }

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
