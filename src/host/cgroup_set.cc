#include "host/cgroup_set.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/files.h"
#include "host/cgroup.h"

namespace reaper {

Result<ControllerCgroups> ControllerCgroups::Create(const CgroupMounts& mounts, const std::string& rel) {
  ControllerCgroups cg;
  for (const auto& m : mounts.v1) {
    std::string leaf = m.mount + "/" + rel;
    if (m.controller == "memory") cg.dirs_.memory = leaf;
    else if (m.controller == "cpu") cg.dirs_.cpu = leaf;
    else if (m.controller == "cpuacct") cg.dirs_.cpuacct = leaf;
    else if (m.controller == "pids") cg.dirs_.pids = leaf;
    else if (m.controller == "blkio") cg.dirs_.blkio = leaf;
    if (std::find(cg.leaves_.begin(), cg.leaves_.end(), leaf) != cg.leaves_.end()) continue;
    cg.leaves_.push_back(leaf);
    cg.all_leaves_.push_back(leaf);
    if (Status st = MkdirRecorded(m.mount, rel, &cg.created_); !st.ok()) {
      (void)cg.Remove();
      auto parents = cg.created_parents();
      RemoveEmptyDirs(&parents);
      return st;
    }
  }
  return cg;
}

Result<std::vector<UniqueFd>> ControllerCgroups::OpenTasks() const {
  std::vector<UniqueFd> fds;
  for (const auto& leaf : leaves_) {
    UniqueFd f(open((leaf + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!f) return Status::FromErrno(errno, "open " + leaf + "/tasks");
    fds.push_back(std::move(f));
  }
  return fds;
}

Status ControllerCgroups::Remove() {
  Status first = Status::Ok();
  std::vector<std::string> left;
  for (const auto& leaf : leaves_) {
    if (rmdir(leaf.c_str()) == 0 || errno == ENOENT) continue;
    if (first.ok()) first = Status::FromErrno(errno, "rmdir " + leaf);
    left.push_back(leaf);
  }
  leaves_ = std::move(left);
  return first;
}

std::vector<std::string> ControllerCgroups::created_parents() const {
  std::vector<std::string> out;
  for (const auto& d : created_) {
    if (std::find(leaves_.begin(), leaves_.end(), d) == leaves_.end() &&
        std::find(all_leaves_.begin(), all_leaves_.end(), d) == all_leaves_.end()) {
      out.push_back(d);
    }
  }
  return out;
}

Result<UniqueFd> OpenV1OomEventFd(const std::string& memory_dir) {
  UniqueFd efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!efd) return Status::FromErrno(errno, "eventfd");
  UniqueFd oc(open((memory_dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
  if (!oc) return Status::FromErrno(errno, "open " + memory_dir + "/memory.oom_control");
  UniqueFd ctl(open((memory_dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC));
  if (!ctl) return Status::FromErrno(errno, "open " + memory_dir + "/cgroup.event_control");
  std::string line = std::to_string(efd.get()) + " " + std::to_string(oc.get());
  if (write(ctl.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return Status::FromErrno(errno, "register OOM event for " + memory_dir);
  }
  return efd;  // the kernel keeps its own reference to memory.oom_control
}

uint64_t ReadOomKills(const std::string& dir, bool v1) {
  auto t = ReadFile(dir + (v1 ? "/memory.oom_control" : "/memory.events"), 1u << 16);
  if (!t.ok()) return 0;
  auto kv = ParseFlatKeyed(*t);
  return kv["oom_kill"];
}

}  // namespace reaper
