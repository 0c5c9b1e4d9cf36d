// A small RFC 6455 WebSocket client over plain TCP, enough for the CRI streaming server
// (containerd's Exec/Attach URLs, subprotocol v4.channel.k8s.io). The codec parts (SHA-1,
// base64, frame encoding/decoding, URL parsing) are pure and unit-tested.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace reaperctl {

// ---- pure helpers ----------------------------------------------------------------------------
std::array<uint8_t, 20> Sha1(std::string_view data);
std::string Base64Encode(std::string_view data);
// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string WebSocketAccept(std::string_view key);

struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target;  // path and query, at least "/"
};
// Parses an http:// URL (https is refused: reaperctl does not speak TLS); throws Error.
HttpUrl ParseHttpUrl(const std::string& url);

enum WsOpcode : uint8_t {
  kWsContinuation = 0x0,
  kWsText = 0x1,
  kWsBinary = 0x2,
  kWsClose = 0x8,
  kWsPing = 0x9,
  kWsPong = 0xA,
};

// One frame as a client sends it: FIN set, payload masked with `mask`.
std::string EncodeClientFrame(uint8_t opcode, std::string_view payload,
                              const std::array<uint8_t, 4>& mask);

struct WsFrame {
  bool fin = true;
  uint8_t opcode = 0;
  std::string payload;  // unmasked
};

// Incremental frame parser for the bytes a server sends.
class WsFrameDecoder {
 public:
  void Feed(std::string_view data) { buf_.append(data); }
  // A complete frame if one is buffered. Throws Error on a malformed frame (reserved bits,
  // oversized control frame, length over 1 GiB).
  std::optional<WsFrame> Next();

 private:
  std::string buf_;
};

// ---- the client ------------------------------------------------------------------------------
class WebSocketClient {
 public:
  WebSocketClient() = default;
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects and performs the opening handshake asking for `subprotocol`; throws Error naming
  // the HTTP status and body when the server refuses.
  void Connect(const std::string& url, const std::string& subprotocol);

  int fd() const { return fd_; }
  void SendBinary(std::string_view payload) { Send(kWsBinary, payload); }
  void SendClose();

  // Reads what the socket has (call when fd() is readable), answers pings, assembles
  // fragmented messages and calls `on_message(opcode, payload)` for each complete data message.
  // Returns false once the connection ended (close frame or EOF).
  bool Pump(const std::function<void(uint8_t, std::string&)>& on_message);

 private:
  void Send(uint8_t opcode, std::string_view payload);
  bool DrainDecoder(const std::function<void(uint8_t, std::string&)>& on_message);

  int fd_ = -1;
  WsFrameDecoder decoder_;
  std::string partial_;
  uint8_t partial_opcode_ = 0;
  bool closed_ = false;
  bool close_sent_ = false;
};

}  // namespace reaperctl
