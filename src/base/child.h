// OwnedChild: a forked child process owned by the code that forked it, until Detach().
// It holds the pid and a pidfd (pidfd_open, Linux >= 5.3; signals go through it, so a pid
// reused after the child was reaped elsewhere is never hit). Dropping it without Detach()
// SIGKILLs the child and, with Reap::kOnDrop, waits for it — every error path after a fork
// is then one `return`, as with crun's cleanup_pid.
//
// Reap::kBySigchld is for the shim, whose SIGCHLD handler reaps every child with
// waitpid(-1): dropping then only kills, and nothing here ever blocks. Reap::kOnDrop is for
// command-line tools (reaper-runtime, reaper-overlay), where a short blocking wait for a
// SIGKILLed child is fine. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

class OwnedChild {
 public:
  enum class Reap { kOnDrop, kBySigchld };
  OwnedChild() = default;
  OwnedChild(pid_t pid, Reap reap);
  // With the pidfd clone3(CLONE_PIDFD) returned (-1: open one).
  OwnedChild(pid_t pid, int pidfd, Reap reap);
  OwnedChild(OwnedChild&& o) noexcept;
  OwnedChild& operator=(OwnedChild&& o) noexcept;
  OwnedChild(const OwnedChild&) = delete;
  OwnedChild& operator=(const OwnedChild&) = delete;
  ~OwnedChild() { Drop(); }

  pid_t pid() const { return pid_; }
  bool valid() const { return pid_ > 0; }
  // -1 where the kernel has no pidfd_open.
  int pidfd() const { return pidfd_.get(); }
  // Sends `sig`; a child that already exited is not an error.
  Status Signal(int sig) const;
  // Blocking wait for the exit (command-line tools only). Returns the wait status; the
  // child is then no longer owned.
  Result<int> Wait();
  // Gives up ownership: the child lives on. Returns its pid.
  pid_t Detach();
  // SIGKILL, and with Reap::kOnDrop the wait. Idempotent; the destructor calls it.
  void Drop();

 private:
  pid_t pid_ = 0;
  UniqueFd pidfd_;
  Reap reap_ = Reap::kOnDrop;
};

// For a forked child, before it does anything else: renumbers the fds pointed to by `fds`
// (and by `more`; entries < 0 are skipped, equal values share one new number) to 3, 4, ...,
// all close-on-exec, and closes every other fd above 2 — so the child holds only what it
// needs. False (errno set) on failure. Allocates: only for children of a single-threaded
// parent.
bool KeepOnlyFds(std::initializer_list<int*> fds, std::vector<int>* more = nullptr);

}  // namespace reaper
