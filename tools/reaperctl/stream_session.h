// The Kubernetes remotecommand channel protocol over WebSocket (subprotocol v4.channel.k8s.io),
// as served by the CRI streaming server for Exec and Attach URLs: every binary message starts
// with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 status (JSON metav1.Status), 4 resize
// (JSON {"Width":w,"Height":h}).
//
// v4 has no way to signal the end of stdin (v5 added one; containerd 1.6 does not speak v5):
// after local stdin ends, reaperctl keeps the session open until the remote process exits.
#pragma once

#include <optional>
#include <string>

namespace reaperctl {

inline constexpr char kStreamProtocol[] = "v4.channel.k8s.io";

struct StreamOptions {
  bool stdin = false;  // forward local stdin
  bool tty = false;    // the remote side has a terminal: raw local terminal, resize events
};

// Runs one session; returns the remote exit code (0 for Success). Throws Error if the
// session fails or ends without a status.
int RunStreamSession(const std::string& url, const StreamOptions& opts);

// Pure: exit code from a v4 status message; nullopt (and `message` set) for a failure that is
// not an exit code.
std::optional<int> ExitCodeFromStatus(const std::string& json, std::string* message);

}  // namespace reaperctl
