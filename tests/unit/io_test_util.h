// Helpers of the I/O-layer unit tests (tests/unit/io_*_test.cc): drive a Reactor until a
// condition holds (with a deadline), measure the loop thread's CPU, feed and drain fds on the
// loop, pipes, FIFOs and raw PTYs. Test code only; single-threaded like the shim.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "base/reactor.h"
#include "base/unique_fd.h"
#include "host/pty.h"
#include "temp_dir.h"

namespace reaper::testing {

using namespace std::chrono_literals;

// Runs `r` until `done()` holds (checked once a millisecond on the loop) or `timeout` passes.
// Returns whether `done()` held.
inline bool RunUntil(Reactor& r, const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
  if (done()) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Reactor::TimerId id = 0;
  std::function<void()> check = [&] {
    id = 0;
    if (done() || std::chrono::steady_clock::now() >= deadline) return r.Stop();
    id = r.AddTimer(1ms, check);
  };
  id = r.AddTimer(1ms, check);
  (void)r.Run();
  if (id) r.CancelTimer(id);
  return done();
}

// Runs `r` for `window` (a measurement window, not a synchronisation).
inline void RunFor(Reactor& r, std::chrono::milliseconds window) {
  Reactor::TimerId id = r.AddTimer(window, [&r] { r.Stop(); });
  (void)r.Run();
  r.CancelTimer(id);
}

// CPU time (user + system) the calling thread has used.
inline std::chrono::microseconds ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::microseconds(ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
}

// CPU the loop uses while `r` runs for `window`.
inline std::chrono::microseconds LoopCpuOver(Reactor& r, std::chrono::milliseconds window) {
  auto before = ThreadCpu();
  RunFor(r, window);
  return ThreadCpu() - before;
}

inline void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Pipe {
  UniqueFd r, w;
};
inline Pipe MakePipe() {
  int fds[2] = {-1, -1};
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) abort();
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

inline UniqueFd Dup(int fd) { return UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

// Bytes waiting to be read in a pipe, FIFO, socket or tty (-1 on error).
inline int Pending(int fd) {
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

// Whether `fd` could take bytes now (poll, no wait). A pipe is full when its slots are, which
// may be with fewer bytes than its capacity; a terminal when its input queue is.
inline bool Writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

// A PTY whose slave is raw (no echo, no line editing, no CR/LF mapping): bytes pass unchanged.
inline Pty RawPty() {
  auto p = OpenPty();
  if (!p.ok()) abort();
  termios t{};
  tcgetattr(p->slave.get(), &t);
  cfmakeraw(&t);
  tcsetattr(p->slave.get(), TCSANOW, &t);
  return std::move(*p);
}

// Deterministic test bytes (not periodic at any power of two).
inline std::string Pattern(size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 131 + i / 4093 + seed) % 26);
  return s;
}

// Writes `data` into `fd` whenever it is writable, on the loop; closes it when all is written
// if `close_at_end`.
class Feed {
 public:
  Feed(Reactor& r, UniqueFd fd, std::string data, bool close_at_end = true)
      : r_(r), fd_(std::move(fd)), data_(std::move(data)), close_at_end_(close_at_end) {
    SetNonBlocking(fd_.get());
    if (!r_.Add(fd_.get(), EPOLLOUT, [this](uint32_t) { OnWritable(); }).ok()) abort();
  }
  ~Feed() { Stop(); }
  size_t written() const { return off_; }
  bool finished() const { return off_ == data_.size(); }
  // More to write and the fd takes nothing now: the writer is held up.
  bool blocked() const { return fd_.valid() && !finished() && !Writable(fd_.get()); }
  int error() const { return error_; }
  // Closes the fd now (a writer that goes away).
  void Stop() {
    if (!fd_) return;
    r_.Remove(fd_.get());
    fd_.reset();
  }

 private:
  void OnWritable() {
    while (off_ < data_.size()) {
      ssize_t n = write(fd_.get(), data_.data() + off_, data_.size() - off_);
      if (n > 0) {
        off_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EAGAIN) return;
      error_ = errno;
      return Stop();
    }
    if (close_at_end_) {
      Stop();
    } else {
      r_.Remove(fd_.get());  // keep the fd open (a writer that stays), stop watching it
    }
  }

  Reactor& r_;
  UniqueFd fd_;
  std::string data_;
  size_t off_ = 0;
  bool close_at_end_;
  int error_ = 0;
};

// Reads everything `fd` delivers, on the loop, until EOF (EIO of a PTY counts as EOF).
class Drain {
 public:
  Drain(Reactor& r, UniqueFd fd) : r_(r), fd_(std::move(fd)) {
    SetNonBlocking(fd_.get());
    if (!r_.Add(fd_.get(), EPOLLIN, [this](uint32_t) { OnReadable(); }).ok()) abort();
  }
  ~Drain() { Close(); }
  const std::string& data() const { return data_; }
  bool eof() const { return eof_; }
  int error() const { return error_; }
  bool Has(size_t n) const { return data_.size() >= n; }
  bool Contains(const std::string& s) const { return data_.find(s) != std::string::npos; }
  void Close() {
    if (!fd_) return;
    r_.Remove(fd_.get());
    fd_.reset();
  }

 private:
  void OnReadable() {
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n > 0) {
        data_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EAGAIN) return;
      if (n < 0 && errno != EIO) error_ = errno;
      eof_ = true;
      return Close();
    }
  }

  Reactor& r_;
  UniqueFd fd_;
  std::string data_;
  bool eof_ = false;
  int error_ = 0;
};

// Whether a FIFO has a reader: opening it for writing without blocking fails with ENXIO
// when nobody has it open for reading.
inline bool FifoHasReader(const std::string& path) {
  UniqueFd w(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  return w.valid();
}

}  // namespace reaper::testing
