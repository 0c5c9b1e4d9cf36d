// reaperctl: a small CRI client for one node — the kubelet stand-in of Reaper's demo and
// end-to-end tests, and a debugging tool for operators.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "errors.h"

namespace {

const char kUsage[] = R"(usage: reaperctl [global options] COMMAND [options] [args]

Runs Kubernetes Pod manifests on this node through the CRI runtime (containerd's CRI plugin),
the way kubelet would, and inspects them.

commands:
  run -f POD.yaml [-d] [--rm] [--timeout S]
                      create the pod and run it: init containers in order, then the
                      containers; waits for them (restartPolicy decides restarts), prints each
                      container's log when it ends, exits with the first non-zero exit code.
                      -d: return once started; --rm: remove the pod afterwards
  logs [-f] [--tail N] [--reconnect-timeout S] POD [-c NAME]
                      print a container's log; --tail: only its last N lines; -f: follow it
                      until the container exits or is removed, across runtime restarts
                      (gives up, exit 125, after S s without the runtime and without new
                      output; default 60)
  exec [-i] [-t] [--timeout S] POD [-c NAME] -- CMD...
                      run a command in a container (without -i/-t through ExecSync)
  attach [-i] [-t] POD [-c NAME]
                      attach to a container's stdio
  ps                  list pods and their containers
  inspect POD         machine-readable pod and container status (key=value)
  stop POD [-c NAME] [--timeout S]
                      stop one container (SIGTERM, SIGKILL after the grace period)
  rm [--grace S | -f] [--all] POD...
                      stop and remove pods (--all: every pod reaperctl created)
  stats [POD]         container CPU and memory (ListContainerStats)
  update POD [-c NAME] [--cpu-shares N] [--memory SIZE]
                      UpdateContainerResources
  info                runtime version and conditions

global options (also accepted after the command):
  -r, --runtime-endpoint URL   CRI socket (env CONTAINER_RUNTIME_ENDPOINT;
                               default unix:///run/containerd/containerd.sock)
  --default-image REF          image for containers without image: (env REAPER_DEFAULT_IMAGE)
  --log-root DIR               pod log directories (default /var/log/pods)
  --root DIR                   reaperctl's state: emptyDir volumes (default /var/lib/reaperctl)
  -n, --namespace NS           pod namespace for logs/exec/attach/ps/inspect/stop/rm
  -q, --quiet                  no progress lines on stderr

exit status: run and exec exit with the workload's code; 124 timeout; 125 reaperctl or the
runtime failed; 2 usage error; 130 interrupted.
)";

using Command = int (*)(reaperctl::GlobalOptions, const std::vector<std::string>&);

}  // namespace

int main(int argc, char** argv) {
  using namespace reaperctl;
  GlobalOptions g;
  if (const char* e = getenv("CONTAINER_RUNTIME_ENDPOINT"); e && *e) g.endpoint = e;
  else g.endpoint = kDefaultEndpoint;
  if (const char* e = getenv("REAPER_DEFAULT_IMAGE"); e && *e) g.default_image = e;

  const std::map<std::string, Command> commands = {
      {"run", CmdRun},         {"logs", CmdLogs},   {"exec", CmdExec}, {"attach", CmdAttach},
      {"ps", CmdPs},           {"rm", CmdRm},       {"stop", CmdStop}, {"inspect", CmdInspect},
      {"info", CmdInfo},       {"stats", CmdStats}, {"update", CmdUpdate}};

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    // Global options before the command.
    size_t i = 0;
    std::vector<std::string> globals;
    const auto specs = GlobalOptionSpecs();
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
      if (args[i] == "-h" || args[i] == "--help") {
        fputs(kUsage, stdout);
        return 0;
      }
      globals.push_back(args[i]);
      bool takes_value = false;
      for (const auto& s : specs) {
        const std::string& a = args[i];
        if (a == "--" + s.long_name || (s.short_name && a == std::string("-") + s.short_name))
          takes_value = s.takes_value;
      }
      ++i;
      if (takes_value && i < args.size()) globals.push_back(args[i++]);
    }
    ParseCommand(globals, {}, g);
    if (i >= args.size()) {
      fputs(kUsage, stderr);
      return kExitUsage;
    }
    const std::string name = args[i];
    if (name == "help") {
      fputs(kUsage, stdout);
      return 0;
    }
    auto it = commands.find(name);
    if (it == commands.end()) throw UsageError("unknown command \"" + name + "\" (see reaperctl --help)");
    std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
    for (const auto& w : rest)
      if (w == "--") break;
      else if (w == "-h" || w == "--help") {
        fputs(kUsage, stdout);
        return 0;
      }
    return it->second(g, rest);
  } catch (const Error& e) {
    fprintf(stderr, "reaperctl: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    fprintf(stderr, "reaperctl: error: %s\n", e.what());
    return kExitFailure;
  }
}
