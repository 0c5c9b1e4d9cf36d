// `reaperctl exec [-it] POD [-c NAME] -- CMD...` and `reaperctl attach [-it] POD [-c NAME]`.
#include <unistd.h>

#include "commands.h"
#include "errors.h"
#include "pod_config.h"
#include "pod_lookup.h"
#include "stream_session.h"
#include "terminal.h"

namespace reaperctl {

using runtime::v1::RuntimeService;

int CmdExec(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words,
                        {{"stdin", 'i', false}, {"tty", 't', false}, {"container", 'c', true},
                         {"timeout", 0, true}},
                        g);
  if (a.positional.size() != 1) throw UsageError("exec: name one pod: exec POD [-c NAME] -- CMD...");
  if (a.after_dashdash.empty()) throw UsageError("exec: give the command after --");
  const bool in = a.Has("stdin"), tty = a.Has("tty");
  int64_t timeout = 0;  // checked before the runtime is asked anything
  if (auto t = a.Get("timeout")) timeout = ParseSeconds("timeout", *t);
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());

  if (!in && !tty) {
    // ExecSync: what kubelet's exec probes use.
    runtime::v1::ExecSyncRequest req;
    req.set_container_id(c.id());
    for (const auto& w : a.after_dashdash) req.add_cmd(w);
    req.set_timeout(timeout);
    runtime::v1::ExecSyncResponse resp;
    grpc::Status st = cri.TryCall(cri.runtime(), &RuntimeService::Stub::ExecSync, req, &resp,
                                  timeout ? std::chrono::seconds(timeout + 30)
                                          : std::chrono::hours(24 * 365));
    if (!st.ok()) {
      const std::string& m = st.error_message();
      if (timeout && m.find("timeout") != std::string::npos &&
          m.find("exceeded") != std::string::npos)
        throw Error("command timed out after " + std::to_string(timeout) + " s (" + m + ")",
                    kExitTimeout);
      cri.Fail("ExecSync", st);
    }
    WriteAll(1, resp.stdout());
    WriteAll(2, resp.stderr());
    return resp.exit_code();
  }
  if (a.Has("timeout")) throw UsageError("exec: --timeout applies only without -i/-t");
  if (tty && !isatty(0)) Warn("-t: stdin is not a terminal");
  runtime::v1::ExecRequest req;
  req.set_container_id(c.id());
  for (const auto& w : a.after_dashdash) req.add_cmd(w);
  req.set_tty(tty);
  req.set_stdin(in);
  req.set_stdout(true);
  req.set_stderr(!tty);
  auto resp = cri.Call("Exec", cri.runtime(), &RuntimeService::Stub::Exec, req);
  return RunStreamSession(resp.url(), StreamOptions{in, tty});
}

int CmdAttach(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {{"stdin", 'i', false}, {"tty", 't', false}, {"container", 'c', true}},
                        g);
  if (a.positional.size() != 1) throw UsageError("attach: name one pod: attach POD [-c NAME]");
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());
  // The attach must match the container's terminal setting; reaperctl recorded it.
  bool tty = a.Has("tty");
  if (auto it = c.annotations().find(kAnnoTty); it != c.annotations().end()) {
    const bool has_tty = it->second == "true";
    if (tty && !has_tty) Warn("container " + c.metadata().name() + " has no terminal; ignoring -t");
    tty = has_tty;
  }
  const bool in = a.Has("stdin");
  if (in)
    if (auto it = c.annotations().find(kAnnoStdin);
        it != c.annotations().end() && it->second != "true")
      throw Error("container " + c.metadata().name() + " was not created with stdin: true");
  runtime::v1::AttachRequest req;
  req.set_container_id(c.id());
  req.set_stdin(in);
  req.set_tty(tty);
  req.set_stdout(true);
  req.set_stderr(!tty);
  auto resp = cri.Call("Attach", cri.runtime(), &RuntimeService::Stub::Attach, req);
  return RunStreamSession(resp.url(), StreamOptions{in, tty});
}

}  // namespace reaperctl
