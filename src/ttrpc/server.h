// ttrpc server on the Reactor: many connections, many requests in flight per connection,
// replies in any order (protocol.md §1.3–1.9). Each accepted peer must have our euid/egid
// (SO_PEERCRED), as containerd's own server requires.
#pragma once

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
  Server(Reactor& reactor, UniqueFd listen_fd);
  ~Server();
  void Register(const std::string& service, const std::string& method, Handler h);
  Status Start();
  void StopAccepting();
  size_t connections() const { return conns_.size(); }

  // Internal, used by Connection: route one decoded frame.
  void Dispatch(const std::shared_ptr<Connection>& c, FrameDecoder::Frame f);
  // The part of Dispatch that needs no socket: decodes the Request and calls its handler, or
  // replies with the error through `r` (whose stream is the frame's). Fuzzed directly.
  void Route(FrameDecoder::Frame f, Responder r);
  void Closed(int fd);

 private:
  void Accept();
  Reactor& reactor_;
  UniqueFd listen_fd_;
  std::map<std::string, std::map<std::string, Handler>> services_;
  std::unordered_map<int, std::shared_ptr<Connection>> conns_;
};

}  // namespace reaper::ttrpc
