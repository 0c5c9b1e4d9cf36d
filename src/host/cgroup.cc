#include "host/cgroup.h"

#include "base/files.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace reaper {
namespace {
std::string ReadOrEmpty(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? std::move(*r) : std::string();
}

}  // namespace

std::optional<std::string> FindCgroup2Mount(std::string_view mountinfo) {
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string line(mountinfo.substr(pos, eol - pos));
    pos = eol + 1;
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto tail = SplitFields(std::string_view(line).substr(sep + 3));
    if (tail.empty() || tail[0] != "cgroup2") continue;
    auto head = SplitFields(std::string_view(line).substr(0, sep));
    if (head.size() >= 5) return std::string(head[4]);
  }
  return std::nullopt;
}

std::optional<std::string> DefaultCgroupParent() {
  auto m = FindCgroup2Mount(ReadOrEmpty("/proc/self/mountinfo"));
  if (!m) return std::nullopt;
  return *m + "/reaper";
}

Result<Cgroup> Cgroup::Create(const std::string& path) {
  std::string parent = path.substr(0, path.rfind('/'));
  REAPER_RETURN_IF_ERROR(MkdirAll(parent));
  Cgroup cg;
  cg.path_ = path;
  if (mkdir(path.c_str(), 0755) != 0) {
    if (errno != EEXIST) return Status::FromErrno(errno, "mkdir " + path);
    cg.fresh_ = false;
  }
  cg.procs_.reset(open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!cg.procs_) return Status::FromErrno(errno, "open " + path + "/cgroup.procs");
  cg.dir_.reset(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.dir_) return Status::FromErrno(errno, "open " + path);
  return cg;
}

Status MkdirRecorded(const std::string& root, const std::string& rel, std::vector<std::string>* created) {
  for (int attempt = 0;; ++attempt) {
    size_t pos = 0;
    bool vanished = false;
    while (pos != std::string::npos) {
      pos = rel.find('/', pos + 1);
      std::string dir = root + "/" + rel.substr(0, pos);
      if (mkdir(dir.c_str(), 0755) == 0) {
        created->push_back(dir);
      } else if (errno == ENOENT && attempt < 5) {
        vanished = true;
        break;
      } else if (errno != EEXIST) {
        return Status::FromErrno(errno, "mkdir " + dir);
      }
    }
    if (!vanished) return Status::Ok();
  }
}

void RemoveEmptyDirs(std::vector<std::string>* dirs) {
  std::sort(dirs->begin(), dirs->end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  dirs->erase(std::unique(dirs->begin(), dirs->end()), dirs->end());
  std::vector<std::string> left;
  for (const auto& d : *dirs) {
    if (rmdir(d.c_str()) != 0 && errno != ENOENT) left.push_back(d);
  }
  *dirs = std::move(left);
}

Result<Cgroup> Cgroup::CreateUnder(const std::string& root, const std::string& rel) {
  std::vector<std::string> made;
  auto slash = rel.rfind('/');
  if (slash != std::string::npos) REAPER_RETURN_IF_ERROR(MkdirRecorded(root, rel.substr(0, slash), &made));
  auto cg = Create(root + "/" + rel);
  if (!cg.ok()) {
    RemoveEmptyDirs(&made);
    return cg.status();
  }
  cg->created_parents_ = std::move(made);
  return cg;
}

Cgroup Cgroup::Existing(const std::string& path) {
  Cgroup cg;
  cg.path_ = path;
  return cg;
}

std::vector<pid_t> Cgroup::Pids() const {
  std::vector<pid_t> out;
  std::string text = ReadOrEmpty(path_ + "/cgroup.procs");
  for (auto f : SplitFields(text)) {
    long long v;
    if (ParseInt(f, &v) && v > 0) out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

Status Cgroup::Signal(int sig) {
  if (sig == SIGKILL) {
    killed_ = true;
    UniqueFd k(open((path_ + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
    if (k && write(k.get(), "1", 1) == 1) return Status::Ok();
    if (errno == ENOENT && access(path_.c_str(), F_OK) != 0) return Status::Ok();
  }
  for (pid_t p : Pids()) {
    if (kill(p, sig) != 0 && errno != ESRCH) return Status::FromErrno(errno, "kill " + std::to_string(p));
  }
  return Status::Ok();
}

bool Cgroup::Populated() const {
  std::string ev = ReadOrEmpty(path_ + "/cgroup.events");
  return ev.find("populated 1") != std::string::npos;
}

Status Cgroup::Remove() {
  procs_.reset();
  dir_.reset();
  if (rmdir(path_.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "rmdir " + path_);
  return Status::Ok();
}

void KillAndRemoveCgroup(const std::string& path, std::chrono::milliseconds budget) {
  if (access(path.c_str(), F_OK) != 0) return;
  Cgroup cg = Cgroup::Existing(path);
  (void)cg.Signal(SIGKILL);
  UniqueFd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (in) inotify_add_watch(in.get(), (path + "/cgroup.events").c_str(), IN_MODIFY);
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (cg.Populated()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !in) break;
    pollfd pfd{in.get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      while (read(in.get(), buf, sizeof buf) > 0) {
      }
    }
  }
  (void)cg.Remove();
}

}  // namespace reaper
