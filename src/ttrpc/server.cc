#include "ttrpc/server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "ttrpc.pb.h"

namespace reaper::ttrpc {

// Owns one accepted socket: decodes frames and queues reply bytes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Reactor& r, Server& s, UniqueFd fd) : reactor_(r), server_(s), fd_(std::move(fd)) {}
  ~Connection() {
    if (fd_) reactor_.Remove(fd_.get());  // the server went away with this connection open
  }
  Status Start() {
    return reactor_.Add(fd_.get(), EPOLLIN | EPOLLRDHUP, [this](uint32_t ev) { OnEvent(ev); });
  }
  void Send(std::string bytes) {
    if (closed_) return;
    out_ += bytes;
    Flush();
  }
  bool closed() const { return closed_; }

 private:
  static constexpr size_t kMaxQueued = 64u << 20;

  void OnEvent(uint32_t ev) {
    auto self = shared_from_this();  // Dispatch may drop the server's reference
    if (ev & EPOLLOUT) Flush();
    if (closed_) return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) Read();
  }
  void Read() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n > 0) {
        decoder_.Feed(buf, static_cast<size_t>(n));
        while (auto f = decoder_.Next()) {
          server_.Dispatch(shared_from_this(), std::move(*f));
          if (closed_) return;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      Close();  // EOF or error
      return;
    }
  }
  void Flush() {
    while (!out_.empty()) {
      ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (out_.size() > kMaxQueued) {
          log::Warn("ttrpc client is not reading its replies; closing the connection");
          Close();
          return;
        }
        if (!want_out_) {
          want_out_ = true;
          (void)reactor_.Modify(fd_.get(), EPOLLIN | EPOLLRDHUP | EPOLLOUT);
        }
        return;
      }
      Close();
      return;
    }
    if (want_out_) {
      want_out_ = false;
      (void)reactor_.Modify(fd_.get(), EPOLLIN | EPOLLRDHUP);
    }
  }
  void Close() {
    if (closed_) return;
    closed_ = true;
    reactor_.Remove(fd_.get());
    int fd = fd_.get();
    auto self = shared_from_this();
    server_.Closed(fd);
    fd_.reset();
  }

  Reactor& reactor_;
  Server& server_;
  UniqueFd fd_;
  FrameDecoder decoder_;
  std::string out_;
  bool want_out_ = false;
  bool closed_ = false;
};

Responder::Responder(std::weak_ptr<Connection> conn, uint32_t stream)
    : state_(std::make_shared<State>(State{std::move(conn), stream, false, {}})) {}

Responder::Responder(std::function<void(std::string)> sink, uint32_t stream)
    : state_(std::make_shared<State>(State{{}, stream, false, std::move(sink)})) {}

bool Responder::orphaned() const {
  if (!state_) return true;
  if (state_->sink) return false;
  auto c = state_->conn.lock();
  return !c || c->closed();
}

void Responder::Reply(const Status& status, const std::string& payload) {
  if (!state_ || state_->done) return;
  state_->done = true;
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("reply", {{"stream", std::to_string(state_->stream)}, {"code", std::to_string(static_cast<int>(status.code()))}});
  }
  if (state_->sink) return state_->sink(EncodeResponseFrame(state_->stream, status, payload));
  auto c = state_->conn.lock();
  if (!c) return;
  c->Send(EncodeResponseFrame(state_->stream, status, payload));
}

std::string EncodeResponseFrame(uint32_t stream, const Status& status, const std::string& payload) {
  ::ttrpc::Response resp;
  if (!status.ok()) {
    resp.mutable_status()->set_code(static_cast<int>(status.code()));
    resp.mutable_status()->set_message(status.message());
  } else {
    resp.set_payload(payload);
  }
  std::string bytes = resp.SerializeAsString();
  if (bytes.size() > kMaxMessageSize) {
    return EncodeResponseFrame(
        stream,
        Status(Code::kResourceExhausted, "message length " + std::to_string(bytes.size()) +
                                             " exceed maximum message size of " +
                                             std::to_string(kMaxMessageSize)),
        {});
  }
  return EncodeFrame(stream, kTypeResponse, bytes);
}

Server::Server(Reactor& reactor, UniqueFd listen_fd) : reactor_(reactor), listen_fd_(std::move(listen_fd)) {}

Server::~Server() {
  StopAccepting();
  conns_.clear();  // each Connection leaves the reactor and closes its socket
}

void Server::Register(const std::string& service, const std::string& method, Handler h) {
  services_[service][method] = std::move(h);
}

Status Server::Start() {
  // Accept() drains the backlog until EAGAIN, so the listener must not block.
  int fl = fcntl(listen_fd_.get(), F_GETFL);
  if (fl < 0 || fcntl(listen_fd_.get(), F_SETFL, fl | O_NONBLOCK) != 0) {
    return Status::FromErrno(errno, "listener O_NONBLOCK");
  }
  return WatchListener();
}

Status Server::WatchListener() {
  return reactor_.Add(listen_fd_.get(), EPOLLIN, [this](uint32_t) { Accept(); });
}

void Server::StopAccepting() {
  if (accept_timer_) reactor_.CancelTimer(accept_timer_);
  accept_timer_ = 0;
  accept_paused_ = false;
  if (!listen_fd_) return;
  reactor_.Remove(listen_fd_.get());
  listen_fd_.reset();
}

void Server::Accept() {
  for (;;) {
    UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) PauseAccepting(errno);
      return;
    }
    if (accept_failures_ > 0 && std::chrono::steady_clock::now() - accept_logged_ >= kAcceptLogInterval) {
      log::Info("accepting connections again", {{"failed_accepts", std::to_string(accept_failures_)}});
      accept_failures_ = 0;
      accept_logged_ = std::chrono::steady_clock::now();
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid() ||
        cred.gid != getegid()) {
      log::Warn("rejected ttrpc connection from a peer with other credentials",
                {{"uid", std::to_string(cred.uid)}, {"pid", std::to_string(cred.pid)}});
      continue;
    }
    int raw = fd.get();
    auto c = std::make_shared<Connection>(reactor_, *this, std::move(fd));
    Status st = c->Start();
    if (!st.ok()) {
      log::Warn("cannot watch connection", {{"error", st.message()}});
      continue;
    }
    conns_[raw] = std::move(c);
  }
}

// A level-triggered listener whose accept fails (EMFILE: the backlog stays non-empty) would
// wake the loop at once, forever. Off the loop until an fd is freed or the timer fires.
void Server::PauseAccepting(int err) {
  ++accept_failures_;
  auto now = std::chrono::steady_clock::now();
  if (!ever_logged_ || now - accept_logged_ >= kAcceptLogInterval) {
    ever_logged_ = true;
    log::Warn("accept failed; not accepting until a connection closes or a retry",
              {{"error", strerror(err)},
               {"failed_accepts", std::to_string(accept_failures_)},
               {"connections", std::to_string(conns_.size())}});
    accept_failures_ = 0;
    accept_logged_ = now;
  }
  if (accept_paused_) return;
  accept_paused_ = true;
  reactor_.Remove(listen_fd_.get());
  accept_timer_ = reactor_.AddTimer(kAcceptRetry, [this] {
    accept_timer_ = 0;
    ResumeAccepting();
  });
}

void Server::ResumeAccepting() {
  if (!accept_paused_ || !listen_fd_) return;
  if (accept_timer_) reactor_.CancelTimer(accept_timer_);
  accept_timer_ = 0;
  accept_paused_ = false;
  // Not Accept() here: Closed() runs before the connection's fd is closed. The loop reports
  // the listener readable on its next turn if clients are waiting.
  Status st = WatchListener();
  if (!st.ok()) {
    accept_paused_ = true;
    log::Warn("cannot watch the listener; retrying", {{"error", st.message()}});
    accept_timer_ = reactor_.AddTimer(kAcceptRetry, [this] {
      accept_timer_ = 0;
      ResumeAccepting();
    });
  }
}

void Server::Closed(int fd) {
  conns_.erase(fd);
  if (accept_paused_) ResumeAccepting();
}

void Server::Dispatch(const std::shared_ptr<Connection>& c, FrameDecoder::Frame f) {
  Responder r(c, f.header.stream_id);
  Route(std::move(f), std::move(r));
}

void Server::Route(FrameDecoder::Frame f, Responder r) {
  if (f.oversized) {
    r.Reply(Status(Code::kResourceExhausted, "message length " + std::to_string(f.header.length) +
                                                 " exceed maximum message size of " +
                                                 std::to_string(kMaxMessageSize)));
    return;
  }
  if (f.header.type != kTypeRequest) return;  // ttrpc 1.1 skips other frame types
  if (f.header.stream_id % 2 == 0) {
    r.Reply(Status(Code::kInvalidArgument, "StreamID must be odd for client initiated streams"));
    return;
  }
  ::ttrpc::Request req;
  if (!req.ParseFromString(f.payload)) {
    r.Reply(Status(Code::kInvalidArgument, "unmarshal request error: malformed ttrpc.Request"));
    return;
  }
  auto s = services_.find(req.service());
  if (s == services_.end()) {
    r.Reply(Status(Code::kUnimplemented, "service " + req.service()));
    return;
  }
  auto m = s->second.find(req.method());
  if (m == s->second.end()) {
    r.Reply(Status(Code::kUnimplemented, "method " + req.method()));
    return;
  }
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("request", {{"method", req.method()}, {"stream", std::to_string(f.header.stream_id)}});
  }
  m->second(req.payload(), r);
}

}  // namespace reaper::ttrpc
