#include "output_copier.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"

namespace reaper {

OutputCopier::OutputCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive)
    : reactor_(reactor), src_(std::move(src)), dst_(std::move(dst)), keepalive_(std::move(keepalive)) {}

OutputCopier::~OutputCopier() {
  if (src_) reactor_.Remove(src_.get());
  if (dst_) reactor_.Remove(dst_.get());
}

Status OutputCopier::Start(std::function<void()> on_done) {
  on_done_ = std::move(on_done);
  fcntl(src_.get(), F_SETFL, fcntl(src_.get(), F_GETFL) | O_NONBLOCK);
  REAPER_RETURN_IF_ERROR(reactor_.Add(src_.get(), EPOLLIN, [this](uint32_t) { Pump(); }));
  return reactor_.Add(dst_.get(), 0, [this](uint32_t) { Pump(); });
}

void OutputCopier::Pump() {
  if (done_) return;
  for (;;) {
    ssize_t n = splice(src_.get(), nullptr, dst_.get(), nullptr, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) continue;
    if (n == 0) return Complete();  // every writer of the pipe is gone
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int avail = 0;
      bool src_has_data = ioctl(src_.get(), FIONREAD, &avail) == 0 && avail > 0;
      // Source has data, so the sink is full: wait for the sink, stop watching the source.
      bool want_dst = src_has_data;
      if (want_dst != waiting_dst_) {
        waiting_dst_ = want_dst;
        (void)reactor_.Modify(src_.get(), want_dst ? 0u : uint32_t{EPOLLIN});
        (void)reactor_.Modify(dst_.get(), want_dst ? uint32_t{EPOLLOUT} : 0u);
      }
      return;
    }
    if (errno == EPIPE) {
      // No reader at all (not even ours): drop the output rather than stall the workload.
      char buf[65536];
      while (read(src_.get(), buf, sizeof buf) > 0) {
      }
      return;
    }
    log::Warn("output copy failed", {{"error", strerror(errno)}});
    return Complete();
  }
}

void OutputCopier::Finish() {
  if (done_) return;
  // One last non-blocking pass; whatever cannot be moved now is dropped with the pipe.
  for (;;) {
    ssize_t n = splice(src_.get(), nullptr, dst_.get(), nullptr, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  Complete();
}

void OutputCopier::Complete() {
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
