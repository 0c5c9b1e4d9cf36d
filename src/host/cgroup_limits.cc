#include "host/cgroup_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/unique_fd.h"

namespace reaper {
namespace {
using json = nlohmann::json;

Status Invalid(const std::string& what) { return Status(Code::kInvalidArgument, "linux.resources: " + what); }

Status WriteValue(const std::string& dir, const char* file, const std::string& value) {
  std::string path = dir + "/" + file;
  UniqueFd f(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f) return Status::FromErrno(errno, "open " + path);
  if (write(f.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return Status::FromErrno(errno, "write " + value + " to " + path);
  }
  return Status::Ok();
}

template <typename T>
Status Field(const json& obj, const char* group, const char* key, std::optional<T>* out) {
  if (!obj.contains(key) || obj[key].is_null()) return Status::Ok();
  const json& v = obj[key];
  std::string name = std::string(group) + "." + key;
  if (!v.is_number_integer()) return Invalid(name + " must be an integer");
  if constexpr (std::is_unsigned_v<T>) {
    if (v.is_number_unsigned() || v.get<int64_t>() >= 0) *out = v.get<T>();
    else return Invalid(name + " must not be negative");
  } else {
    *out = v.get<T>();
  }
  return Status::Ok();
}
}  // namespace

Result<Resources> ParseResources(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !(j.is_object() || j.is_null())) return Invalid("not a JSON object");
  Resources r;
  if (j.is_null()) return r;
  if (j.contains("memory") && j["memory"].is_object()) REAPER_RETURN_IF_ERROR(Field(j["memory"], "memory", "limit", &r.memory_limit));
  if (j.contains("cpu") && j["cpu"].is_object()) {
    REAPER_RETURN_IF_ERROR(Field(j["cpu"], "cpu", "shares", &r.cpu_shares));
    REAPER_RETURN_IF_ERROR(Field(j["cpu"], "cpu", "quota", &r.cpu_quota));
    REAPER_RETURN_IF_ERROR(Field(j["cpu"], "cpu", "period", &r.cpu_period));
  }
  if (j.contains("pids") && j["pids"].is_object()) REAPER_RETURN_IF_ERROR(Field(j["pids"], "pids", "limit", &r.pids_limit));
  return r;
}

uint64_t SharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

Status ApplyResourcesV1(const V1Dirs& d, const Resources& r) {
  if (r.memory_limit && !d.memory.empty()) {
    std::string v = *r.memory_limit > 0 ? std::to_string(*r.memory_limit) : "-1";
    REAPER_RETURN_IF_ERROR(WriteValue(d.memory, "memory.limit_in_bytes", v));
  }
  if (!d.cpu.empty()) {
    if (r.cpu_shares && *r.cpu_shares > 0) {
      REAPER_RETURN_IF_ERROR(WriteValue(d.cpu, "cpu.shares", std::to_string(*r.cpu_shares)));
    }
    if (r.cpu_period && *r.cpu_period > 0) {
      REAPER_RETURN_IF_ERROR(WriteValue(d.cpu, "cpu.cfs_period_us", std::to_string(*r.cpu_period)));
    }
    if (r.cpu_quota) {
      std::string v = *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "-1";
      REAPER_RETURN_IF_ERROR(WriteValue(d.cpu, "cpu.cfs_quota_us", v));
    }
  }
  if (r.pids_limit && !d.pids.empty()) {
    std::string v = *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max";
    REAPER_RETURN_IF_ERROR(WriteValue(d.pids, "pids.max", v));
  }
  return Status::Ok();
}

Status ApplyResourcesV2(const std::string& dir, const Resources& r) {
  if (r.memory_limit) {
    std::string v = *r.memory_limit > 0 ? std::to_string(*r.memory_limit) : "max";
    REAPER_RETURN_IF_ERROR(WriteValue(dir, "memory.max", v));
  }
  if (r.cpu_shares && *r.cpu_shares > 0) {
    REAPER_RETURN_IF_ERROR(WriteValue(dir, "cpu.weight", std::to_string(SharesToWeight(*r.cpu_shares))));
  }
  if (r.cpu_quota || r.cpu_period) {
    uint64_t period = r.cpu_period && *r.cpu_period > 0 ? *r.cpu_period : 100000;
    std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
    REAPER_RETURN_IF_ERROR(WriteValue(dir, "cpu.max", quota + " " + std::to_string(period)));
  }
  if (r.pids_limit) {
    std::string v = *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max";
    REAPER_RETURN_IF_ERROR(WriteValue(dir, "pids.max", v));
  }
  return Status::Ok();
}

}  // namespace reaper
