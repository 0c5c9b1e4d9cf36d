#include "base/proc.h"

#include <dirent.h>

#include <algorithm>
#include <string>

#include "base/files.h"

namespace reaper {
namespace {
// Fields of /proc/<pid>/stat after the command name (which may contain spaces).
std::vector<std::string> StatFields(pid_t pid) {
  auto s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::vector<std::string> out;
  if (!s.ok()) return out;
  auto close = s->rfind(')');
  if (close == std::string::npos) return out;
  for (auto f : SplitFields(std::string_view(*s).substr(close + 1))) out.emplace_back(f);
  return out;  // out[0] is field 3 (state)
}
}  // namespace

std::vector<pid_t> PidsInSession(pid_t sid) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    long long pid;
    if (!ParseInt(e->d_name, &pid) || pid <= 0) continue;
    auto f = StatFields(static_cast<pid_t>(pid));
    // f[0]=state(3) f[1]=ppid(4) f[2]=pgrp(5) f[3]=session(6)
    long long s;
    if (f.size() > 3 && f[0] != "Z" && ParseInt(f[3], &s) && s == sid) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

std::vector<pid_t> Descendants(pid_t root, bool* supported) {
  std::vector<pid_t> out, todo{root};
  bool ok = true;
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    std::string task_dir = "/proc/" + std::to_string(p) + "/task";
    DIR* d = opendir(task_dir.c_str());
    if (!d) continue;  // exited meanwhile
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto kids = ReadFile(task_dir + "/" + e->d_name + "/children", 1 << 20);
      if (!kids.ok()) {
        if (kids.status().code() == Code::kNotFound && p == root) ok = false;
        continue;
      }
      for (auto f : SplitFields(*kids)) {
        long long v;
        if (ParseInt(f, &v) && v > 0 && std::find(out.begin(), out.end(), v) == out.end()) {
          out.push_back(static_cast<pid_t>(v));
          todo.push_back(static_cast<pid_t>(v));
        }
      }
    }
    closedir(d);
  }
  if (supported) *supported = ok;
  return out;
}

pid_t SessionOf(pid_t pid) {
  auto f = StatFields(pid);
  long long s;
  if (f.size() < 4 || f[0] == "Z" || f[0] == "X" || !ParseInt(f[3], &s)) return -1;
  return static_cast<pid_t>(s);
}

bool ProcessAlive(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  auto f = StatFields(pid);
  unsigned long long v;
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return false;
  return start_time == 0 || (ParseUint(f[19], &v) && v == start_time);
}

unsigned long long ProcessStartTime(pid_t pid) {
  auto f = StatFields(pid);
  unsigned long long v;
  if (f.size() < 20 || !ParseUint(f[19], &v)) return 0;
  return v;  // field 22
}

}  // namespace reaper
