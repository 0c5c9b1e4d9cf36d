// FdCopier: moves bytes from one fd to another on the Reactor until the source ends.
//
// Uses splice(2) when one side is a pipe (pipes and FIFOs, and on current kernels a PTY master
// to or from a pipe: no userspace buffer at all) and falls back to a bounded 64 KiB buffer
// otherwise (neither side a pipe, e.g. a socket or an O_APPEND file).
//
// Waiting: exactly one side is registered with the Reactor at a time, and only while the copy
// waits on it — the source (EPOLLIN) when it is empty, the destination (EPOLLOUT) when it is
// full. epoll reports EPOLLHUP/EPOLLERR whatever the mask, so a side that is registered but
// not waited on (a PTY master whose slave closed) would wake the loop on every turn.
//
// How a copy ends:
//  * EOF of the source (read 0; EIO of a PTY master, i.e. no slave left) → completes.
//  * EPOLLHUP of the destination while the copy waits on it (a PTY master whose slave is
//    gone, a socket whose peer closed) or EIO writing to it → completes; what was pending is
//    dropped, nobody can read it.
//  * No reader at all (EPIPE, EPOLLERR of a pipe): output is read and dropped, so the writer
//    neither blocks nor dies of EPIPE, and a reader that opens the FIFO again gets what comes
//    after. The destination may carry a held read fd (`keepalive`) so that a vanished reader
//    (containerd restarting) makes the writer block instead (nothing is lost).
//  * Finish() (grace over, Delete), or an unexpected error (logged).
// Each wakeup moves a bounded amount, so one busy stream cannot starve the loop.
//
// Loop thread only. Nothing here blocks: both fds are made non-blocking. The completion
// callback runs synchronously from a loop callback, Flush() or Finish(); it must not destroy
// the copier (defer that to the next loop turn).
#pragma once

#include <functional>
#include <memory>

#include "base/reactor.h"
#include "base/unique_fd.h"

namespace reaper {

class FdCopier {
 public:
  // Takes ownership of `src`, `dst` and `keepalive` (may be empty); all three are closed when
  // the copy completes. `src` and `dst` are made non-blocking by Start.
  FdCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive);
  ~FdCopier();  // unregisters; never calls the completion callback
  FdCopier(const FdCopier&) = delete;
  FdCopier& operator=(const FdCopier&) = delete;

  // Starts waiting for the source. `on_done` runs once, when the copy completes.
  Status Start(std::function<void()> on_done);
  // Moves whatever can be moved right now, without waiting; completes only if that reaches
  // the end of the source (or the destination is gone).
  void Flush() { Pump(); }
  // Moves whatever can be moved right now (bounded), then completes (grace over, or Delete).
  void Finish();
  bool done() const { return done_; }
  // False once the copy fell back to the buffer (neither side a pipe).
  bool splicing() const { return use_splice_; }

 private:
  enum class Side { kNone, kSource, kSink };
  enum class Step { kMoved, kEof, kSourceEmpty, kSinkFull, kNoReader, kSinkGone, kError };
  // One transfer attempt; kError leaves errno set.
  Step Transfer();
  Step Splice();
  Step Buffered();
  // splice said EAGAIN: tell which side would block from the destination's poll state.
  Step WhichSideBlocks();
  void Pump();
  void OnSinkEvent(uint32_t events);
  // Registers exactly `side` (unregistering the other); completes the copy if it cannot.
  void Watch(Side side);
  // No reader: reads and drops what the source holds (bounded). True once it ended.
  bool DiscardSource();
  void Complete();

  Reactor& reactor_;
  UniqueFd src_, dst_, keepalive_;
  bool use_splice_ = true;
  std::unique_ptr<char[]> buf_;
  size_t buf_off_ = 0, buf_len_ = 0;  // pending bytes in buf_ (buffered mode)
  Side watching_ = Side::kNone;
  bool done_ = false;
  std::function<void()> on_done_;
};

}  // namespace reaper
