// ttrpc client on the Reactor: one connection to a unix socket, unary requests with odd stream
// ids from 1 (per connection), many in flight, replies matched by stream id (docs/protocol.md
// §1.3–1.8). Used by the shim to call containerd (events). Loop thread only; nothing blocks:
// the connect is non-blocking and every reply, timeout and disconnect arrives as a callback.
//
// Lifecycle: Connect() -> Call()... -> either Close() (ours) or a disconnect (theirs). After
// either, Connect() may be called again; stream ids restart at 1 on each connection.
//
// Callback rules:
// * Every accepted Call() gets exactly one Outcome callback, unless Close() or the destructor
//   runs first: those forget pending calls without calling them.
// * On a disconnect (EOF, socket error, failed connect, protocol error) every pending call gets
//   kDisconnected (oldest first), then the disconnected callback runs once with the reason.
// * A call whose deadline passes gets kTimedOut; the connection stays up and a late reply to
//   that stream is dropped. Deciding whether to reconnect is the caller's business.
// * Callbacks may call any method of this Client, including Close(), and may destroy it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/reactor.h"
#include "base/status.h"
#include "base/unique_fd.h"
#include "ttrpc/frame.h"

namespace reaper::ttrpc {

struct CallResult {
  enum class Outcome {
    kReplied,       // the server answered; `status` is its status, `payload` its result
    kTimedOut,      // no answer before the deadline (status: DeadlineExceeded)
    kDisconnected,  // the connection ended first (status: Unavailable with the reason)
  };
  Outcome outcome = Outcome::kReplied;
  Status status;
  std::string payload;
  bool replied() const { return outcome == Outcome::kReplied; }
};

class Client {
 public:
  using CallCallback = std::function<void(CallResult)>;
  using DisconnectCallback = std::function<void(const Status& why)>;
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  // `path` is a filesystem path (no "unix://"). Touches neither the socket nor the reactor, so
  // it may be constructed before Reactor::Init().
  Client(Reactor& reactor, std::string path);
  ~Client();  // = Close()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs after every disconnect that Close() did not cause. Set it before Connect().
  void SetDisconnectCallback(DisconnectCallback cb) { on_disconnect_ = std::move(cb); }

  // Starts a non-blocking connect. An error that is known at once (no such socket, refused,
  // listen backlog full) is returned and no callback runs; a later failure arrives as a
  // disconnect. A no-op when already connecting or connected.
  Status Connect();
  // Drops the connection and every pending call without calling their callbacks.
  void Close();
  bool connecting() const { return fd_.valid() && !connected_; }
  bool connected() const { return fd_.valid() && connected_; }

  // Sends one Request (queued until the connect completes). `timeout` > 0 is the deadline,
  // sent as timeout_nano and enforced here with a Reactor timer; 0 means none. Fails without
  // calling `cb` when there is no connection or the request exceeds kMaxMessageSize.
  Status Call(const std::string& service, const std::string& method, const std::string& payload,
              const Metadata& metadata, std::chrono::milliseconds timeout, CallCallback cb);
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    CallCallback cb;
    std::chrono::milliseconds timeout{0};
    Reactor::TimerId timer = 0;
  };
  void OnEvent(uint32_t events);
  Status Flush();  // writes what the socket takes now
  bool ReadAll();  // false: the connection failed, was closed or `this` is gone
  void OnFrame(FrameDecoder::Frame f);
  void OnTimeout(uint32_t stream);
  void Fail(const Status& why);
  void UpdateInterest();
  void Teardown();  // closes the fd and clears the per-connection state

  Reactor& reactor_;
  std::string path_;
  UniqueFd fd_;
  bool connected_ = false;
  bool want_out_ = false;
  FrameDecoder decoder_;
  std::string out_;
  uint32_t next_stream_ = 1;
  std::map<uint32_t, Pending> pending_;  // ordered: oldest stream first
  DisconnectCallback on_disconnect_;
  uint64_t generation_ = 0;                         // bumped by every Teardown
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
};

}  // namespace reaper::ttrpc
