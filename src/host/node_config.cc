#include "host/node_config.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "base/files.h"

namespace reaper {
namespace {

struct Value {
  enum Kind { kString, kBool, kInt, kArray } kind;
  std::string s;
  bool b = false;
  long long i = 0;
  std::vector<std::string> a;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses one basic "string" at the start of `s`; advances `s` past it.
bool ParseString(std::string_view& s, std::string* out) {
  if (s.empty() || s[0] != '"') return false;
  out->clear();
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      s.remove_prefix(i + 1);
      return true;
    }
    if (c == '\\') {
      if (++i >= s.size()) return false;
      switch (s[i]) {
        case '"': *out += '"'; break;
        case '\\': *out += '\\'; break;
        case 'n': *out += '\n'; break;
        case 't': *out += '\t'; break;
        default: return false;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    *out += c;
  }
  return false;
}

// Strips a trailing comment that is outside any string.
std::string_view StripComment(std::string_view s) {
  bool in_str = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && in_str) {
      ++i;
    } else if (s[i] == '"') {
      in_str = !in_str;
    } else if (s[i] == '#' && !in_str) {
      return s.substr(0, i);
    }
  }
  return s;
}

Result<Value> ParseValue(std::string_view s) {
  s = Trim(s);
  Value v{};
  if (s.empty()) return Status(Code::kInvalidArgument, "missing value");
  if (s[0] == '"') {
    v.kind = Value::kString;
    if (!ParseString(s, &v.s) || !Trim(s).empty()) return Status(Code::kInvalidArgument, "bad string");
    return v;
  }
  if (s == "true" || s == "false") {
    v.kind = Value::kBool;
    v.b = s == "true";
    return v;
  }
  if (s[0] == '[') {
    v.kind = Value::kArray;
    s.remove_prefix(1);
    for (;;) {
      s = Trim(s);
      if (!s.empty() && s[0] == ']') {
        s.remove_prefix(1);
        break;
      }
      std::string item;
      if (!ParseString(s, &item)) return Status(Code::kInvalidArgument, "arrays hold \"strings\" only");
      v.a.push_back(std::move(item));
      s = Trim(s);
      if (!s.empty() && s[0] == ',') s.remove_prefix(1);
      else if (s.empty() || s[0] != ']') return Status(Code::kInvalidArgument, "expected ',' or ']'");
    }
    if (!Trim(s).empty()) return Status(Code::kInvalidArgument, "text after ']'");
    return v;
  }
  v.kind = Value::kInt;
  if (!ParseInt(s, &v.i)) return Status(Code::kInvalidArgument, "not a string, boolean, integer or array");
  return v;
}

Status Want(const Value& v, Value::Kind k, const std::string& key) {
  static const char* names[] = {"a string", "a boolean", "an integer", "an array of strings"};
  if (v.kind != k) return Status(Code::kInvalidArgument, key + " must be " + names[k]);
  return Status::Ok();
}

Status Apply(NodeConfig& c, const std::string& key, const Value& v) {
  if (key == "state_root") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (v.s.empty() || v.s[0] != '/') return Status(Code::kInvalidArgument, "state_root must be an absolute path");
    if (v.s.find_first_of(",:\\") != std::string::npos) {
      return Status(Code::kInvalidArgument, "state_root must not contain ',', ':' or '\\' (overlay options)");
    }
    c.state_root = v.s;
  } else if (key == "overlay") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (v.s == "namespace") c.overlay = OverlayMode::kNamespace;
    else if (v.s == "node") c.overlay = OverlayMode::kNode;
    else if (v.s == "off") c.overlay = OverlayMode::kOff;
    else return Status(Code::kInvalidArgument, "overlay must be \"namespace\", \"node\" or \"off\"");
  } else if (key == "dns_mode") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (v.s == "host") c.dns = DnsMode::kHost;
    else if (v.s == "kubernetes") c.dns = DnsMode::kKubernetes;
    else return Status(Code::kInvalidArgument, "dns_mode must be \"host\" or \"kubernetes\"");
  } else if (key == "host_filesystems") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (v.s == "overlay") c.host_filesystems = HostFilesystems::kOverlay;
    else if (v.s == "hide") c.host_filesystems = HostFilesystems::kHide;
    else return Status(Code::kInvalidArgument, "host_filesystems must be \"overlay\" or \"hide\"");
  } else if (key == "masked_paths" || key == "masked_paths_extra") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kArray, key));
    for (const auto& p : v.a) {
      if (p.empty() || p[0] != '/' || p.find("/../") != std::string::npos || p.ends_with("/..")) {
        return Status(Code::kInvalidArgument, key + ": not a clean absolute path: " + p);
      }
    }
    if (key == "masked_paths") c.masked_paths = v.a;
    else c.masked_paths.insert(c.masked_paths.end(), v.a.begin(), v.a.end());
  } else if (key == "allowed_namespaces") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kArray, key));
    c.allowed_namespaces = v.a;
  } else if (key == "non_host_network") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (v.s != "allow" && v.s != "reject") return Status(Code::kInvalidArgument, "non_host_network must be \"allow\" or \"reject\"");
    c.reject_non_host_network = v.s == "reject";
  } else if (key == "proc_hidepid") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kBool, key));
    c.proc_hidepid = v.b;
  } else if (key == "overlay_size") {
    unsigned long long n = 0;
    bool ok = v.kind == Value::kInt ? v.i >= 0 : v.kind == Value::kString && ParseSize(v.s, &n);
    if (v.kind == Value::kInt) n = static_cast<unsigned long long>(v.i);
    if (!ok) return Status(Code::kInvalidArgument, "overlay_size must be bytes or \"<n>Ki|Mi|Gi|Ti\" (0 = unlimited)");
    if (n != 0 && n < (1ull << 20)) return Status(Code::kInvalidArgument, "overlay_size must be 0 (unlimited) or at least 1Mi");
    c.overlay_size = n;
  } else if (key == "group_idle_timeout") {
    long long n = 0;
    bool ok = v.kind == Value::kInt ? v.i >= 0 : v.kind == Value::kString && ParseDuration(v.s, &n);
    if (v.kind == Value::kInt) n = v.i;
    if (!ok) return Status(Code::kInvalidArgument, "group_idle_timeout must be seconds or \"<n>s|m|h|d\" (0 = never)");
    c.group_idle_timeout_s = n;
  } else if (key == "full_privileges") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kBool, key));
    c.full_privileges = v.b;
  } else if (key == "cgroup_parent") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kString, key));
    if (!v.s.empty() && v.s != "none" && v.s[0] != '/') {
      return Status(Code::kInvalidArgument, "cgroup_parent must be \"\", \"none\" or an absolute path");
    }
    c.cgroup_parent = v.s;
  } else if (key == "enforce_resources") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kBool, key));
    c.enforce_resources = v.b;
  } else if (key == "clone_into_cgroup") {
    REAPER_RETURN_IF_ERROR(Want(v, Value::kBool, key));
    c.clone_into_cgroup = v.b;
  } else {
    return Status(Code::kInvalidArgument, "unknown key " + key);
  }
  return Status::Ok();
}
}  // namespace

namespace {
// "<digits><suffix>" with a suffix from `units`; the product must not overflow.
template <typename T>
bool ParseScaled(std::string_view s, std::initializer_list<std::pair<std::string_view, T>> units, T* out) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return false;
  T n = 0;
  for (size_t i = 0; i < digits; ++i) n = n * 10 + static_cast<T>(s[i] - '0');
  std::string_view suffix = s.substr(digits);
  for (const auto& [u, mul] : units) {
    if (suffix != u) continue;
    if (n != 0 && mul > std::numeric_limits<T>::max() / n) return false;
    *out = n * mul;
    return true;
  }
  return false;
}
}  // namespace

bool ParseSize(std::string_view s, unsigned long long* out) {
  return ParseScaled<unsigned long long>(s, {{"", 1}, {"Ki", 1ull << 10}, {"Mi", 1ull << 20}, {"Gi", 1ull << 30},
                                             {"Ti", 1ull << 40}}, out);
}

bool ParseDuration(std::string_view s, long long* out) {
  return ParseScaled<long long>(s, {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}}, out);
}

std::vector<std::string> DefaultMaskedPaths() {
  return {
      "/etc/shadow",          "/etc/shadow-",          "/etc/gshadow",
      "/etc/gshadow-",        "/etc/sudoers",          "/etc/sudoers.d",
      "/root/.ssh",           "/etc/ssh/ssh_host_rsa_key",     "/etc/ssh/ssh_host_ecdsa_key",
      "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key", "/etc/ssl/private",
      "/etc/kubernetes/pki",  "/etc/kubernetes/admin.conf",    "/etc/kubernetes/kubelet.conf",
      "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/controller-manager.conf",
      "/etc/kubernetes/scheduler.conf", "/var/lib/kubelet/pki", "/var/lib/kubelet/config.json",
      "/root/.docker",        "/root/.kube",           "/etc/containerd/certs.d",
  };
}

Result<NodeConfig> ParseNodeConfig(std::string_view text) {
  NodeConfig c;
  c.masked_paths = DefaultMaskedPaths();
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(StripComment(text.substr(pos, eol - pos)));
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;
    auto where = [&](const std::string& m) {
      return Status(Code::kInvalidArgument, "line " + std::to_string(line_no) + ": " + m);
    };
    if (line[0] == '[') return where("tables are not used; write plain key = value lines");
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return where("expected key = value");
    std::string key(Trim(line.substr(0, eq)));
    auto v = ParseValue(line.substr(eq + 1));
    if (!v.ok()) return where(key + ": " + v.status().message());
    if (Status st = Apply(c, key, *v); !st.ok()) return where(st.message());
  }
  return c;
}

Result<NodeConfig> LoadNodeConfig() {
  const char* env = getenv("REAPER_CONFIG");
  std::string path = env && *env ? env : "/etc/reaper/reaper.toml";
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return ParseNodeConfig("");
    return text.status();
  }
  auto c = ParseNodeConfig(*text);
  if (!c.ok()) return c.status().Wrap(path);
  return c;
}

}  // namespace reaper
