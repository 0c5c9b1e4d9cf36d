// FdCopier: moves bytes from one fd to another on the Reactor until the source ends.
// Uses splice(2) when both ends allow it (pipes and FIFOs: no userspace buffer at all) and
// falls back to a bounded 64 KiB buffer otherwise (a PTY master). The destination may carry
// a held read fd (`keepalive`) so that a vanished reader (containerd restarting) makes the
// writer block instead of failing with EPIPE. EIO from a PTY master counts as EOF.
// Loop thread only.
#pragma once

#include <functional>
#include <memory>

#include "base/reactor.h"
#include "base/unique_fd.h"

namespace reaper {

class FdCopier {
 public:
  // `src` and `dst` are made non-blocking. Both are closed when the copy completes.
  FdCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive);
  ~FdCopier();
  Status Start(std::function<void()> on_done);
  // Moves whatever can be moved right now, without waiting and without completing.
  void Flush() { Pump(); }
  // Moves whatever can be moved right now, then completes (grace over, or Delete).
  void Finish();
  bool done() const { return done_; }

 private:
  void Pump();
  enum class Step { kMoved, kEof, kSourceEmpty, kSinkFull, kNoReader, kError };
  // One transfer attempt; kError leaves errno set.
  Step Transfer();
  void WaitFor(bool dst_side);
  void Complete();

  Reactor& reactor_;
  UniqueFd src_, dst_, keepalive_;
  bool use_splice_ = true;
  std::unique_ptr<char[]> buf_;
  size_t buf_off_ = 0, buf_len_ = 0;  // pending bytes in buf_ (fallback mode)
  bool waiting_dst_ = false;
  bool done_ = false;
  std::function<void()> on_done_;
};

}  // namespace reaper
