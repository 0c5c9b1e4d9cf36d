#include "host/security_spec.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace reaper {
namespace {
using nlohmann::json;

Status Invalid(const std::string& msg) { return Status(Code::kInvalidArgument, msg); }

bool In(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

Result<std::vector<std::string>> Strings(const json& j, const std::string& field) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Invalid(field + " must be an array of strings");
  for (const auto& e : j) {
    if (!e.is_string()) return Invalid(field + " must be an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::optional<uint32_t>> ErrnoRet(const json& o, const char* key, const std::string& field) {
  if (!o.contains(key) || o[key].is_null()) return std::optional<uint32_t>();
  if (!o[key].is_number_unsigned() || o[key].get<uint64_t>() > 4095) {
    return Invalid(field + "." + key + " must be an errno between 0 and 4095");
  }
  return std::optional<uint32_t>(o[key].get<uint32_t>());
}

Result<uint64_t> U64(const json& o, const char* key, const std::string& field) {
  if (!o.contains(key) || o[key].is_null()) return uint64_t{0};
  if (!o[key].is_number_unsigned()) return Invalid(field + "." + key + " must be a non-negative integer");
  return o[key].get<uint64_t>();
}

}  // namespace

const std::vector<std::string>& CapabilityNames() {
  static const std::vector<std::string> names = {
      "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
      "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
      "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
      "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return names;
}

std::optional<int> CapabilityNumber(std::string_view name) {
  const auto& n = CapabilityNames();
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

Result<CapabilitySets> ParseCapabilities(const json& j) {
  if (!j.is_object()) return Invalid("process.capabilities must be an object");
  CapabilitySets c;
  struct Set {
    const char* key;
    uint64_t* bits;
  } sets[] = {{"bounding", &c.bounding}, {"effective", &c.effective}, {"permitted", &c.permitted},
              {"inheritable", &c.inheritable}, {"ambient", &c.ambient}};
  for (const auto& s : sets) {
    if (!j.contains(s.key)) continue;
    std::string field = std::string("process.capabilities.") + s.key;
    auto names = Strings(j[s.key], field);
    if (!names.ok()) return names.status();
    for (const auto& name : *names) {
      auto n = CapabilityNumber(name);
      if (!n) return Invalid(field + ": unknown capability \"" + name + "\"");
      *s.bits |= uint64_t{1} << *n;
    }
  }
  return c;
}

const std::vector<std::string>& SeccompActions() {
  static const std::vector<std::string> a = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                             "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
                                             "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"};
  return a;
}

const std::vector<std::string>& SeccompOperators() {
  static const std::vector<std::string> o = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                             "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  return o;
}

const std::vector<std::string>& SeccompArchitectures() {
  static const std::vector<std::string> a = {
      "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
      "SCMP_ARCH_AARCH64",  "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
      "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
      "SCMP_ARCH_PARISC",   "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"};
  return a;
}

const std::vector<std::string>& SeccompFlags() {
  static const std::vector<std::string> f = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  return f;
}

Result<SeccompSpec> ParseSeccomp(const json& j) {
  if (!j.is_object()) return Invalid("linux.seccomp must be an object");
  SeccompSpec s;
  if (!j.contains("defaultAction") || !j["defaultAction"].is_string()) {
    return Invalid("linux.seccomp.defaultAction is missing");
  }
  s.default_action = j["defaultAction"].get<std::string>();
  if (!In(SeccompActions(), s.default_action)) {
    return Invalid("linux.seccomp.defaultAction: unsupported action \"" + s.default_action + "\"");
  }
  auto der = ErrnoRet(j, "defaultErrnoRet", "linux.seccomp");
  if (!der.ok()) return der.status();
  s.default_errno_ret = *der;
  if (j.contains("listenerPath") && j["listenerPath"].is_string() && !j["listenerPath"].get<std::string>().empty()) {
    return Invalid("linux.seccomp.listenerPath: seccomp notify is not supported");
  }
  auto archs = Strings(j.value("architectures", json()), "linux.seccomp.architectures");
  if (!archs.ok()) return archs.status();
  for (const auto& a : *archs) {
    if (!In(SeccompArchitectures(), a)) return Invalid("linux.seccomp.architectures: unknown architecture \"" + a + "\"");
  }
  s.architectures = std::move(*archs);
  auto flags = Strings(j.value("flags", json()), "linux.seccomp.flags");
  if (!flags.ok()) return flags.status();
  for (const auto& f : *flags) {
    if (!In(SeccompFlags(), f)) return Invalid("linux.seccomp.flags: unsupported flag \"" + f + "\"");
  }
  s.flags = std::move(*flags);
  if (j.contains("syscalls") && !j["syscalls"].is_null()) {
    if (!j["syscalls"].is_array()) return Invalid("linux.seccomp.syscalls must be an array");
    size_t i = 0;
    for (const auto& r : j["syscalls"]) {
      std::string field = "linux.seccomp.syscalls[" + std::to_string(i++) + "]";
      if (!r.is_object()) return Invalid(field + " must be an object");
      SeccompRule rule;
      auto names = Strings(r.value("names", json()), field + ".names");
      if (!names.ok()) return names.status();
      if (names->empty()) return Invalid(field + ".names must not be empty");
      rule.names = std::move(*names);
      if (!r.contains("action") || !r["action"].is_string()) return Invalid(field + ".action is missing");
      rule.action = r["action"].get<std::string>();
      if (!In(SeccompActions(), rule.action)) {
        return Invalid(field + ".action: unsupported action \"" + rule.action + "\"");
      }
      auto er = ErrnoRet(r, "errnoRet", field);
      if (!er.ok()) return er.status();
      rule.errno_ret = *er;
      if (r.contains("args") && !r["args"].is_null()) {
        if (!r["args"].is_array()) return Invalid(field + ".args must be an array");
        if (r["args"].size() > 6) return Invalid(field + ".args: at most 6 conditions");
        for (const auto& a : r["args"]) {
          if (!a.is_object()) return Invalid(field + ".args entries must be objects");
          SeccompArg arg;
          auto index = U64(a, "index", field + ".args");
          auto value = U64(a, "value", field + ".args");
          auto value_two = U64(a, "valueTwo", field + ".args");
          for (auto* v : {&index, &value, &value_two}) {
            if (!v->ok()) return v->status();
          }
          if (*index > 5) return Invalid(field + ".args.index must be between 0 and 5");
          arg.index = static_cast<unsigned>(*index);
          arg.value = *value;
          arg.value_two = *value_two;
          if (!a.contains("op") || !a["op"].is_string()) return Invalid(field + ".args.op is missing");
          arg.op = a["op"].get<std::string>();
          if (!In(SeccompOperators(), arg.op)) return Invalid(field + ".args.op: unknown operator \"" + arg.op + "\"");
          rule.args.push_back(arg);
        }
      }
      s.syscalls.push_back(std::move(rule));
    }
  }
  return s;
}

}  // namespace reaper
