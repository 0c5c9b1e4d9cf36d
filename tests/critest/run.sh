#!/usr/bin/env bash
# CRI conformance (issue 13, item 4): critest (cri-tools, tests/peers/versions.env) against
# Reaper (handler reaper-v2) and against runc (handler runc, runc's shim of the same containerd)
# on ONE private containerd of the main version, on the same specs, then compared:
#
#   every spec that runc passes must pass with Reaper, unless docs/conformance.md lists it as an
#   exception (by design, or pending with the issue that will fix it).
#
# Prints the comparison (markdown) and exits non-zero on a Reaper-only failure that is not
# listed. Images: critest pulls every image through CRI PullImage, so stand-ins
# (tests/critest/images.sh) are pushed to a loopback registry (Debian's docker-registry, skopeo),
# and containerd's hosts.toml sends registry.k8s.io, k8s.gcr.io and gcr.io there over plain
# HTTP: critest's image names stay intact. Pods get a real pod network (CNI bridge + host-local +
# portmap from Debian's containernetworking-plugins) on a bridge and subnet of this run only.
#
#   tests/critest/run.sh                       # both runtimes, every spec but CRITEST_SKIP
#   CRITEST_FOCUS='Streaming' tests/critest/run.sh
#
# Env: REAPER_CONTAINERD (default main), CRITEST_FOCUS / CRITEST_SKIP (ginkgo regexps, added to
# the built-in skips below), CRITEST_HANDLERS (default "runc reaper-v2"), CRITEST_REPORT (also
# write the comparison there), REAPER_BIN_DIR, REAPERCTL, E2E_KEEP=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/cri/lib.sh
source "$here/../cri/lib.sh"
# shellcheck source=tests/critest/images.sh
source "$here/images.sh"

[[ $EUID -eq 0 ]] || { echo "SKIP: tests/critest needs root" >&2; exit 77; }
for tool in docker-registry skopeo curl gcc python3 iptables ip ipcrm; do
  command -v "$tool" >/dev/null || die "$tool not installed (scripts/install-deps.sh)"
done
[[ -x $REAPER_BIN_DIR/containerd-shim-reaper-v2 ]] ||
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found (build it or set REAPER_BIN_DIR)"
CNI_PLUGINS=/usr/lib/cni
for p in bridge host-local portmap loopback; do
  [[ -x $CNI_PLUGINS/$p ]] || die "$CNI_PLUGINS/$p missing (containernetworking-plugins)"
done
read -r -a HANDLERS <<<"${CRITEST_HANDLERS:-runc reaper-v2}"

# Skipped for both runtimes (never compared):
#  - the digest image (one upstream manifest, named by its sha256: cannot be built here);
#  - "public image should timeout": asks for a pull that outlasts a tiny deadline, which a
#    registry on loopback answers within;
#  - SELinux and AppArmor (not enabled on these machines: the specs skip themselves anyway).
BUILTIN_SKIP='public image with digest|public image should timeout|\[k8s.io\] SELinux|\[k8s.io\] AppArmor'

CRITEST=""
REGISTRY_PID=""
BRIDGE=""

# ---------------------------------------------------------------------------
# Teardown: containerd and everything of the run (tests/e2e/lib.sh), then the registry and
# the bridge of this run, by PID and by name.
critest_teardown() {
  local rc=$?
  set +e
  if [[ -n ${E2E_DIR:-} ]] && kill -0 "$E2E_CONTAINERD_PID" 2>/dev/null; then
    e2e_cleanup_all_containers
    crictl_all_pods_gone
  fi
  if [[ -n $REGISTRY_PID ]]; then kill_pids_deadline TERM 10 "$REGISTRY_PID"; fi
  ( exit "$rc" )
  e2e_stop_containerd
  rc=$?
  hostname_restore
  if [[ -n $BRIDGE ]] && ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE" 2>/dev/null || log "cannot remove bridge $BRIDGE"
  fi
  portmap_cleanup
  if [[ ${CRI_CNI_CACHE_EXISTED:-} == no ]]; then  # libcni's cache, if this run created it
    rmdir "$CRI_CNI_CACHE/results" "$CRI_CNI_CACHE" 2>/dev/null
  fi
  exit "$rc"
}

# critest's own pods are not reaperctl's: remove every pod left in our containerd through CRI.
crictl_all_pods_gone() {
  local id
  for id in $("$CRICTL" -r "unix://$E2E_ADDR" pods -q 2>/dev/null); do
    timeout 60 "$CRICTL" -r "unix://$E2E_ADDR" stopp "$id" >/dev/null 2>&1
    timeout 60 "$CRICTL" -r "unix://$E2E_ADDR" rmp -f "$id" >/dev/null 2>&1
  done
}

# The HostIpc specs create a 1 MiB shared memory segment on the node with `ipcmk -M 1048576`
# and never remove it: remove the unattached 1 MiB segments that appeared during a critest run.
shm_ids() { awk 'NR > 1 && $4 == 1048576 && $7 == 0 { print $2 }' /proc/sysvipc/shm | sort; }
shm_cleanup() { # <ids before the run>
  local id
  for id in $(comm -13 <(printf '%s\n' $1 | sort) <(shm_ids)); do ipcrm -m "$id" 2>/dev/null; done
}

# The privileged and capability specs run `brctl addbr foobar` in the container: under runc in
# the pod's network namespace, under Reaper (host network by design) on the NODE. Remove a
# foobar that appeared during a critest run.
foobar_cleanup() { # <1 if foobar existed before the run>
  [[ $1 == 1 ]] || ! ip link show foobar >/dev/null 2>&1 || ip link del foobar ||
    log "cannot remove the bridge foobar critest created"
}
foobar_exists() { ip link show foobar >/dev/null 2>&1 && echo 1 || echo 0; }
# Reaper pods share the node's network, so in one critest pass `adding capability` would find
# the foobar that `Privileged is true` created ("File exists"): under Reaper each of these
# specs runs in a critest pass of its own after foobar_cleanup, and the results are merged into
# the handler's report (compare.py keeps a spec's non-skipped result). Ginkgo matches a focus
# against "<suite description> <spec text>": no ^ anchor.
ISOLATED_SPECS=('[k8s.io] Security Context bucket runtime should support Privileged is true'
  '[k8s.io] Security Context bucket runtime should support adding capability')
regex_quote() { sed 's/[][\\.*^$(){}+?|]/\\&/g' <<<"$1"; }

# The seccomp specs that may set the hostname ("should not block setting host name…", "…when
# privileged") run `hostname ANewHostName` with CAP_SYS_ADMIN: under Reaper in the NODE's UTS
# namespace. Put the node's hostname back if a run changed it.
HOSTNAME_BEFORE=$(hostname)
hostname_restore() {
  [[ $(hostname) == "$HOSTNAME_BEFORE" ]] || { log "restoring the node's hostname $HOSTNAME_BEFORE"; hostname "$HOSTNAME_BEFORE"; }
}

# ---------------------------------------------------------------------------
# Loopback registry and containerd's hosts.toml.

registry_answers() { curl -fs -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/"; }

registry_start() {
  local dir=$E2E_DIR/registry attempt
  mkdir -p "$dir/storage"
  for attempt in 1 2 3; do
    REGISTRY_PORT=$(cri_free_port) || die "no free TCP port for the registry"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    REGISTRY_PID=$!
    if wait_until 20 registry_answers; then break; fi
    kill_pids_deadline TERM 5 "$REGISTRY_PID"
    REGISTRY_PID=""
    (( attempt < 3 )) || { tail -n 5 "$dir/registry.log" >&2; die "docker-registry did not answer"; }
  done
  log "registry pid $REGISTRY_PID on 127.0.0.1:$REGISTRY_PORT"
  local host
  for host in registry.k8s.io k8s.gcr.io gcr.io; do
    mkdir -p "$E2E_DIR/certs.d/$host"
    cat >"$E2E_DIR/certs.d/$host/hosts.toml" <<EOF
server = "http://127.0.0.1:$REGISTRY_PORT"

[host."http://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
EOF
  done
}

# ---------------------------------------------------------------------------
# Pod network: a bridge and a /24 of this run only, IPAM state in the run's dir.

# portmap creates machine-wide nat chains (CNI-HOSTPORT-*) and jumps to them on first use and
# leaves them behind. If this run created them, remove them at the end, unless some other
# portmap user's mappings (CNI-DN-* jumps) are in them by then.
PORTMAP_CHAINS_EXISTED=""
portmap_chains_exist() { iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1; }
portmap_cleanup() {
  [[ $PORTMAP_CHAINS_EXISTED == no ]] && portmap_chains_exist || return 0
  if iptables -t nat -S CNI-HOSTPORT-DNAT | grep -q -- '-j CNI-DN-'; then
    log "portmap chains still hold mappings: left in place"
    return 0
  fi
  iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null
  iptables -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null
  iptables -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" \
    -j CNI-HOSTPORT-MASQ 2>/dev/null
  local c
  for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
    iptables -t nat -F "$c" 2>/dev/null && iptables -t nat -X "$c" 2>/dev/null ||
      log "cannot remove the nat chain $c"
  done
}

cni_network_start() {
  local sub="" i x
  PORTMAP_CHAINS_EXISTED=$(portmap_chains_exist && echo yes || echo no)
  for i in $(seq 1 50); do
    x=$(( 100 + RANDOM % 150 )).$(( RANDOM % 256 ))
    ip route | grep -qF "10.$x." || { sub=10.$x.0/24; break; }
  done
  [[ -n $sub ]] || die "no free 10.x.y.0/24 for the pod network"
  BRIDGE=rcri$E2E_RUNID
  for p in bridge host-local portmap loopback; do ln -sf "$CNI_PLUGINS/$p" "$E2E_DIR/cni/bin/$p"; done
  if [[ -z $CRI_CNI_CACHE_EXISTED ]]; then
    CRI_CNI_CACHE_EXISTED=$([[ -e $CRI_CNI_CACHE ]] && echo yes || echo no)
  fi
  printf '{"cniVersion":"1.0.0","name":"reaper-critest-%s","plugins":[{"type":"bridge","bridge":"%s","isGateway":true,"ipMasq":false,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}]}},{"type":"portmap","capabilities":{"portMappings":true}}]}\n' \
    "$E2E_RUNID" "$BRIDGE" "$E2E_DIR/cni/ipam" "$sub" >"$E2E_DIR/cni/conf/10-critest.conflist"
  wait_until 20 cri_network_is true || die "CRI NetworkReady still false"
  log "pod network $sub on bridge $BRIDGE"
}

# ---------------------------------------------------------------------------

# The hosts.toml directory and the pause image go into tests/cri/lib.sh's config.
eval "_cri_$(declare -f e2e_write_config)"
e2e_write_config() {
  CRI_REGISTRY_CONFIG_PATH=$E2E_DIR/certs.d
  _cri_e2e_write_config
}
# the pause stand-in (tests/critest/pause.c, process name "pause"), pulled from the registry
export CRI_SANDBOX_IMAGE=registry.k8s.io/pause:3.10.2 CRI_SANDBOX_IMPORT=0

CRITEST=$("$E2E_PEERS_BUILD" --path cri-tools)/critest
CRICTL=${CRITEST%/critest}/crictl
[[ -x $CRITEST && -x $CRICTL ]] || die "no critest/crictl in ${CRITEST%/critest}"

trap critest_teardown EXIT
trap 'exit 130' INT TERM
t0=$SECONDS
cri_start
# Limits as runc applies them (the OOMKilled spec); the shims read this when they start.
echo 'enforce_resources = true' >>"$E2E_DIR/reaper.toml"
chmod 0711 "$E2E_DIR"  # the node's programs below must be reachable for non-root test users
CRITEST_NODE_BIN=$E2E_DIR/node-bin
critest_build_programs "$E2E_DIR/images/programs"
critest_fill_bin "$CRITEST_NODE_BIN" "$E2E_DIR/images/programs"
registry_start
critest_images_push "$E2E_DIR/images" "127.0.0.1:$REGISTRY_PORT"
cni_network_start
log "set-up took $((SECONDS - t0)) s"

skip=$BUILTIN_SKIP${CRITEST_SKIP:+|$CRITEST_SKIP}
declare -A SECS=()
for h in "${HANDLERS[@]}"; do
  t1=$SECONDS
  log "critest with handler $h"
  hskip=$skip isolated=()
  if [[ $h == reaper-v2 ]]; then
    for spec in "${ISOLATED_SPECS[@]}"; do
      hskip+="|$(regex_quote "$spec")\$"
      [[ -n ${CRITEST_FOCUS:-} ]] && ! grep -qE -- "$CRITEST_FOCUS" <<<"$spec" && continue
      isolated+=("$spec")
    done
  fi
  args=(-runtime-endpoint "unix://$E2E_ADDR" -image-endpoint "unix://$E2E_ADDR"
    -runtime-handler "$h" -ginkgo.no-color -ginkgo.skip "$hskip"
    -ginkgo.json-report "$E2E_DIR/critest-$h.json")
  [[ -z ${CRITEST_FOCUS:-} ]] || args+=(-ginkgo.focus "$CRITEST_FOCUS")
  shm_before=$(shm_ids) foobar_before=$(foobar_exists)
  # critest exits non-zero when a spec fails; the comparison decides.
  (cd "$E2E_DIR" && "$CRITEST" "${args[@]}") >"$E2E_DIR/critest-$h.log" 2>&1 || true
  hostname_restore
  n=0
  for spec in "${isolated[@]}"; do
    n=$((n + 1))
    foobar_cleanup "$foobar_before"
    log "critest with handler $h, alone: $spec"
    (cd "$E2E_DIR" && "$CRITEST" -runtime-endpoint "unix://$E2E_ADDR" -image-endpoint "unix://$E2E_ADDR" \
      -runtime-handler "$h" -ginkgo.no-color -ginkgo.focus "$(regex_quote "$spec")\$" \
      -ginkgo.json-report "$E2E_DIR/critest-$h-$n.json") >>"$E2E_DIR/critest-$h.log" 2>&1 || true
  done
  if ((n)); then
    python3 -c 'import json, sys; out = []
for p in sys.argv[1:]: out += json.load(open(p))
json.dump(out, open(sys.argv[1], "w"))' "$E2E_DIR/critest-$h.json" "$E2E_DIR"/critest-"$h"-[0-9]*.json
  fi
  shm_cleanup "$shm_before"
  foobar_cleanup "$foobar_before"
  SECS[$h]=$((SECONDS - t1))
  [[ -s $E2E_DIR/critest-$h.json ]] || { tail -n 30 "$E2E_DIR/critest-$h.log" >&2; die "critest ($h) wrote no report"; }
  log "critest with handler $h: ${SECS[$h]} s ($(grep -cE '^\s*\[FAIL\]' "$E2E_DIR/critest-$h.log" || true) [FAIL] lines)"
  crictl_all_pods_gone
done

report=$E2E_DIR/conformance.md
rc=0
python3 "$here/compare.py" --doc "$REPO/docs/conformance.md" \
  --containerd "$E2E_CONTAINERD_VERSION" --critest "$(sed -n 's/^CRI_TOOLS=//p' "$REPO/tests/peers/versions.env")" \
  --seconds "runc=${SECS[runc]:-0},reaper-v2=${SECS[reaper-v2]:-0}" \
  "$E2E_DIR"/critest-runc.json "$E2E_DIR"/critest-reaper-v2.json >"$report" || rc=$?
cat "$report"
[[ -z ${CRITEST_REPORT:-} ]] || cp "$report" "$CRITEST_REPORT"
if (( rc != 0 )); then
  echo "critest logs: $E2E_DIR/critest-*.log (set E2E_KEEP=1 to keep them)"
fi
echo "critest total: $((SECONDS - t0)) s"
exit "$rc"
