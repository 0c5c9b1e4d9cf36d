#include "ttrpc/client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "ttrpc.pb.h"

namespace reaper::ttrpc {

Client::Client(Reactor& reactor, std::string path) : reactor_(reactor), path_(std::move(path)) {}

Client::~Client() {
  *alive_ = false;
  Teardown();
}

Status Client::Connect() {
  if (fd_) return Status::Ok();
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof sa.sun_path) {
    return Status(Code::kInvalidArgument, "ttrpc client: bad socket path \"" + path_ + "\"");
  }
  memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::FromErrno(errno, "ttrpc client: socket");
  bool in_progress = false;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    // A unix socket connects at once or fails; EAGAIN means the listen backlog is full and
    // nothing is in progress. EINPROGRESS/EINTR: the connect completes in the background.
    if (errno != EINPROGRESS && errno != EINTR) return Status::FromErrno(errno, "connect " + path_);
    in_progress = true;
  }
  uint32_t events = EPOLLIN | EPOLLRDHUP | (in_progress ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  Status st = reactor_.Add(fd.get(), events, [this](uint32_t ev) { OnEvent(ev); });
  if (!st.ok()) return st.Wrap("ttrpc client " + path_);
  fd_ = std::move(fd);
  connected_ = !in_progress;
  want_out_ = in_progress;
  decoder_ = FrameDecoder();
  out_.clear();
  next_stream_ = 1;
  return Status::Ok();
}

void Client::Close() { Teardown(); }

void Client::Teardown() {
  if (fd_) reactor_.Remove(fd_.get());
  fd_.reset();
  connected_ = false;
  want_out_ = false;
  out_.clear();
  decoder_ = FrameDecoder();
  for (auto& [stream, p] : pending_) {
    if (p.timer) reactor_.CancelTimer(p.timer);
  }
  pending_.clear();
  ++generation_;
}

Status Client::Call(const std::string& service, const std::string& method, const std::string& payload,
                    const Metadata& metadata, std::chrono::milliseconds timeout, CallCallback cb) {
  if (!fd_) return Status(Code::kUnavailable, "ttrpc client: not connected to " + path_);
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  if (timeout.count() > 0) req.set_timeout_nano(static_cast<int64_t>(timeout.count()) * 1'000'000);
  for (const auto& [k, v] : metadata) {
    auto* kv = req.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  std::string bytes = req.SerializeAsString();
  if (bytes.size() > kMaxMessageSize) {
    return Status(Code::kResourceExhausted, "ttrpc client: request of " + std::to_string(bytes.size()) +
                                                " bytes exceeds the limit of " + std::to_string(kMaxMessageSize));
  }
  // Odd ids from 1, never reused on a connection. 2^31 calls on one connection would wrap:
  // start a fresh connection instead.
  if (next_stream_ > 0xfffffffdu) return Status(Code::kResourceExhausted, "ttrpc client: stream ids exhausted");
  uint32_t stream = next_stream_;
  next_stream_ += 2;
  out_ += EncodeFrame(stream, kTypeRequest, bytes);
  Pending p;
  p.cb = std::move(cb);
  p.timeout = timeout;
  if (timeout.count() > 0) p.timer = reactor_.AddTimer(timeout, [this, stream] { OnTimeout(stream); });
  pending_.emplace(stream, std::move(p));
  // Write what fits now. An error is left for the loop: epoll reports the broken socket
  // (EPOLLERR/EPOLLHUP) and OnEvent fails the connection, so no callback runs inside Call().
  if (connected_) (void)Flush();
  UpdateInterest();
  return Status::Ok();
}

void Client::UpdateInterest() {
  if (!fd_) return;
  bool want = !connected_ || !out_.empty();
  if (want == want_out_) return;
  want_out_ = want;
  (void)reactor_.Modify(fd_.get(), EPOLLIN | EPOLLRDHUP | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u));
}

Status Client::Flush() {
  while (!out_.empty()) {
    ssize_t n = send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    return Status::FromErrno(errno, "send to " + path_);
  }
  return Status::Ok();
}

void Client::OnEvent(uint32_t ev) {
  if (!fd_) return;
  if (!connected_) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Fail(Status::FromErrno(err, "connect " + path_));
    connected_ = true;
  }
  if (ev & EPOLLOUT) {
    Status st = Flush();
    if (!st.ok()) return Fail(st);
  }
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    if (!ReadAll()) return;
  }
  UpdateInterest();
}

bool Client::ReadAll() {
  auto alive = alive_;
  uint64_t gen = generation_;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      decoder_.Feed(buf, static_cast<size_t>(n));
      while (auto f = decoder_.Next()) {
        OnFrame(std::move(*f));
        if (!*alive || gen != generation_) return false;  // a callback closed or destroyed us
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    Fail(n == 0 ? Status(Code::kUnavailable, "connection closed by " + path_)
                : Status::FromErrno(errno, "read from " + path_));
    return false;
  }
}

void Client::OnFrame(FrameDecoder::Frame f) {
  if (!f.oversized && f.header.type != kTypeResponse) return;  // not ours to answer; skip
  auto it = pending_.find(f.header.stream_id);
  if (it == pending_.end()) {
    // Late (after a timeout) or bogus: dropped, as Go's client does.
    log::Debug("ttrpc client: reply for no pending call",
               {{"socket", path_}, {"stream", std::to_string(f.header.stream_id)}});
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.timer) reactor_.CancelTimer(p.timer);
  CallResult r;
  r.outcome = CallResult::Outcome::kReplied;
  ::ttrpc::Response resp;
  if (f.oversized) {
    r.status = Status(Code::kResourceExhausted, "ttrpc client: reply of " + std::to_string(f.header.length) +
                                                    " bytes exceeds the limit of " + std::to_string(kMaxMessageSize));
  } else if (!resp.ParseFromString(f.payload)) {
    r.status = Status(Code::kInternal, "ttrpc client: malformed ttrpc.Response from " + path_);
  } else if (resp.has_status() && resp.status().code() != 0) {
    r.status = Status(static_cast<Code>(resp.status().code()), resp.status().message());
  } else {
    r.payload = std::move(*resp.mutable_payload());
  }
  p.cb(std::move(r));
}

void Client::OnTimeout(uint32_t stream) {
  auto it = pending_.find(stream);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  CallResult r;
  r.outcome = CallResult::Outcome::kTimedOut;
  r.status = Status(Code::kDeadlineExceeded, "ttrpc: no reply from " + path_ + " within " +
                                                 std::to_string(p.timeout.count()) + " ms");
  p.cb(std::move(r));
}

void Client::Fail(const Status& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [stream, p] : pending) {
    if (p.timer) reactor_.CancelTimer(p.timer);
  }
  Teardown();
  auto alive = alive_;
  Status reason(Code::kUnavailable, why.message());
  for (auto& [stream, p] : pending) {
    CallResult r;
    r.outcome = CallResult::Outcome::kDisconnected;
    r.status = reason;
    p.cb(std::move(r));
    if (!*alive) return;
  }
  if (on_disconnect_) {
    auto cb = on_disconnect_;  // the callback may replace it
    cb(reason);
  }
}

}  // namespace reaper::ttrpc
