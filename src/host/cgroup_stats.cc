#include "host/cgroup_stats.h"

#include <unistd.h>

#include "base/files.h"

namespace reaper {
namespace {

std::string Read(const std::string& path) {
  auto r = ReadFile(path, 1u << 20);
  return r.ok() ? std::move(*r) : std::string();
}

bool ReadU64(const std::string& path, uint64_t* out) {
  std::string t = Read(path);
  return !t.empty() && ParseLimit(t, out);
}

// v1 limits report "unlimited" as a huge page-aligned number; anything at or above 2^62 is
// treated as none.
uint64_t V1Limit(uint64_t v) { return v >= (uint64_t{1} << 62) ? kNoLimit : v; }

// v1 blkio.throttle.io_service_bytes / io_serviced: "MAJ:MIN Op value" lines.
void ParseBlkio(const std::string& text, bool bytes, std::vector<IoDeviceStats>* io) {
  for (std::string_view line : SplitFields(text, "\n")) {
    auto f = SplitFields(line);
    if (f.size() != 3) continue;
    auto colon = f[0].find(':');
    unsigned long long maj, min, v;
    if (colon == std::string_view::npos || !ParseUint(f[0].substr(0, colon), &maj) ||
        !ParseUint(f[0].substr(colon + 1), &min) || !ParseUint(f[2], &v)) {
      continue;
    }
    IoDeviceStats* d = nullptr;
    for (auto& e : *io) {
      if (e.major == maj && e.minor == min) d = &e;
    }
    if (!d) {
      io->push_back(IoDeviceStats{maj, min});
      d = &io->back();
    }
    if (f[1] == "Read") (bytes ? d->read_bytes : d->read_ios) = v;
    if (f[1] == "Write") (bytes ? d->write_bytes : d->write_ios) = v;
  }
}

}  // namespace

std::map<std::string, uint64_t> ParseFlatKeyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (std::string_view line : SplitFields(text, "\n")) {
    auto f = SplitFields(line);
    unsigned long long v;
    if (f.size() == 2 && ParseUint(f[1], &v)) out[std::string(f[0])] = v;
  }
  return out;
}

bool ParseLimit(const std::string& text, uint64_t* out) {
  auto f = SplitFields(text);
  if (f.empty()) return false;
  if (f[0] == "max") {
    *out = kNoLimit;
    return true;
  }
  unsigned long long v;
  if (!ParseUint(f[0], &v)) return false;
  *out = v;
  return true;
}

uint64_t CgroupStats::WorkingSet(bool v1) const {
  uint64_t inactive = Stat(v1 ? "total_inactive_file" : "inactive_file");
  return inactive < memory_usage ? memory_usage - inactive : 0;
}

CgroupStats ReadStatsV1(const V1Dirs& d) {
  CgroupStats s;
  if (!d.cpuacct.empty()) {
    s.has_cpu = ReadU64(d.cpuacct + "/cpuacct.usage", &s.cpu_total_ns);
    // cpuacct.stat is in USER_HZ ticks; cpuacct.usage_user/_sys are nanoseconds (>= 4.16).
    if (!ReadU64(d.cpuacct + "/cpuacct.usage_user", &s.cpu_user_ns) ||
        !ReadU64(d.cpuacct + "/cpuacct.usage_sys", &s.cpu_kernel_ns)) {
      auto st = ParseFlatKeyed(Read(d.cpuacct + "/cpuacct.stat"));
      uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
      s.cpu_user_ns = st["user"] * ns_per_tick;
      s.cpu_kernel_ns = st["system"] * ns_per_tick;
    }
    std::string percpu = Read(d.cpuacct + "/cpuacct.usage_percpu");
    for (auto f : SplitFields(percpu)) {
      unsigned long long v;
      if (ParseUint(f, &v)) s.cpu_per_cpu_ns.push_back(v);
    }
  }
  if (!d.cpu.empty()) {
    auto st = ParseFlatKeyed(Read(d.cpu + "/cpu.stat"));
    s.cpu_periods = st["nr_periods"];
    s.cpu_throttled_periods = st["nr_throttled"];
    s.cpu_throttled_ns = st["throttled_time"];
  }
  if (!d.memory.empty()) {
    const std::string& m = d.memory;
    s.has_memory = ReadU64(m + "/memory.usage_in_bytes", &s.memory_usage);
    ReadU64(m + "/memory.max_usage_in_bytes", &s.memory_max_usage);
    ReadU64(m + "/memory.failcnt", &s.memory_failcnt);
    if (ReadU64(m + "/memory.limit_in_bytes", &s.memory_limit)) s.memory_limit = V1Limit(s.memory_limit);
    uint64_t memsw = 0;
    if (ReadU64(m + "/memory.memsw.usage_in_bytes", &memsw)) s.swap_usage = memsw;
    if (ReadU64(m + "/memory.memsw.limit_in_bytes", &s.swap_limit)) s.swap_limit = V1Limit(s.swap_limit);
    s.memory_stat = ParseFlatKeyed(Read(m + "/memory.stat"));
    auto oc = ParseFlatKeyed(Read(m + "/memory.oom_control"));
    s.oom_kills = oc["oom_kill"];
    s.under_oom = oc["under_oom"] != 0;
  }
  if (!d.pids.empty()) {
    s.has_pids = ReadU64(d.pids + "/pids.current", &s.pids_current);
    uint64_t lim = 0;
    if (ReadU64(d.pids + "/pids.max", &lim)) s.pids_limit = lim == kNoLimit ? 0 : lim;
  }
  if (!d.blkio.empty()) {
    std::string bytes = Read(d.blkio + "/blkio.throttle.io_service_bytes_recursive");
    if (bytes.empty()) bytes = Read(d.blkio + "/blkio.throttle.io_service_bytes");
    std::string ios = Read(d.blkio + "/blkio.throttle.io_serviced_recursive");
    if (ios.empty()) ios = Read(d.blkio + "/blkio.throttle.io_serviced");
    ParseBlkio(bytes, true, &s.io);
    ParseBlkio(ios, false, &s.io);
    s.has_io = access((d.blkio + "/blkio.throttle.io_service_bytes").c_str(), F_OK) == 0 || !s.io.empty();
  }
  return s;
}

CgroupStats ReadStatsV2(const std::string& dir) {
  CgroupStats s;
  auto cpu = ParseFlatKeyed(Read(dir + "/cpu.stat"));
  if (cpu.count("usage_usec")) {
    s.has_cpu = true;
    s.cpu_total_ns = cpu["usage_usec"] * 1000;
    s.cpu_user_ns = cpu["user_usec"] * 1000;
    s.cpu_kernel_ns = cpu["system_usec"] * 1000;
    s.cpu_periods = cpu["nr_periods"];
    s.cpu_throttled_periods = cpu["nr_throttled"];
    s.cpu_throttled_ns = cpu["throttled_usec"] * 1000;
  }
  s.has_memory = ReadU64(dir + "/memory.current", &s.memory_usage);
  if (s.has_memory) {
    ReadU64(dir + "/memory.peak", &s.memory_max_usage);
    ReadU64(dir + "/memory.max", &s.memory_limit);
    ReadU64(dir + "/memory.swap.current", &s.swap_usage);
    ReadU64(dir + "/memory.swap.max", &s.swap_limit);
    s.memory_stat = ParseFlatKeyed(Read(dir + "/memory.stat"));
    auto ev = ParseFlatKeyed(Read(dir + "/memory.events"));
    s.oom_kills = ev["oom_kill"];
    s.memory_failcnt = ev["max"];
  }
  s.has_pids = ReadU64(dir + "/pids.current", &s.pids_current);
  uint64_t lim = 0;
  if (s.has_pids && ReadU64(dir + "/pids.max", &lim)) s.pids_limit = lim == kNoLimit ? 0 : lim;
  // io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. ..." per line.
  std::string io = Read(dir + "/io.stat");
  s.has_io = access((dir + "/io.stat").c_str(), F_OK) == 0;
  size_t pos = 0;
  while (pos < io.size()) {
    size_t eol = io.find('\n', pos);
    if (eol == std::string::npos) eol = io.size();
    auto f = SplitFields(std::string_view(io).substr(pos, eol - pos));
    pos = eol + 1;
    if (f.empty()) continue;
    auto colon = f[0].find(':');
    unsigned long long maj, min;
    if (colon == std::string_view::npos || !ParseUint(f[0].substr(0, colon), &maj) ||
        !ParseUint(f[0].substr(colon + 1), &min)) {
      continue;
    }
    IoDeviceStats d{maj, min};
    for (size_t i = 1; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      unsigned long long v;
      if (eq == std::string_view::npos || !ParseUint(f[i].substr(eq + 1), &v)) continue;
      auto k = f[i].substr(0, eq);
      if (k == "rbytes") d.read_bytes = v;
      else if (k == "wbytes") d.write_bytes = v;
      else if (k == "rios") d.read_ios = v;
      else if (k == "wios") d.write_ios = v;
    }
    s.io.push_back(d);
  }
  return s;
}

}  // namespace reaper
