"""Checks the objects rendered from deploy/kubernetes (tests/deploy/check-manifests.sh).

usage: check_objects.py REPO MAIN.yaml ADMISSION.yaml UNINSTALL.yaml
Prints one line per failed check and a summary; exits 1 if any check failed.
"""
import os
import re
import sys

import yaml

NAMESPACE = "reaper-system"
CLUSTER_SCOPED = {"Namespace", "RuntimeClass", "ClusterRole", "ClusterRoleBinding",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
IMAGE_NAME = "reaper-node-installer"

failures = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        failures.append(msg)
    return cond


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def find(objs, kind, name):
    hits = [o for o in objs if o.get("kind") == kind and o.get("metadata", {}).get("name") == name]
    check(len(hits) == 1, f"{kind}/{name}: expected exactly one, found {len(hits)}")
    return hits[0] if hits else {}


def common(objs, where):
    check(objs, f"{where}: renders no objects")
    for o in objs:
        meta = o.get("metadata") or {}
        ident = f"{where}: {o.get('kind')}/{meta.get('name')}"
        check(o.get("apiVersion"), f"{ident}: no apiVersion")
        check(o.get("kind"), f"{ident}: no kind")
        check(meta.get("name"), f"{ident}: no metadata.name")
        if o.get("kind") in CLUSTER_SCOPED:
            check("namespace" not in meta, f"{ident}: cluster-scoped object has a namespace")
        else:
            check(meta.get("namespace") == NAMESPACE,
                  f"{ident}: namespace {meta.get('namespace')!r}, expected {NAMESPACE!r}")


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        check(False, f"{path}: {e}")
        return ""


def script_facts(repo):
    """What scripts/install-node.sh (scripts/installer/) sets: node label, runtime name,
    accepted options, binaries."""
    text = read(f"{repo}/scripts/installer/install_node.py")
    keys = re.findall(r'^LABEL_KEY = "([a-z0-9.-]+/[a-z0-9.-]+)"$', text, re.M)
    values = re.findall(r'^LABEL_VALUE = "([a-z0-9]+)"$', text, re.M)
    check(len(keys) == 1 and len(values) == 1,
          f"install_node.py: expected one LABEL_KEY and one LABEL_VALUE, got {keys} {values}")
    label = (keys[0], values[0]) if keys and values else ("", "")
    check(label[0].startswith("node-restriction.kubernetes.io/"),
          f"node label {label[0]!r} is not under node-restriction.kubernetes.io/ (a kubelet could set it)")
    runtimes = re.findall(r'^RUNTIME = "([a-z0-9-]+)"$', read(f"{repo}/scripts/installer/ctrconfig.py"), re.M)
    check(len(runtimes) == 1, f"ctrconfig.py: expected one RUNTIME, got {runtimes}")
    options = set(re.findall(r'add_argument\("(--[a-z][a-z0-9-]*)"', text))
    check(options, "install_node.py: no options found in its argument parser")
    m = re.search(r"^BINARIES = \[([^]]*)\]", text, re.M)
    binaries = set(re.findall(r'"([^"]+)"', m.group(1))) if m else set()
    check(binaries, "install_node.py: no BINARIES = [...] list")
    return label, next(iter(runtimes), ""), options, binaries


def image_version(repo):
    m = re.search(r"project\(reaper VERSION ([0-9.]+)", read(f"{repo}/CMakeLists.txt"))
    check(m, "CMakeLists.txt: no project(reaper VERSION ...)")
    return m.group(1) if m else ""


def image_paths(repo, binaries):
    """Where the installer image (Containerfile + stage.sh) puts the script and the binaries."""
    cf = read(f"{repo}/deploy/kubernetes/installer/Containerfile")
    froms = re.findall(r"^FROM (\S+)", cf, re.M)
    check(froms == ["scratch"], f"installer/Containerfile: FROM {froms}, expected scratch only")
    stage = read(f"{repo}/deploy/kubernetes/installer/stage.sh")
    for b in sorted(binaries):
        check(b in stage, f"installer/stage.sh does not put {b} into the image")
    for path in ("/opt/reaper/install-node.sh", "/opt/reaper/installer/", "/opt/reaper/bin/crictl",
                 "/opt/reaper/bin/kubectl", "/usr/bin/python3"):
        check(path in stage, f"installer/stage.sh does not create {path}")
    return ["/opt/reaper/install-node.sh", "/opt/reaper/bin"]


def check_installer_pod(ds, objs, options, version, dests, mode):
    name = ds.get("metadata", {}).get("name")
    spec = ds.get("spec", {}).get("template", {}).get("spec", {})
    check(ds.get("apiVersion") == "apps/v1", f"{name}: apiVersion {ds.get('apiVersion')}")
    sel = ds.get("spec", {}).get("selector", {}).get("matchLabels", {})
    tlabels = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    check(sel and all(tlabels.get(k) == v for k, v in sel.items()),
          f"{name}: selector {sel} does not match template labels {tlabels}")
    check(spec.get("hostPID") is True, f"{name}: hostPID is not true (nsenter -t 1 needs it)")
    sa = spec.get("serviceAccountName")
    check(any(o.get("kind") == "ServiceAccount" and o["metadata"]["name"] == sa
              and o["metadata"].get("namespace") == NAMESPACE for o in objs),
          f"{name}: serviceAccountName {sa!r} is not a ServiceAccount in {NAMESPACE}")
    host_vols = {v["name"] for v in spec.get("volumes", [])
                 if v.get("hostPath", {}).get("path") == "/"}
    check(host_vols, f"{name}: no hostPath volume of /")
    containers = spec.get("containers", [])
    inits = spec.get("initContainers", [])
    check(len(containers) == 1, f"{name}: expected one (pause) container, got {len(containers)}")
    check(len(inits) == 1, f"{name}: expected one install init container, got {len(inits)}")
    for c in containers + inits:
        check(c.get("image") == f"{IMAGE_NAME}:{version}",
              f"{name}/{c.get('name')}: image {c.get('image')!r}, expected "
              f"{IMAGE_NAME}:{version} (project version)")
    for c in containers:
        sc = c.get("securityContext", {})
        check(not sc.get("privileged"), f"{name}/{c.get('name')}: the waiting container must not be privileged")
        check(sc.get("runAsNonRoot") is True, f"{name}/{c.get('name')}: the waiting container must run as non-root")
        check(not any(m.get("mountPath", "").startswith("/var/run/secrets")
                      for m in c.get("volumeMounts", [])),
              f"{name}/{c.get('name')}: the waiting container must not get the API token")
    check(spec.get("automountServiceAccountToken") is False,
          f"{name}: automountServiceAccountToken is not false (the token belongs in the init container only)")
    token_vols = {v["name"] for v in spec.get("volumes", [])
                  if any("serviceAccountToken" in src for src in v.get("projected", {}).get("sources", []))}
    check(len(token_vols) == 1, f"{name}: expected one projected serviceAccountToken volume, got {token_vols}")
    if not inits:
        return
    init = inits[0]
    check(init.get("securityContext", {}).get("privileged") is True,
          f"{name}: init container is not privileged")
    check(any(m.get("mountPath") == "/host" and m.get("name") in host_vols
              for m in init.get("volumeMounts", [])),
          f"{name}: host / is not mounted at /host in the init container")
    cmd = init.get("command", [])
    args = init.get("args", [])
    check(cmd and cmd[0].endswith("/install-node.sh"), f"{name}: command {cmd} is not install-node.sh")
    check(cmd and cmd[0] in dests, f"{name}: {cmd[:1]} is not where the image puts the script ({dests})")
    check(any(m.get("name") in token_vols and m.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount"
              for m in init.get("volumeMounts", [])), f"{name}: the init container (labels the Node) lacks the API token")
    for a in args:
        if a.startswith("--"):
            check(a in options, f"{name}: install-node.sh does not accept {a}")

    def value(opt):
        return args[args.index(opt) + 1] if opt in args and args.index(opt) + 1 < len(args) else None

    check(value("--root") == "/host", f"{name}: --root is {value('--root')!r}, expected /host")
    check(value("--label-node") == "$(NODE_NAME)", f"{name}: --label-node is not $(NODE_NAME)")
    env = {e["name"]: e for e in init.get("env", [])}
    check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
          == "spec.nodeName", f"{name}: NODE_NAME does not come from spec.nodeName")
    restart = value("--restart-cmd") or ""
    check(restart.startswith("nsenter -t 1 ") and "containerd" in restart,
          f"{name}: --restart-cmd {restart!r} does not restart the host's containerd via nsenter")
    if mode == "install":
        check("--uninstall" not in args, f"{name}: installer runs --uninstall")
        src = value("--bin-src")
        check(src in dests, f"{name}: --bin-src {src!r} is not where the image puts the binaries {dests}")
        dc = value("--default-config") or ""
        cms = {v["name"]: v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
        check(any(dc.startswith(m.get("mountPath", "/nonexistent") + "/") and m.get("name") in cms
                  for m in init.get("volumeMounts", [])),
              f"{name}: --default-config {dc!r} is not from the node-config ConfigMap")
        check(value("--crictl") == "/opt/reaper/bin/crictl", f"{name}: --crictl is not the image's crictl")
    else:
        check("--uninstall" in args, f"{name}: uninstaller does not pass --uninstall")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    repo, main_file, adm_file, uninst_file = sys.argv[1:5]
    main_objs, adm_objs, un_objs = load(main_file), load(adm_file), load(uninst_file)
    common(main_objs, "deploy/kubernetes")
    common(adm_objs, "admission-policy")
    common(un_objs, "uninstall")
    (label_key, label_value), runtime, options, binaries = script_facts(repo)
    version = image_version(repo)
    dests = image_paths(repo, binaries)

    ns = find(main_objs, "Namespace", NAMESPACE)
    for mode in ("enforce", "audit", "warn"):
        check(ns.get("metadata", {}).get("labels", {}).get(f"pod-security.kubernetes.io/{mode}") == "privileged",
              f"Namespace {NAMESPACE}: pod-security.kubernetes.io/{mode} is not privileged")
    ncm = find(main_objs, "ConfigMap", "reaper-node-config")
    check("allowed_namespaces" in (ncm.get("data", {}).get("reaper.toml") or ""),
          "ConfigMap reaper-node-config: the node config has no allowed_namespaces list")
    rc = find(main_objs, "RuntimeClass", "reaper-v2")
    check(rc.get("apiVersion") == "node.k8s.io/v1", f"RuntimeClass apiVersion {rc.get('apiVersion')}")
    check(rc.get("handler") == runtime,
          f"RuntimeClass handler {rc.get('handler')!r} != runtime {runtime!r} of install-node.sh")
    check(rc.get("scheduling", {}).get("nodeSelector") == {label_key: label_value},
          f"RuntimeClass nodeSelector {rc.get('scheduling')} != label {label_key}={label_value} "
          "set by install-node.sh")

    ds = find(main_objs, "DaemonSet", "reaper-node-installer")
    check_installer_pod(ds, main_objs, options, version, dests, "install")
    sa = ds.get("spec", {}).get("template", {}).get("spec", {}).get("serviceAccountName")
    crb = [o for o in main_objs if o.get("kind") == "ClusterRoleBinding"
           and {"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE} in o.get("subjects", [])]
    check(len(crb) == 1, f"no ClusterRoleBinding for ServiceAccount {sa}")
    role_name = crb[0].get("roleRef", {}).get("name") if crb else None
    role = find(main_objs, "ClusterRole", role_name)
    rules = role.get("rules", [])
    node_verbs = {v for r in rules if "" in r.get("apiGroups", []) and "nodes" in r.get("resources", [])
                  for v in r.get("verbs", [])}
    check(node_verbs == {"get", "patch"}, f"ClusterRole {role_name}: node verbs {sorted(node_verbs)}, "
          "expected exactly get and patch (kubectl label)")
    other = [r for r in rules if r.get("resources") != ["nodes"]]
    check(not other, f"ClusterRole {role_name}: grants more than nodes: {other}")

    uds = find(un_objs, "DaemonSet", "reaper-node-uninstaller")
    check_installer_pod(uds, main_objs, options, version, dests, "uninstall")

    vap = find(adm_objs, "ValidatingAdmissionPolicy", "reaper-v2-allowed-namespaces")
    check(vap.get("apiVersion") == "admissionregistration.k8s.io/v1", f"VAP apiVersion {vap.get('apiVersion')}")
    exprs = [v.get("expression", "") for v in vap.get("spec", {}).get("validations", [])]
    check(any("'reaper-v2'" in e and "object.spec.runtimeClassName" in e for e in exprs),
          f"VAP: no CEL expression tests runtimeClassName against 'reaper-v2': {exprs}")
    rules = vap.get("spec", {}).get("matchConstraints", {}).get("resourceRules", [])
    check(any("pods" in r.get("resources", []) and "CREATE" in r.get("operations", []) for r in rules),
          "VAP: does not match pod CREATE")
    check(vap.get("spec", {}).get("failurePolicy") == "Fail", "VAP: failurePolicy is not Fail")
    vapb = find(adm_objs, "ValidatingAdmissionPolicyBinding", "reaper-v2-allowed-namespaces")
    bspec = vapb.get("spec", {})
    check(bspec.get("policyName") == vap.get("metadata", {}).get("name"), "binding: wrong policyName")
    check("Deny" in bspec.get("validationActions", []), "binding: validationActions lacks Deny")
    sel = bspec.get("matchResources", {}).get("namespaceSelector", {}).get("matchExpressions", [])
    check({"key": "reaper.io/allowed", "operator": "NotIn", "values": ["true"]} in sel,
          f"binding: namespaceSelector does not exempt reaper.io/allowed=true namespaces: {sel}")

    nr = find(adm_objs, "ValidatingAdmissionPolicy", "reaper-v2-run-as-non-root")
    nspec = nr.get("spec", {})
    nexprs = " ".join([v.get("expression", "") for v in nspec.get("validations", [])] +
                      [v.get("expression", "") for v in nspec.get("variables", [])])
    check("runAsNonRoot" in nexprs and "'reaper-v2'" in nexprs, "run-as-non-root policy: no runAsNonRoot check")
    nrb = find(adm_objs, "ValidatingAdmissionPolicyBinding", "reaper-v2-run-as-non-root")
    check(nrb.get("spec", {}).get("matchResources", {}).get("namespaceSelector", {}).get("matchLabels")
          == {"reaper.io/run-as-non-root": "true"}, "run-as-non-root binding: not per namespace label")

    for f in failures:
        print(f"FAIL {f}")
    print(f"{checks - len(failures)} of {checks} checks passed "
          f"({len(main_objs)}+{len(adm_objs)}+{len(un_objs)} objects)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
