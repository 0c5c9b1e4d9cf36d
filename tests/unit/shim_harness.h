// Test harness: runs the real shim daemon binary (`serve`) on a private socket, with a fake
// containerd events service that records every Forward, and a blocking ttrpc client.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events.pb.h"
#include "base/status.h"
#include "ttrpc.pb.h"
#include "ttrpc/frame.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "host/cgroup.h"
#include "host/cgroup_path.h"

namespace reaper::testing {

inline UniqueFd Dial(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return UniqueFd();
  return fd;
}

inline UniqueFd ListenAt(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd.get(), 64) != 0) {
    return UniqueFd();
  }
  return fd;
}

inline bool ReadFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

inline bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t r = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (r <= 0) return false;
    off += static_cast<size_t>(r);
  }
  return true;
}

struct Reply {
  uint32_t stream = 0;
  int code = 0;
  std::string message;
  std::string payload;
};

// Blocking ttrpc client: Send() and Recv() separately so tests can interleave requests.
class Client {
 public:
  explicit Client(const std::string& path) : fd_(Dial(path)) {}
  bool ok() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  uint32_t Send(const std::string& method, const std::string& payload,
                const std::string& service = "containerd.task.v2.Task") {
    ::ttrpc::Request req;
    req.set_service(service);
    req.set_method(method);
    req.set_payload(payload);
    uint32_t s = next_;
    next_ += 2;
    WriteAll(fd_.get(), ttrpc::EncodeFrame(s, ttrpc::kTypeRequest, req.SerializeAsString()));
    return s;
  }
  bool Recv(Reply* out) {
    char h[ttrpc::kHeaderSize];
    if (!ReadFull(fd_.get(), h, sizeof h)) return false;
    auto hdr = ttrpc::DecodeHeader(reinterpret_cast<uint8_t*>(h));
    std::string body(hdr.length, '\0');
    if (!ReadFull(fd_.get(), body.data(), body.size())) return false;
    ::ttrpc::Response resp;
    if (!resp.ParseFromString(body)) return false;
    out->stream = hdr.stream_id;
    out->code = resp.has_status() ? resp.status().code() : 0;
    out->message = resp.has_status() ? resp.status().message() : "";
    out->payload = resp.payload();
    return true;
  }
  // True once a reply is waiting (within `ms`): for tests that must not hang on a stuck shim.
  bool Readable(int ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    return poll(&p, 1, ms) == 1;
  }
  template <typename Req>
  void SendOnly(const std::string& method, const Req& req) { Send(method, req.SerializeAsString()); }
  template <typename Req>
  Reply Call(const std::string& method, const Req& req) {
    Send(method, req.SerializeAsString());
    Reply r;
    if (!Recv(&r)) r.code = -1;
    return r;
  }

 private:
  UniqueFd fd_;
  uint32_t next_ = 1;
};

// Accepts Forward calls, answers OK, records (topic, type_url, value).
class FakeEvents {
 public:
  struct Event {
    std::string topic, type, value;
  };
  explicit FakeEvents(const std::string& path) : listen_(ListenAt(path)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeEvents() {
    stop_ = true;
    shutdown(listen_.get(), SHUT_RDWR);
    thread_.join();
  }
  // Waits until `n` events arrived (or 10 s passed); returns a copy.
  std::vector<Event> WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::seconds(10), [&] { return events_.size() >= n; });
    return events_;
  }
  // Waits until an event with `topic` arrived (events are published asynchronously).
  bool WaitForTopic(const std::string& topic) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] {
      return std::any_of(events_.begin(), events_.end(), [&](const Event& e) { return e.topic == topic; });
    });
  }

 private:
  void Serve() {
    while (!stop_) {
      UniqueFd c(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      for (;;) {
        char h[ttrpc::kHeaderSize];
        if (!ReadFull(c.get(), h, sizeof h)) break;
        auto hdr = ttrpc::DecodeHeader(reinterpret_cast<uint8_t*>(h));
        std::string body(hdr.length, '\0');
        if (!ReadFull(c.get(), body.data(), body.size())) break;
        ::ttrpc::Request req;
        containerd::events::ForwardRequest fwd;
        if (req.ParseFromString(body) && fwd.ParseFromString(req.payload())) {
          std::lock_guard<std::mutex> l(mu_);
          events_.push_back({fwd.envelope().topic(), fwd.envelope().event().type_url(),
                             fwd.envelope().event().value()});
          cv_.notify_all();
        }
        WriteAll(c.get(), ttrpc::EncodeFrame(hdr.stream_id, ttrpc::kTypeResponse, ""));
      }
    }
  }
  UniqueFd listen_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::thread thread_;
};

// Detaches every mount at or below `dir` (deepest first).
inline void UnmountUnder(const std::string& dir) {
  std::ifstream mi("/proc/self/mountinfo");
  std::vector<std::string> mps;
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::string a, b, c, d, mp;
    f >> a >> b >> c >> d >> mp;
    if (mp.compare(0, dir.size(), dir) == 0) mps.push_back(mp);
  }
  std::sort(mps.begin(), mps.end(), [](const std::string& x, const std::string& y) { return x.size() > y.size(); });
  for (const auto& m : mps) umount2(m.c_str(), MNT_DETACH);
}

// Kills every process in the cgroup tree at `dir` and removes its directories (deepest
// first): what one test's shim leaves there cannot reach another test.
inline void RemoveCgroupTree(const std::string& dir) {
  if (dir.empty() || access(dir.c_str(), F_OK) != 0) return;
  std::string cmd = "find '" + dir + "' -depth -type d | while read -r d; do echo 1 > \"$d/cgroup.kill\" 2>/dev/null; "
                    "for i in $(seq 50); do rmdir \"$d\" 2>/dev/null && break; sleep 0.1; done; done";
  int r = system(cmd.c_str());
  (void)r;
}

// A temp dir with the shim daemon serving on <dir>/shim.sock; its containers' cgroups live
// under a parent of its own (<cgroup2>/reaper-unit/<dir name>), removed with it.
class ShimProcess {
 public:
  // `capture_log`: the daemon's stderr (its log) goes to <dir>/shim.log instead of the test's.
  explicit ShimProcess(const std::string& extra_config = "", bool capture_log = false) {
    char tmpl[] = "/tmp/reaper-shim-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/shim.sock";
    events_ = std::make_unique<FakeEvents>(dir_ + "/events.sock");
    UniqueFd l = ListenAt(socket_);
    auto mountinfo = ReadFile("/proc/self/mountinfo");
    if (auto root = mountinfo.ok() ? FindCgroup2Mount(*mountinfo) : std::nullopt) {
      cgroup_parent_ = *root + "/reaper-unit/" + dir_.substr(dir_.rfind('/') + 1);
    }
    // Host protection state (overlay groups) lives in the temp dir too.
    std::ofstream(dir_ + "/reaper.toml") << "state_root = \"" << dir_ << "/state\"\n" << extra_config;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(l.get(), 3);
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      if (capture_log) {
        int log = open((dir_ + "/shim.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(log, 2);
      }
      setenv("TTRPC_ADDRESS", (dir_ + "/events.sock").c_str(), 1);
      setenv("REAPER_CONFIG", (dir_ + "/reaper.toml").c_str(), 1);
      if (!cgroup_parent_.empty()) setenv("REAPER_CGROUP_PARENT", cgroup_parent_.c_str(), 1);
      execl(REAPER_SHIM_BINARY, "containerd-shim-reaper-v2", "-namespace", "unit", "-id", "x", "-address",
            (dir_ + "/containerd.sock").c_str(), "-socket-address", ("unix://" + socket_).c_str(),
            "-socket-fd", "3", "serve", nullptr);
      _exit(127);
    }
  }
  ~ShimProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    events_.reset();
    RemoveCgroupTree(cgroup_parent_);
    // Hybrid nodes: the same tree in the v1 controllers (its processes died with the v2 one).
    if (!cgroup_parent_.empty()) {
      CgroupMounts m = HostCgroupMounts();
      std::string rel = cgroup_parent_.substr(m.unified.value_or("").size());
      for (const auto& v1 : m.v1) RemoveCgroupTree(v1.mount + rel);
    }
    UnmountUnder(dir_);
    std::string cmd = "rm -rf --one-file-system '" + dir_ + "'";
    int r = system(cmd.c_str());
    (void)r;
  }
  const std::string& dir() const { return dir_; }
  // What the daemon logged so far (with capture_log).
  std::string log() const {
    auto text = ReadFile(dir_ + "/shim.log");
    return text.ok() ? *text : std::string();
  }
  // Where this shim's containers get their cgroups ("" without cgroup2).
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  FakeEvents& events() { return *events_; }
  // Waits up to `ms` for the daemon to exit; returns its exit code or -1.
  int WaitExit(int ms) {
    UniqueFd pfd(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));
    pollfd p{pfd.get(), POLLIN, 0};
    if (!pfd || poll(&p, 1, ms) != 1) return -1;
    int st;
    if (waitpid(pid_, &st, 0) != pid_) return -1;
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  // Writes <dir>/<name>/config.json and returns the bundle path.
  std::string Bundle(const std::string& name, const std::string& config_json) {
    std::string b = dir_ + "/" + name;
    mkdir(b.c_str(), 0700);
    std::ofstream(b + "/config.json") << config_json;
    return b;
  }
  std::string Fifo(const std::string& name) {
    std::string p = dir_ + "/" + name;
    mkfifo(p.c_str(), 0600);
    return p;
  }

 private:
  std::string dir_, socket_, cgroup_parent_;
  std::unique_ptr<FakeEvents> events_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace reaper::testing
