#include "cri_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
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

using Clock = FollowPolicy::Clock;

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// -1 (errno ENOENT) if `missing_ok` and there is no file.
Fd OpenLog(const std::string& path, bool missing_ok) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && !(missing_ok && errno == ENOENT))
    throw Error("cannot open log " + path + ": " + strerror(errno));
  return Fd(fd);
}

FileIdentity Identity(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<uint64_t>(st.st_size)};
}

FileIdentity FdIdentity(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw Error("stat log " + path + ": " + strerror(errno));
  return Identity(st);
}

std::optional<FileIdentity> PathIdentity(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return Identity(st);
}

// pread until `len` bytes or the end of the file; returns the count.
size_t ReadAt(int fd, char* buf, size_t len, uint64_t offset, const std::string& path) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("read log " + path + ": " + strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Reads the file from the cursor to its end, writing the records that completes; true if
// anything was read. The cursor is the only record of the position (pread).
bool Pump(int fd, LogCursor& cursor, const std::string& path, int out_fd) {
  char chunk[65536];
  bool got = false;
  for (;;) {
    size_t n = ReadAt(fd, chunk, sizeof chunk, cursor.read(), path);
    if (n == 0) return got;
    WriteAll(out_fd, cursor.Feed(std::string_view(chunk, n)));
    got = true;
  }
}

// Where the last `n` records of the open file start (0 for n < 0).
uint64_t TailStart(int fd, int64_t n, const std::string& path) {
  TailScanner scan(FdIdentity(fd, path).size, n);
  char block[65536];
  while (!scan.done()) {
    const uint64_t end = scan.next_block_end();
    const size_t len = static_cast<size_t>(std::min<uint64_t>(sizeof block, end));
    if (ReadAt(fd, block, len, end - len, path) != len) return 0;  // shrank meanwhile
    scan.FeedBackwards(std::string_view(block, len));
  }
  return scan.start();
}

// Waits for inotify events until `deadline`; returns the union of their masks (0: timeout).
uint32_t WaitEvents(int ino, Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  pollfd p{ino, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(std::clamp<decltype(left)>(left, 0, 1 << 30)));
  if (r < 0 && errno != EINTR) throw Error(std::string("poll: ") + strerror(errno));
  if (r <= 0) return 0;
  uint32_t mask = 0;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = read(ino, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      mask |= ev->mask;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return mask;
}

std::string Seconds(FollowPolicy::ms d) {
  char b[32];
  snprintf(b, sizeof b, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return b;
}

// What wakes the follower besides new data: the writer closed the file, or it was moved,
// unlinked (ATTRIB: link count) or deleted.
constexpr uint32_t kFileEvents = IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;

class Follower {
 public:
  Follower(const std::string& path, const LogOptions& opts)
      : path_(path), opts_(opts), policy_(opts.policy, Clock::now()) {
    ino_ = Fd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (ino_.get() < 0) throw Error(std::string("inotify: ") + strerror(errno));
  }

  void Run() {
    if (!WaitForFile()) return;
    LogCursor cursor(opts_.tail >= 0 ? TailStart(fd_.get(), opts_.tail, path_) : 0);
    Watch();
    for (;;) {
      if (Pump(fd_.get(), cursor, path_, opts_.out_fd)) policy_.OnLogGrowth(Clock::now());
      bool probed = false;
      auto action = ProbeIfDue(&probed);
      if (action != FollowPolicy::Action::kContinue) {
        Pump(fd_.get(), cursor, path_, opts_.out_fd);  // the rest of the log
        WriteAll(opts_.out_fd, cursor.Finish());
        if (action == FollowPolicy::Action::kGiveUp) GiveUp();
        return;
      }
      if (probed || check_file_) CheckFile(cursor);
      check_file_ = false;
      uint32_t ev = WaitEvents(ino_.get(), policy_.next_probe());
      if (ev & (kFileEvents | IN_IGNORED)) {
        policy_.ProbeSoon(Clock::now());
        check_file_ = true;
      }
    }
  }

 private:
  void Note(const std::string& line) const {
    if (opts_.note) opts_.note(line);
  }

  // Asks the runtime if a probe is due; reports lost and regained connections.
  FollowPolicy::Action ProbeIfDue(bool* probed) {
    if (Clock::now() < policy_.next_probe()) return FollowPolicy::Action::kContinue;
    *probed = true;
    ProbeResult r = opts_.probe();
    auto now = Clock::now();
    auto step = policy_.OnProbe(r, now);
    if (step.change == FollowPolicy::Change::kLost) {
      Note("lost the CRI runtime (" + r.error + "); still following " + path_ +
           ", reconnecting (giving up after " + Seconds(policy_.params().give_up_after) +
           " without an answer or new output)");
    } else if (step.change == FollowPolicy::Change::kRegained) {
      Note("reconnected to the CRI runtime after " +
           Seconds(std::chrono::duration_cast<FollowPolicy::ms>(now - policy_.lost_since())) +
           "; still following " + path_);
    }
    return step.action;
  }

  [[noreturn]] void GiveUp() const {
    auto lost = std::chrono::duration_cast<FollowPolicy::ms>(Clock::now() - policy_.lost_since());
    throw Error("logs -f: stopped following " + opts_.container + ": the CRI runtime has not " +
                "answered for " + Seconds(lost) + " (" + policy_.last_error() +
                ") and the log did not grow for " + Seconds(policy_.params().give_up_after) +
                " (--reconnect-timeout); the container may still be running");
  }

  // Opens the log file, waiting for it while the container runs; false if the container is
  // gone without one.
  bool WaitForFile() {
    fd_ = OpenLog(path_, true);
    if (fd_.get() >= 0) return true;
    const size_t slash = path_.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash);
    // Without a watch (no directory yet) the probe interval still bounds the wait.
    int wd = dir.empty() ? -1
                         : inotify_add_watch(ino_.get(), dir.c_str(),
                                             IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    for (;;) {
      bool probed = false;
      auto action = ProbeIfDue(&probed);
      fd_ = OpenLog(path_, true);
      if (fd_.get() >= 0) break;
      if (action == FollowPolicy::Action::kStop) return false;
      if (action == FollowPolicy::Action::kGiveUp) GiveUp();
      WaitEvents(ino_.get(), policy_.next_probe());
    }
    if (wd >= 0) inotify_rm_watch(ino_.get(), wd);
    return true;
  }

  void Watch() {
    wd_ = inotify_add_watch(ino_.get(), path_.c_str(), IN_MODIFY | kFileEvents);
    if (wd_ < 0) throw Error("inotify " + path_ + ": " + strerror(errno));
  }

  // Rotation and truncation (see CompareLogFile).
  void CheckFile(LogCursor& cursor) {
    switch (CompareLogFile(FdIdentity(fd_.get(), path_), PathIdentity(path_), cursor.read())) {
      case LogFileChange::kSame:
      case LogFileChange::kMissing:
        return;
      case LogFileChange::kTruncated:
        Note("log file " + path_ + " was truncated; reading it from its start");
        cursor.Restart(0);
        return;
      case LogFileChange::kReplaced: {
        Fd next = OpenLog(path_, true);
        if (next.get() < 0) return;  // gone again: keep the open one
        Pump(fd_.get(), cursor, path_, opts_.out_fd);
        WriteAll(opts_.out_fd, cursor.Finish());
        inotify_rm_watch(ino_.get(), wd_);  // may be gone already (IN_IGNORED)
        fd_ = std::move(next);
        cursor.Restart(0);
        Watch();
        Note("log file " + path_ + " was replaced (rotated); following the new one");
        return;
      }
    }
  }

  const std::string& path_;
  const LogOptions& opts_;
  FollowPolicy policy_;
  Fd ino_;
  Fd fd_;
  int wd_ = -1;
  bool check_file_ = false;
};

}  // namespace

void PrintCriLog(const std::string& path, const LogOptions& opts) {
  if (opts.follow) {
    Follower(path, opts).Run();
    return;
  }
  Fd fd = OpenLog(path, false);
  LogCursor cursor(opts.tail >= 0 ? TailStart(fd.get(), opts.tail, path) : 0);
  Pump(fd.get(), cursor, path, opts.out_fd);
  WriteAll(opts.out_fd, cursor.Finish());
}

}  // namespace reaperctl
