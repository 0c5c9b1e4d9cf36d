#include "shim/state_record.h"

#include "base/files.h"
#include "base/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace reaper {

std::string EncodeStateRecord(const StateRecord& r) {
  nlohmann::json j = {{"id", r.id},         {"pid", r.pid},
                      {"start_time", r.start_time}, {"cgroup", r.cgroup}, {"group", r.group}, {"ns", r.ns},
                      {"exited", r.exited}, {"exit_status", r.exit_status},
                      {"exited_sec", r.exited_sec}, {"exited_nsec", r.exited_nsec}};
  if (!r.cgroups_created.empty()) j["cgroups_created"] = r.cgroups_created;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<StateRecord> DecodeStateRecord(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status(Code::kInvalidArgument, "state record is not a JSON object");
  StateRecord r;
  try {
    r.id = j.value("id", "");
    r.pid = j.value("pid", 0);
    r.start_time = j.value("start_time", 0ULL);
    r.cgroup = j.value("cgroup", "");
    r.group = j.value("group", "");
    r.ns = j.value("ns", "");
    r.exited = j.value("exited", false);
    r.exit_status = j.value("exit_status", 0U);
    r.exited_sec = j.value("exited_sec", int64_t{0});
    r.exited_nsec = j.value("exited_nsec", 0);
    r.cgroups_created = j.value("cgroups_created", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, std::string("state record: ") + e.what());
  }
  return r;
}

Status WriteStateRecord(const std::string& bundle, const StateRecord& r) {
  return WriteFileAtomic(bundle + "/" + kStateRecordName, EncodeStateRecord(r));
}

Result<StateRecord> ReadStateRecord(const std::string& bundle) {
  std::string path = bundle + "/" + kStateRecordName;
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  return DecodeStateRecord(*text);
}

}  // namespace reaper
