#include "base/reactor.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <cerrno>
#include <vector>

namespace reaper {

Reactor::Reactor() = default;

Status Reactor::Init() {
  epfd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epfd_) return Status::FromErrno(errno, "epoll_create1");
  timerfd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timerfd_) return Status::FromErrno(errno, "timerfd_create");
  return Add(timerfd_.get(), EPOLLIN, [this](uint32_t) { FireTimers(); });
}

Status Reactor::Add(int fd, uint32_t events, IoCallback cb) {
  auto e = std::make_shared<Entry>(Entry{next_token_++, std::move(cb)});
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = e->token;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Status::FromErrno(errno, "epoll_ctl add fd " + std::to_string(fd));
  }
  by_token_[e->token] = e;
  by_fd_[fd] = std::move(e);
  return Status::Ok();
}

Status Reactor::Modify(int fd, uint32_t events) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return Status(Code::kNotFound, "fd not registered");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second->token;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Status::FromErrno(errno, "epoll_ctl mod fd " + std::to_string(fd));
  }
  return Status::Ok();
}

void Reactor::Remove(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  by_token_.erase(it->second->token);
  by_fd_.erase(it);
}

Reactor::TimerId Reactor::AddTimer(std::chrono::milliseconds delay, std::function<void()> cb) {
  TimerId id = next_timer_++;
  deadlines_.emplace(std::chrono::steady_clock::now() + delay, id);
  timers_.emplace(id, std::move(cb));
  ArmTimerFd();
  return id;
}

void Reactor::CancelTimer(TimerId id) {
  if (timers_.erase(id) == 0) return;
  for (auto it = deadlines_.begin(); it != deadlines_.end(); ++it) {
    if (it->second == id) {
      deadlines_.erase(it);
      break;
    }
  }
  ArmTimerFd();
}

void Reactor::ArmTimerFd() {
  itimerspec its{};
  if (!deadlines_.empty()) {
    auto d = deadlines_.begin()->first - std::chrono::steady_clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (ns < 1) ns = 1;  // an all-zero it_value would disarm the timer
    its.it_value.tv_sec = ns / 1000000000;
    its.it_value.tv_nsec = ns % 1000000000;
  }
  timerfd_settime(timerfd_.get(), 0, &its, nullptr);
}

void Reactor::FireTimers() {
  uint64_t expirations;
  while (read(timerfd_.get(), &expirations, sizeof expirations) > 0) {
  }
  auto now = std::chrono::steady_clock::now();
  std::vector<TimerId> due;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    due.push_back(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    auto cb = std::move(it->second);
    timers_.erase(it);
    cb();
  }
  ArmTimerFd();
}

Status Reactor::Run() {
  running_ = true;
  epoll_event evs[64];
  while (running_) {
    int n = epoll_wait(epfd_.get(), evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "epoll_wait");
    }
    for (int i = 0; i < n && running_; ++i) {
      auto it = by_token_.find(evs[i].data.u64);
      if (it == by_token_.end()) continue;  // removed by an earlier callback in this batch
      auto entry = it->second.lock();
      if (!entry) continue;
      entry->cb(evs[i].events);  // `entry` keeps the callback alive while it runs
    }
  }
  return Status::Ok();
}

}  // namespace reaper
