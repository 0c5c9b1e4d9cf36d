#include "cri_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "terminal.h"

namespace reaperctl {

std::optional<CriLogRecord> ParseCriLogRecord(std::string_view line) {
  CriLogRecord r;
  size_t a = line.find(' ');
  if (a == std::string_view::npos || a == 0) return std::nullopt;
  r.time = line.substr(0, a);
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  r.stream = line.substr(a + 1, b - a - 1);
  if (r.stream != "stdout" && r.stream != "stderr") return std::nullopt;
  size_t c = line.find(' ', b + 1);
  std::string_view tags;
  if (c == std::string_view::npos) {  // an empty full line may lose its separator
    tags = line.substr(b + 1);
    r.text = {};
  } else {
    tags = line.substr(b + 1, c - b - 1);
    r.text = line.substr(c + 1);
  }
  // Tags are ':'-separated; "P" marks a partial record.
  r.partial = false;
  bool any = false;
  size_t pos = 0;
  while (pos <= tags.size()) {
    size_t e = tags.find(':', pos);
    if (e == std::string_view::npos) e = tags.size();
    std::string_view t = tags.substr(pos, e - pos);
    if (t == "P") r.partial = true;
    else if (t != "F") return std::nullopt;
    any = true;
    pos = e + 1;
  }
  if (!any) return std::nullopt;
  return r;
}

void DecodeCriLog(std::string& buf, std::string& out) {
  size_t start = 0;
  for (;;) {
    size_t nl = buf.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buf.data() + start, nl - start);
    if (auto r = ParseCriLogRecord(line)) {
      out.append(r->text);
      if (!r->partial) out.push_back('\n');
    } else {
      out.append(line);
      out.push_back('\n');
    }
    start = nl + 1;
  }
  buf.erase(0, start);
}

namespace {

// Reads what is there; returns false at EOF with nothing read.
bool ReadSome(int fd, std::string& buf) {
  char chunk[65536];
  bool got = false;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(std::string("read log: ") + strerror(errno));
    if (n == 0) return got;
    buf.append(chunk, static_cast<size_t>(n));
    got = true;
  }
}

void Flush(int out_fd, std::string& buf) {
  std::string text;
  DecodeCriLog(buf, text);
  WriteAll(out_fd, text);
}

}  // namespace

void PrintCriLog(const std::string& path, const LogOptions& opts) {
  int fd = -1;
  int ino = -1;
  if (opts.follow) {
    ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ino < 0) throw Error(std::string("inotify: ") + strerror(errno));
  }
  struct Closer {
    int& a;
    int& b;
    ~Closer() {
      if (a >= 0) close(a);
      if (b >= 0) close(b);
    }
  } closer{fd, ino};

  auto wait_idle = [&](int ms) {
    pollfd p{ino, POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r > 0) {
      char ev[4096];
      while (read(ino, ev, sizeof ev) > 0) {
      }
    }
  };

  // Wait for the file to exist (a container that has not started yet has none).
  while ((fd = open(path.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    if (errno != ENOENT || !opts.follow)
      throw Error("cannot open log " + path + ": " + strerror(errno));
    if (!opts.running()) return;
    wait_idle(200);
  }
  if (opts.follow && inotify_add_watch(ino, path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0)
    throw Error("inotify " + path + ": " + strerror(errno));

  std::string buf;
  for (;;) {
    ReadSome(fd, buf);
    Flush(opts.out_fd, buf);
    if (!opts.follow) break;
    if (!opts.running()) {  // the runtime finishes the log before reporting the exit
      ReadSome(fd, buf);
      Flush(opts.out_fd, buf);
      break;
    }
    wait_idle(500);
  }
  if (!buf.empty()) {  // a last record without its newline
    buf.push_back('\n');
    Flush(opts.out_fd, buf);
  }
}

}  // namespace reaperctl
