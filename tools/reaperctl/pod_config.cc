#include "pod_config.h"

#include <algorithm>

#include "errors.h"

namespace reaperctl {
namespace {

void SetNamespaces(runtime::v1::NamespaceOption* ns, const PodManifest& pod) {
  // What kubelet sends for a pod without shareProcessNamespace/hostPID/hostIPC.
  ns->set_network(pod.host_network ? runtime::v1::NODE : runtime::v1::POD);
  ns->set_pid(runtime::v1::CONTAINER);
  ns->set_ipc(runtime::v1::POD);
}

bool AnyPrivileged(const PodManifest& pod) {
  for (const auto* list : {&pod.init_containers, &pod.containers})
    for (const auto& c : *list)
      if (c.privileged) return true;
  return false;
}

}  // namespace

std::string HandlerFor(const PodManifest& pod) {
  return pod.runtime_class_name.empty() ? kDefaultHandler : pod.runtime_class_name;
}

std::string ImageFor(const ContainerSpec& c, const PodPlan& plan) {
  if (!c.image.empty()) return c.image;
  if (!plan.default_image.empty()) return plan.default_image;
  throw UsageError("container \"" + c.name +
                   "\" has no image: set image:, or give reaperctl --default-image IMAGE (or "
                   "REAPER_DEFAULT_IMAGE); Reaper does not use the image's files, but CRI needs "
                   "one present on the node");
}

std::string EmptyDirPath(const PodPlan& plan, const std::string& volume) {
  return plan.volume_directory + "/" + volume;
}

std::string VolumeHostPath(const PodManifest& pod, const PodPlan& plan, const std::string& volume) {
  for (const auto& v : pod.volumes)
    if (v.name == volume)
      return v.kind == VolumeSpec::Kind::kHostPath ? v.host_path : EmptyDirPath(plan, v.name);
  throw UsageError("no volume named \"" + volume + "\"");
}

runtime::v1::PodSandboxConfig BuildSandboxConfig(const PodManifest& pod, const PodPlan& plan) {
  runtime::v1::PodSandboxConfig cfg;
  auto* md = cfg.mutable_metadata();
  md->set_name(pod.name);
  md->set_namespace_(pod.ns);
  md->set_uid(plan.uid);
  md->set_attempt(0);
  // kubelet leaves the hostname empty for host-network pods (CRI then uses the node's).
  if (!pod.host_network) cfg.set_hostname(pod.name);
  cfg.set_log_directory(plan.log_directory);
  auto& labels = *cfg.mutable_labels();
  for (const auto& [k, v] : pod.labels) labels[k] = v;
  labels[kLabelPodName] = pod.name;
  labels[kLabelPodNamespace] = pod.ns;
  labels[kLabelPodUid] = plan.uid;
  labels[kLabelManaged] = "true";
  auto& annos = *cfg.mutable_annotations();
  for (const auto& [k, v] : pod.annotations) annos[k] = v;
  annos[kAnnoRestartPolicy] = pod.restart_policy;
  annos[kAnnoLogDirectory] = plan.log_directory;
  annos[kAnnoVolumeDirectory] = plan.volume_directory;
  auto* sc = cfg.mutable_linux()->mutable_security_context();
  SetNamespaces(sc->mutable_namespace_options(), pod);
  sc->set_privileged(AnyPrivileged(pod));
  return cfg;
}

runtime::v1::ContainerConfig BuildContainerConfig(const PodManifest& pod, const PodPlan& plan,
                                                  const ContainerSpec& c, bool init, int index,
                                                  uint32_t attempt) {
  runtime::v1::ContainerConfig cfg;
  cfg.mutable_metadata()->set_name(c.name);
  cfg.mutable_metadata()->set_attempt(attempt);
  cfg.mutable_image()->set_image(ImageFor(c, plan));
  for (const auto& s : c.command) cfg.add_command(s);
  for (const auto& s : c.args) cfg.add_args(s);
  cfg.set_working_dir(c.working_dir);
  for (const auto& e : c.env) {
    auto* kv = cfg.add_envs();
    kv->set_key(e.name);
    kv->set_value(e.value);
  }
  for (const auto& m : c.volume_mounts) {
    auto* mount = cfg.add_mounts();
    mount->set_container_path(m.mount_path);
    mount->set_host_path(VolumeHostPath(pod, plan, m.name));
    mount->set_readonly(m.read_only);
    mount->set_propagation(runtime::v1::PROPAGATION_PRIVATE);
  }
  auto& labels = *cfg.mutable_labels();
  labels[kLabelPodName] = pod.name;
  labels[kLabelPodNamespace] = pod.ns;
  labels[kLabelPodUid] = plan.uid;
  labels[kLabelContainerName] = c.name;
  labels[kLabelManaged] = "true";
  auto& annos = *cfg.mutable_annotations();
  annos[kAnnoKind] = init ? "init" : "app";
  annos[kAnnoIndex] = std::to_string(index);
  annos[kAnnoTty] = c.tty ? "true" : "false";
  annos[kAnnoStdin] = c.stdin ? "true" : "false";
  annos[kAnnoGracePeriod] =
      std::to_string(pod.termination_grace_period.value_or(kDefaultGracePeriod));
  cfg.set_log_path(c.name + "/" + std::to_string(attempt) + ".log");
  cfg.set_stdin(c.stdin);
  cfg.set_stdin_once(c.stdin_once);
  cfg.set_tty(c.tty);
  // resources.limits as kubelet sends them (quota per 100 ms period; shares from the limit,
  // since reaperctl has no requests of its own).
  if (c.memory_limit) cfg.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(*c.memory_limit);
  if (c.cpu_limit_millis) {
    auto* r = cfg.mutable_linux()->mutable_resources();
    r->set_cpu_period(100000);
    r->set_cpu_quota(*c.cpu_limit_millis * 100);
    r->set_cpu_shares(std::max<int64_t>(2, *c.cpu_limit_millis * 1024 / 1000));
  }
  auto* sc = cfg.mutable_linux()->mutable_security_context();
  SetNamespaces(sc->mutable_namespace_options(), pod);
  sc->set_privileged(c.privileged);
  for (const auto& a : c.cap_add) sc->mutable_capabilities()->add_add_capabilities(a);
  for (const auto& d : c.cap_drop) sc->mutable_capabilities()->add_drop_capabilities(d);
  if (!c.seccomp_type.empty()) {
    // Kubernetes' kubelet: RuntimeDefault, Unconfined, or Localhost with the profile's path
    // under its seccomp directory (here: the path as written).
    using P = runtime::v1::SecurityProfile;
    auto* sp = sc->mutable_seccomp();
    sp->set_profile_type(c.seccomp_type == "RuntimeDefault" ? P::RuntimeDefault
                         : c.seccomp_type == "Unconfined"   ? P::Unconfined
                                                            : P::Localhost);
    sp->set_localhost_ref(c.seccomp_localhost);
  }
  sc->set_readonly_rootfs(c.read_only_root);
  sc->set_no_new_privs(c.allow_privilege_escalation.has_value() && !*c.allow_privilege_escalation);
  if (auto u = EffectiveRunAsUser(pod, c)) sc->mutable_run_as_user()->set_value(*u);
  if (auto g = EffectiveRunAsGroup(pod, c)) sc->mutable_run_as_group()->set_value(*g);
  return cfg;
}

}  // namespace reaperctl
