// EventPublisher: forwards task events to containerd over ttrpc
// (containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS; docs/protocol.md),
// through a ttrpc::Client. Loop thread only; nothing here blocks.
//
// Delivery, as far as the shim can tell: in order and exactly once.
// * One FIFO queue, one request in flight: the head. The head is removed only when containerd
//   answers it, so the order of acknowledgements is the order of Publish().
// * Per-request timeout (default 5 s, as containerd's own shims): a containerd that accepts but
//   never answers does not stall events for good. On a timeout, a disconnect or a transient
//   error reply (Unavailable, DeadlineExceeded, Canceled, ResourceExhausted) the connection is
//   dropped and re-made after a back-off (doubling from 100 ms to at most 5 s, reset by the
//   next acknowledgement), and the same head is sent again.
// * Duplicates: a request that timed out (or whose connection broke) may still have been
//   processed by containerd, so its re-send can reach containerd twice. containerd does not
//   de-duplicate Forward: its subscribers (`ctr events`, CRI's `/tasks/oom` handler, moby) then
//   see the event twice, with the same envelope, timestamp included (it is set once, in
//   Publish). CRI's handlers are idempotent. Losing an event is worse than repeating one.
// * Overflow: at most `max_queued` unsent events are kept. A head that was sent (in flight, or
//   sent and waiting to be re-sent) is never dropped; when the queue is full, the oldest unsent
//   event goes. Drops are counted (dropped()) and logged at most once per
//   `drop_log_interval`, with the count.
// * A reply with any other error status means containerd rejected that envelope; retrying cannot
//   help, so it is logged, counted (rejected()) and removed.
//
// Construction touches neither the socket nor the reactor (the daemon and the fuzz target
// construct it before Reactor::Init()); the first Publish() connects.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "base/reactor.h"
#include "ttrpc/client.h"

namespace reaper {

struct EventPublisherOptions {
  size_t max_queued = 4096;  // unsent events kept (a sent head comes on top)
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds drop_log_interval{10000};
};

class EventPublisher {
 public:
  // `ttrpc_address` may carry "unix://"; an empty address disables publishing (events are
  // discarded at once).
  EventPublisher(Reactor& reactor, std::string ttrpc_address, std::string ns,
                 EventPublisherOptions opts = {});
  ~EventPublisher();
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  // `type_name` is the bare protobuf name, e.g. "containerd.events.TaskExit".
  void Publish(const std::string& topic, const std::string& type_name, const std::string& value);
  // No event queued or in flight.
  bool idle() const { return queue_.empty(); }
  // Calls `done` once the queue is empty (or at once if it is). One waiter; a later call
  // replaces an earlier one.
  void OnIdle(std::function<void()> done);

  size_t queued() const { return queue_.size(); }
  uint64_t dropped() const { return dropped_; }      // unsent events dropped on overflow
  uint64_t rejected() const { return rejected_; }    // events containerd answered with an error
  uint64_t delivered() const { return delivered_; }  // events containerd acknowledged

 private:
  struct Event {
    std::string request;  // serialized ForwardRequest
    std::string topic;    // for logs
    bool sent = false;    // handed to the connection at least once: never dropped
  };
  void Kick();
  void OnReply(ttrpc::CallResult r);
  void Acknowledge();
  void Reconnect(const Status& why);
  void Drop();
  void LogDrops();
  void WriteDropLog();

  Reactor& reactor_;
  std::string address_;
  std::string ns_;
  EventPublisherOptions opts_;
  ttrpc::Client client_;
  std::deque<Event> queue_;  // front: the head (the one in flight, if any)
  bool in_flight_ = false;
  int failures_ = 0;  // consecutive failed attempts, for the back-off
  Reactor::TimerId retry_timer_ = 0;
  std::function<void()> on_idle_;
  uint64_t dropped_ = 0;
  uint64_t rejected_ = 0;
  uint64_t delivered_ = 0;
  uint64_t drops_unlogged_ = 0;
  Reactor::TimerId drop_log_timer_ = 0;
};

}  // namespace reaper
