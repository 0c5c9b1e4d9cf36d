// Small commands: ps, rm, stop, inspect, info, stats, update; shared option handling.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "pod_config.h"
#include "pod_lookup.h"

namespace reaperctl {

using runtime::v1::RuntimeService;

std::vector<OptionSpec> GlobalOptionSpecs() {
  return {{"runtime-endpoint", 'r', true}, {"default-image", 0, true}, {"log-root", 0, true},
          {"root", 0, true},               {"namespace", 'n', true},   {"quiet", 'q', false}};
}

ParsedArgs ParseCommand(const std::vector<std::string>& words, std::vector<OptionSpec> specs,
                        GlobalOptions& g) {
  for (auto& s : GlobalOptionSpecs()) specs.push_back(s);
  ParsedArgs a = ParseArgs(words, specs);
  if (auto v = a.Get("runtime-endpoint")) g.endpoint = *v;
  if (auto v = a.Get("default-image")) g.default_image = *v;
  if (auto v = a.Get("log-root")) g.log_root = *v;
  if (auto v = a.Get("root")) g.root = *v;
  if (auto v = a.Get("namespace")) g.ns = *v;
  if (a.Has("quiet")) g.quiet = true;
  return a;
}

void Progress(const GlobalOptions& g, const std::string& line) {
  if (!g.quiet) fprintf(stderr, "reaperctl: %s\n", line.c_str());
}

void Warn(const std::string& line) { fprintf(stderr, "reaperctl: %s\n", line.c_str()); }

namespace {

std::string Annotation(const google::protobuf::Map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

// The grace period reaperctl stored on a container (from terminationGracePeriodSeconds); an
// annotation someone else garbled gets the default, with a warning.
int64_t GraceOf(const runtime::v1::Container& c) {
  const std::string v = Annotation(c.annotations(), kAnnoGracePeriod);
  if (v.empty()) return kDefaultGracePeriod;
  if (auto secs = ParseInteger(v, 0, 100000000)) return *secs;
  Warn("container " + c.metadata().name() + ": annotation " + kAnnoGracePeriod + "=\"" + v +
       "\" is not a number of seconds; using " + std::to_string(kDefaultGracePeriod));
  return kDefaultGracePeriod;
}

std::string StateName(runtime::v1::ContainerState s) {
  switch (s) {
    case runtime::v1::CONTAINER_CREATED: return "Created";
    case runtime::v1::CONTAINER_RUNNING: return "Running";
    case runtime::v1::CONTAINER_EXITED: return "Exited";
    default: return "Unknown";
  }
}

std::string Age(int64_t created_ns) {
  if (created_ns <= 0) return "-";
  int64_t s = static_cast<int64_t>(time(nullptr)) - created_ns / 1000000000;
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

runtime::v1::ContainerStatus Status(CriClient& cri, const std::string& id) {
  runtime::v1::ContainerStatusRequest req;
  req.set_container_id(id);
  return cri.Call("ContainerStatus", cri.runtime(), &RuntimeService::Stub::ContainerStatus, req)
      .status();
}

// The "pid" of containerd's verbose info (JSON under key "info"), or 0.
int64_t PidFromInfo(const google::protobuf::Map<std::string, std::string>& info) {
  auto it = info.find("info");
  if (it == info.end()) return 0;
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return 0;
  return j["pid"].get<int64_t>();
}

// Removes `path` only if it is absolute and its last component mentions the pod's uid.
void RemoveOwnedDir(const std::string& path, const std::string& uid) {
  if (path.empty() || path[0] != '/' || uid.empty()) return;
  std::filesystem::path p(path);
  if (p.filename().string().find(uid) == std::string::npos) return;
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  if (ec) Warn("remove " + path + ": " + ec.message());
}


}  // namespace

void RemovePod(CriClient& cri, const GlobalOptions& g, const std::string& pod_id,
               std::optional<int64_t> grace) {
  runtime::v1::PodSandboxStatusRequest sreq;
  sreq.set_pod_sandbox_id(pod_id);
  runtime::v1::PodSandboxStatusResponse sresp;
  grpc::Status st = cri.TryCall(cri.runtime(), &RuntimeService::Stub::PodSandboxStatus, sreq, &sresp);
  if (!st.ok() && st.error_code() == grpc::StatusCode::NOT_FOUND) return;  // already gone
  if (!st.ok()) cri.Fail("PodSandboxStatus", st);

  // Stop the running containers in parallel, each with its grace period, as kubelet does.
  std::vector<std::thread> threads;
  std::vector<std::string> errors;
  std::mutex mu;
  for (const auto& c : ListPodContainers(cri, pod_id)) {
    if (c.state() != runtime::v1::CONTAINER_RUNNING) continue;
    const int64_t secs = grace ? *grace : GraceOf(c);
    threads.emplace_back([&cri, &mu, &errors, id = c.id(), secs] {
      runtime::v1::StopContainerRequest req;
      req.set_container_id(id);
      req.set_timeout(secs);
      runtime::v1::StopContainerResponse resp;
      grpc::Status s = cri.TryCall(cri.runtime(), &RuntimeService::Stub::StopContainer, req, &resp,
                                   std::chrono::seconds(secs + 60));
      if (!s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        errors.push_back("StopContainer " + id.substr(0, 12) + ": " + s.error_message());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) Warn(e);

  runtime::v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod_id);
  cri.Call("StopPodSandbox", cri.runtime(), &RuntimeService::Stub::StopPodSandbox, stop);
  runtime::v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(pod_id);
  cri.Call("RemovePodSandbox", cri.runtime(), &RuntimeService::Stub::RemovePodSandbox, rm);

  const auto& s = sresp.status();
  const std::string uid = s.metadata().uid();
  RemoveOwnedDir(Annotation(s.annotations(), kAnnoLogDirectory), uid);
  std::string vol = Annotation(s.annotations(), kAnnoVolumeDirectory);
  if (!vol.empty()) RemoveOwnedDir(std::filesystem::path(vol).parent_path().string(), uid);
  (void)g;
}

int CmdRm(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {{"grace", 0, true}, {"force", 'f', false}, {"all", 0, false}}, g);
  std::optional<int64_t> grace;
  if (auto v = a.Get("grace")) grace = ParseSeconds("grace", *v);
  if (a.Has("force")) grace = 0;
  if (a.positional.empty() && !a.Has("all")) throw UsageError("rm: name a pod (or --all)");
  CriClient cri(g.endpoint);
  std::vector<runtime::v1::PodSandbox> pods;
  if (a.Has("all")) {
    runtime::v1::ListPodSandboxRequest req;
    (*req.mutable_filter()->mutable_label_selector())[kLabelManaged] = "true";
    auto resp = cri.Call("ListPodSandbox", cri.runtime(), &RuntimeService::Stub::ListPodSandbox, req);
    pods.assign(resp.items().begin(), resp.items().end());
  }
  for (const auto& name : a.positional) {
    auto found = FindPods(cri, g.ns, name);
    if (found.empty()) throw Error("pod " + g.ns + "/" + name + " not found");
    pods.insert(pods.end(), found.begin(), found.end());
  }
  for (const auto& p : pods) {
    RemovePod(cri, g, p.id(), grace);
    Progress(g, "pod " + p.metadata().namespace_() + "/" + p.metadata().name() + " (" +
                    p.id().substr(0, 12) + ") removed");
  }
  return 0;
}

int CmdPs(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {}, g);
  CriClient cri(g.endpoint);
  runtime::v1::ListPodSandboxRequest req;
  auto resp = cri.Call("ListPodSandbox", cri.runtime(), &RuntimeService::Stub::ListPodSandbox, req);
  const bool one_ns = a.Has("namespace");
  printf("%-12s %-24s %-13s %-9s %-10s %-5s %s\n", "NAMESPACE", "NAME", "POD ID", "STATUS",
         "HANDLER", "AGE", "CONTAINERS");
  for (const auto& p : resp.items()) {
    if (one_ns && p.metadata().namespace_() != g.ns) continue;
    std::string list;
    for (const auto& c : LatestAttempts(ListPodContainers(cri, p.id()))) {
      std::string state = StateName(c.state());
      if (c.state() == runtime::v1::CONTAINER_EXITED) {
        try {
          state += "(" + std::to_string(Status(cri, c.id()).exit_code()) + ")";
        } catch (const Error&) {
        }
      }
      list += (list.empty() ? "" : ",") + std::string(IsInitContainer(c) ? "init:" : "") +
              c.metadata().name() + "=" + state;
      if (c.metadata().attempt()) list += "#" + std::to_string(c.metadata().attempt());
    }
    printf("%-12s %-24s %-13s %-9s %-10s %-5s %s\n", p.metadata().namespace_().c_str(),
           p.metadata().name().c_str(), p.id().substr(0, 12).c_str(),
           p.state() == runtime::v1::SANDBOX_READY ? "Ready" : "NotReady",
           p.runtime_handler().empty() ? "-" : p.runtime_handler().c_str(),
           Age(p.created_at()).c_str(), list.empty() ? "-" : list.c_str());
  }
  return 0;
}

int CmdInspect(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {}, g);
  if (a.positional.size() != 1) throw UsageError("inspect: name one pod");
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  runtime::v1::PodSandboxStatusRequest preq;
  preq.set_pod_sandbox_id(pod.id());
  preq.set_verbose(true);
  auto pst = cri.Call("PodSandboxStatus", cri.runtime(), &RuntimeService::Stub::PodSandboxStatus,
                      preq);
  printf("pod namespace=%s name=%s id=%s uid=%s state=%s handler=%s created=%" PRId64
         " pid=%" PRId64 "\n",
         pod.metadata().namespace_().c_str(), pod.metadata().name().c_str(), pod.id().c_str(),
         pod.metadata().uid().c_str(),
         pod.state() == runtime::v1::SANDBOX_READY ? "Ready" : "NotReady",
         pod.runtime_handler().c_str(), pod.created_at(), PidFromInfo(pst.info()));
  auto containers = ListPodContainers(cri, pod.id());
  std::sort(containers.begin(), containers.end(), [](const auto& x, const auto& y) {
    if (IsInitContainer(x) != IsInitContainer(y)) return IsInitContainer(x);
    if (x.metadata().name() != y.metadata().name()) return x.created_at() < y.created_at();
    return x.metadata().attempt() < y.metadata().attempt();
  });
  for (const auto& c : containers) {
    runtime::v1::ContainerStatusRequest creq;
    creq.set_container_id(c.id());
    creq.set_verbose(true);
    auto resp = cri.Call("ContainerStatus", cri.runtime(), &RuntimeService::Stub::ContainerStatus,
                         creq);
    const auto& s = resp.status();
    printf("container name=%s kind=%s attempt=%u id=%s state=%s exit=%d reason=%s created=%" PRId64
           " started=%" PRId64 " finished=%" PRId64 " pid=%" PRId64 " log=%s\n",
           c.metadata().name().c_str(), IsInitContainer(c) ? "init" : "app",
           c.metadata().attempt(), c.id().c_str(), StateName(s.state()).c_str(), s.exit_code(),
           s.reason().empty() ? "-" : s.reason().c_str(), s.created_at(), s.started_at(),
           s.finished_at(), s.state() == runtime::v1::CONTAINER_RUNNING ? PidFromInfo(resp.info()) : 0,
           s.log_path().c_str());
  }
  return 0;
}

int CmdStop(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {{"container", 'c', true}, {"timeout", 't', true}}, g);
  if (a.positional.size() != 1) throw UsageError("stop: name one pod");
  std::optional<int64_t> timeout;
  if (auto t = a.Get("timeout")) timeout = ParseSeconds("timeout", *t);
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());
  const int64_t secs = timeout ? *timeout : GraceOf(c);
  runtime::v1::StopContainerRequest req;
  req.set_container_id(c.id());
  req.set_timeout(secs);
  auto t0 = std::chrono::steady_clock::now();
  cri.Call("StopContainer", cri.runtime(), &RuntimeService::Stub::StopContainer, req,
           std::chrono::seconds(secs + 60));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
  auto s = Status(cri, c.id());
  Progress(g, "container " + c.metadata().name() + " stopped in " + std::to_string(ms) +
                  " ms: exit code " + std::to_string(s.exit_code()) + " (" + s.reason() + ")");
  return 0;
}

int CmdInfo(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {}, g);
  if (!a.positional.empty()) throw UsageError("info: no arguments expected");
  CriClient cri(g.endpoint);
  runtime::v1::VersionRequest vreq;
  vreq.set_version("v1");
  auto v = cri.Call("Version", cri.runtime(), &RuntimeService::Stub::Version, vreq,
                    std::chrono::seconds(10));
  printf("endpoint: %s\nruntime: %s %s (CRI %s)\n", cri.endpoint().c_str(),
         v.runtime_name().c_str(), v.runtime_version().c_str(), v.runtime_api_version().c_str());
  runtime::v1::StatusRequest sreq;
  auto s = cri.Call("Status", cri.runtime(), &RuntimeService::Stub::Status, sreq,
                    std::chrono::seconds(10));
  for (const auto& c : s.status().conditions())
    printf("condition %s=%s%s%s\n", c.type().c_str(), c.status() ? "true" : "false",
           c.reason().empty() ? "" : (" reason=" + c.reason()).c_str(),
           c.message().empty() ? "" : (" message=\"" + c.message() + "\"").c_str());
  return 0;
}

int CmdStats(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words, {}, g);
  CriClient cri(g.endpoint);
  runtime::v1::ListContainerStatsRequest req;
  if (!a.positional.empty())
    req.mutable_filter()->set_pod_sandbox_id(FindPod(cri, g.ns, a.positional[0]).id());
  auto resp = cri.Call("ListContainerStats", cri.runtime(),
                       &RuntimeService::Stub::ListContainerStats, req);
  // MEMORY is the working set (usage minus inactive file cache), what kubelet evicts on and
  // `kubectl top` shows; USAGE includes the cache.
  printf("%-13s %-20s %-16s %-14s %-14s %s\n", "CONTAINER ID", "NAME", "CPU (core ns)", "MEMORY (bytes)",
         "USAGE (bytes)", "RSS (bytes)");
  for (const auto& s : resp.stats()) {
    printf("%-13s %-20s %-16" PRIu64 " %-14" PRIu64 " %-14" PRIu64 " %" PRIu64 "\n",
           s.attributes().id().substr(0, 12).c_str(), s.attributes().metadata().name().c_str(),
           s.cpu().usage_core_nano_seconds().value(), s.memory().working_set_bytes().value(),
           s.memory().usage_bytes().value(), s.memory().rss_bytes().value());
  }
  return 0;
}

int CmdUpdate(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(
      words, {{"container", 'c', true}, {"cpu-shares", 0, true}, {"memory", 0, true}}, g);
  if (a.positional.size() != 1) throw UsageError("update: name one pod");
  runtime::v1::UpdateContainerResourcesRequest req;
  auto* r = req.mutable_linux();
  // cgroup v1 cpu.shares' range, as kubelet clamps it (2..262144)
  if (auto v = a.Get("cpu-shares"))
    r->set_cpu_shares(ParseIntOption("cpu-shares", *v, 2, 262144, "relative CPU weight"));
  if (auto v = a.Get("memory")) r->set_memory_limit_in_bytes(ParseBytes("memory", *v));
  CriClient cri(g.endpoint);
  auto pod = FindPod(cri, g.ns, a.positional[0]);
  auto c = PickContainer(ListPodContainers(cri, pod.id()), a.Get("container").value_or(""),
                         pod.metadata().name());
  req.set_container_id(c.id());
  cri.Call("UpdateContainerResources", cri.runtime(),
           &RuntimeService::Stub::UpdateContainerResources, req);
  Progress(g, "container " + c.metadata().name() + ": resources updated");
  return 0;
}

}  // namespace reaperctl
