#include "shim/group_gc.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/child.h"
#include "base/log.h"
#include "base/remove_tree.h"
#include "host/overlay_group.h"

namespace reaper {
namespace {

// Removes `path` in a forked child, so a large upper layer never stalls the loop. The child
// keeps no fd of the shim's (a held pipe end would delay another process's EOF) and is
// reaped by the daemon's SIGCHLD handler like any other child it does not know.
void RemoveTreeInChild(const std::string& path) {
  pid_t pid = fork();
  if (pid < 0) {
    log::Warn("cannot fork to remove an idle overlay group", {{"path", path}, {"error", strerror(errno)}});
    return;
  }
  if (pid > 0) return;
  if (!KeepOnlyFds({})) _exit(1);
  Status st = RemoveTree(path);
  _exit(st.ok() ? 0 : 1);
}

}  // namespace

GroupCollector::GroupCollector(Reactor& reactor, NodeConfig cfg) : reactor_(reactor), cfg_(std::move(cfg)) {}

GroupCollector::~GroupCollector() {
  if (timer_) reactor_.CancelTimer(timer_);
}

void GroupCollector::Scan() {
  const long long timeout = cfg_.group_idle_timeout_s;
  if (timeout <= 0) return;
  if (timer_) reactor_.CancelTimer(std::exchange(timer_, 0));
  const long long now = time(nullptr);
  long long next = -1;  // seconds until the next look
  auto soon = [&](long long s) { next = next < 0 ? s : std::min(next, s); };
  bool removed = false;
  for (const auto& g : ListGroups(cfg_)) {
    if (!g.users.empty()) continue;
    long long due = static_cast<long long>(g.idle_since) + timeout - now;
    if (due > 0) {
      soon(due);
      continue;
    }
    auto trash = DetachGroup(cfg_, g.key, /*force=*/false, /*block=*/false);
    if (!trash.ok()) {
      Code code = trash.status().code();
      if (code == Code::kUnavailable) {
        soon(1);  // locked elsewhere (being created or removed): look again
      } else if (code != Code::kFailedPrecondition && code != Code::kNotFound) {
        // Not warned: a user came back meanwhile, or another shim removed it first.
        log::Warn("cannot remove idle overlay group", {{"group", g.key}, {"error", trash.status().message()}});
      }
      continue;
    }
    log::Info("removed idle overlay group", {{"group", g.key}, {"idle_seconds", std::to_string(now - g.idle_since)}});
    RemoveTreeInChild(*trash);
    removed = true;
  }
  if (removed) {
    if (Status st = ReleaseNsDirIfUnused(cfg_, /*block=*/false); !st.ok()) {
      log::Warn("cannot unmount the overlay namespace directory", {{"error", st.message()}});
    }
  }
  if (next >= 0) {
    timer_ = reactor_.AddTimer(std::chrono::seconds(next), [this] {
      timer_ = 0;
      Scan();
    });
  }
}

}  // namespace reaper
