// GroupCollector: removes overlay groups that no container has used for the node's
// `group_idle_timeout` (docs/configuration.md), from the shim's event loop and without
// blocking it: one reactor timer (the loop's timerfd) for the next group due, the group's lock
// taken with LOCK_NB (a busy group is looked at again a second later), and the removal of
// the moved-aside tree in a short-lived forked child. Every live shim on the node does this
// for every group, so a group left idle by a shim that exited is removed by the next one
// (or by `reaper-overlay gc`). Loop thread only.
#pragma once

#include "base/reactor.h"
#include "host/node_config.h"

namespace reaper {

class GroupCollector {
 public:
  GroupCollector(Reactor& reactor, NodeConfig cfg);
  ~GroupCollector();
  GroupCollector(const GroupCollector&) = delete;
  GroupCollector& operator=(const GroupCollector&) = delete;

  // Looks at the node's groups now: removes those idle for the timeout, then arms the timer
  // for the next one due. A no-op when the timeout is 0 (never).
  void Scan();

 private:
  Reactor& reactor_;
  NodeConfig cfg_;
  Reactor::TimerId timer_ = 0;
};

}  // namespace reaper
