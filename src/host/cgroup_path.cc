#include "host/cgroup_path.h"

#include <algorithm>

#include "base/files.h"

namespace reaper {
namespace {
Status Invalid(const std::string& what) { return Status(Code::kInvalidArgument, "linux.cgroupsPath: " + what); }

// Every '/'-separated component is a plain name.
Status CheckComponents(std::string_view rel, std::string_view whole) {
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t e = rel.find('/', pos);
    if (e == std::string_view::npos) e = rel.size();
    std::string_view c = rel.substr(pos, e - pos);
    if (c.empty() || c == "." || c == "..") return Invalid("bad component in \"" + std::string(whole) + "\"");
    pos = e + 1;
  }
  return Status::Ok();
}

bool HasOption(std::string_view opts, std::string_view want) {
  for (auto o : SplitFields(opts, ",")) {
    if (o == want) return true;
  }
  return false;
}
}  // namespace

Result<std::string> ExpandSlice(std::string_view slice) {
  constexpr std::string_view kSuffix = ".slice";
  if (slice == "-.slice") return std::string();
  if (slice.size() <= kSuffix.size() || slice.substr(slice.size() - kSuffix.size()) != kSuffix ||
      slice.find('/') != std::string_view::npos) {
    return Invalid("bad slice \"" + std::string(slice) + "\"");
  }
  std::string_view stem = slice.substr(0, slice.size() - kSuffix.size());
  if (stem.front() == '-' || stem.back() == '-' || stem.find("--") != std::string_view::npos) {
    return Invalid("bad slice \"" + std::string(slice) + "\"");
  }
  // Each '-' opens a parent slice: a-b-c.slice lives in a.slice/a-b.slice/.
  std::string out;
  for (size_t i = 0; i < stem.size(); ++i) {
    if (stem[i] == '-') out += std::string(stem.substr(0, i)) + ".slice/";
  }
  return out + std::string(slice);
}

Result<std::string> CgroupRelativePath(std::string_view p) {
  if (p.empty()) return Invalid("empty");
  if (p.find(':') != std::string_view::npos) {
    auto f1 = p.find(':'), f2 = p.find(':', f1 + 1);
    if (f2 == std::string_view::npos || p.find(':', f2 + 1) != std::string_view::npos) {
      return Invalid("systemd form is slice:prefix:name, got \"" + std::string(p) + "\"");
    }
    std::string_view slice = p.substr(0, f1), prefix = p.substr(f1 + 1, f2 - f1 - 1), name = p.substr(f2 + 1);
    if (name.empty() || name.find('/') != std::string_view::npos || prefix.find('/') != std::string_view::npos) {
      return Invalid("bad systemd unit in \"" + std::string(p) + "\"");
    }
    auto dir = ExpandSlice(slice.empty() ? "system.slice" : slice);
    if (!dir.ok()) return dir.status();
    std::string unit;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".slice") {
      unit = std::string(name);
    } else {
      unit = (prefix.empty() ? std::string() : std::string(prefix) + "-") + std::string(name) + ".scope";
    }
    return dir->empty() ? unit : *dir + "/" + unit;
  }
  std::string_view rel = p;
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  while (!rel.empty() && rel.back() == '/') rel.remove_suffix(1);
  if (rel.empty()) return Invalid("the root cgroup cannot hold a container");
  REAPER_RETURN_IF_ERROR(CheckComponents(rel, p));
  return std::string(rel);
}

std::string CgroupMounts::V1Mount(std::string_view controller) const {
  for (const auto& m : v1) {
    if (m.controller == controller) return m.mount;
  }
  return "";
}

CgroupMounts ParseCgroupMounts(std::string_view mountinfo) {
  CgroupMounts out;
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto head = SplitFields(line.substr(0, sep));
    auto tail = SplitFields(line.substr(sep + 3));
    if (head.size() < 5 || tail.size() < 3) continue;
    std::string mount(head[4]);
    if (tail[0] == "cgroup2") {
      if (!out.unified) out.unified = mount;
    } else if (tail[0] == "cgroup") {
      for (const char* c : kV1Controllers) {
        if (HasOption(tail[2], c) && out.V1Mount(c).empty()) out.v1.push_back({c, mount});
      }
    }
  }
  return out;
}

CgroupMounts HostCgroupMounts() {
  auto t = ReadFile("/proc/self/mountinfo");
  return ParseCgroupMounts(t.ok() ? *t : std::string());
}

}  // namespace reaper
