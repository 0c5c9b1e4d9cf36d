// Reactor: the shim's single epoll event loop, with one timerfd for all timers.
// Callbacks run on the loop thread only. Not thread-safe: the shim has one thread.
// Removing an fd (or cancelling a timer) from inside any callback is safe: events already
// fetched for a removed registration are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

class Reactor {
 public:
  using IoCallback = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  Status Init();

  // Registers `fd` (not owned) for `events` (EPOLLIN/EPOLLOUT/...). One registration per fd.
  Status Add(int fd, uint32_t events, IoCallback cb);
  Status Modify(int fd, uint32_t events);
  void Remove(int fd);

  // Runs `cb` once after `delay`. Returns an id for Cancel.
  TimerId AddTimer(std::chrono::milliseconds delay, std::function<void()> cb);
  void CancelTimer(TimerId id);
  // Runs `cb` on the loop after the current callback returns (a zero-delay timer).
  void Defer(std::function<void()> cb) { AddTimer(std::chrono::milliseconds(0), std::move(cb)); }

  // Runs until Stop(); returns the first fatal epoll error, if any.
  Status Run();
  void Stop() { running_ = false; }

 private:
  struct Entry {
    uint64_t token;
    IoCallback cb;
  };
  void ArmTimerFd();
  void FireTimers();

  UniqueFd epfd_;
  UniqueFd timerfd_;
  bool running_ = false;
  uint64_t next_token_ = 1;
  std::unordered_map<int, std::shared_ptr<Entry>> by_fd_;
  std::unordered_map<uint64_t, std::weak_ptr<Entry>> by_token_;
  TimerId next_timer_ = 1;
  std::multimap<std::chrono::steady_clock::time_point, TimerId> deadlines_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
};

}  // namespace reaper
