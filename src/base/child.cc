#include "base/child.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace reaper {

OwnedChild::OwnedChild(pid_t pid, Reap reap) : pid_(pid), reap_(reap) {
  if (pid_ > 0) pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));  // CLOEXEC by default
}

OwnedChild::OwnedChild(pid_t pid, int pidfd, Reap reap) : pid_(pid), pidfd_(pidfd), reap_(reap) {
  if (pid_ > 0 && !pidfd_) pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));
}

OwnedChild::OwnedChild(OwnedChild&& o) noexcept
    : pid_(std::exchange(o.pid_, 0)), pidfd_(std::move(o.pidfd_)), reap_(o.reap_) {}

OwnedChild& OwnedChild::operator=(OwnedChild&& o) noexcept {
  if (this != &o) {
    Drop();
    pid_ = std::exchange(o.pid_, 0);
    pidfd_ = std::move(o.pidfd_);
    reap_ = o.reap_;
  }
  return *this;
}

Status OwnedChild::Signal(int sig) const {
  if (pid_ <= 0) return Status::Ok();
  int rc = pidfd_ ? static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0))
                  : kill(pid_, sig);
  if (rc != 0 && errno != ESRCH) return Status::FromErrno(errno, "signal child " + std::to_string(pid_));
  return Status::Ok();
}

Result<int> OwnedChild::Wait() {
  if (pid_ <= 0) return Status(Code::kFailedPrecondition, "no child to wait for");
  int ws = 0;
  pid_t r;
  while ((r = waitpid(pid_, &ws, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) return Status::FromErrno(errno, "wait for child " + std::to_string(pid_));
  pid_ = 0;
  pidfd_.reset();
  return ws;
}

pid_t OwnedChild::Detach() {
  pidfd_.reset();
  return std::exchange(pid_, 0);
}

void OwnedChild::Drop() {
  if (pid_ <= 0) return;
  (void)Signal(SIGKILL);
  if (reap_ == Reap::kOnDrop) {
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = 0;
  pidfd_.reset();
}

bool KeepOnlyFds(std::initializer_list<int*> fds, std::vector<int>* more) {
  std::vector<int*> all(fds);
  if (more) {
    for (int& f : *more) all.push_back(&f);
  }
  std::vector<int> uniq;
  for (int* f : all) {
    if (*f >= 0 && std::find(uniq.begin(), uniq.end(), *f) == uniq.end()) uniq.push_back(*f);
  }
  int first_free = 3 + static_cast<int>(uniq.size());
  std::vector<int> tmp;
  for (int u : uniq) {
    int t = fcntl(u, F_DUPFD_CLOEXEC, first_free);  // above every target: nothing is clobbered
    if (t < 0) return false;
    tmp.push_back(t);
  }
  for (size_t k = 0; k < tmp.size(); ++k) {
    if (dup3(tmp[k], 3 + static_cast<int>(k), O_CLOEXEC) < 0) return false;
  }
  if (syscall(SYS_close_range, static_cast<unsigned>(first_free), ~0U, 0U) != 0) return false;
  for (int* f : all) {
    if (*f < 0) continue;
    *f = 3 + static_cast<int>(std::find(uniq.begin(), uniq.end(), *f) - uniq.begin());
  }
  return true;
}

}  // namespace reaper
