#include "pod_manifest.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "cli_args.h"
#include "errors.h"

namespace reaperctl {
namespace {

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& path, const std::string& msg) {
    std::string where = source_;
    try {
      const YAML::Mark m = at.Mark();
      if (m.line >= 0) where += ":" + std::to_string(m.line + 1);
    } catch (const YAML::Exception&) {
      // an undefined node has no position
    }
    throw UsageError(where + ": " + (path.empty() ? "" : path + ": ") + msg);
  }

  static bool Absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

  void CheckMap(const YAML::Node& n, const std::string& path) {
    if (!n.IsMap()) Fail(n, path, "expected a mapping");
  }

  // Fails on the first key not in `allowed`.
  void CheckKeys(const YAML::Node& n, const std::string& path,
                 std::initializer_list<const char*> allowed) {
    CheckMap(n, path);
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) Fail(kv.first, path, "mapping keys must be strings");
      const std::string key = kv.first.Scalar();
      bool ok = std::any_of(allowed.begin(), allowed.end(),
                            [&](const char* a) { return key == a; });
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        Fail(kv.first, Join(path, key),
             "unknown field (reaperctl supports here: " + list + ")");
      }
    }
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  std::string Str(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) Fail(n, path, "expected a string");
    return n.Scalar();
  }
  // Kubernetes quantities: memory "64Mi", "1G", "1048576"; CPU "500m", "2".
  int64_t Memory(const YAML::Node& n, const std::string& path) {
    std::string v = Str(n, path);
    try {
      return ParseBytes(path, v);
    } catch (const UsageError&) {
      Fail(n, path, "expected a memory quantity such as 64Mi");
    }
    return 0;
  }
  int64_t Cpu(const YAML::Node& n, const std::string& path) {
    std::string v = Str(n, path);
    bool milli = !v.empty() && v.back() == 'm';
    std::string digits = milli ? v.substr(0, v.size() - 1) : v;
    if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) {
      Fail(n, path, "expected a CPU quantity such as 500m or 2");
    }
    int64_t x = std::stoll(digits);
    return milli ? x : x * 1000;
  }
  bool Bool(const YAML::Node& n, const std::string& path) {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) Fail(n, path, "expected true or false");
    return v;
  }
  int64_t Int(const YAML::Node& n, const std::string& path) {
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) Fail(n, path, "expected an integer");
    return v;
  }
  std::vector<std::string> StrList(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    if (Absent(n)) return out;
    if (!n.IsSequence()) Fail(n, path, "expected a list of strings");
    for (size_t i = 0; i < n.size(); ++i) out.push_back(Str(n[i], Index(path, i)));
    return out;
  }
  std::map<std::string, std::string> StrMap(const YAML::Node& n, const std::string& path) {
    std::map<std::string, std::string> out;
    if (Absent(n)) return out;
    CheckMap(n, path);
    for (const auto& kv : n) {
      std::string k = Str(kv.first, path);
      out[k] = Str(kv.second, Join(path, k));
    }
    return out;
  }

  // DNS-1123 label (container, volume and namespace names) or subdomain (pod names).
  void CheckName(const YAML::Node& at, const std::string& path, const std::string& v,
                 bool subdomain) {
    size_t max = subdomain ? 253 : 63;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    bool ok = !v.empty() && v.size() <= max && alnum(v.front()) && alnum(v.back());
    for (char c : v) ok = ok && (alnum(c) || c == '-' || (subdomain && c == '.'));
    if (!ok)
      Fail(at, path,
           "invalid name \"" + v + "\" (lowercase letters, digits and '-'" +
               (subdomain ? std::string(" and '.'") : "") + ", at most " + std::to_string(max) +
               " characters, starting and ending with a letter or digit)");
  }

  void SecurityContext(const YAML::Node& n, const std::string& path, std::optional<int64_t>& user,
                       std::optional<int64_t>& group, bool* privileged) {
    if (Absent(n)) return;
    if (privileged)
      CheckKeys(n, path, {"runAsUser", "runAsGroup", "privileged", "capabilities", "seccompProfile",
                          "readOnlyRootFilesystem", "allowPrivilegeEscalation"});
    else
      CheckKeys(n, path, {"runAsUser", "runAsGroup"});
    if (!Absent(n["runAsUser"])) {
      int64_t v = Int(n["runAsUser"], Join(path, "runAsUser"));
      if (v < 0 || v > 0xfffffffeLL) Fail(n["runAsUser"], Join(path, "runAsUser"), "out of range");
      user = v;
    }
    if (!Absent(n["runAsGroup"])) {
      int64_t v = Int(n["runAsGroup"], Join(path, "runAsGroup"));
      if (v < 0 || v > 0xfffffffeLL)
        Fail(n["runAsGroup"], Join(path, "runAsGroup"), "out of range");
      group = v;
    }
    if (privileged && !Absent(n["privileged"]))
      *privileged = Bool(n["privileged"], Join(path, "privileged"));
  }

  void ContainerPrivileges(const YAML::Node& n, const std::string& path, ContainerSpec& c) {
    if (Absent(n)) return;
    if (!Absent(n["capabilities"])) {
      std::string p = Join(path, "capabilities");
      CheckKeys(n["capabilities"], p, {"add", "drop"});
      c.cap_add = StrList(n["capabilities"]["add"], Join(p, "add"));
      c.cap_drop = StrList(n["capabilities"]["drop"], Join(p, "drop"));
    }
    if (!Absent(n["seccompProfile"])) {
      std::string p = Join(path, "seccompProfile");
      CheckKeys(n["seccompProfile"], p, {"type", "localhostProfile"});
      c.seccomp_type = Str(n["seccompProfile"]["type"], Join(p, "type"));
      if (c.seccomp_type != "RuntimeDefault" && c.seccomp_type != "Unconfined" && c.seccomp_type != "Localhost")
        Fail(n["seccompProfile"]["type"], Join(p, "type"), "must be RuntimeDefault, Unconfined or Localhost");
      if (!Absent(n["seccompProfile"]["localhostProfile"]))
        c.seccomp_localhost = Str(n["seccompProfile"]["localhostProfile"], Join(p, "localhostProfile"));
      if ((c.seccomp_type == "Localhost") != !c.seccomp_localhost.empty())
        Fail(n["seccompProfile"], p, "localhostProfile is required with type Localhost and only then");
    }
    if (!Absent(n["readOnlyRootFilesystem"]))
      c.read_only_root = Bool(n["readOnlyRootFilesystem"], Join(path, "readOnlyRootFilesystem"));
    if (!Absent(n["allowPrivilegeEscalation"]))
      c.allow_privilege_escalation = Bool(n["allowPrivilegeEscalation"], Join(path, "allowPrivilegeEscalation"));
  }

  ContainerSpec Container(const YAML::Node& n, const std::string& path) {
    CheckKeys(n, path,
              {"name", "image", "imagePullPolicy", "command", "args", "env", "workingDir", "tty",
               "stdin", "stdinOnce", "volumeMounts", "securityContext", "resources"});
    ContainerSpec c;
    if (Absent(n["name"])) Fail(n, Join(path, "name"), "required");
    c.name = Str(n["name"], Join(path, "name"));
    CheckName(n["name"], Join(path, "name"), c.name, false);
    if (!Absent(n["image"])) c.image = Str(n["image"], Join(path, "image"));
    if (!Absent(n["imagePullPolicy"])) {
      c.image_pull_policy = Str(n["imagePullPolicy"], Join(path, "imagePullPolicy"));
      if (c.image_pull_policy != "Always" && c.image_pull_policy != "IfNotPresent" &&
          c.image_pull_policy != "Never")
        Fail(n["imagePullPolicy"], Join(path, "imagePullPolicy"),
             "must be Always, IfNotPresent or Never");
    }
    c.command = StrList(n["command"], Join(path, "command"));
    c.args = StrList(n["args"], Join(path, "args"));
    if (!Absent(n["env"])) {
      const YAML::Node env = n["env"];
      const std::string epath = Join(path, "env");
      if (!env.IsSequence()) Fail(env, epath, "expected a list");
      for (size_t i = 0; i < env.size(); ++i) {
        const std::string p = Index(epath, i);
        CheckKeys(env[i], p, {"name", "value"});
        if (Absent(env[i]["name"])) Fail(env[i], Join(p, "name"), "required");
        EnvVar e{Str(env[i]["name"], Join(p, "name")), ""};
        if (e.name.empty() || e.name.find('=') != std::string::npos)
          Fail(env[i]["name"], Join(p, "name"), "invalid environment variable name");
        if (!Absent(env[i]["value"])) e.value = Str(env[i]["value"], Join(p, "value"));
        c.env.push_back(std::move(e));
      }
    }
    if (!Absent(n["workingDir"])) {
      c.working_dir = Str(n["workingDir"], Join(path, "workingDir"));
      if (!c.working_dir.empty() && c.working_dir[0] != '/')
        Fail(n["workingDir"], Join(path, "workingDir"), "must be an absolute path");
    }
    if (!Absent(n["tty"])) c.tty = Bool(n["tty"], Join(path, "tty"));
    if (!Absent(n["stdin"])) c.stdin = Bool(n["stdin"], Join(path, "stdin"));
    if (!Absent(n["stdinOnce"])) c.stdin_once = Bool(n["stdinOnce"], Join(path, "stdinOnce"));
    if (!Absent(n["volumeMounts"])) {
      const YAML::Node vms = n["volumeMounts"];
      const std::string vpath = Join(path, "volumeMounts");
      if (!vms.IsSequence()) Fail(vms, vpath, "expected a list");
      for (size_t i = 0; i < vms.size(); ++i) {
        const std::string p = Index(vpath, i);
        CheckKeys(vms[i], p, {"name", "mountPath", "readOnly"});
        VolumeMount m;
        if (Absent(vms[i]["name"])) Fail(vms[i], Join(p, "name"), "required");
        if (Absent(vms[i]["mountPath"])) Fail(vms[i], Join(p, "mountPath"), "required");
        m.name = Str(vms[i]["name"], Join(p, "name"));
        m.mount_path = Str(vms[i]["mountPath"], Join(p, "mountPath"));
        if (m.mount_path.empty() || m.mount_path[0] != '/')
          Fail(vms[i]["mountPath"], Join(p, "mountPath"), "must be an absolute path");
        if (!Absent(vms[i]["readOnly"])) m.read_only = Bool(vms[i]["readOnly"], Join(p, "readOnly"));
        c.volume_mounts.push_back(std::move(m));
      }
    }
    SecurityContext(n["securityContext"], Join(path, "securityContext"), c.run_as_user,
                    c.run_as_group, &c.privileged);
    ContainerPrivileges(n["securityContext"], Join(path, "securityContext"), c);
    if (!Absent(n["resources"])) {
      CheckKeys(n["resources"], Join(path, "resources"), {"limits", "requests"});
      c.has_resources = true;
      const YAML::Node& lim = n["resources"]["limits"];
      std::string lp = Join(Join(path, "resources"), "limits");
      if (!Absent(lim)) {
        if (!lim.IsMap()) Fail(lim, lp, "expected a map");
        if (!Absent(lim["memory"])) c.memory_limit = Memory(lim["memory"], Join(lp, "memory"));
        if (!Absent(lim["cpu"])) c.cpu_limit_millis = Cpu(lim["cpu"], Join(lp, "cpu"));
      }
    }
    return c;
  }

  std::vector<ContainerSpec> Containers(const YAML::Node& n, const std::string& path) {
    std::vector<ContainerSpec> out;
    if (Absent(n)) return out;
    if (!n.IsSequence()) Fail(n, path, "expected a list");
    for (size_t i = 0; i < n.size(); ++i) out.push_back(Container(n[i], Index(path, i)));
    return out;
  }

  VolumeSpec Volume(const YAML::Node& n, const std::string& path) {
    CheckKeys(n, path, {"name", "hostPath", "emptyDir"});
    VolumeSpec v;
    if (Absent(n["name"])) Fail(n, Join(path, "name"), "required");
    v.name = Str(n["name"], Join(path, "name"));
    CheckName(n["name"], Join(path, "name"), v.name, false);
    const bool host = n["hostPath"].IsDefined(), empty = n["emptyDir"].IsDefined();
    if (host == empty) Fail(n, path, "exactly one of hostPath or emptyDir is required");
    if (host) {
      const std::string p = Join(path, "hostPath");
      CheckKeys(n["hostPath"], p, {"path", "type"});
      if (Absent(n["hostPath"]["path"])) Fail(n["hostPath"], Join(p, "path"), "required");
      v.kind = VolumeSpec::Kind::kHostPath;
      v.host_path = Str(n["hostPath"]["path"], Join(p, "path"));
      if (v.host_path.empty() || v.host_path[0] != '/')
        Fail(n["hostPath"]["path"], Join(p, "path"), "must be an absolute path");
      if (!Absent(n["hostPath"]["type"])) {
        v.host_path_type = Str(n["hostPath"]["type"], Join(p, "type"));
        static const std::set<std::string> kTypes = {
            "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
            "CharDevice", "BlockDevice"};
        if (!kTypes.count(v.host_path_type))
          Fail(n["hostPath"]["type"], Join(p, "type"), "unknown hostPath type");
      }
    } else {
      const std::string p = Join(path, "emptyDir");
      v.kind = VolumeSpec::Kind::kEmptyDir;
      if (!Absent(n["emptyDir"])) {
        CheckKeys(n["emptyDir"], p, {"medium", "sizeLimit"});
        if (!Absent(n["emptyDir"]["medium"]) &&
            !Str(n["emptyDir"]["medium"], Join(p, "medium")).empty())
          Fail(n["emptyDir"]["medium"], Join(p, "medium"),
               "only the default medium (node disk) is supported");
      }
    }
    return v;
  }

  PodManifest Pod(const YAML::Node& root) {
    CheckKeys(root, "", {"apiVersion", "kind", "metadata", "spec"});
    if (!Absent(root["apiVersion"]) && Str(root["apiVersion"], "apiVersion") != "v1")
      Fail(root["apiVersion"], "apiVersion", "must be v1");
    if (Absent(root["kind"]) || Str(root["kind"], "kind") != "Pod")
      Fail(root, "kind", "must be Pod");
    PodManifest pod;
    const YAML::Node md = root["metadata"];
    if (Absent(md)) Fail(root, "metadata", "required");
    CheckKeys(md, "metadata", {"name", "namespace", "labels", "annotations"});
    if (Absent(md["name"])) Fail(md, "metadata.name", "required");
    pod.name = Str(md["name"], "metadata.name");
    CheckName(md["name"], "metadata.name", pod.name, true);
    if (!Absent(md["namespace"])) {
      pod.ns = Str(md["namespace"], "metadata.namespace");
      CheckName(md["namespace"], "metadata.namespace", pod.ns, false);
    }
    pod.labels = StrMap(md["labels"], "metadata.labels");
    pod.annotations = StrMap(md["annotations"], "metadata.annotations");

    const YAML::Node spec = root["spec"];
    if (Absent(spec)) Fail(root, "spec", "required");
    CheckKeys(spec, "spec",
              {"runtimeClassName", "hostNetwork", "restartPolicy", "initContainers", "containers",
               "volumes", "terminationGracePeriodSeconds", "securityContext"});
    if (!Absent(spec["runtimeClassName"]))
      pod.runtime_class_name = Str(spec["runtimeClassName"], "spec.runtimeClassName");
    if (!Absent(spec["hostNetwork"])) pod.host_network = Bool(spec["hostNetwork"], "spec.hostNetwork");
    if (!Absent(spec["restartPolicy"])) {
      pod.restart_policy = Str(spec["restartPolicy"], "spec.restartPolicy");
      if (pod.restart_policy != "Always" && pod.restart_policy != "OnFailure" &&
          pod.restart_policy != "Never")
        Fail(spec["restartPolicy"], "spec.restartPolicy", "must be Always, OnFailure or Never");
    }
    if (!Absent(spec["terminationGracePeriodSeconds"])) {
      int64_t g = Int(spec["terminationGracePeriodSeconds"], "spec.terminationGracePeriodSeconds");
      if (g < 0) Fail(spec["terminationGracePeriodSeconds"], "spec.terminationGracePeriodSeconds",
                      "must not be negative");
      pod.termination_grace_period = g;
    }
    SecurityContext(spec["securityContext"], "spec.securityContext", pod.run_as_user,
                    pod.run_as_group, nullptr);
    pod.init_containers = Containers(spec["initContainers"], "spec.initContainers");
    pod.containers = Containers(spec["containers"], "spec.containers");
    if (pod.containers.empty()) Fail(spec, "spec.containers", "at least one container is required");
    if (!Absent(spec["volumes"])) {
      const YAML::Node vols = spec["volumes"];
      if (!vols.IsSequence()) Fail(vols, "spec.volumes", "expected a list");
      for (size_t i = 0; i < vols.size(); ++i)
        pod.volumes.push_back(Volume(vols[i], Index("spec.volumes", i)));
    }
    CrossCheck(root, pod);
    return pod;
  }

  void CrossCheck(const YAML::Node& root, const PodManifest& pod) {
    std::set<std::string> names, volumes;
    for (const auto& v : pod.volumes)
      if (!volumes.insert(v.name).second)
        Fail(root["spec"]["volumes"], "spec.volumes", "duplicate volume name \"" + v.name + "\"");
    auto check = [&](const std::vector<ContainerSpec>& list, const char* field) {
      for (size_t i = 0; i < list.size(); ++i) {
        const ContainerSpec& c = list[i];
        const std::string path = Index(std::string("spec.") + field, i);
        const YAML::Node at = root["spec"][field][i];
        if (!names.insert(c.name).second)
          Fail(at, Join(path, "name"), "duplicate container name \"" + c.name + "\"");
        for (size_t j = 0; j < c.volume_mounts.size(); ++j)
          if (!volumes.count(c.volume_mounts[j].name))
            Fail(at, Index(Join(path, "volumeMounts"), j) + ".name",
                 "no volume named \"" + c.volume_mounts[j].name + "\" in spec.volumes");
        if (c.stdin_once && !c.stdin) Fail(at, Join(path, "stdinOnce"), "requires stdin: true");
        if (EffectiveRunAsGroup(pod, c) && !EffectiveRunAsUser(pod, c))
          Fail(at, Join(path, "securityContext.runAsGroup"), "requires runAsUser");
      }
    };
    check(pod.init_containers, "initContainers");
    check(pod.containers, "containers");
  }

 private:
  std::string source_;
};

// yaml-cpp 0.7 (Debian 12) loops forever in LoadAll, allocating, when a document starts with
// a token it cannot place there (a stray ','): the document comes out empty and the token is
// never consumed. Walk the documents first; one that starts where the last one did is an error.
void CheckDocumentsAdvance(const std::string& yaml_text) {
  struct Starts : YAML::EventHandler {
    int last_pos = -1;
    bool stuck = false;
    YAML::Mark mark;
    void OnDocumentStart(const YAML::Mark& m) override {
      stuck = m.pos == last_pos;
      last_pos = m.pos;
      mark = m;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in(yaml_text);
  YAML::Parser parser(in);
  while (parser.HandleNextDocument(starts)) {
    if (!starts.stuck) continue;
    size_t pos = static_cast<size_t>(starts.mark.pos);
    std::string what = pos < yaml_text.size() ? "'" + yaml_text.substr(pos, 1) + "'" : "end of input";
    throw YAML::ParserException(starts.mark, "unexpected " + what);
  }
}

}  // namespace

PodManifest ParsePodManifest(const std::string& yaml_text, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    CheckDocumentsAdvance(yaml_text);
    docs = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    throw UsageError(where + ": invalid YAML: " + e.msg);
  }
  std::vector<YAML::Node> non_empty;
  for (auto& d : docs)
    if (!d.IsNull()) non_empty.push_back(d);
  if (non_empty.size() != 1)
    throw UsageError(source + ": expected exactly one Pod document, found " +
                     std::to_string(non_empty.size()));
  Parser p(source);
  return p.Pod(non_empty[0]);
}

std::optional<int64_t> EffectiveRunAsUser(const PodManifest& pod, const ContainerSpec& c) {
  return c.run_as_user ? c.run_as_user : pod.run_as_user;
}
std::optional<int64_t> EffectiveRunAsGroup(const PodManifest& pod, const ContainerSpec& c) {
  return c.run_as_group ? c.run_as_group : pod.run_as_group;
}

}  // namespace reaperctl
