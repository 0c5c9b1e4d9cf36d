// Test helpers for the ttrpc client side: a fake ttrpc server on a thread of its own (blocking
// I/O over poll, so it can be stopped and restarted), which records every Request and answers
// it, holds its answer until told, or never answers; and RunUntil, which runs a Reactor until
// a condition holds or a deadline passes.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/reactor.h"
#include "base/unique_fd.h"
#include "ttrpc.pb.h"
#include "temp_dir.h"
#include "ttrpc/frame.h"

namespace reaper::testing {

// Runs `r` until `pred()` is true (checked every millisecond) or `timeout` passes; returns
// pred(). The loop may run other callbacks meanwhile, as in production.
inline bool RunUntil(Reactor& r, const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  if (pred()) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Reactor::TimerId tick = 0;
  std::function<void()> check = [&] {
    tick = 0;
    if (pred() || std::chrono::steady_clock::now() >= deadline) return r.Stop();
    tick = r.AddTimer(std::chrono::milliseconds(1), check);
  };
  tick = r.AddTimer(std::chrono::milliseconds(1), check);
  (void)r.Run();
  if (tick) r.CancelTimer(tick);
  return pred();
}

class FakeTtrpcServer {
 public:
  enum class Mode {
    kAnswer,  // reply at once
    kHold,    // keep the reply until ReleaseHeld()
    kStall,   // never reply (accept, read, say nothing)
  };
  struct Request {
    int conn = 0;  // 1 for the first accepted connection, 2 for the next...
    uint32_t stream = 0;
    ::ttrpc::Request req;
  };
  // Given a request, the Response to send (default: OK, empty payload).
  using Answer = std::function<::ttrpc::Response(const Request&)>;

  explicit FakeTtrpcServer(std::string path) : path_(std::move(path)) { Start(); }
  ~FakeTtrpcServer() { Stop(); }

  // Listens on the path (again) and serves on a thread.
  void Start() {
    listen_ = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    unlink(path_.c_str());
    if (bind(listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(listen_.get(), 16) != 0) {
      listen_.reset();
      return;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return;
    wake_r_ = UniqueFd(p[0]);
    wake_w_ = UniqueFd(p[1]);
    thread_ = std::thread([this] { Serve(); });
  }
  // Closes the listener and every connection, removes the socket file.
  void Stop() {
    if (!thread_.joinable()) return;
    char c = 'q';
    (void)!write(wake_w_.get(), &c, 1);
    thread_.join();
    listen_.reset();
    wake_r_.reset();
    wake_w_.reset();
    unlink(path_.c_str());
  }
  bool listening() const { return thread_.joinable(); }

  void SetMode(Mode m) {
    std::lock_guard<std::mutex> l(mu_);
    mode_ = m;
  }
  void SetAnswer(Answer a) {
    std::lock_guard<std::mutex> l(mu_);
    answer_ = std::move(a);
  }
  // Sends every held reply (to connections still open).
  void ReleaseHeld() {
    {
      std::lock_guard<std::mutex> l(mu_);
      release_ = true;
    }
    char c = 'r';
    (void)!write(wake_w_.get(), &c, 1);
  }

  std::vector<Request> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<Request> answered() {
    std::lock_guard<std::mutex> l(mu_);
    return answered_;
  }
  int accepted() {
    std::lock_guard<std::mutex> l(mu_);
    return accepted_;
  }
  // Connections the client closed (EOF seen here).
  int closed_by_client() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

 private:
  struct Conn {
    int id;
    UniqueFd fd;
    ttrpc::FrameDecoder dec;
  };

  void Serve() {
    std::map<int, Conn> conns;  // by id
    std::vector<std::pair<int, Request>> held;  // (conn id, request)
    for (;;) {
      std::vector<pollfd> pfds{{wake_r_.get(), POLLIN, 0}, {listen_.get(), POLLIN, 0}};
      std::vector<int> ids;
      for (auto& [id, c] : conns) {
        pfds.push_back({c.fd.get(), POLLIN, 0});
        ids.push_back(id);
      }
      if (poll(pfds.data(), pfds.size(), -1) < 0) continue;
      if (pfds[0].revents) {
        char buf[64];
        ssize_t n = read(wake_r_.get(), buf, sizeof buf);
        bool quit = false;
        for (ssize_t i = 0; i < n; ++i) quit = quit || buf[i] == 'q';
        if (quit) return;  // `conns` closes every connection
        bool release;
        {
          std::lock_guard<std::mutex> l(mu_);
          release = std::exchange(release_, false);
        }
        if (release) {
          for (auto& [cid, rq] : held) {
            auto it = conns.find(cid);
            if (it != conns.end()) Reply(it->second, rq);
          }
          held.clear();
        }
      }
      if (pfds[1].revents & POLLIN) {
        UniqueFd fd(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (fd) {
          std::lock_guard<std::mutex> l(mu_);
          int id = ++accepted_;
          conns.emplace(id, Conn{id, std::move(fd), ttrpc::FrameDecoder()});
        }
      }
      for (size_t i = 2; i < pfds.size(); ++i) {
        if (!pfds[i].revents) continue;
        Conn& c = conns.at(ids[i - 2]);
        char buf[65536];
        ssize_t n = read(c.fd.get(), buf, sizeof buf);
        if (n <= 0) {
          conns.erase(ids[i - 2]);
          std::lock_guard<std::mutex> l(mu_);
          ++closed_;
          continue;
        }
        c.dec.Feed(buf, static_cast<size_t>(n));
        while (auto f = c.dec.Next()) {
          Request rq;
          rq.conn = c.id;
          rq.stream = f->header.stream_id;
          rq.req.ParseFromString(f->payload);
          Mode m;
          {
            std::lock_guard<std::mutex> l(mu_);
            requests_.push_back(rq);
            m = mode_;
          }
          if (m == Mode::kAnswer) Reply(c, rq);
          if (m == Mode::kHold) held.emplace_back(c.id, rq);
        }
      }
    }
  }

  void Reply(Conn& c, const Request& rq) {
    ::ttrpc::Response resp;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (answer_) resp = answer_(rq);
    }
    std::string frame = ttrpc::EncodeFrame(rq.stream, ttrpc::kTypeResponse, resp.SerializeAsString());
    // Recorded before the send: once the client has the reply, the test must see it here.
    {
      std::lock_guard<std::mutex> l(mu_);
      answered_.push_back(rq);
    }
    size_t off = 0;
    while (off < frame.size()) {
      ssize_t n = send(c.fd.get(), frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {  // the client went away: not answered after all
        std::lock_guard<std::mutex> l(mu_);
        answered_.pop_back();
        return;
      }
      off += static_cast<size_t>(n);
    }
  }

  std::string path_;
  UniqueFd listen_, wake_r_, wake_w_;
  std::thread thread_;
  std::mutex mu_;
  Mode mode_ = Mode::kAnswer;
  Answer answer_;
  bool release_ = false;
  std::vector<Request> requests_;
  std::vector<Request> answered_;
  int accepted_ = 0;
  int closed_ = 0;
};

}  // namespace reaper::testing
