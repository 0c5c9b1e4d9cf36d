#include "host/oci_spec.h"

#include "base/files.h"

#include <sys/resource.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace reaper {
namespace {
using nlohmann::json;

Status Invalid(const std::string& msg) { return Status(Code::kInvalidArgument, msg); }

const std::map<std::string, int>& RlimitNames() {
  static const std::map<std::string, int> m = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
  };
  return m;
}

Result<uint32_t> Id32(const json& j, const std::string& field) {
  // uid/gid must be a non-negative integer below 2^32-1 ((uid_t)-1 means "no change" to the kernel).
  if (!j.is_number_integer()) return Invalid(field + " must be an integer");
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (v >= std::numeric_limits<uint32_t>::max()) return Invalid(field + " out of range: " + std::to_string(v));
    return static_cast<uint32_t>(v);
  }
  auto v = j.get<int64_t>();
  if (v < 0 || v >= int64_t{std::numeric_limits<uint32_t>::max()}) {
    return Invalid(field + " out of range: " + std::to_string(v));
  }
  return static_cast<uint32_t>(v);
}

Result<std::vector<std::string>> StringArray(const json& j, const std::string& field) {
  if (!j.is_array()) return Invalid(field + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return Invalid(field + " must be an array of strings");
    auto s = e.get<std::string>();
    if (s.find('\0') != std::string::npos) return Invalid(field + " contains a NUL byte");
    out.push_back(std::move(s));
  }
  return out;
}

Result<ProcessSpec> FromJson(const json& p) {
  if (!p.is_object()) return Invalid("process must be an object");
  ProcessSpec ps;
  if (!p.contains("args")) return Invalid("process.args is missing");
  auto args = StringArray(p["args"], "process.args");
  if (!args.ok()) return args.status();
  ps.args = std::move(*args);
  if (ps.args.empty() || ps.args[0].empty()) return Invalid("process.args must not be empty");
  if (p.contains("env") && !p["env"].is_null()) {
    auto env = StringArray(p["env"], "process.env");
    if (!env.ok()) return env.status();
    for (const auto& e : *env) {
      if (e.find('=') == std::string::npos) return Invalid("process.env entry without '=': " + e);
    }
    ps.env = std::move(*env);
  }
  if (p.contains("cwd")) {
    if (!p["cwd"].is_string()) return Invalid("process.cwd must be a string");
    ps.cwd = p["cwd"].get<std::string>();
  }
  if (ps.cwd.empty()) ps.cwd = "/";
  if (ps.cwd[0] != '/') return Invalid("process.cwd must be an absolute path: " + ps.cwd);
  if (p.contains("terminal")) ps.terminal = p["terminal"].is_boolean() && p["terminal"].get<bool>();
  if (p.contains("noNewPrivileges")) {
    ps.no_new_privileges = p["noNewPrivileges"].is_boolean() && p["noNewPrivileges"].get<bool>();
  }
  if (p.contains("capabilities") && !p["capabilities"].is_null()) {
    auto caps = ParseCapabilities(p["capabilities"]);
    if (!caps.ok()) return caps.status();
    ps.capabilities = *caps;
  }
  if (p.contains("user")) {
    const auto& u = p["user"];
    if (!u.is_object()) return Invalid("process.user must be an object");
    if (u.contains("uid")) {
      auto v = Id32(u["uid"], "process.user.uid");
      if (!v.ok()) return v.status();
      ps.uid = *v;
    }
    if (u.contains("gid")) {
      auto v = Id32(u["gid"], "process.user.gid");
      if (!v.ok()) return v.status();
      ps.gid = *v;
    }
    if (u.contains("additionalGids") && !u["additionalGids"].is_null()) {
      if (!u["additionalGids"].is_array()) return Invalid("process.user.additionalGids must be an array");
      for (const auto& g : u["additionalGids"]) {
        auto v = Id32(g, "process.user.additionalGids");
        if (!v.ok()) return v.status();
        ps.additional_gids.push_back(*v);
      }
      if (ps.additional_gids.size() > 65536) return Invalid("too many process.user.additionalGids");
    }
    if (u.contains("umask") && !u["umask"].is_null()) {
      if (!u["umask"].is_number_unsigned() || u["umask"].get<uint64_t>() > 0777) {
        return Invalid("process.user.umask must be between 0 and 0777");
      }
      ps.umask = u["umask"].get<uint32_t>();
    }
  }
  if (p.contains("oomScoreAdj") && !p["oomScoreAdj"].is_null()) {
    if (!p["oomScoreAdj"].is_number_integer()) return Invalid("process.oomScoreAdj must be an integer");
    auto v = p["oomScoreAdj"].get<int64_t>();
    if (v < -1000 || v > 1000) return Invalid("process.oomScoreAdj out of range: " + std::to_string(v));
    ps.oom_score_adj = static_cast<int>(v);
  }
  if (p.contains("rlimits") && !p["rlimits"].is_null()) {
    if (!p["rlimits"].is_array()) return Invalid("process.rlimits must be an array");
    for (const auto& r : p["rlimits"]) {
      if (!r.is_object() || !r.contains("type") || !r["type"].is_string()) {
        return Invalid("process.rlimits entries need a type");
      }
      auto name = r["type"].get<std::string>();
      auto it = RlimitNames().find(name);
      if (it == RlimitNames().end()) return Invalid("unknown rlimit type: " + name);
      Rlimit rl{it->second, name, 0, 0};
      for (const char* k : {"hard", "soft"}) {
        if (!r.contains(k) || !r[k].is_number_unsigned()) {
          return Invalid("rlimit " + name + " needs a non-negative " + k);
        }
      }
      rl.hard = r["hard"].get<uint64_t>();
      rl.soft = r["soft"].get<uint64_t>();
      if (rl.soft > rl.hard) return Invalid("rlimit " + name + ": soft limit above hard limit");
      ps.rlimits.push_back(rl);
    }
  }
  return ps;
}

Result<std::vector<std::string>> AbsolutePaths(const json& j, const std::string& field) {
  auto paths = StringArray(j, field);
  if (!paths.ok()) return paths.status();
  for (const auto& p : *paths) {
    if (p.empty() || p[0] != '/') return Invalid(field + ": not an absolute path: " + p);
  }
  return paths;
}

// linux.seccomp, linux.maskedPaths, linux.readonlyPaths, root.readonly.
Status ParseLinuxSecurity(const json& j, Spec& spec) {
  if (j.contains("root") && j["root"].is_object() && j["root"].contains("readonly")) {
    spec.root_readonly = j["root"]["readonly"].is_boolean() && j["root"]["readonly"].get<bool>();
  }
  if (!j.contains("linux") || !j["linux"].is_object()) return Status::Ok();
  const json& l = j["linux"];
  if (l.contains("seccomp") && !l["seccomp"].is_null()) {
    auto sc = ParseSeccomp(l["seccomp"]);
    if (!sc.ok()) return sc.status();
    spec.seccomp = std::move(*sc);
  }
  for (auto [key, out] : {std::pair{"maskedPaths", &spec.masked_paths}, std::pair{"readonlyPaths", &spec.readonly_paths}}) {
    if (!l.contains(key) || l[key].is_null()) continue;
    auto paths = AbsolutePaths(l[key], std::string("linux.") + key);
    if (!paths.ok()) return paths.status();
    *out = std::move(*paths);
  }
  return Status::Ok();
}

Result<json> ParseJson(std::string_view text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(what + " is not valid JSON");
  if (!j.is_object()) return Invalid(what + " must be a JSON object");
  return j;
}
}  // namespace

Result<ProcessSpec> ParseProcess(std::string_view text) {
  auto j = ParseJson(text, "process spec");
  if (!j.ok()) return j.status();
  return FromJson(*j);
}

Result<Spec> ParseSpec(std::string_view text) {
  auto j = ParseJson(text, "config.json");
  if (!j.ok()) return j.status();
  Spec spec;
  if (j->contains("annotations") && !(*j)["annotations"].is_null()) {
    const auto& a = (*j)["annotations"];
    if (!a.is_object()) return Invalid("annotations must be an object");
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!it.value().is_string()) return Invalid("annotation " + it.key() + " must be a string");
      spec.annotations[it.key()] = it.value().get<std::string>();
    }
  }
  if (j->contains("mounts") && !(*j)["mounts"].is_null()) {
    const auto& ms = (*j)["mounts"];
    if (!ms.is_array()) return Invalid("mounts must be an array");
    for (const auto& m : ms) {
      if (!m.is_object() || !m.contains("destination") || !m["destination"].is_string()) {
        return Invalid("every mount needs a destination");
      }
      MountSpec mount;
      mount.destination = m["destination"].get<std::string>();
      if (mount.destination.empty() || mount.destination[0] != '/') {
        return Invalid("mount destination must be absolute: " + mount.destination);
      }
      if (m.contains("type") && m["type"].is_string()) mount.type = m["type"].get<std::string>();
      if (m.contains("source") && m["source"].is_string()) mount.source = m["source"].get<std::string>();
      if (m.contains("options") && !m["options"].is_null()) {
        auto opts = StringArray(m["options"], "mount options");
        if (!opts.ok()) return opts.status();
        mount.options = std::move(*opts);
      }
      spec.mounts.push_back(std::move(mount));
    }
  }
  if (j->contains("linux") && (*j)["linux"].is_object() && (*j)["linux"].contains("namespaces") &&
      (*j)["linux"]["namespaces"].is_array()) {
    for (const auto& n : (*j)["linux"]["namespaces"]) {
      if (n.is_object() && n.contains("type") && n["type"].is_string()) spec.namespaces.push_back(n["type"].get<std::string>());
    }
  }
  if (Status st = ParseLinuxSecurity(*j, spec); !st.ok()) return st;
  if (j->contains("linux") && (*j)["linux"].is_object()) {
    const auto& lx = (*j)["linux"];
    if (lx.contains("cgroupsPath") && !lx["cgroupsPath"].is_null()) {
      if (!lx["cgroupsPath"].is_string()) return Invalid("linux.cgroupsPath must be a string");
      spec.cgroups_path = lx["cgroupsPath"].get<std::string>();
    }
    if (lx.contains("resources") && lx["resources"].is_object()) {
      auto r = ParseResources(lx["resources"].dump());
      if (!r.ok()) return r.status();
      spec.resources = *r;
    }
  }
  if (j->contains("process") && !(*j)["process"].is_null()) {
    auto p = FromJson((*j)["process"]);
    if (!p.ok()) return p.status();
    spec.process = std::move(*p);
    spec.has_process = true;
  } else if (!IsSandbox(spec)) {
    return Invalid("config.json has no process");
  }
  return spec;
}

Result<Spec> LoadSpec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto spec = ParseSpec(*text);
  if (!spec.ok()) return spec.status().Wrap(path);
  return spec;
}

bool IsSandbox(const Spec& spec) {
  auto it = spec.annotations.find(std::string(kAnnotationContainerType));
  return it != spec.annotations.end() && it->second == "sandbox";
}

std::string GroupKey(const std::map<std::string, std::string>& a, const std::string& id) {
  for (auto key : {kAnnotationReaperGroup, kAnnotationRuncGroup, kAnnotationSandboxId}) {
    auto it = a.find(std::string(key));
    if (it != a.end() && !it->second.empty()) return it->second;
  }
  return id;
}

std::optional<std::string> EnvLookup(const std::vector<std::string>& env, std::string_view name) {
  std::optional<std::string> found;
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      found = e.substr(name.size() + 1);  // the last one wins, as in execve's consumers
    }
  }
  return found;
}

Status ValidateId(std::string_view id, std::string_view what) {
  std::string w(what);
  if (id.empty()) return Invalid(w + " must not be empty");
  if (id.size() > 76) return Invalid(w + " longer than 76 characters");
  if (id[0] == '.' || id[0] == '-') return Invalid(w + " must not start with '.' or '-': " + std::string(id));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return Invalid(w + " contains a character outside [A-Za-z0-9_.-]: " + std::string(id));
  }
  return Status::Ok();
}

}  // namespace reaper
