#include "websocket.h"

#include <netdb.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <strings.h>

#include "cli_args.h"
#include "errors.h"
#include "terminal.h"

namespace reaperctl {

// ---- SHA-1 (FIPS 180-4 §6.1), needed only to check Sec-WebSocket-Accept ------------------------
std::array<uint8_t, 20> Sha1(std::string_view data) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  auto rotl = [](uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  std::string msg(data);
  const uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<char>((bit_len >> (i * 8)) & 0xff));
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[80];
    for (int t = 0; t < 16; ++t) {
      const auto* p = reinterpret_cast<const uint8_t*>(msg.data() + off + t * 4);
      w[t] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; ++t) {
      uint32_t f, k;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999u;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1u;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDCu;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6u;
      }
      uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[i * 4 + j] = static_cast<uint8_t>(h[i] >> (24 - j * 8));
  return out;
}

std::string Base64Encode(std::string_view data) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<uint8_t>(data[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(data[i + 1])} << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest) {
    uint32_t v = uint32_t{static_cast<uint8_t>(data[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(data[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string WebSocketAccept(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455's GUID
  auto d = Sha1(s);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

HttpUrl ParseHttpUrl(const std::string& url) {
  HttpUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    throw Error("streaming URL " + url +
                " uses TLS, which reaperctl does not speak (containerd: enable_tls_streaming = "
                "false)");
  } else {
    throw Error("unsupported streaming URL: " + url);
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == std::string::npos) throw Error("bad host in URL " + url);
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (u.host.empty()) throw Error("no host in URL " + url);
  if (!port.empty()) {
    auto p = ParseInteger(port, 1, 65535);
    if (!p) throw Error("bad port \"" + port + "\" in URL " + url);
    u.port = static_cast<uint16_t>(*p);
  }
  return u;
}

std::string EncodeClientFrame(uint8_t opcode, std::string_view payload,
                              const std::array<uint8_t, 4>& mask) {
  std::string f;
  f.reserve(payload.size() + 14);
  f.push_back(static_cast<char>(0x80 | (opcode & 0x0f)));
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (i * 8)) & 0xff));
  }
  for (uint8_t m : mask) f.push_back(static_cast<char>(m));
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]));
  return f;
}

std::optional<WsFrame> WsFrameDecoder::Next() {
  const auto* b = reinterpret_cast<const uint8_t*>(buf_.data());
  if (buf_.size() < 2) return std::nullopt;
  if (b[0] & 0x70) throw Error("websocket: reserved bits set in a frame");
  WsFrame f;
  f.fin = b[0] & 0x80;
  f.opcode = b[0] & 0x0f;
  const bool masked = b[1] & 0x80;
  uint64_t len = b[1] & 0x7f;
  size_t pos = 2;
  if (len == 126) {
    if (buf_.size() < 4) return std::nullopt;
    len = (uint64_t{b[2]} << 8) | b[3];
    pos = 4;
  } else if (len == 127) {
    if (buf_.size() < 10) return std::nullopt;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
    pos = 10;
  }
  if (f.opcode >= 0x8 && (len > 125 || !f.fin)) throw Error("websocket: bad control frame");
  if (len > (1u << 30)) throw Error("websocket: frame too large");
  uint8_t mask[4] = {0, 0, 0, 0};
  if (masked) {
    if (buf_.size() < pos + 4) return std::nullopt;
    memcpy(mask, b + pos, 4);
    pos += 4;
  }
  if (buf_.size() < pos + len) return std::nullopt;
  f.payload.assign(buf_, pos, len);
  if (masked)
    for (size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= static_cast<char>(mask[i % 4]);
  buf_.erase(0, pos + len);
  return f;
}

// ---- client ------------------------------------------------------------------------------------
namespace {

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(s.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(std::string("getrandom: ") + strerror(errno));
    got += static_cast<size_t>(r);
  }
  return s;
}

// Value of header `name` in a raw header block (case-insensitive name), or "".
std::string HeaderValue(const std::string& headers, const char* name) {
  size_t pos = headers.find("\r\n");
  const size_t nlen = strlen(name);
  while (pos != std::string::npos && pos + 2 < headers.size()) {
    size_t start = pos + 2;
    size_t end = headers.find("\r\n", start);
    if (end == std::string::npos) end = headers.size();
    std::string line = headers.substr(start, end - start);
    if (line.size() > nlen && line[nlen] == ':' && strncasecmp(line.c_str(), name, nlen) == 0) {
      size_t v = nlen + 1;
      while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
      size_t ve = line.size();
      while (ve > v && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) --ve;
      return line.substr(v, ve - v);
    }
    pos = end;
  }
  return "";
}

}  // namespace

WebSocketClient::~WebSocketClient() {
  if (fd_ >= 0) close(fd_);
}

void WebSocketClient::Connect(const std::string& url, const std::string& subprotocol) {
  HttpUrl u = ParseHttpUrl(url);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res);
  if (rc != 0) throw Error("resolve " + u.host + ": " + gai_strerror(rc));
  int err = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(res);
  if (fd_ < 0) throw Error("connect to streaming server " + url + ": " + strerror(err));

  timeval tv{30, 0};  // bound the handshake only
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  const std::string key = Base64Encode(RandomBytes(16));
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  host += ":" + std::to_string(u.port);
  std::string req = "GET " + u.target + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + subprotocol +
                    "\r\nOrigin: http://" + host + "\r\nUser-Agent: reaperctl\r\n\r\n";
  WriteAll(fd_, req);

  std::string resp;
  size_t hdr_end = std::string::npos;
  char buf[4096];
  while ((hdr_end = resp.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error("streaming server closed the connection during the websocket handshake" +
                  (n < 0 ? std::string(": ") + strerror(errno) : std::string()));
    resp.append(buf, static_cast<size_t>(n));
    if (resp.size() > (1 << 20)) throw Error("websocket handshake: response too large");
  }
  std::string headers = resp.substr(0, hdr_end);
  std::string rest = resp.substr(hdr_end + 4);
  std::string status_line = headers.substr(0, headers.find("\r\n"));
  if (status_line.find(" 101") == std::string::npos) {
    // Read a little of the body for the message (e.g. "token not found").
    for (int i = 0; i < 8 && rest.size() < 4096; ++i) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      rest.append(buf, static_cast<size_t>(n));
    }
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.pop_back();
    throw Error("streaming server refused the websocket upgrade: " + status_line +
                (rest.empty() ? "" : ": " + rest.substr(0, 400)));
  }
  if (HeaderValue(headers, "Sec-WebSocket-Accept") != WebSocketAccept(key))
    throw Error("websocket handshake: wrong Sec-WebSocket-Accept from the server");
  std::string proto = HeaderValue(headers, "Sec-WebSocket-Protocol");
  if (proto != subprotocol)
    throw Error("websocket handshake: server chose subprotocol \"" + proto + "\", wanted " +
                subprotocol);
  tv = {0, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  decoder_.Feed(rest);
}

void WebSocketClient::Send(uint8_t opcode, std::string_view payload) {
  if (fd_ < 0 || close_sent_) return;
  std::string m = RandomBytes(4);
  std::array<uint8_t, 4> mask{};
  memcpy(mask.data(), m.data(), 4);
  WriteAll(fd_, EncodeClientFrame(opcode, payload, mask));
}

void WebSocketClient::SendClose() {
  if (close_sent_ || fd_ < 0) return;
  const char code[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xff)};
  try {
    Send(kWsClose, std::string_view(code, 2));
  } catch (const Error&) {
    // the peer is gone already
  }
  close_sent_ = true;
}

bool WebSocketClient::DrainDecoder(const std::function<void(uint8_t, std::string&)>& on_message) {
  while (auto f = decoder_.Next()) {
    switch (f->opcode) {
      case kWsPing:
        Send(kWsPong, f->payload);
        break;
      case kWsPong:
        break;
      case kWsClose:
        SendClose();
        closed_ = true;
        return false;
      case kWsContinuation:
        partial_ += f->payload;
        if (f->fin) {
          on_message(partial_opcode_, partial_);
          partial_.clear();
        }
        break;
      default:
        if (f->fin) {
          on_message(f->opcode, f->payload);
        } else {
          partial_opcode_ = f->opcode;
          partial_ = std::move(f->payload);
        }
    }
  }
  return true;
}

bool WebSocketClient::Pump(const std::function<void(uint8_t, std::string&)>& on_message) {
  if (closed_) return false;
  if (!DrainDecoder(on_message)) return false;  // bytes that arrived with the handshake
  char buf[65536];
  ssize_t n;
  do {
    n = read(fd_, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  decoder_.Feed(std::string_view(buf, static_cast<size_t>(n)));
  return DrainDecoder(on_message);
}

}  // namespace reaperctl
