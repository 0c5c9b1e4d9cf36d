// containerd-shim-reaper-v2: entry point. See src/shim/bootstrap.h and src/shim/daemon.h.
#include <fcntl.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "shim/bootstrap.h"
#include "shim/shim_args.h"
#include "shim/daemon.h"
#include "host/spawn.h"
#include "version.h"

int main(int argc, char** argv) {
  // A closed stdin/stdout/stderr would let the next socket or file take fd 0-2, and the
  // daemon's stdio would then be that socket: fill the gaps with /dev/null first.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 1;
  }
  // The daemon and the placeholder are re-executed through /proc/self/exe; give them
  // recognisable names in ps/top (comm holds 15 characters, as for runc's shim).
  if (argc > 1 && strcmp(argv[1], reaper::kPauseArg) == 0) {
    prctl(PR_SET_NAME, "reaper-sandbox");
    reaper::PauseForever();
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = reaper::ParseShimArgs(args);
  if (!parsed.ok()) {
    fprintf(stderr, "containerd-shim-reaper-v2: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const auto& a = *parsed;
  if (a.action == "version") {
    printf("containerd-shim-reaper-v2:\n  Version: %s\n", REAPER_VERSION);
    return 0;
  }
  // A flag, not an action, as containerd 2.2+ runs it: `<shim> -info` (docs/protocol.md §2.9).
  if (a.info) return reaper::RunInfo();
  if (a.action == "start") return reaper::RunStart(a);
  if (a.action == "delete") return reaper::RunDelete(a);
  if (a.action == "serve") {
    prctl(PR_SET_NAME, "containerd-shim");
    return reaper::RunDaemon(a);
  }
  fprintf(stderr, "containerd-shim-reaper-v2: unknown action \"%s\" (want start or delete)\n", a.action.c_str());
  return 2;
}
