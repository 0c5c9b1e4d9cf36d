// reaper-overlay: lists and removes overlay groups on a node (docs/configuration.md).
//   reaper-overlay list
//   reaper-overlay remove [--force] GROUP
//   reaper-overlay gc [--idle DURATION]
// Reads the same node configuration as the shim (REAPER_CONFIG or /etc/reaper/reaper.toml).
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "host/node_config.h"
#include "host/overlay_group.h"

namespace {
int Usage() {
  fprintf(stderr,
          "usage: reaper-overlay list\n       reaper-overlay remove [--force] GROUP\n"
          "       reaper-overlay gc [--idle DURATION]\n");
  return 2;
}

// Removes every group nobody uses that has been idle for `idle_s` (0: every unused group),
// then unmounts <state_root>/ns if no group is left.
int Gc(const reaper::NodeConfig& cfg, long long idle_s) {
  int rc = 0;
  long long now = time(nullptr);
  for (const auto& g : reaper::ListGroups(cfg)) {
    if (!g.users.empty() || now - static_cast<long long>(g.idle_since) < idle_s) continue;
    auto st = reaper::RemoveGroup(cfg, g.key, /*force=*/false);
    if (st.ok()) {
      printf("removed %s\n", g.key.c_str());
    } else if (st.code() != reaper::Code::kFailedPrecondition) {  // a container came meanwhile
      fprintf(stderr, "reaper-overlay: %s\n", st.message().c_str());
      rc = 1;
    }
  }
  if (auto st = reaper::ReleaseNsDirIfUnused(cfg, /*block=*/true); !st.ok()) {
    fprintf(stderr, "reaper-overlay: %s\n", st.message().c_str());
    rc = 1;
  }
  return rc;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  auto cfg = reaper::LoadNodeConfig();
  if (!cfg.ok()) {
    fprintf(stderr, "reaper-overlay: %s\n", cfg.status().message().c_str());
    return 1;
  }
  std::string cmd = argv[1];
  if (cmd == "list" && argc == 2) {
    printf("%-40s %-8s %s\n", "GROUP", "ACTIVE", "CONTAINERS");
    for (const auto& g : reaper::ListGroups(*cfg)) {
      printf("%-40s %-8s %zu\n", g.key.c_str(), g.active ? "yes" : "no", g.users.size());
    }
    return 0;
  }
  if (cmd == "gc") {
    long long idle = cfg->group_idle_timeout_s;
    if (argc == 4 && strcmp(argv[2], "--idle") == 0) {
      if (!reaper::ParseDuration(argv[3], &idle)) {
        fprintf(stderr, "reaper-overlay: --idle must be seconds or <n>s|m|h|d: %s\n", argv[3]);
        return 2;
      }
    } else if (argc != 2) {
      return Usage();
    }
    return Gc(*cfg, idle);
  }
  if (cmd == "remove") {
    bool force = false;
    std::string key;
    for (int i = 2; i < argc; ++i) {
      if (strcmp(argv[i], "--force") == 0) force = true;
      else if (key.empty()) key = argv[i];
      else return Usage();
    }
    if (key.empty()) return Usage();
    size_t users = 0;
    for (const auto& g : reaper::ListGroups(*cfg)) {
      if (g.key == key) users = g.users.size();
    }
    auto st = reaper::RemoveGroup(*cfg, key, force);
    if (!st.ok()) {
      fprintf(stderr, "reaper-overlay: %s\n", st.message().c_str());
      return 1;
    }
    printf("removed %s\n", key.c_str());
    if (users > 0) {  // only with --force
      fprintf(stderr,
              "reaper-overlay: %zu running container(s) keep the detached group until they exit "
              "(without overlay_size its writable layer was deleted under them); new containers get a fresh group\n",
              users);
    }
    return 0;
  }
  return Usage();
}
