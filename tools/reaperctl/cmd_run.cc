// `reaperctl run -f pod.yaml`: what kubelet does for one pod, in the foreground.
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "commands.h"
#include "cri_log.h"
#include "errors.h"
#include "pod_config.h"
#include "pod_lookup.h"
#include "pod_manifest.h"

namespace reaperctl {
namespace {

using Clock = std::chrono::steady_clock;
using runtime::v1::RuntimeService;

volatile sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

std::string RandomUuid() {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t r = getrandom(b + got, sizeof b - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(std::string("getrandom: ") + strerror(errno));
    got += static_cast<size_t>(r);
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  char out[37];
  snprintf(out, sizeof out,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string ReadManifest(const std::string& file) {
  if (file == "-") {
    std::string text;
    char buf[65536];
    for (;;) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw UsageError(std::string("cannot read stdin: ") + strerror(errno));
      if (n == 0) return text;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  std::ifstream in(file);
  if (!in) throw UsageError("cannot read " + file + ": " + strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void EnsureImage(CriClient& cri, const GlobalOptions& g, const std::string& image,
                 const std::string& policy) {
  runtime::v1::ImageStatusRequest req;
  req.mutable_image()->set_image(image);
  auto st = cri.Call("ImageStatus", cri.image(), &runtime::v1::ImageService::Stub::ImageStatus, req);
  if (st.has_image() && !st.image().id().empty()) return;
  if (policy == "Never")
    throw Error("image " + image + " is not present on the node (imagePullPolicy: Never)");
  Progress(g, "image " + image + " is not present on the node: pulling it");
  runtime::v1::PullImageRequest pull;
  pull.mutable_image()->set_image(image);
  runtime::v1::PullImageResponse resp;
  grpc::Status s = cri.TryCall(cri.image(), &runtime::v1::ImageService::Stub::PullImage, pull,
                               &resp, std::chrono::minutes(10));
  if (!s.ok())
    throw Error("image " + image + " is not present on the node and pulling it failed: " +
                s.error_message());
}

void MkdirAll(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error("mkdir " + path + ": " + ec.message());
  chmod(path.c_str(), mode);
}

void PrepareVolumes(const PodManifest& pod, const PodPlan& plan) {
  for (const auto& v : pod.volumes) {
    if (v.kind == VolumeSpec::Kind::kEmptyDir) {
      MkdirAll(EmptyDirPath(plan, v.name), 0777);  // as kubelet creates emptyDir
      continue;
    }
    struct stat st {};
    const bool exists = stat(v.host_path.c_str(), &st) == 0;
    const std::string& t = v.host_path_type;
    auto bad = [&](const char* what) {
      throw Error("volume " + v.name + ": hostPath " + v.host_path + " " + what + " (type " + t +
                  ")");
    };
    if (t == "DirectoryOrCreate") {
      if (!exists) MkdirAll(v.host_path, 0755);
      else if (!S_ISDIR(st.st_mode)) bad("is not a directory");
    } else if (t == "Directory") {
      if (!exists || !S_ISDIR(st.st_mode)) bad("is not an existing directory");
    } else if (t == "FileOrCreate") {
      if (!exists) {
        int fd = open(v.host_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) bad("cannot be created");
        close(fd);
      } else if (!S_ISREG(st.st_mode)) {
        bad("is not a regular file");
      }
    } else if (t == "File") {
      if (!exists || !S_ISREG(st.st_mode)) bad("is not an existing file");
    } else if (t == "Socket") {
      if (!exists || !S_ISSOCK(st.st_mode)) bad("is not a socket");
    } else if (t == "CharDevice") {
      if (!exists || !S_ISCHR(st.st_mode)) bad("is not a character device");
    } else if (t == "BlockDevice") {
      if (!exists || !S_ISBLK(st.st_mode)) bad("is not a block device");
    }
  }
}

// A pod without hostNetwork needs CRI's pod network (CNI). Without it containerd 1.6 creates a
// network namespace, fails, and keeps a sandbox that cannot be stopped until CNI works, so
// refuse before creating anything.
void CheckPodNetwork(CriClient& cri, const PodManifest& pod) {
  runtime::v1::StatusRequest req;
  auto st = cri.Call("Status", cri.runtime(), &RuntimeService::Stub::Status, req);
  for (const auto& c : st.status().conditions())
    if (c.type() == "NetworkReady" && !c.status())
      throw Error("pod " + pod.name +
                  " does not set hostNetwork: true and the node's pod network is not ready (" +
                  c.reason() + ": " + c.message() +
                  "); Reaper pods run in the node's network anyway: set spec.hostNetwork: true");
}

// After a failed RunPodSandbox, containerd may keep a NotReady sandbox: remove it (best effort).
void RemoveFailedSandbox(CriClient& cri, const GlobalOptions& g, const std::string& uid) {
  try {
    runtime::v1::ListPodSandboxRequest req;
    (*req.mutable_filter()->mutable_label_selector())[kLabelPodUid] = uid;
    auto resp = cri.Call("ListPodSandbox", cri.runtime(), &RuntimeService::Stub::ListPodSandbox, req);
    for (const auto& p : resp.items()) RemovePod(cri, g, p.id(), 0);
  } catch (const Error& e) {
    Warn(std::string("could not remove the failed sandbox: ") + e.what());
  }
}

// One container of the pod across its attempts.
struct Slot {
  const ContainerSpec* spec = nullptr;
  bool init = false;
  int index = 0;
  uint32_t next_attempt = 0;
  std::string id;  // current attempt's container
  enum class State { kIdle, kRunning, kBackoff, kDone } state = State::kIdle;
  int restarts = 0;
  Clock::time_point restart_at;
  int exit_code = 0;
  std::string reason;
};

Slot MakeSlot(const ContainerSpec* spec, bool init, int index) {
  Slot s;
  s.spec = spec;
  s.init = init;
  s.index = index;
  return s;
}

class PodRunner {
 public:
  PodRunner(CriClient& cri, const GlobalOptions& g, const PodManifest& pod, const PodPlan& plan)
      : cri_(cri), g_(g), pod_(pod), plan_(plan) {
    sandbox_cfg_ = BuildSandboxConfig(pod, plan);
    for (size_t i = 0; i < pod.init_containers.size(); ++i)
      init_.push_back(MakeSlot(&pod.init_containers[i], true, static_cast<int>(i)));
    for (size_t i = 0; i < pod.containers.size(); ++i)
      apps_.push_back(MakeSlot(&pod.containers[i], false, static_cast<int>(i)));
  }

  const std::string& sandbox_id() const { return sandbox_id_; }

  void RunSandbox() {
    runtime::v1::RunPodSandboxRequest req;
    *req.mutable_config() = sandbox_cfg_;
    req.set_runtime_handler(plan_.handler);
    auto t0 = Clock::now();
    auto resp = cri_.Call("RunPodSandbox", cri_.runtime(), &RuntimeService::Stub::RunPodSandbox,
                          req, std::chrono::minutes(4));
    sandbox_id_ = resp.pod_sandbox_id();
    Progress(g_, "pod " + pod_.ns + "/" + pod_.name + ": sandbox " + sandbox_id_.substr(0, 12) +
                     " ready in " + Ms(Clock::now() - t0) + " (handler " + plan_.handler +
                     (pod_.host_network ? ", host network)" : ")"));
  }

  // Runs the init containers to completion, in order. Returns false if the pod failed.
  bool RunInitContainers(const Clock::time_point* deadline) {
    for (auto& s : init_) {
      Start(s);
      while (s.state != Slot::State::kDone) {
        Tick(s, deadline);
        if (s.state == Slot::State::kDone && s.exit_code != 0) {
          failed_init_ = &s;
          return false;
        }
      }
    }
    return true;
  }

  void StartApps() {
    for (auto& s : apps_) Start(s);
  }

  // Supervises the app containers until none will run again. Returns the pod's exit status.
  int WaitApps(const Clock::time_point* deadline) {
    for (;;) {
      bool all_done = true;
      for (auto& s : apps_) {
        if (s.state != Slot::State::kDone) {
          all_done = false;
          Poll(s);
        }
      }
      if (all_done) break;
      Sleep(deadline);
    }
    for (auto& s : apps_)
      if (s.exit_code != 0) return s.exit_code;
    return 0;
  }

  int init_exit_code() const { return failed_init_ ? failed_init_->exit_code : 0; }
  std::string init_name() const { return failed_init_ ? failed_init_->spec->name : ""; }

 private:
  static std::string Ms(Clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
           " ms";
  }

  // Waits one polling interval; throws on interrupt or deadline.
  void Sleep(const Clock::time_point* deadline) {
    if (g_interrupted) throw Error("interrupted", kExitInterrupted);
    if (deadline && Clock::now() >= *deadline) throw Error("timed out", kExitTimeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  void Tick(Slot& s, const Clock::time_point* deadline) {
    Poll(s);
    if (s.state != Slot::State::kDone) Sleep(deadline);
  }

  void Start(Slot& s) {
    const uint32_t attempt = s.next_attempt++;
    runtime::v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(sandbox_id_);
    *req.mutable_config() = BuildContainerConfig(pod_, plan_, *s.spec, s.init, s.index, attempt);
    *req.mutable_sandbox_config() = sandbox_cfg_;
    auto created = cri_.Call("CreateContainer", cri_.runtime(),
                             &RuntimeService::Stub::CreateContainer, req);
    s.id = created.container_id();
    const std::string what = Label(s) + (attempt ? " (attempt " + std::to_string(attempt) + ")" : "");
    runtime::v1::StartContainerRequest sreq;
    sreq.set_container_id(s.id);
    runtime::v1::StartContainerResponse sresp;
    grpc::Status st =
        cri_.TryCall(cri_.runtime(), &RuntimeService::Stub::StartContainer, sreq, &sresp);
    s.state = Slot::State::kRunning;
    if (!st.ok()) {
      Warn(what + " failed to start: " + st.error_message());
      return;  // CRI records the failure as an exit (StartError); Poll picks it up
    }
    Progress(g_, what + ": started");
  }

  static std::string Label(const Slot& s) {
    return (s.init ? "init container " : "container ") + s.spec->name;
  }

  void Poll(Slot& s) {
    if (s.state == Slot::State::kBackoff) {
      if (Clock::now() >= s.restart_at) Start(s);
      return;
    }
    if (s.state != Slot::State::kRunning) return;
    runtime::v1::ContainerStatusRequest req;
    req.set_container_id(s.id);
    auto resp = cri_.Call("ContainerStatus", cri_.runtime(),
                          &RuntimeService::Stub::ContainerStatus, req);
    const auto& st = resp.status();
    if (st.state() != runtime::v1::CONTAINER_EXITED) return;
    s.exit_code = st.exit_code();
    s.reason = st.reason();
    Progress(g_, Label(s) + ": exited with code " + std::to_string(s.exit_code) +
                     (s.reason.empty() ? "" : " (" + s.reason + ")"));
    if (!st.log_path().empty()) {
      try {
        fflush(stdout);
        PrintCriLog(st.log_path(), LogOptions{});
      } catch (const Error& e) {
        Warn(std::string("logs of ") + s.spec->name + ": " + e.what());
      }
    }
    const std::string& policy = pod_.restart_policy;
    bool restart = policy == "Always" ? !s.init || s.exit_code != 0
                   : policy == "OnFailure" ? s.exit_code != 0
                                           : false;
    if (!restart) {
      s.state = Slot::State::kDone;
      return;
    }
    // kubelet's crash-loop back-off, shortened: 1 s, 2 s, 4 s ... at most 30 s.
    auto delay = std::chrono::seconds(std::min(30, 1 << std::min(s.restarts, 5)));
    ++s.restarts;
    s.state = Slot::State::kBackoff;
    s.restart_at = Clock::now() + delay;
    Progress(g_, Label(s) + ": restarting in " + std::to_string(delay.count()) +
                     " s (restartPolicy " + policy + ")");
  }

  CriClient& cri_;
  const GlobalOptions& g_;
  const PodManifest& pod_;
  const PodPlan& plan_;
  runtime::v1::PodSandboxConfig sandbox_cfg_;
  std::string sandbox_id_;
  std::vector<Slot> init_, apps_;
  const Slot* failed_init_ = nullptr;
};

}  // namespace

int CmdRun(GlobalOptions g, const std::vector<std::string>& words) {
  auto a = ParseCommand(words,
                        {{"filename", 'f', true}, {"detach", 'd', false}, {"rm", 0, false},
                         {"timeout", 0, true}},
                        g);
  auto file = a.Get("filename");
  if (!file) throw UsageError("run: -f FILE is required (a Pod manifest, - for stdin)");
  if (!a.positional.empty()) throw UsageError("run: unexpected argument " + a.positional[0]);
  const bool detach = a.Has("detach"), remove = a.Has("rm");
  if (detach && remove) throw UsageError("run: --rm and -d exclude each other");
  std::optional<Clock::time_point> deadline;
  if (auto t = a.Get("timeout")) deadline = Clock::now() + std::chrono::seconds(ParseSeconds("timeout", *t));

  const PodManifest pod = ParsePodManifest(ReadManifest(*file), *file);
  for (const auto* list : {&pod.init_containers, &pod.containers})
    for (const auto& c : *list)
      if (c.has_resources)
        Warn("container " + c.name + ": resources are accounted, and enforced only on nodes with enforce_resources = true");

  CriClient cri(g.endpoint);
  if (!pod.host_network) {
    CheckPodNetwork(cri, pod);
    Warn("pod " + pod.name +
         " does not set hostNetwork: true; its processes use the node's network anyway");
  }
  for (const auto& p : FindPods(cri, pod.ns, pod.name))
    if (p.metadata().name() == pod.name)
      throw Error("pod " + pod.ns + "/" + pod.name + " already exists (remove it: reaperctl rm " +
                  (pod.ns == "default" ? "" : "-n " + pod.ns + " ") + pod.name + ")");

  PodPlan plan;
  plan.uid = RandomUuid();
  plan.handler = HandlerFor(pod);
  plan.log_directory = g.log_root + "/" + pod.ns + "_" + pod.name + "_" + plan.uid;
  plan.volume_directory = g.root + "/pods/" + plan.uid + "/volumes";
  plan.default_image = g.default_image;

  std::set<std::string> checked;
  for (const auto* list : {&pod.init_containers, &pod.containers})
    for (const auto& c : *list) {
      std::string image = ImageFor(c, plan);
      if (checked.insert(image).second) EnsureImage(cri, g, image, c.image_pull_policy);
    }
  PrepareVolumes(pod, plan);
  MkdirAll(plan.log_directory, 0755);

  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  PodRunner runner(cri, g, pod, plan);
  const std::string who = "pod " + pod.ns + "/" + pod.name;
  try {
    runner.RunSandbox();
  } catch (...) {
    RemoveFailedSandbox(cri, g, plan.uid);
    std::error_code ec;
    std::filesystem::remove_all(plan.log_directory, ec);
    std::filesystem::remove_all(g.root + "/pods/" + plan.uid, ec);
    throw;
  }
  const std::string rm_hint =
      "reaperctl rm " + (pod.ns == "default" ? "" : "-n " + pod.ns + " ") + pod.name;
  int status = 0;
  try {
    const Clock::time_point* dl = deadline ? &*deadline : nullptr;
    if (!runner.RunInitContainers(dl)) {
      Progress(g, who + ": Failed (init container " + runner.init_name() + " exited with code " +
                      std::to_string(runner.init_exit_code()) + ")");
      status = runner.init_exit_code();
    } else {
      runner.StartApps();
      if (detach) {
        Progress(g, who + ": started; see reaperctl logs/ps, remove with " + rm_hint);
        printf("%s\n", runner.sandbox_id().c_str());
        return 0;
      }
      if (pod.restart_policy == "Always")
        Progress(g, who + ": restartPolicy Always: supervising until interrupted (Ctrl-C)");
      status = runner.WaitApps(dl);
      Progress(g, who + (status == 0 ? ": Succeeded" : ": Failed"));
    }
  } catch (const Error& e) {
    if (e.exit_code() == kExitInterrupted || e.exit_code() == kExitTimeout) {
      Warn(who + ": " + e.what());
      if (remove) RemovePod(cri, g, runner.sandbox_id(), 0);
      else Warn(who + " left as it is; remove it with " + rm_hint);
      return e.exit_code();
    }
    // A setup failure (CreateContainer, ...): the pod cannot run, remove it.
    Warn(std::string(e.what()));
    Warn(who + ": removing the pod");
    RemovePod(cri, g, runner.sandbox_id(), 0);
    return e.exit_code();
  }
  if (remove) {
    RemovePod(cri, g, runner.sandbox_id(), 0);
    Progress(g, who + ": removed");
  }
  return status;
}

}  // namespace reaperctl
