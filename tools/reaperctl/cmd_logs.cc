// `reaperctl logs [-f] POD [-c NAME]`: the text of a container's CRI log file.
#include "commands.h"
#include "cri_log.h"
#include "errors.h"
#include "pod_lookup.h"

namespace reaperctl {

int CmdLogs(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {{"follow", 'f', false}, {"container", 'c', true}}, g);
  if (a.positional.size() != 1) throw UsageError("logs: name one pod");
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());
  auto status = [&] {
    runtime::v1::ContainerStatusRequest req;
    req.set_container_id(c.id());
    return cri
        .Call("ContainerStatus", cri.runtime(),
              &runtime::v1::RuntimeService::Stub::ContainerStatus, req)
        .status();
  };
  const std::string path = status().log_path();
  if (path.empty()) throw Error("container " + c.metadata().name() + " has no log file");
  LogOptions opts;
  opts.follow = a.Has("follow");
  opts.running = [&] {
    try {
      auto s = status().state();
      return s == runtime::v1::CONTAINER_RUNNING || s == runtime::v1::CONTAINER_CREATED;
    } catch (const Error&) {
      return false;  // removed meanwhile
    }
  };
  PrintCriLog(path, opts);
  return 0;
}

}  // namespace reaperctl
