#!/usr/bin/env bash
# Renders deploy/kubernetes (and its admission-policy and uninstall kustomizations) with
# `kubectl kustomize`, lints sources and output with yamllint (deploy/kubernetes/.yamllint) and
# checks the rendered objects (check_objects.py). The Helm chart deploy/helm/reaper: `helm lint`,
# `helm template` with its defaults must give exactly the objects of deploy/kubernetes, with
# uninstall.enabled / admissionPolicy.enabled those plus the uninstall / admission-policy ones
# (same_objects.py). Then proves the checks can fail: a mutated rendering, a changed chart value
# and a badly formatted file must be rejected.
#   tests/deploy/check-manifests.sh   KUBECTL=/path/to/kubectl, HELM=/path/to/helm (default:
#                                     tests/peers/build.sh --path helm)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
k8s=$repo/deploy/kubernetes
kubectl=${KUBECTL:-kubectl}
# Debian's python3 has python3-yaml; a python3 earlier in PATH (pyenv, venv) may not.
python=/usr/bin/python3
[[ -x $python ]] || python=python3

for tool in "$kubectl" yamllint "$python"; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/install-deps.sh)"; exit 1; }
done
tmp=$(mktemp -d /tmp/reaper-manifests.XXXX)
trap 'rm -rf "$tmp"' EXIT

"$kubectl" version --client 2>/dev/null | head -n 2
failed=0
step() { # <name> <command...>: run, print PASS/FAIL with the command's output on failure
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "PASS $name${out:+: $(tail -n 1 <<<"$out")}"
  else
    echo "FAIL $name"
    printf '%s\n' "$out" | head -n 30 | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
}
render() { "$kubectl" kustomize "$1" >"$2"; }
lint() { yamllint -s -c "$k8s/.yamllint" "$@"; }

step "render deploy/kubernetes" render "$k8s" "$tmp/main.yaml"
step "render admission-policy" render "$k8s/admission-policy" "$tmp/admission.yaml"
step "render uninstall" render "$k8s/uninstall" "$tmp/uninstall.yaml"
step "yamllint sources" lint "$k8s"
step "yamllint rendered" lint "$tmp/main.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"
step "rendered objects" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/main.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"

# The Helm chart: the same objects
helm=${HELM:-}
if [[ -z $helm ]]; then
  helm=$("$repo/tests/peers/build.sh" --path helm)/helm || { echo "FAIL: cannot build helm"; exit 1; }
fi
chart=$repo/deploy/helm/reaper
htemplate() { # OUT [--set ...]
  local out=$1
  shift
  "$helm" template reaper "$chart" "$@" >"$out"
}
step "helm lint" "$helm" lint --strict "$chart"
step "helm template (defaults)" htemplate "$tmp/helm-main.yaml"
step "helm template (uninstall)" htemplate "$tmp/helm-uninstall.yaml" --set installer.enabled=false,uninstall.enabled=true
step "helm template (admission)" htemplate "$tmp/helm-admission.yaml" --set admissionPolicy.enabled=true
step "yamllint helm output" lint "$tmp/helm-main.yaml" "$tmp/helm-uninstall.yaml" "$tmp/helm-admission.yaml"
"$python" - "$tmp/main.yaml" "$tmp/main-no-installer.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") != "DaemonSet"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PY
step "helm = deploy/kubernetes" "$python" "$here/same_objects.py" "$tmp/helm-main.yaml" "$tmp/main.yaml"
step "helm uninstall = deploy/kubernetes/uninstall" "$python" "$here/same_objects.py" \
  "$tmp/helm-uninstall.yaml" "$tmp/main-no-installer.yaml,$tmp/uninstall.yaml"
step "helm admission = deploy/kubernetes/admission-policy" "$python" "$here/same_objects.py" \
  "$tmp/helm-admission.yaml" "$tmp/main.yaml,$tmp/admission.yaml"

# The checks must be able to fail.
must_fail() { # <name> <command...>
  local name=$1
  shift
  if "$@" >"$tmp/neg.out" 2>&1; then
    echo "FAIL $name: accepted"
    failed=$((failed + 1))
  else
    echo "PASS $name: rejected ($(grep -m1 -iE 'FAIL|error' "$tmp/neg.out" | head -c 160))"
  fi
}
sed 's/^handler: reaper-v2$/handler: runc/' "$tmp/main.yaml" >"$tmp/bad-handler.yaml"
must_fail "negative: RuntimeClass handler runc" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/bad-handler.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"
sed 's/privileged: true/privileged: false/' "$tmp/main.yaml" >"$tmp/bad-priv.yaml"
must_fail "negative: installer not privileged" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/bad-priv.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"
sed 's/- patch$/- update/' "$tmp/main.yaml" >"$tmp/bad-rbac.yaml"
must_fail "negative: RBAC without patch" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/bad-rbac.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"
sed "s/'reaper-v2'/'reaper'/" "$tmp/admission.yaml" >"$tmp/bad-cel.yaml"
must_fail "negative: CEL without reaper-v2" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/main.yaml" "$tmp/bad-cel.yaml" "$tmp/uninstall.yaml"
sed '0,/namespace: reaper-system/s//namespace: default/' "$tmp/main.yaml" >"$tmp/bad-ns.yaml"
must_fail "negative: object outside reaper-system" "$python" "$here/check_objects.py" "$repo" \
  "$tmp/bad-ns.yaml" "$tmp/admission.yaml" "$tmp/uninstall.yaml"
sed 's/^kind: RuntimeClass$/kind: RuntimeClass  /' "$tmp/main.yaml" >"$tmp/bad-lint.yaml"
must_fail "negative: yamllint trailing spaces" lint "$tmp/bad-lint.yaml"
htemplate "$tmp/helm-bad.yaml" --set image.tag=9.9.9
must_fail "negative: helm value differs from deploy/kubernetes" "$python" "$here/same_objects.py" \
  "$tmp/helm-bad.yaml" "$tmp/main.yaml"
mkdir "$tmp/broken"
printf 'resources:\n  - missing.yaml\n' >"$tmp/broken/kustomization.yaml"
must_fail "negative: kustomize missing resource" render "$tmp/broken" "$tmp/broken.out"

if ((failed)); then
  echo "$failed check step(s) failed"
  exit 1
fi
echo "all manifest checks passed"
