#include "shim/fd_copier.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace reaper {
namespace {
constexpr size_t kBufSize = 64 * 1024;
constexpr size_t kSpliceMax = 1 << 20;
// Transfers per wakeup (up to 64 pipe buffers): then the loop serves others first.
constexpr int kTurnBudget = 64;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
}  // namespace

FdCopier::FdCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive)
    : reactor_(reactor), src_(std::move(src)), dst_(std::move(dst)), keepalive_(std::move(keepalive)) {}

FdCopier::~FdCopier() {
  on_done_ = nullptr;
  if (!done_) Watch(Side::kNone);
}

Status FdCopier::Start(std::function<void()> on_done) {
  on_done_ = std::move(on_done);
  SetNonBlocking(src_.get());
  SetNonBlocking(dst_.get());
  Status st = reactor_.Add(src_.get(), EPOLLIN, [this](uint32_t) { Pump(); });
  if (!st.ok()) return st.Wrap("copy source");
  watching_ = Side::kSource;
  return Status::Ok();
}

FdCopier::Step FdCopier::Transfer() {
  if (use_splice_) {
    Step s = Splice();
    if (use_splice_) return s;
  }
  return Buffered();
}

FdCopier::Step FdCopier::Splice() {
  ssize_t n = splice(src_.get(), nullptr, dst_.get(), nullptr, kSpliceMax, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  if (n > 0) return Step::kMoved;
  if (n == 0) return Step::kEof;
  switch (errno) {
    case EAGAIN: return WhichSideBlocks();
    case EPIPE: return Step::kNoReader;
    case EIO: return Step::kEof;  // a PTY master without slave, on either side: the end
    case EINVAL:                  // neither side a pipe (or an O_APPEND sink): buffer from now on
      use_splice_ = false;
      buf_.reset(new char[kBufSize]);
      return Step::kError;  // not returned: Transfer goes on with Buffered()
    default: return Step::kError;
  }
}

FdCopier::Step FdCopier::WhichSideBlocks() {
  // splice does not say which side would block. The destination's own state does: if it
  // could take bytes, the source is empty.
  pollfd p{dst_.get(), POLLOUT, 0};
  if (poll(&p, 1, 0) < 0) return Step::kError;
  if (p.revents & POLLERR) return Step::kNoReader;  // a pipe without readers
  if (p.revents & (POLLHUP | POLLNVAL)) return Step::kSinkGone;
  return p.revents & POLLOUT ? Step::kSourceEmpty : Step::kSinkFull;
}

FdCopier::Step FdCopier::Buffered() {
  if (buf_len_ == 0) {
    ssize_t n = read(src_.get(), buf_.get(), kBufSize);
    if (n == 0 || (n < 0 && errno == EIO)) return Step::kEof;  // EIO: PTY master, last slave closed
    if (n < 0) return errno == EAGAIN ? Step::kSourceEmpty : Step::kError;
    buf_off_ = 0;
    buf_len_ = static_cast<size_t>(n);
  }
  ssize_t w = write(dst_.get(), buf_.get() + buf_off_, buf_len_);
  if (w == 0) return Step::kSinkFull;
  if (w < 0) {
    switch (errno) {
      case EAGAIN: return Step::kSinkFull;
      case EPIPE: return Step::kNoReader;
      case EIO: return Step::kSinkGone;  // a hung-up terminal
      default: return Step::kError;
    }
  }
  buf_off_ += static_cast<size_t>(w);
  buf_len_ -= static_cast<size_t>(w);
  return Step::kMoved;
}

void FdCopier::Pump() {
  for (int i = 0; !done_; ++i) {
    if (i == kTurnBudget) {
      // More may be there: level-triggered epoll wakes us again on the side we wait on.
      return Watch(buf_len_ > 0 ? Side::kSink : Side::kSource);
    }
    switch (Transfer()) {
      case Step::kMoved: continue;
      case Step::kEof: return Complete();  // every writer of the source is gone
      case Step::kSourceEmpty: return Watch(Side::kSource);
      case Step::kSinkFull: return Watch(Side::kSink);
      case Step::kSinkGone: return Complete();
      case Step::kNoReader:
        // No reader at all (not even ours): drop output rather than stall the workload.
        buf_len_ = 0;
        if (DiscardSource()) return Complete();
        return Watch(Side::kSource);
      case Step::kError:
        if (errno == EINTR) continue;
        log::Warn("copy failed", {{"error", strerror(errno)}});
        return Complete();
    }
  }
}

void FdCopier::OnSinkEvent(uint32_t events) {
  // The destination can never take bytes again (a PTY master whose slave is gone, a socket
  // whose peer closed). EPOLLERR alone (a pipe without readers) is found by the write.
  if (events & EPOLLHUP) return Complete();
  Pump();
}

void FdCopier::Watch(Side side) {
  if (side == watching_) return;
  if (watching_ != Side::kNone) reactor_.Remove(watching_ == Side::kSource ? src_.get() : dst_.get());
  watching_ = Side::kNone;
  if (side == Side::kNone) return;
  Status st = side == Side::kSource
                  ? reactor_.Add(src_.get(), EPOLLIN, [this](uint32_t) { Pump(); })
                  : reactor_.Add(dst_.get(), EPOLLOUT, [this](uint32_t ev) { OnSinkEvent(ev); });
  if (!st.ok()) {
    log::Warn("copy cannot wait for its fd", {{"error", st.message()}});
    return Complete();  // better an early end than a copy that never moves again
  }
  watching_ = side;
}

bool FdCopier::DiscardSource() {
  char sink[16384];
  for (int i = 0; i < kTurnBudget * 4; ++i) {
    ssize_t n = read(src_.get(), sink, sizeof sink);
    if (n > 0) continue;
    if (n == 0) return true;
    if (errno == EINTR) continue;
    return errno != EAGAIN;  // EIO (no slave left) or another error: the source is over
  }
  return false;  // still more: the next wakeup goes on
}

void FdCopier::Finish() {
  // One last bounded pass over what is already there, then close.
  for (int i = 0; i < kTurnBudget && !done_; ++i) {
    Step s = Transfer();
    if (s != Step::kMoved && !(s == Step::kError && errno == EINTR)) break;
  }
  Complete();
}

void FdCopier::Complete() {
  if (done_) return;
  Watch(Side::kNone);
  done_ = true;
  src_.reset();
  dst_.reset();
  keepalive_.reset();
  if (on_done_) std::exchange(on_done_, nullptr)();
}

}  // namespace reaper
