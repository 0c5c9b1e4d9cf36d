#include "shim/event_publisher.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "base/log.h"
#include "events.pb.h"

namespace reaper {
namespace {

constexpr char kService[] = "containerd.services.events.ttrpc.v1.Events";

std::string SocketPath(std::string address) {
  if (address.rfind("unix://", 0) == 0) address.erase(0, 7);
  return address;
}

// Error replies worth a re-send: containerd (or its ttrpc server) gave up on the request, it
// did not judge the envelope.
bool Transient(Code c) {
  return c == Code::kUnavailable || c == Code::kDeadlineExceeded || c == Code::kCanceled;
}

}  // namespace

EventPublisher::EventPublisher(Reactor& reactor, std::string ttrpc_address, std::string ns,
                               EventPublisherOptions opts)
    : reactor_(reactor),
      address_(SocketPath(std::move(ttrpc_address))),
      ns_(std::move(ns)),
      opts_(opts),
      client_(reactor, address_) {
  opts_.max_queued = std::max<size_t>(opts_.max_queued, 1);
  // A disconnect with the head in flight reaches OnReply first (kDisconnected), which retries.
  // Without one there is nothing to do: the next Publish() connects again.
  client_.SetDisconnectCallback(
      [](const Status& why) { log::Debug("events: disconnected", {{"reason", why.message()}}); });
}

EventPublisher::~EventPublisher() {
  if (retry_timer_) reactor_.CancelTimer(retry_timer_);
  if (drop_log_timer_) reactor_.CancelTimer(drop_log_timer_);
  if (drops_unlogged_) WriteDropLog();
  if (!queue_.empty()) {
    log::Warn("events: not delivered before exit", {{"events", std::to_string(queue_.size())}});
  }
}

void EventPublisher::Publish(const std::string& topic, const std::string& type_name,
                             const std::string& value) {
  if (address_.empty()) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  containerd::events::ForwardRequest req;
  auto* env = req.mutable_envelope();
  env->mutable_timestamp()->set_seconds(ts.tv_sec);
  env->mutable_timestamp()->set_nanos(static_cast<int32_t>(ts.tv_nsec));
  env->set_namespace_(ns_);
  env->set_topic(topic);
  env->mutable_event()->set_type_url(type_name);
  env->mutable_event()->set_value(value);
  size_t unsent = queue_.size() - (!queue_.empty() && queue_.front().sent ? 1 : 0);
  if (unsent >= opts_.max_queued) Drop();
  queue_.push_back(Event{req.SerializeAsString(), topic, false});
  Kick();
}

void EventPublisher::OnIdle(std::function<void()> done) {
  if (queue_.empty()) {
    done();
    return;
  }
  on_idle_ = std::move(done);
}

void EventPublisher::Drop() {
  // The head is protected once sent: containerd may have it, and its reply pops the head.
  auto victim = queue_.begin() + (queue_.front().sent ? 1 : 0);
  queue_.erase(victim);
  ++dropped_;
  ++drops_unlogged_;
  if (!drop_log_timer_) LogDrops();
}

void EventPublisher::WriteDropLog() {
  log::Warn("events: queue full; dropped the oldest unsent events",
            {{"dropped", std::to_string(drops_unlogged_)},
             {"dropped_total", std::to_string(dropped_)},
             {"max_queued", std::to_string(opts_.max_queued)}});
  drops_unlogged_ = 0;
}

// One line now, then at most one per interval while drops go on.
void EventPublisher::LogDrops() {
  drop_log_timer_ = 0;
  if (drops_unlogged_ == 0) return;  // a quiet interval ends the rate limit
  WriteDropLog();
  drop_log_timer_ = reactor_.AddTimer(opts_.drop_log_interval, [this] { LogDrops(); });
}

void EventPublisher::Kick() {
  while (!address_.empty() && !in_flight_ && !retry_timer_ && !queue_.empty()) {
    Status st = client_.Connect();  // a no-op while connected
    if (!st.ok()) return Reconnect(st);
    Event& head = queue_.front();
    st = client_.Call(kService, "Forward", head.request, {{"containerd-namespace-ttrpc", ns_}},
                      opts_.request_timeout, [this](ttrpc::CallResult r) { OnReply(std::move(r)); });
    if (st.code() == Code::kResourceExhausted) {  // cannot be sent at all
      log::Warn("events: event too large to send", {{"topic", head.topic}, {"error", st.message()}});
      ++rejected_;
      queue_.pop_front();
      continue;
    }
    if (!st.ok()) return Reconnect(st);
    head.sent = true;
    in_flight_ = true;
  }
  if (queue_.empty() && on_idle_) std::exchange(on_idle_, nullptr)();
}

void EventPublisher::OnReply(ttrpc::CallResult r) {
  in_flight_ = false;
  if (r.replied() && r.status.ok()) return Acknowledge();
  if (r.replied() && !Transient(r.status.code())) {
    log::Warn("events: containerd rejected an event",
              {{"topic", queue_.front().topic}, {"error", r.status.message()}});
    ++rejected_;
    queue_.pop_front();
    return Kick();
  }
  // Timed out, disconnected, or containerd gave up on it: a fresh connection (Reconnect closes
  // this one, so a late reply can never be taken for the re-send's), then the same head again.
  Reconnect(r.status);
}

void EventPublisher::Acknowledge() {
  queue_.pop_front();
  ++delivered_;
  if (failures_ > 0) {
    log::Info("events: delivering again", {{"failed_attempts", std::to_string(failures_)}});
    failures_ = 0;
  }
  Kick();
}

void EventPublisher::Reconnect(const Status& why) {
  client_.Close();
  if (retry_timer_) return;
  ++failures_;
  if (failures_ == 1) {
    log::Warn("events: cannot deliver to containerd; retrying with back-off",
              {{"address", address_}, {"error", why.message()}, {"queued", std::to_string(queue_.size())}});
  } else {
    log::Debug("events: retry failed", {{"error", why.message()}, {"attempt", std::to_string(failures_)}});
  }
  auto delay = opts_.backoff_initial;
  for (int i = 1; i < failures_ && delay < opts_.backoff_max; ++i) delay *= 2;
  delay = std::min(delay, opts_.backoff_max);
  retry_timer_ = reactor_.AddTimer(delay, [this] {
    retry_timer_ = 0;
    Kick();
  });
}

}  // namespace reaper
