// ProcessIo: the stdio of one process as containerd describes it — FIFO paths (plain or
// fifo://), file:///abs (append), or empty (/dev/null). protocol.md §3.5.
//  * stdin FIFO: the process reads the FIFO directly; the shim holds a writer until CloseIO,
//    so the process sees EOF only once the client and CloseIO have both ended input.
//  * stdout/stderr FIFO: the process writes into a pipe the shim owns; an OutputCopier
//    splices it into the FIFO and closes the FIFO when the pipe reaches EOF (or on Finish).
//  * file:// : the file is opened O_APPEND and handed to the process itself.
// Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "output_copier.h"
#include "reactor.h"
#include "spawn.h"
#include "status.h"
#include "unique_fd.h"

namespace reaper {

struct IoPaths {
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
};

class ProcessIo {
 public:
  // Opens everything the paths name. Nothing is left open on error.
  static Result<std::unique_ptr<ProcessIo>> Open(Reactor& reactor, const IoPaths& paths);
  ~ProcessIo();

  // The fds the child gets as 0, 1, 2 (owned here).
  StdioFds child_fds() const;
  // After the fork: drops the parent's copies of the child's ends and starts copying.
  Status Started();
  // CloseIO(stdin): releases the held stdin writer.
  void CloseStdin() { stdin_hold_.reset(); }
  // True once every output copier has seen EOF (or there are none).
  bool drained() const;
  // `cb` runs once when drained() becomes true (at once if it already is).
  void OnDrained(std::function<void()> cb);
  // Moves what is readable now and closes the outputs (grace expired, or Delete).
  void Finish();

 private:
  explicit ProcessIo(Reactor& r) : reactor_(r) {}
  Status OpenOutput(const std::string& path, int index);
  void CheckDrained();

  Reactor& reactor_;
  UniqueFd child_[3];      // what the child gets
  UniqueFd stdin_hold_;    // held writer of the stdin FIFO
  struct Pending {
    UniqueFd pipe_r, fifo_w, keepalive;
  };
  Pending pending_[3];     // output copiers not started yet
  std::unique_ptr<OutputCopier> copiers_[3];
  std::function<void()> on_drained_;
};

}  // namespace reaper
