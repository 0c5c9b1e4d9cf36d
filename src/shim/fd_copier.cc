#include "shim/fd_copier.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace reaper {
namespace {
constexpr size_t kBufSize = 64 * 1024;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
}  // namespace

FdCopier::FdCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive)
    : reactor_(reactor), src_(std::move(src)), dst_(std::move(dst)), keepalive_(std::move(keepalive)) {}

FdCopier::~FdCopier() {
  if (src_) reactor_.Remove(src_.get());
  if (dst_) reactor_.Remove(dst_.get());
}

Status FdCopier::Start(std::function<void()> on_done) {
  on_done_ = std::move(on_done);
  SetNonBlocking(src_.get());
  SetNonBlocking(dst_.get());
  REAPER_RETURN_IF_ERROR(reactor_.Add(src_.get(), EPOLLIN, [this](uint32_t) { Pump(); }));
  return reactor_.Add(dst_.get(), 0, [this](uint32_t) { Pump(); });
}

FdCopier::Step FdCopier::Transfer() {
  if (use_splice_) {
    ssize_t n = splice(src_.get(), nullptr, dst_.get(), nullptr, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) return Step::kMoved;
    if (n == 0) return Step::kEof;
    if (errno == EAGAIN) {
      // splice does not say which side would block: data waiting in the source means the
      // sink is full.
      int avail = 0;
      return ioctl(src_.get(), FIONREAD, &avail) == 0 && avail > 0 ? Step::kSinkFull : Step::kSourceEmpty;
    }
    if (errno != EINVAL) return errno == EPIPE ? Step::kNoReader : errno == EIO ? Step::kEof : Step::kError;
    use_splice_ = false;  // not a pipe on either side (a PTY): buffered copy from now on
    buf_.reset(new char[kBufSize]);
  }
  if (buf_len_ == 0) {
    ssize_t n = read(src_.get(), buf_.get(), kBufSize);
    if (n == 0 || (n < 0 && errno == EIO)) return Step::kEof;  // EIO: PTY master, last slave closed
    if (n < 0) return errno == EAGAIN ? Step::kSourceEmpty : Step::kError;
    buf_off_ = 0;
    buf_len_ = static_cast<size_t>(n);
  }
  ssize_t w = write(dst_.get(), buf_.get() + buf_off_, buf_len_);
  if (w < 0) return errno == EAGAIN ? Step::kSinkFull : errno == EPIPE ? Step::kNoReader : Step::kError;
  buf_off_ += static_cast<size_t>(w);
  buf_len_ -= static_cast<size_t>(w);
  return Step::kMoved;
}

void FdCopier::WaitFor(bool dst_side) {
  if (dst_side == waiting_dst_) return;
  waiting_dst_ = dst_side;
  (void)reactor_.Modify(src_.get(), dst_side ? 0u : uint32_t{EPOLLIN});
  (void)reactor_.Modify(dst_.get(), dst_side ? uint32_t{EPOLLOUT} : 0u);
}

void FdCopier::Pump() {
  while (!done_) {
    switch (Transfer()) {
      case Step::kMoved: continue;
      case Step::kEof: return Complete();  // every writer of the source is gone
      case Step::kSourceEmpty: return WaitFor(false);
      case Step::kSinkFull: return WaitFor(true);
      case Step::kNoReader: {
        // No reader at all (not even ours): drop output rather than stall the workload.
        char sink[4096];
        while (read(src_.get(), sink, sizeof sink) > 0) {
        }
        buf_len_ = 0;
        return WaitFor(false);
      }
      case Step::kError:
        if (errno == EINTR) continue;
        log::Warn("copy failed", {{"error", strerror(errno)}});
        return Complete();
    }
  }
}

void FdCopier::Finish() {
  // One last bounded pass over what is already there, then close.
  for (int i = 0; i < 64 && !done_ && Transfer() == Step::kMoved; ++i) {
  }
  Complete();
}

void FdCopier::Complete() {
  if (done_) return;
  done_ = true;
  reactor_.Remove(src_.get());
  reactor_.Remove(dst_.get());
  src_.reset();
  dst_.reset();
  keepalive_.reset();
  if (on_done_) std::exchange(on_done_, nullptr)();
}

}  // namespace reaper
