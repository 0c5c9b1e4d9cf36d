// ProcessIo: the stdio of one process as containerd describes it — FIFO paths (plain or
// fifo://), file:///abs (append), or empty (/dev/null) — with or without a terminal.
// docs/protocol.md §3.5.
//  * stdin FIFO, no terminal: the process reads the FIFO itself; the shim holds a writer
//    until CloseIO, so the process sees EOF once the client and CloseIO both ended input.
//  * stdout/stderr FIFO: the process writes into a pipe the shim owns; an FdCopier splices
//    it into the FIFO and closes the FIFO when the pipe reaches EOF (or on Finish).
//  * file:// : the file is opened O_APPEND and handed to the process itself.
//  * terminal: a PTY; its slave is the process's stdin/stdout/stderr (and controlling
//    terminal), the master is copied to stdout, stdin is copied into the master, stderr is
//    unused, ResizePty sets the window size. The output copy ends when no slave fd is left
//    (the process and whatever inherited the terminal are gone); the stdin copy ends with it,
//    since nothing can read the terminal any more, and the shim's stdin writer is released.
// Owns every fd it opens (child ends, FIFO ends, PTY master) and the copiers. Loop thread
// only; nothing blocks (FIFOs are opened O_NONBLOCK, reader first).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shim/fd_copier.h"
#include "base/reactor.h"
#include "host/spawn.h"
#include "base/status.h"
#include "base/unique_fd.h"

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

  // The fds the child gets as 0, 1, 2 (owned here); with a terminal, the PTY slave.
  StdioFds child_fds() const;
  bool terminal() const { return master_.valid(); }
  // After the fork: drops the parent's copies of the child's ends and starts copying.
  Status Started();
  // CloseIO(stdin): releases the held stdin writer.
  void CloseStdin() { stdin_hold_.reset(); }
  // ResizePty: TIOCSWINSZ on the master; a no-op without a terminal.
  Status Resize(uint32_t width, uint32_t height);
  // True once every copy has ended (or there is none): output at EOF (or Finish), and so,
  // with a terminal, its input too.
  bool drained() const;
  // `cb` runs once when drained() becomes true (at once if it already is). It must not
  // destroy this object synchronously (use Reactor::Defer).
  void OnDrained(std::function<void()> cb);
  // Moves output the process already wrote into the sinks now (called before its exit is
  // reported, so a client that sees the exit has the output that preceded it).
  void FlushOutputs();
  // Moves what is readable now and closes everything (grace expired, or Delete). Idempotent.
  void Finish();

 private:
  struct Copy {
    UniqueFd src, dst, keepalive;
    bool output = true;  // false: stdin into the terminal, which ends when the output does
    std::unique_ptr<FdCopier> copier;
  };
  explicit ProcessIo(Reactor& r) : reactor_(r) {}
  Status OpenTerminal(const IoPaths& paths);
  Status OpenPlain(const IoPaths& paths);
  // A sink for output: FIFO (with keepalive), file, or /dev/null. Returns dst (+keepalive).
  Status OpenSink(const std::string& uri, const char* name, UniqueFd* dst, UniqueFd* keepalive);
  Status OpenStdinFifo(const std::string& path, UniqueFd* reader);
  bool OutputsDone() const;
  // Called whenever a copy ends: ends the input copies once the output is done, then runs
  // the OnDrained callback if everything has ended.
  void CheckDrained();

  Reactor& reactor_;
  UniqueFd child_[3];
  UniqueFd stdin_hold_;
  UniqueFd master_;
  std::vector<Copy> copies_;
  bool started_ = false;
  bool checking_ = false;  // CheckDrained is running (ending inputs re-enters it)
  std::function<void()> on_drained_;
};

}  // namespace reaper
