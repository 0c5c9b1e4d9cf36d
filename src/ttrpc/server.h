// ttrpc server on the Reactor: many connections, many requests in flight per connection,
// replies in any order (docs/protocol.md). Each accepted peer must have our euid/egid
// (SO_PEERCRED), as containerd's own server requires. Loop thread only.
//
// When accept(2) fails for want of resources (EMFILE at the nofile limit, ENFILE, ENOBUFS,
// ENOMEM) or any other unexpected error, the listener is taken off the loop until a connection
// closes (which frees an fd) or kAcceptRetry passes; pending clients wait in the backlog.
// Failures are logged at once, then at most once per kAcceptLogInterval with their count.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/reactor.h"
#include "base/status.h"
#include "ttrpc/frame.h"
#include "base/unique_fd.h"

namespace reaper::ttrpc {

class Connection;

// One-shot reply to one request. Cheap to copy; the first Reply() wins, later ones are ignored.
// If the connection closed meanwhile, the reply is dropped. Loop thread only.
class Responder {
 public:
  Responder() = default;
  Responder(std::weak_ptr<Connection> conn, uint32_t stream);
  // Not bound to a connection (fuzzing, tests): `sink` receives the Response frame bytes.
  Responder(std::function<void(std::string)> sink, uint32_t stream);
  // OK -> payload is sent; error -> status only (payload ignored).
  void Reply(const Status& status, const std::string& payload = {});
  bool replied() const { return !state_ || state_->done; }
  // True if the peer that sent the request is gone.
  bool orphaned() const;

 private:
  struct State {
    std::weak_ptr<Connection> conn;
    uint32_t stream;
    bool done = false;
    std::function<void(std::string)> sink;  // set: replies go here instead of `conn`
  };
  std::shared_ptr<State> state_;
};

// Called with the raw method payload; must eventually Reply (now or later).
using Handler = std::function<void(const std::string& payload, Responder r)>;

// Pure: the Response frame bytes for a reply (status omitted when OK, as Go's server does).
// An OK payload over the size limit becomes ResourceExhausted.
std::string EncodeResponseFrame(uint32_t stream, const Status& status, const std::string& payload);

class Server {
 public:
  static constexpr std::chrono::milliseconds kAcceptRetry{500};
  static constexpr std::chrono::seconds kAcceptLogInterval{10};

  // Touches neither the socket nor the reactor until Start().
  Server(Reactor& reactor, UniqueFd listen_fd);
  // Closes the listener and every connection (their pending Responders then drop replies).
  ~Server();
  void Register(const std::string& service, const std::string& method, Handler h);
  Status Start();
  void StopAccepting();
  size_t connections() const { return conns_.size(); }
  bool accept_paused() const { return accept_paused_; }

  // Internal, used by Connection: route one decoded frame.
  void Dispatch(const std::shared_ptr<Connection>& c, FrameDecoder::Frame f);
  // The part of Dispatch that needs no socket: decodes the Request and calls its handler, or
  // replies with the error through `r` (whose stream is the frame's). Fuzzed directly.
  void Route(FrameDecoder::Frame f, Responder r);
  void Closed(int fd);

 private:
  void Accept();
  void PauseAccepting(int err);
  void ResumeAccepting();
  Status WatchListener();

  Reactor& reactor_;
  UniqueFd listen_fd_;
  bool accept_paused_ = false;
  Reactor::TimerId accept_timer_ = 0;
  uint64_t accept_failures_ = 0;  // accept errors not yet logged
  bool ever_logged_ = false;
  std::chrono::steady_clock::time_point accept_logged_{};  // last accept log line
  std::map<std::string, std::map<std::string, Handler>> services_;
  std::unordered_map<int, std::shared_ptr<Connection>> conns_;
};

}  // namespace reaper::ttrpc
