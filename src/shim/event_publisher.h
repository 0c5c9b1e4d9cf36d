// EventPublisher: forwards task events to containerd over ttrpc
// (containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS; protocol.md §4.2).
// One FIFO queue, one request in flight, so events stay in the order they were published.
// Connects lazily; on any failure it reconnects with a growing back-off (containerd restarts),
// keeping up to kMaxQueued events. Loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <string>

#include "base/reactor.h"
#include "ttrpc/frame.h"
#include "base/unique_fd.h"

namespace reaper {

class EventPublisher {
 public:
  static constexpr size_t kMaxQueued = 4096;
  EventPublisher(Reactor& reactor, std::string ttrpc_address, std::string ns);
  ~EventPublisher();

  // `type_name` is the bare protobuf name, e.g. "containerd.events.TaskExit" (§4.4).
  void Publish(const std::string& topic, const std::string& type_name, const std::string& value);
  bool idle() const { return queue_.empty(); }
  // Calls `done` once the queue is empty (or immediately if it is).
  void OnIdle(std::function<void()> done);

 private:
  void Kick();
  void Connect();
  void Disconnect(const char* why);
  void SendHead();
  void OnEvent(uint32_t ev);
  void Retry();

  Reactor& reactor_;
  std::string address_;
  std::string ns_;
  std::deque<std::string> queue_;  // serialized ForwardRequest payloads
  UniqueFd fd_;
  ttrpc::FrameDecoder decoder_;
  std::string out_;
  uint32_t next_stream_ = 1;
  bool in_flight_ = false;
  int failures_ = 0;
  Reactor::TimerId retry_timer_ = 0;
  std::function<void()> on_idle_;
};

}  // namespace reaper
