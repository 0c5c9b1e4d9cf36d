// reaper-overlay: lists and removes overlay groups on a node (docs/configuration.md).
//   reaper-overlay list
//   reaper-overlay remove [--force] GROUP
// Reads the same node configuration as the shim (REAPER_CONFIG or /etc/reaper/reaper.toml).
#include <cstdio>
#include <cstring>
#include <string>

#include "host/node_config.h"
#include "host/overlay_group.h"

namespace {
int Usage() {
  fprintf(stderr, "usage: reaper-overlay list\n       reaper-overlay remove [--force] GROUP\n");
  return 2;
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
  if (cmd == "remove") {
    bool force = false;
    std::string key;
    for (int i = 2; i < argc; ++i) {
      if (strcmp(argv[i], "--force") == 0) force = true;
      else if (key.empty()) key = argv[i];
      else return Usage();
    }
    if (key.empty()) return Usage();
    auto st = reaper::RemoveGroup(*cfg, key, force);
    if (!st.ok()) {
      fprintf(stderr, "reaper-overlay: %s\n", st.message().c_str());
      return 1;
    }
    printf("removed %s\n", key.c_str());
    return 0;
  }
  return Usage();
}
