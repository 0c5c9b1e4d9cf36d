// Local terminal helpers for exec/attach -t, and small fd utilities.
#pragma once

#include <termios.h>

#include <string_view>

namespace reaperctl {

// Writes everything (retrying on EINTR/short writes); throws Error on failure. EPIPE on a
// closed stdout is reported as Error too.
void WriteAll(int fd, std::string_view data);

// Puts a terminal fd into raw mode and restores it when destroyed. Does nothing if `fd` is not
// a terminal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

// Window size of a terminal fd; false if it is not a terminal.
bool TerminalSize(int fd, unsigned* width, unsigned* height);

// SIGWINCH as a readable fd: the returned fd becomes readable after each resize (self-pipe;
// works whichever thread takes the signal). Call once.
int WatchWindowChanges();
// Drains the fd returned by WatchWindowChanges.
void DrainWindowChanges(int fd);

}  // namespace reaperctl
