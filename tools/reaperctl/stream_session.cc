#include "stream_session.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "errors.h"
#include "terminal.h"
#include "websocket.h"

namespace reaperctl {

std::optional<int> ExitCodeFromStatus(const std::string& json, std::string* message) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *message = "malformed status from the streaming server: " + json;
    return std::nullopt;
  }
  if (j.value("status", "") == "Success") return 0;
  if (j.value("reason", "") == "NonZeroExitCode" && j.contains("details") &&
      j["details"].is_object() && j["details"].contains("causes") &&
      j["details"]["causes"].is_array()) {
    for (const auto& c : j["details"]["causes"]) {
      if (!c.is_object() || c.value("reason", "") != "ExitCode") continue;
      const std::string m = c.value("message", "");
      if (auto code = ParseInteger(m, INT_MIN, INT_MAX)) return static_cast<int>(*code);
    }
  }
  *message = j.value("message", json);
  return std::nullopt;
}

namespace {

std::string ResizeMessage(unsigned w, unsigned h) {
  std::string m(1, '\x04');
  m += "{\"Width\":" + std::to_string(w) + ",\"Height\":" + std::to_string(h) + "}";
  return m;
}

}  // namespace

int RunStreamSession(const std::string& url, const StreamOptions& opts) {
  WebSocketClient ws;
  ws.Connect(url, kStreamProtocol);

  std::optional<RawTerminal> raw;
  int winch = -1;
  const bool local_tty = opts.tty && isatty(0);
  if (opts.tty) {
    winch = WatchWindowChanges();
    unsigned w, h;
    if (TerminalSize(local_tty ? 0 : 1, &w, &h) && w && h) ws.SendBinary(ResizeMessage(w, h));
    if (opts.stdin && local_tty) raw.emplace(0);
  }

  std::string status;
  bool stdin_open = opts.stdin;
  bool running = true;
  auto on_message = [&](uint8_t, std::string& m) {
    if (m.empty()) return;
    const uint8_t channel = static_cast<uint8_t>(m[0]);
    std::string_view data(m.data() + 1, m.size() - 1);
    switch (channel) {
      case 1:
        WriteAll(1, data);
        break;
      case 2:
        WriteAll(2, data);
        break;
      case 3:
        status.append(data);
        break;
      default:
        break;
    }
  };

  while (running) {
    pollfd fds[3];
    int n = 0;
    fds[n++] = {ws.fd(), POLLIN, 0};
    int stdin_idx = -1, winch_idx = -1;
    if (stdin_open) {
      stdin_idx = n;
      fds[n++] = {0, POLLIN, 0};
    }
    if (winch >= 0) {
      winch_idx = n;
      fds[n++] = {winch, POLLIN, 0};
    }
    int r = poll(fds, static_cast<nfds_t>(n), -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(std::string("poll: ") + strerror(errno));
    if (fds[0].revents) running = ws.Pump(on_message);
    if (stdin_idx >= 0 && fds[stdin_idx].revents) {
      char buf[32768];
      buf[0] = '\0';  // channel 0
      ssize_t got = read(0, buf + 1, sizeof buf - 1);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        stdin_open = false;  // v4 cannot forward EOF; wait for the process to end
      } else {
        ws.SendBinary(std::string_view(buf, static_cast<size_t>(got) + 1));
      }
    }
    if (winch_idx >= 0 && fds[winch_idx].revents) {
      DrainWindowChanges(winch);
      unsigned w, h;
      if (TerminalSize(local_tty ? 0 : 1, &w, &h) && w && h) ws.SendBinary(ResizeMessage(w, h));
    }
  }
  raw.reset();
  if (winch >= 0) close(winch);
  if (status.empty()) throw Error("the streaming session ended without an exit status");
  std::string message;
  if (auto code = ExitCodeFromStatus(status, &message)) return *code;
  throw Error("remote command failed: " + message);
}

}  // namespace reaperctl
