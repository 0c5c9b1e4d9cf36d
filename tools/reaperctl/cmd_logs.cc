// `reaperctl logs [-f] [--tail N] [--reconnect-timeout S] POD [-c NAME]`: the text of a
// container's CRI log file. The file is read directly (as kubelet does); the runtime is only
// asked where it is and, when following, whether the container still exists (README.md,
// "Following a log").
#include <memory>

#include "commands.h"
#include "cri_log.h"
#include "errors.h"
#include "pod_lookup.h"

namespace reaperctl {

namespace {

using runtime::v1::RuntimeService;

// One probe's deadline: a runtime that accepts but does not answer holds the follower (not
// the log: it is read on afterwards) this long.
constexpr std::chrono::seconds kProbeTimeout{5};

// Asks the runtime for the container's state; after a failure the next probe dials the
// socket again on a connection of its own (FollowPolicy decides when).
class ContainerProber {
 public:
  ContainerProber(std::string endpoint, std::string id)
      : endpoint_(std::move(endpoint)), id_(std::move(id)) {}

  ProbeResult operator()() {
    try {
      if (!cri_) cri_ = std::make_shared<CriClient>(endpoint_, CriClient::Options{true});
      runtime::v1::ContainerStatusRequest req;
      req.set_container_id(id_);
      runtime::v1::ContainerStatusResponse resp;
      grpc::Status st = cri_->TryCall(cri_->runtime(), &RuntimeService::Stub::ContainerStatus,
                                      req, &resp, kProbeTimeout);
      if (st.ok()) {
        if (resp.status().state() == runtime::v1::CONTAINER_EXITED)
          return {ContainerProbe::kExited, ""};
        return {ContainerProbe::kRunning, ""};  // created, running, or unknown for now
      }
      if (st.error_code() == grpc::StatusCode::NOT_FOUND) return {ContainerProbe::kRemoved, ""};
      std::string why = cri_->Describe("ContainerStatus", st);
      cri_.reset();
      return {ContainerProbe::kUnreachable, why};
    } catch (const Error& e) {  // no socket at the endpoint
      cri_.reset();
      return {ContainerProbe::kUnreachable, e.what()};
    }
  }

 private:
  std::string endpoint_;
  std::string id_;
  std::shared_ptr<CriClient> cri_;  // shared: std::function copies the prober
};

}  // namespace

int CmdLogs(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words,
                        {{"follow", 'f', false},
                         {"container", 'c', true},
                         {"tail", 0, true},
                         {"reconnect-timeout", 0, true}},
                        g);
  LogOptions opts;
  opts.follow = a.Has("follow");
  if (auto v = a.Get("tail")) opts.tail = ParseIntOption("tail", *v, -1, 100000000, "records; -1: all");
  if (auto v = a.Get("reconnect-timeout")) {
    if (!opts.follow) throw UsageError("logs: --reconnect-timeout needs -f");
    opts.policy.give_up_after = std::chrono::seconds(ParseSeconds("reconnect-timeout", *v));
  }
  if (a.positional.size() != 1) throw UsageError("logs: name one pod");

  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());
  runtime::v1::ContainerStatusRequest req;
  req.set_container_id(c.id());
  const std::string path =
      cri.Call("ContainerStatus", cri.runtime(), &RuntimeService::Stub::ContainerStatus, req)
          .status()
          .log_path();
  if (path.empty()) throw Error("container " + c.metadata().name() + " has no log file");

  opts.container = "container " + c.metadata().name() + " of pod " + pod.metadata().name();
  opts.probe = ContainerProber(g.endpoint, c.id());
  opts.note = [&g](const std::string& line) { Progress(g, "logs: " + line); };
  PrintCriLog(path, opts);
  return 0;
}

}  // namespace reaperctl
