#include "pod_lookup.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "cli_args.h"
#include "errors.h"
#include "pod_config.h"

namespace reaperctl {

std::vector<runtime::v1::PodSandbox> FindPods(CriClient& cri, const std::string& ns,
                                              const std::string& name) {
  runtime::v1::ListPodSandboxRequest req;
  auto resp = cri.Call("ListPodSandbox", cri.runtime(),
                       &runtime::v1::RuntimeService::Stub::ListPodSandbox, req);
  std::vector<runtime::v1::PodSandbox> by_name, by_id;
  for (const auto& p : resp.items()) {
    if (p.metadata().name() == name && p.metadata().namespace_() == ns) by_name.push_back(p);
    if (p.id() == name || (name.size() >= 6 && p.id().rfind(name, 0) == 0)) by_id.push_back(p);
  }
  auto& out = by_name.empty() ? by_id : by_name;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.state() != b.state()) return a.state() == runtime::v1::SANDBOX_READY;
    return a.created_at() > b.created_at();
  });
  return out;
}

runtime::v1::PodSandbox FindPod(CriClient& cri, const std::string& ns, const std::string& name) {
  auto pods = FindPods(cri, ns, name);
  if (pods.empty()) throw Error("pod " + ns + "/" + name + " not found");
  return pods.front();
}

std::vector<runtime::v1::Container> ListPodContainers(CriClient& cri, const std::string& pod_id) {
  runtime::v1::ListContainersRequest req;
  req.mutable_filter()->set_pod_sandbox_id(pod_id);
  auto resp = cri.Call("ListContainers", cri.runtime(),
                       &runtime::v1::RuntimeService::Stub::ListContainers, req);
  return {resp.containers().begin(), resp.containers().end()};
}

bool IsInitContainer(const runtime::v1::Container& c) {
  auto it = c.annotations().find(kAnnoKind);
  return it != c.annotations().end() && it->second == "init";
}

namespace {
int IndexOf(const runtime::v1::Container& c) {
  auto it = c.annotations().find(kAnnoIndex);
  if (it == c.annotations().end()) return 1 << 20;
  return static_cast<int>(ParseInteger(it->second, 0, 1 << 20).value_or(1 << 20));
}
}  // namespace

std::vector<runtime::v1::Container> LatestAttempts(std::vector<runtime::v1::Container> all) {
  std::map<std::string, runtime::v1::Container> latest;
  for (auto& c : all) {
    auto it = latest.find(c.metadata().name());
    if (it == latest.end() || c.metadata().attempt() > it->second.metadata().attempt() ||
        (c.metadata().attempt() == it->second.metadata().attempt() &&
         c.created_at() > it->second.created_at()))
      latest[c.metadata().name()] = c;
  }
  std::vector<runtime::v1::Container> out;
  for (auto& [_, c] : latest) out.push_back(c);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    bool ia = IsInitContainer(a), ib = IsInitContainer(b);
    if (ia != ib) return ia;
    if (IndexOf(a) != IndexOf(b)) return IndexOf(a) < IndexOf(b);
    return a.metadata().name() < b.metadata().name();
  });
  return out;
}

runtime::v1::Container PickContainer(const std::vector<runtime::v1::Container>& all,
                                     const std::string& name, const std::string& pod_name) {
  auto latest = LatestAttempts(all);
  if (latest.empty()) throw Error("pod " + pod_name + " has no containers");
  std::string names;
  for (const auto& c : latest)
    names += (names.empty() ? "" : ", ") + c.metadata().name() +
             (IsInitContainer(c) ? " (init)" : "");
  if (!name.empty()) {
    for (const auto& c : latest)
      if (c.metadata().name() == name) return c;
    throw Error("container \"" + name + "\" not found in pod " + pod_name + " (it has: " + names +
                ")");
  }
  std::vector<const runtime::v1::Container*> apps;
  for (const auto& c : latest)
    if (!IsInitContainer(c)) apps.push_back(&c);
  if (apps.empty()) return latest.front();
  if (apps.size() > 1)
    fprintf(stderr, "Defaulted container \"%s\" out of: %s\n",
            apps.front()->metadata().name().c_str(), names.c_str());
  return *apps.front();
}

}  // namespace reaperctl
