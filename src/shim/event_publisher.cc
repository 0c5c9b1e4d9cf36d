#include "shim/event_publisher.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "events.pb.h"
#include "base/log.h"
#include "ttrpc.pb.h"

namespace reaper {

EventPublisher::EventPublisher(Reactor& reactor, std::string ttrpc_address, std::string ns)
    : reactor_(reactor), address_(std::move(ttrpc_address)), ns_(std::move(ns)) {
  if (address_.rfind("unix://", 0) == 0) address_ = address_.substr(7);
}

EventPublisher::~EventPublisher() {
  if (retry_timer_) reactor_.CancelTimer(retry_timer_);
  if (fd_) reactor_.Remove(fd_.get());
}

void EventPublisher::Publish(const std::string& topic, const std::string& type_name,
                             const std::string& value) {
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
  if (queue_.size() >= kMaxQueued) {
    log::Warn("event queue full; dropping the oldest event");
    queue_.pop_front();
  }
  queue_.push_back(req.SerializeAsString());
  Kick();
}

void EventPublisher::OnIdle(std::function<void()> done) {
  if (queue_.empty()) {
    done();
    return;
  }
  on_idle_ = std::move(done);
}

void EventPublisher::Kick() {
  if (address_.empty() || in_flight_ || retry_timer_ || queue_.empty()) return;
  if (!fd_) Connect();
  if (fd_) SendHead();
}

void EventPublisher::Connect() {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!fd || address_.size() >= sizeof sa.sun_path) {
    Retry();
    return;
  }
  memcpy(sa.sun_path, address_.c_str(), address_.size() + 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS &&
      errno != EAGAIN) {
    log::Debug("events: connect failed", {{"address", address_}, {"error", strerror(errno)}});
    Retry();
    return;
  }
  fd_ = std::move(fd);
  decoder_ = ttrpc::FrameDecoder();
  next_stream_ = 1;
  out_.clear();
  if (!reactor_.Add(fd_.get(), EPOLLIN | EPOLLRDHUP, [this](uint32_t ev) { OnEvent(ev); }).ok()) {
    fd_.reset();
    Retry();
  }
}

void EventPublisher::SendHead() {
  ::ttrpc::Request req;
  req.set_service("containerd.services.events.ttrpc.v1.Events");
  req.set_method("Forward");
  req.set_payload(queue_.front());
  req.set_timeout_nano(5'000'000'000);
  auto* md = req.add_metadata();
  md->set_key("containerd-namespace-ttrpc");
  md->set_value(ns_);
  out_ += ttrpc::EncodeFrame(next_stream_, ttrpc::kTypeRequest, req.SerializeAsString());
  next_stream_ += 2;
  in_flight_ = true;
  OnEvent(EPOLLOUT);
}

void EventPublisher::OnEvent(uint32_t ev) {
  if (!fd_) return;
  if ((ev & EPOLLOUT) && !out_.empty()) {
    ssize_t n = send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) out_.erase(0, static_cast<size_t>(n));
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Disconnect(strerror(errno));
    uint32_t want_out = out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT);
    (void)reactor_.Modify(fd_.get(), EPOLLIN | EPOLLRDHUP | want_out);
  }
  if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) return;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return Disconnect(n == 0 ? "connection closed" : strerror(errno));
    decoder_.Feed(buf, static_cast<size_t>(n));
  }
  while (auto f = decoder_.Next()) {
    if (f->header.type != ttrpc::kTypeResponse || !in_flight_) continue;
    ::ttrpc::Response resp;
    if (resp.ParseFromString(f->payload) && resp.has_status() && resp.status().code() != 0) {
      // containerd rejected this envelope; retrying it cannot succeed.
      log::Warn("containerd rejected an event", {{"error", resp.status().message()}});
    }
    in_flight_ = false;
    failures_ = 0;
    queue_.pop_front();
    if (queue_.empty()) {
      if (on_idle_) std::exchange(on_idle_, nullptr)();
      return;
    }
    SendHead();
    return;
  }
}

void EventPublisher::Disconnect(const char* why) {
  log::Debug("events: disconnected", {{"reason", why}});
  if (fd_) reactor_.Remove(fd_.get());
  fd_.reset();
  in_flight_ = false;
  out_.clear();
  Retry();
}

void EventPublisher::Retry() {
  if (retry_timer_) return;
  ++failures_;
  auto delay = std::chrono::milliseconds(std::min(100 * failures_, 5000));
  retry_timer_ = reactor_.AddTimer(delay, [this] {
    retry_timer_ = 0;
    Kick();
  });
}

}  // namespace reaper
