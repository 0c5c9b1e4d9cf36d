// OutputCopier: moves a process's output from the pipe the shim owns to the client's sink
// (a FIFO), with splice(2): no userspace buffer, so the shim's memory does not grow with a
// slow reader. The sink side keeps a held read fd (`keepalive`) so a vanished reader
// (containerd restarting) makes the writer block instead of failing with EPIPE.
// Loop thread only.
#pragma once

#include <functional>

#include "reactor.h"
#include "unique_fd.h"

namespace reaper {

class OutputCopier {
 public:
  // `src`: read end of the process's pipe. `dst`: non-blocking write end of the sink.
  OutputCopier(Reactor& reactor, UniqueFd src, UniqueFd dst, UniqueFd keepalive);
  ~OutputCopier();
  Status Start(std::function<void()> on_done);
  // Moves whatever is readable right now, then closes (grace period over, or Delete).
  void Finish();
  bool done() const { return done_; }

 private:
  void Pump();
  void Complete();

  Reactor& reactor_;
  UniqueFd src_, dst_, keepalive_;
  bool waiting_dst_ = false;
  bool done_ = false;
  std::function<void()> on_done_;
};

}  // namespace reaper
