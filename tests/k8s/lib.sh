# shellcheck shell=bash
# A one-node Kubernetes cluster on loopback for tests, demos and benchmarks: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet and containerd 2.3 (pinned in
# tests/peers/versions.env, built by tests/peers/build.sh), all PRIVATE: own ports, sockets,
# certificates, root dirs and cgroup root, in one temp dir /tmp/reaper-k8s.XXXX. Reaper is put
# into that containerd by scripts/install-node.sh (as an operator would), which also labels the
# Node; the RuntimeClass comes from deploy/kubernetes. Nothing of the system is used or changed
# except what a kubelet must change (see "Host changes" below); everything is removed by PID.
#
# Reusable functions (source this file; it sources tests/e2e/lib.sh and tests/cri/lib.sh for
# wait_until, the assertions, the test registry, process discovery and the busybox image):
#   k8s_start           start the whole cluster, install Reaper, apply the RuntimeClass, create
#                       the test namespace; sets E2E_DIR and writes $E2E_DIR/cluster.env
#   k8s_stop            tear everything down (also the EXIT trap set by k8s_install_trap);
#                       fails (non-zero) if something was left behind
#   k8s_install_trap    trap k8s_stop on EXIT, exit on INT/TERM
#   kc ARGS...          kubectl as cluster admin (bounded by K8S_KUBECTL_TIMEOUT)
#   k8s_env_file        prints the path of cluster.env: `source` it in another shell to get
#                       KUBECONFIG and every address (`source $(...)/cluster.env; kubectl get pods`)
#   k8s_restart NAME [SIGNAL]   restart kubelet or containerd (TERM by default), wait until ready
#   k8s_stop_component NAME [SIGNAL] / k8s_start_component NAME   the two halves of it
#   k8s_pod_yaml ...    a hostNetwork reaper-v2 Pod (see below), k8s_wait_phase, k8s_node_clean
# Knobs:
#   REAPER_BIN_DIR          the build with containerd-shim-reaper-v2, reaper-runtime, reaper-overlay
#   REAPER_PEERS_DIR        cache of the Go peers (tests/peers/build.sh)
#   K8S_STEPS               with "noreaper", k8s_start skips the install (an installer test can
#                           run scripts/install-node.sh or the DaemonSet itself); the node is then
#                           labelled by nobody and only runc pods run
#   K8S_KUBECTL_TIMEOUT     seconds (default 120); E2E_KEEP=1 keeps the temp dir and the logs
#
# Host changes a kubelet makes and how they are undone (docs/kubernetes.md "Tested versions"):
#   - kernel tunables: kubelet sets vm.overcommit_memory=1, kernel.panic=10,
#     kernel.panic_on_oops=1 (and two key quotas) at start; it refuses to start when
#     protectKernelDefaults is on and they differ. k8s_start records them, k8s_stop restores
#     each value that still is the kubelet's.
#   - /var/log/containers: kubelet's legacy log symlinks (hard-coded path); ours point into the
#     temp dir and are removed, the directory too if this run created it and it is empty.
#   - cgroups: kubelet's cgroupRoot is /reaper-k8s-<run id> in every v1 hierarchy and the
#     cgroup2 one; Reaper's tracking cgroups go below it too (cgroup_parent); all removed.

K8S_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cri/lib.sh
source "$K8S_LIB_DIR/../cri/lib.sh"
# shellcheck source=tests/cri/faults_lib.sh
source "$K8S_LIB_DIR/../cri/faults_lib.sh"   # faults_proc_dead, faults_shim_pids

E2E_NS=k8s.io
E2E_IMAGE=reaper.test/busybox:1      # the pods' image (busybox-static), IfNotPresent by default
K8S_PAUSE_IMAGE=reaper.test/pause:1  # the sandbox image (pinned): busybox sleeping forever
K8S_NS=reaper-e2e                    # the namespace the tests' pods run in
K8S_SA_HOST_DIR=/run/secrets/kubernetes.io
K8S_KUBECTL_TIMEOUT=${K8S_KUBECTL_TIMEOUT:-120}
PEERS_BUILD=$K8S_LIB_DIR/../peers/build.sh

k8s_env_file() { echo "$E2E_DIR/cluster.env"; }

# kc ARGS...: kubectl with the admin kubeconfig.
kc() { timeout -k 5 "$K8S_KUBECTL_TIMEOUT" "$K8S_KUBECTL" --kubeconfig "$E2E_DIR/pki/admin.kubeconfig" "$@"; }
# kcn ARGS...: kc in the test namespace.
kcn() { kc -n "$K8S_NS" "$@"; }

# ---------------------------------------------------------------------------------------------
# Peers

# k8s_peer_bin NAME: the bin dir of a peer (built on first use; the build is cached and locked).
k8s_peer_bin() {
  local dir
  dir=$("$PEERS_BUILD" --path "$1") || die "tests/peers/build.sh could not build $1"
  [[ -d $dir ]] || die "peer $1: $dir missing"
  echo "$dir"
}

k8s_find_peers() {
  local main
  main=$(awk -F= '$1 == "CONTAINERD_MAIN" { print $2 }' "$K8S_LIB_DIR/../peers/versions.env")
  K8S_BIN=$(k8s_peer_bin kubernetes)
  K8S_ETCD_BIN=$(k8s_peer_bin etcd)
  K8S_CONTAINERD_BIN=$(k8s_peer_bin "containerd-$main")
  K8S_KUBECTL=$K8S_BIN/kubectl
  K8S_CTR=$K8S_CONTAINERD_BIN/ctr
  K8S_CRICTL=$(k8s_peer_bin cri-tools)/crictl   # install-node.sh asks CRI whether reaper-v2 is served
}

# ctr of the private containerd 2.3 (tests/e2e/lib.sh's ctrp calls the ctr on PATH).
ctrp() {
  timeout -k 5 "$E2E_CTR_TIMEOUT" "$K8S_CTR" --address "$E2E_ADDR" --namespace "$E2E_NS" "$@"
}

# ---------------------------------------------------------------------------------------------
# Ports, certificates, kubeconfigs

# k8s_ports N: N distinct free loopback ports.
k8s_ports() {
  local -A seen=()
  local n=$1 p
  while (( ${#seen[@]} < n )); do
    p=$(cri_free_port) || die "no free TCP port"
    seen[$p]=1
  done
  echo "${!seen[@]}"
}

# k8s_cert NAME SUBJECT [SAN]: an EC key and a certificate signed by the run's CA.
k8s_cert() {
  local name=$1 subj=$2 san=${3:-} pki=$E2E_DIR/pki ext
  ext=$pki/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -z $san ]] || echo "subjectAltName=$san"
  } >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 7 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null ||
    die "openssl: cannot sign $name"
  rm -f "$pki/$name.csr" "$ext"
}

# k8s_kubeconfig NAME: <pki>/NAME.kubeconfig with NAME's client certificate.
k8s_kubeconfig() {
  local pki=$E2E_DIR/pki
  cat >"$pki/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: reaper-k8s
  cluster: {server: "https://127.0.0.1:$K8S_API_PORT", certificate-authority: "$pki/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key"}
contexts:
- name: $1
  context: {cluster: reaper-k8s, user: $1, namespace: $K8S_NS}
current-context: $1
EOF
}

k8s_make_pki() {
  local pki=$E2E_DIR/pki
  mkdir -p "$pki"
  chmod 0700 "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=reaper-k8s-ca-$E2E_RUNID" -days 7 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null || die "openssl: cannot make the CA"
  k8s_cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  k8s_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  k8s_cert admin "/O=system:masters/CN=reaper-e2e-admin"
  k8s_cert controller-manager "/CN=system:kube-controller-manager"
  k8s_cert scheduler "/CN=system:kube-scheduler"
  k8s_cert kubelet "/O=system:nodes/CN=system:node:$K8S_NODE"
  k8s_cert kubelet-serving "/CN=$K8S_NODE" "IP:$K8S_NODE_IP,IP:127.0.0.1,DNS:$K8S_NODE,DNS:localhost"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null || die "openssl: cannot make the service-account key"
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local n
  for n in admin controller-manager scheduler kubelet; do k8s_kubeconfig "$n"; done
}

# ---------------------------------------------------------------------------------------------
# Processes: every component is started by k8s_spawn with K8S_MARK=<temp dir> in its
# environment and its pid in <temp dir>/pids/NAME; teardown signals exactly those pids.

k8s_pid() { cat "$E2E_DIR/pids/$1" 2>/dev/null; }
k8s_alive() { local p; p=$(k8s_pid "$1") && [[ -n $p ]] && ! faults_proc_dead "$p"; }

# k8s_spawn NAME CMD...: starts CMD in the background (cwd: the temp dir, log: logs/NAME.log,
# appended), detached from the caller's job table, and records its pid.
k8s_spawn() {
  local name=$1 pid
  shift
  (cd "$E2E_DIR" && K8S_MARK=$E2E_DIR exec "$@" >>"$E2E_DIR/logs/$name.log" 2>&1 </dev/null) &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >"$E2E_DIR/pids/$name"
  [[ $name != containerd ]] || { E2E_CONTAINERD_PID=$pid; echo "$pid" >"$E2E_DIR/containerd.pid"; }
}

# k8s_wait_ready NAME DEADLINE CHECK...: waits for CHECK while the component lives.
k8s_wait_ready() {
  local name=$1 deadline=$2
  shift 2
  k8s_ready_or_dead() { "$@" || ! k8s_alive "$name"; }
  wait_until "$deadline" k8s_ready_or_dead "$@" && k8s_alive "$name" && "$@" && return 0
  log "$name did not become ready in ${deadline}s; end of logs/$name.log:"
  tail -n 25 "$E2E_DIR/logs/$name.log" >&2
  return 1
}

k8s_curl_api() {
  curl -sS --max-time 5 --cacert "$E2E_DIR/pki/ca.crt" --cert "$E2E_DIR/pki/admin.crt" \
    --key "$E2E_DIR/pki/admin.key" "https://127.0.0.1:$K8S_API_PORT$1"
}
k8s_etcd_healthy() { [[ $(curl -sS --max-time 3 "http://127.0.0.1:$K8S_ETCD_PORT/health" 2>/dev/null) == *'"health":"true"'* ]]; }
k8s_api_ready() { [[ $(k8s_curl_api /readyz 2>/dev/null) == ok ]]; }
k8s_containerd_ready() { E2E_CTR_TIMEOUT=5 ctrp version >/dev/null 2>&1; }
k8s_node_ready() {
  [[ $(kc get node "$K8S_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

k8s_start_component() {
  local name=$1 b=$K8S_BIN pki=$E2E_DIR/pki
  case $name in
    etcd)
      k8s_spawn etcd "$K8S_ETCD_BIN/etcd" --name reaper-k8s --data-dir "$E2E_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --initial-cluster "reaper-k8s=http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --unsafe-no-fsync --log-level warn
      k8s_wait_ready etcd 60 k8s_etcd_healthy
      ;;
    apiserver)
      k8s_spawn apiserver "$b/kube-apiserver" --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$K8S_API_PORT" \
        --cert-dir "$pki/apiserver-generated" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" \
        --kubelet-preferred-address-types InternalIP \
        --service-account-issuer https://kubernetes.default.svc \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range 10.0.0.0/24 --authorization-mode Node,RBAC \
        --enable-admission-plugins NodeRestriction --allow-privileged=true --profiling=false
      k8s_wait_ready apiserver 180 k8s_api_ready
      ;;
    controller-manager)
      k8s_spawn controller-manager "$b/kube-controller-manager" \
        --kubeconfig "$pki/controller-manager.kubeconfig" --secure-port 0 --leader-elect=false \
        --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
        --use-service-account-credentials=true \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key"
      ;;
    scheduler)
      k8s_spawn scheduler "$b/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
        --secure-port 0 --leader-elect=false
      ;;
    containerd)
      k8s_containerd_config_private || die "refusing to start containerd with $K8S_CONTAINERD_CONFIG"
      k8s_spawn containerd env PATH="$K8S_CONTAINERD_BIN:$E2E_DIR/node/bin:$PATH" \
        REAPER_CONFIG="$K8S_REAPER_CONFIG" \
        "$K8S_CONTAINERD_BIN/containerd" --config "$K8S_CONTAINERD_CONFIG"
      k8s_wait_ready containerd 60 k8s_containerd_ready
      ;;
    kubelet)
      k8s_spawn kubelet "$b/kubelet" --config "$E2E_DIR/kubelet/config.yaml" \
        --kubeconfig "$pki/kubelet.kubeconfig" --root-dir "$E2E_DIR/kubelet/root" \
        --hostname-override "$K8S_NODE" --node-ip "$K8S_NODE_IP" --v 2
      ;;
    *) die "unknown component $name" ;;
  esac
}

# The config containerd would run with (its own dump) serves only our sockets and uses only
# our directories: never the system's /run/containerd/containerd.sock or /var/lib/containerd.
k8s_containerd_config_private() {
  local dump bad
  dump=$("$K8S_CONTAINERD_BIN/containerd" --config "$K8S_CONTAINERD_CONFIG" config dump 2>/dev/null) || {
    log "containerd cannot load $K8S_CONTAINERD_CONFIG"; return 1; }
  bad=$(grep -E "^ *(address|root|state) = '/(run/containerd/containerd|var/lib/containerd|run/containerd')" <<<"$dump")
  [[ -z $bad ]] || { log "the config would use system paths: $bad"; return 1; }
}

# k8s_stop_component NAME [SIGNAL]: signal the component (TERM), wait until it is gone
# (SIGKILL after 30 s).
k8s_stop_component() {
  local name=$1 sig=${2:-TERM} pid
  pid=$(k8s_pid "$name") || return 0
  [[ -n $pid ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_until 30 faults_proc_dead "$pid"; then
    log "$name ($pid) still alive 30 s after SIG$sig: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 faults_proc_dead "$pid" || log "$name ($pid) does not die"
  fi
  : >"$E2E_DIR/pids/$name"
}

# k8s_restart NAME [SIGNAL]: kubelet or containerd, stopped and started again; waits until the
# node is Ready again (kubelet) or containerd answers.
k8s_restart() {
  k8s_stop_component "$1" "${2:-TERM}"
  k8s_start_component "$1"
  if [[ $1 == kubelet ]]; then k8s_wait_kubelet; fi
}

k8s_kubelet_healthy() { [[ $(curl -sS --max-time 3 "http://127.0.0.1:$K8S_KUBELET_HEALTHZ_PORT/healthz" 2>/dev/null) == ok ]]; }
k8s_wait_kubelet() {
  k8s_wait_ready kubelet 120 k8s_kubelet_healthy || return 1
  k8s_wait_ready kubelet 120 k8s_node_ready
}

# ---------------------------------------------------------------------------------------------
# Configuration files

k8s_write_containerd_config() {
  local version servers
  mkdir -p "$E2E_DIR/containerd" "$E2E_DIR/cni/bin" "$E2E_DIR/cni/conf"
  # the config version this containerd writes itself (4 for 2.3); the CRI tables used here are
  # the same in 3 and 4, the servers' addresses are not: version 4 ignores the top-level [grpc],
  # [ttrpc] and [debug] tables (a containerd would then serve /run/containerd/containerd.sock)
  version=$("$K8S_CONTAINERD_BIN/containerd" config default 2>/dev/null | awk '$1 == "version" { print $3; exit }')
  [[ $version =~ ^[0-9]+$ ]] || die "cannot read the config version of $K8S_CONTAINERD_BIN/containerd"
  if (( version >= 4 )); then
    servers="[plugins.\"io.containerd.server.v1.grpc\"]
  address = \"$E2E_ADDR\"

[plugins.\"io.containerd.server.v1.ttrpc\"]
  address = \"$E2E_ADDR.ttrpc\"

[plugins.\"io.containerd.server.v1.debug\"]
  address = \"$E2E_DIR/containerd/debug.sock\"

[debug]
  level = \"info\""
  else
    servers="[grpc]
  address = \"$E2E_ADDR\"

[ttrpc]
  address = \"$E2E_ADDR.ttrpc\"

[debug]
  address = \"$E2E_DIR/containerd/debug.sock\"
  level = \"info\""
  fi
  cat >"$K8S_CONTAINERD_CONFIG" <<EOF
# containerd $K8S_CONTAINERD_VERSION of the Kubernetes test node (tests/k8s/lib.sh)
version = $version
root = "$E2E_DIR/containerd/root"
state = "$E2E_DIR/containerd/state"
temp = "$E2E_DIR/containerd/tmp"
imports = []   # not the node's /etc/containerd/conf.d/*.toml
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

$servers

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "$K8S_PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  restrict_oom_score_adj = true

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["$E2E_DIR/cni/bin"]
  conf_dir = "$E2E_DIR/cni/conf"

[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
  # The pod network: Reaper pods use the host's, but kubelet keeps a node NotReady while the
  # runtime reports NetworkReady=false, which needs a CNI config. tests/cri's fake plugin answers
  # the CNI protocol and configures nothing (only non-hostNetwork pods call it).
  install -m 0755 "$CRI_LIB_DIR/reaper-test-cni" "$E2E_DIR/cni/bin/reaper-test-cni"
  ln -sf reaper-test-cni "$E2E_DIR/cni/bin/loopback"
  printf '{"cniVersion": "1.0.0", "name": "reaper-test", "plugins": [{"type": "reaper-test-cni"}]}\n' \
    >"$E2E_DIR/cni/conf/10-reaper-test.conflist"
}

k8s_write_kubelet_config() {
  local pki=$E2E_DIR/pki
  mkdir -p "$E2E_DIR/kubelet/root" "$E2E_DIR/kubelet/manifests" "$E2E_DIR/kubelet/volume-plugins" \
    "$E2E_DIR/pod-logs"
  cat >"$E2E_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $K8S_NODE_IP
port: $K8S_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $K8S_KUBELET_HEALTHZ_PORT
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$E2E_ADDR
cgroupDriver: cgroupfs
cgroupRoot: $K8S_CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
staticPodPath: $E2E_DIR/kubelet/manifests
podLogsDir: $E2E_DIR/pod-logs
volumePluginDir: $E2E_DIR/kubelet/volume-plugins
makeIPTablesUtilChains: false
protectKernelDefaults: false
oomScoreAdj: 0
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
syncFrequency: 10s
fileCheckFrequency: 5s
serializeImagePulls: false
maxPods: 250
EOF
}

# Reaper's node config for this node: overlay state and tracking cgroups inside the run; the
# policy (tested by test_pods.sh) allows the namespaces the suites use and wants hostNetwork.
K8S_ALLOWED_NAMESPACES=${K8S_ALLOWED_NAMESPACES:-'"reaper-e2e", "reaper-system", "default"'}
k8s_write_reaper_config() {
  mkdir -p "$(dirname "$K8S_REAPER_CONFIG")"
  cat >"$K8S_REAPER_CONFIG" <<EOF
# Reaper on the Kubernetes test node (tests/k8s/lib.sh)
state_root = "$E2E_DIR/reaper"
cgroup_parent = "$(cgroup2_root)$K8S_CGROUP_ROOT/reaper"
allowed_namespaces = [$K8S_ALLOWED_NAMESPACES]
non_host_network = "reject"
EOF
}

# ---------------------------------------------------------------------------------------------
# cgroups: kubelet wants its cgroupRoot to exist in every hierarchy.

# The mount points of every cgroup hierarchy (v1 and v2): the fs type follows the "-" field.
k8s_cgroup_mounts() { awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break } }' /proc/self/mountinfo; }

k8s_make_cgroups() {
  local m d
  for m in $(k8s_cgroup_mounts); do
    d=$m$K8S_CGROUP_ROOT
    mkdir -p "$d" || die "cannot create cgroup $d"
    if [[ -f $d/cpuset.cpus && -z $(cat "$d/cpuset.cpus") ]]; then
      cat "$m/cpuset.cpus" >"$d/cpuset.cpus"
      cat "$m/cpuset.mems" >"$d/cpuset.mems"
    fi
  done
}

# Our cgroups that still exist (deepest first).
k8s_cgroups_left() {
  local m
  for m in $(k8s_cgroup_mounts); do
    [[ -d $m$K8S_CGROUP_ROOT ]] && find "$m$K8S_CGROUP_ROOT" -depth -type d
  done
  return 0
}

# Processes still in our cgroups.
k8s_cgroup_procs() {
  local d
  for d in $(k8s_cgroups_left); do cat "$d/cgroup.procs" 2>/dev/null; done | sort -un
}

k8s_remove_cgroups() {
  local d
  for d in $(k8s_cgroups_left); do rmdir "$d" 2>/dev/null || log "cannot remove cgroup $d"; done
}

# ---------------------------------------------------------------------------------------------
# Kernel tunables kubelet sets (see the header).

K8S_SYSCTLS=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
             kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
k8s_save_sysctls() {
  local s
  for s in "${K8S_SYSCTLS[@]}"; do echo "$s $(cat "/proc/sys/$s")"; done >"$E2E_DIR/sysctls.before"
}
# Restores each tunable the kubelet changed, if it still has the kubelet's value.
k8s_restore_sysctls() {
  local s before after now
  [[ -f $E2E_DIR/sysctls.before && -f $E2E_DIR/sysctls.kubelet ]] || return 0
  while read -r s before; do
    after=$(awk -v s="$s" '$1 == s { print $2 }' "$E2E_DIR/sysctls.kubelet")
    now=$(cat "/proc/sys/$s")
    if [[ $before != "$after" && $now == "$after" ]]; then
      echo "$before" >"/proc/sys/$s" || log "cannot restore $s to $before"
    fi
  done <"$E2E_DIR/sysctls.before"
}

# ---------------------------------------------------------------------------------------------
# Images: the busybox image of tests/e2e/lib.sh for pods, and the same layer with
# `sleep infinity` as command for the sandboxes (runc's pause must not exit).

k8s_build_pause_tarball() {
  local out=$1 work
  e2e_build_image_tarball "$out" "$K8S_PAUSE_IMAGE" '["/bin/sleep","infinity"]'
  work=$(mktemp -d "$E2E_DIR/pause.XXXX")
  tar -C "$work" -xf "$out"
  grep -qlF '"Cmd":["/bin/sleep","infinity"]' "$work"/blobs/sha256/* ||
    die "tests/e2e/lib.sh's e2e_build_image_tarball ignored the command of the pause image"
  rm -rf "$work"
}

k8s_import_images() {
  local t
  [[ -f $E2E_DIR/images/busybox.tar ]] || e2e_build_image_tarball "$E2E_DIR/images/busybox.tar"
  [[ -f $E2E_DIR/images/pause.tar ]] || k8s_build_pause_tarball "$E2E_DIR/images/pause.tar"
  for t in busybox pause; do
    ctrp images import --all-platforms "$E2E_DIR/images/$t.tar" >>"$E2E_DIR/logs/image-import.log" 2>&1 ||
      { cat "$E2E_DIR/logs/image-import.log" >&2; die "ctr images import $t failed"; }
  done
  local refs
  refs=$(ctrp images ls -q)
  grep -qxF "$E2E_IMAGE" <<<"$refs" && grep -qxF "$K8S_PAUSE_IMAGE" <<<"$refs" ||
    die "images not listed after import: $refs"
}

# ---------------------------------------------------------------------------------------------
# Reaper, installed the way an operator does it: scripts/install-node.sh against this node's
# containerd config, restarting this node's containerd and labelling the Node.

# k8s_install_node ARGS...: scripts/install-node.sh with this node's paths (containerd, its
# config and CRI socket, Reaper's bin dir and node config), its restart command and label.
k8s_install_node() {
  KUBECONFIG=$E2E_DIR/pki/admin.kubeconfig "$K8S_LIB_DIR/../../scripts/install-node.sh" \
    --bin-dir "$E2E_DIR/node/bin" \
    --containerd "$K8S_CONTAINERD_BIN/containerd" --containerd-config "$K8S_CONTAINERD_CONFIG" \
    --crictl "$K8S_CRICTL" --cri-endpoint "unix://$E2E_ADDR" \
    --node-config "$K8S_REAPER_CONFIG" --restart-cmd "$E2E_DIR/bin/restart-containerd" \
    --label-node "$K8S_NODE" --kubectl "$K8S_KUBECTL" "$@"
}

k8s_install_reaper() {
  local f src=$E2E_DIR/reaper-build
  mkdir -p "$src"
  for f in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
    [[ -x $REAPER_BIN_DIR/$f ]] || die "$REAPER_BIN_DIR/$f not found (build first or set REAPER_BIN_DIR)"
    cp "$REAPER_BIN_DIR/$f" "$src/$f"
  done
  cat >"$E2E_DIR/bin/restart-containerd" <<EOF
#!/usr/bin/env bash
# --restart-cmd of install-node.sh: restarts this test node's containerd (by its pid).
set -euo pipefail
source "$K8S_LIB_DIR/lib.sh"
k8s_load_env "$E2E_DIR"
k8s_restart containerd
EOF
  chmod 0755 "$E2E_DIR/bin/restart-containerd"
  k8s_install_node --bin-src "$src" >"$E2E_DIR/logs/install-node.log" 2>&1 ||
    { cat "$E2E_DIR/logs/install-node.log" >&2; die "scripts/install-node.sh failed"; }
  grep -qE "^(install-node: )?READY: yes" "$E2E_DIR/logs/install-node.log" &&
    tail -n 1 "$E2E_DIR/logs/install-node.log" | grep -qE "^(install-node: )?RESULT: changed$" ||
    { cat "$E2E_DIR/logs/install-node.log" >&2; die "install-node.sh did not report READY: yes and RESULT: changed"; }
  # the restart command ran in another process: take over the new containerd pid
  E2E_CONTAINERD_PID=$(k8s_pid containerd)
  k8s_alive containerd || die "containerd is not running after install-node.sh"
  kc apply -f "$K8S_LIB_DIR/../../deploy/kubernetes/runtimeclass.yaml" >/dev/null
  # The RuntimeClass schedules reaper-v2 pods onto nodes with its nodeSelector labels; the
  # installer labels the node it set up. If the two disagree (test_pods.sh's
  # runtimeclass_selects_installed_node fails then), label the node with the RuntimeClass's
  # selector too, so that the other scenarios still run.
  local sel p
  sel=$(kc get runtimeclass reaper-v2 -o go-template='{{range $k, $v := .scheduling.nodeSelector}}{{$k}}={{$v}} {{end}}')
  for p in $sel; do
    if [[ $(kc get node "$K8S_NODE" -o go-template="{{index .metadata.labels \"${p%%=*}\"}}") != "${p#*=}" ]]; then
      log "WARNING: the installer did not label the node with the RuntimeClass's selector $p: labelling it"
      echo "$p" >>"$E2E_DIR/runtimeclass-mismatch"
      kc label node "$K8S_NODE" "$p" --overwrite >/dev/null
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Environment file: what another process needs to use this cluster (also read by the restart
# command install-node.sh runs).

K8S_ENV_VARS=(E2E_DIR E2E_RUNID E2E_ADDR E2E_STATE K8S_NODE K8S_NODE_IP K8S_API_PORT K8S_ETCD_PORT
  K8S_ETCD_PEER_PORT K8S_KUBELET_PORT K8S_KUBELET_HEALTHZ_PORT K8S_CGROUP_ROOT K8S_BIN
  K8S_ETCD_BIN K8S_CONTAINERD_BIN K8S_CONTAINERD_VERSION K8S_KUBECTL K8S_CTR K8S_CRICTL
  K8S_CONTAINERD_CONFIG K8S_REAPER_CONFIG REAPER_BIN_DIR)

k8s_write_env() {
  local v
  {
    echo "# source this file to use the test cluster (tests/k8s/lib.sh)"
    for v in "${K8S_ENV_VARS[@]}"; do printf '%s=%q\n' "$v" "${!v}"; done
    printf 'KUBECONFIG=%q\nexport KUBECONFIG\nPATH=%q:$PATH\n' "$E2E_DIR/pki/admin.kubeconfig" "$K8S_BIN"
  } >"$E2E_DIR/cluster.env"
}

# k8s_load_env DIR: take over a running cluster (its variables) in another process.
k8s_load_env() {
  # shellcheck disable=SC1091
  source "$1/cluster.env"
  E2E_CONTAINERD_PID=$(k8s_pid containerd)
}

# ---------------------------------------------------------------------------------------------
# Start and stop

# The node's address: kubelet refuses a loopback node IP ("nodeIP can't be loopback address"),
# so the Node's InternalIP (and the pods' IP: host network) is the machine's own address, the
# source of its default route (else its first global IPv4 address). Only the kubelet's API
# (client certificates of the run's CA, anonymous off) listens there; all else is on loopback.
k8s_node_ip() {
  local ip
  ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i+1); exit } }')
  [[ -n $ip ]] || ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
  [[ -n $ip ]] && echo "$ip"
}

k8s_start() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  local t0=$SECONDS p
  for p in openssl curl; do command -v $p >/dev/null || die "$p not installed (scripts/install-deps.sh)"; done
  k8s_find_peers
  K8S_CONTAINERD_VERSION=$("$K8S_CONTAINERD_BIN/containerd" --version | awk '{ print $3 }')
  E2E_DIR=$(mktemp -d /tmp/reaper-k8s.XXXX)
  chmod 0755 "$E2E_DIR"
  E2E_RUNID=$(printf '%s' "${E2E_DIR##*.}" | tr '[:upper:]' '[:lower:]')
  E2E_ADDR=$E2E_DIR/containerd/containerd.sock
  E2E_STATE=$E2E_DIR/containerd/state
  K8S_NODE=reaper-node-$E2E_RUNID
  K8S_NODE_IP=$(k8s_node_ip) || die "this machine has no global IPv4 address for the node (kubelet refuses a loopback node IP)"
  K8S_CGROUP_ROOT=/reaper-k8s-$E2E_RUNID
  K8S_CONTAINERD_CONFIG=$E2E_DIR/containerd/config.toml
  K8S_REAPER_CONFIG=$E2E_DIR/node/etc/reaper/reaper.toml
  mkdir -p "$E2E_DIR"/{pids,logs,data,bin,images,node/bin,tmp}
  # shellcheck disable=SC2046
  read -r K8S_API_PORT K8S_ETCD_PORT K8S_ETCD_PEER_PORT K8S_KUBELET_PORT K8S_KUBELET_HEALTHZ_PORT <<<"$(k8s_ports 5)"
  log "Kubernetes test node in $E2E_DIR: kubernetes $(basename "$(dirname "$K8S_BIN")"), etcd $(basename "$(dirname "$K8S_ETCD_BIN")"), containerd $K8S_CONTAINERD_VERSION"
  k8s_make_pki
  k8s_write_env
  k8s_write_containerd_config
  cp "$K8S_CONTAINERD_CONFIG" "$E2E_DIR/containerd/config.toml.orig"   # before any install
  k8s_write_reaper_config
  k8s_write_kubelet_config
  k8s_save_sysctls
  [[ -d /var/log/containers ]] || touch "$E2E_DIR/created-var-log-containers"
  # every pod mounts its service-account token at /var/run/secrets/kubernetes.io/serviceaccount;
  # /run is the host's own inside Reaper's overlay (docs/configuration.md)
  [[ -e $K8S_SA_HOST_DIR ]] || touch "$E2E_DIR/no-host-sa-dir"
  [[ -e /run/secrets ]] || touch "$E2E_DIR/no-host-run-secrets"
  k8s_make_cgroups
  k8s_start_component etcd || die "etcd did not start"
  k8s_start_component apiserver || die "kube-apiserver did not start"
  k8s_start_component controller-manager
  k8s_start_component scheduler
  k8s_start_component containerd || die "containerd did not start"
  k8s_import_images
  k8s_start_component kubelet
  k8s_wait_kubelet || die "the kubelet did not register a Ready node"
  for p in "${K8S_SYSCTLS[@]}"; do echo "$p $(cat "/proc/sys/$p")"; done >"$E2E_DIR/sysctls.kubelet"
  if [[ ${K8S_STEPS:-} != *noreaper* ]]; then
    k8s_install_reaper
    wait_until 60 k8s_node_ready || die "node not Ready after the containerd restart"
  fi
  kc create namespace "$K8S_NS" >/dev/null
  wait_until 60 kc -n "$K8S_NS" get serviceaccount default >/dev/null 2>&1 ||
    die "no default ServiceAccount in $K8S_NS (controller-manager: logs/controller-manager.log)"
  log "cluster ready in $((SECONDS - t0)) s: node $K8S_NODE, API https://127.0.0.1:$K8S_API_PORT ($(k8s_env_file))"
}

# What this run left on the node, one line each (empty: clean). Used by k8s_stop and tests.
k8s_leftovers() {
  local p
  for p in $(k8s_marked_pids); do echo "process $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"; done
  for p in $(faults_shim_pids); do echo "shim $p"; done
  awk -v d="$E2E_DIR" 'index($5, d) == 1 { print "mount " $5 }' /proc/self/mountinfo
  for p in $(k8s_cgroup_procs); do echo "process $p in our cgroups"; done
  return 0
}

# Paths the run's pods created on the host's own filesystems (outside the overlay).
k8s_host_path_leftovers() {
  if [[ -f $E2E_DIR/no-host-sa-dir && -e $K8S_SA_HOST_DIR ]]; then
    echo "host path $K8S_SA_HOST_DIR (the mount point of the pods' service-account token, created on the host's /run)"
  fi
  return 0
}

# What kubelet's container garbage collection (once a minute) removes after a pod is gone:
# dead containers, their log symlinks in /var/log/containers, the pods' log directories.
k8s_gc_leftovers() {
  local d
  find /var/log/containers -maxdepth 1 -lname "$E2E_DIR/*" -printf 'log symlink /var/log/containers/%f\n' 2>/dev/null
  for d in "$E2E_DIR/pod-logs"/*; do [[ -e $d ]] && echo "pod log directory $d"; done
  E2E_CTR_TIMEOUT=10 ctrp containers ls -q 2>/dev/null | sed 's/^/container /'
  return 0
}
k8s_gc_clean() { [[ -z $(k8s_gc_leftovers) ]]; }

# The last test of a run: once kubelet's garbage collection has run, nothing of the run's
# pods is left on the node at all (k8s_node_clean plus k8s_gc_leftovers).
t_node_clean_after_gc() {
  kcn delete deployments,daemonsets,jobs --all --wait=true --timeout=120s >/dev/null 2>&1 || true
  kcn delete pods --all --wait=true --timeout=120s >/dev/null 2>&1 || true
  wait_until 60 k8s_node_clean || fail "left on the node: $(k8s_node_leftovers | awk 'NR <= 5 { printf "%s; ", $0 }')"
  wait_until 150 k8s_gc_clean ||
    fail "left after kubelet's garbage collection: $(k8s_gc_leftovers | awk 'NR <= 5 { printf "%s; ", $0 }')"
  assert_empty "$(k8s_host_path_leftovers)" "the pods changed the host"
}

k8s_stop() {
  local rc=$? name left
  [[ -n $E2E_DIR && -d $E2E_DIR ]] || return "$rc"
  set +e
  trap - ERR
  log "tearing down the test node"
  if k8s_alive apiserver && k8s_alive kubelet; then
    # pods first, through the API (kubelet stops them as it would on any node)
    kc delete namespace "$K8S_NS" --wait=false >/dev/null 2>&1
    kc delete pods --all -A --grace-period=1 --wait=false >/dev/null 2>&1
    wait_until 60 k8s_no_pods_on_node || log "teardown: pods still on the node after 60 s"
  fi
  for name in kubelet scheduler controller-manager; do k8s_stop_component "$name"; done
  if k8s_alive containerd; then
    E2E_CONTAINERD_PID=$(k8s_pid containerd)
    k8s_remove_all_containers
  fi
  for name in containerd apiserver etcd; do k8s_stop_component "$name"; done
  # shims and workloads of ours that outlived containerd (found by marker, signalled by pid)
  # shellcheck disable=SC2046
  kill_pids_deadline TERM 5 $(faults_shim_pids)
  # shellcheck disable=SC2046
  kill_pids_deadline KILL 5 $(k8s_marked_pids) $(k8s_cgroup_procs)
  left=$(k8s_leftovers | grep -v '^mount '; k8s_host_path_leftovers)
  find /var/log/containers -maxdepth 1 -lname "$E2E_DIR/*" -delete 2>/dev/null
  if [[ -f $E2E_DIR/created-var-log-containers ]]; then rmdir /var/log/containers 2>/dev/null; fi
  if [[ -f $E2E_DIR/no-host-sa-dir && -d $K8S_SA_HOST_DIR ]]; then
    rmdir "$K8S_SA_HOST_DIR/serviceaccount" "$K8S_SA_HOST_DIR" 2>/dev/null
    [[ ! -f $E2E_DIR/no-host-run-secrets ]] || rmdir /run/secrets 2>/dev/null
  fi
  k8s_restore_sysctls
  e2e_unmount_all
  k8s_remove_cgroups
  [[ -z $(k8s_cgroups_left) ]] || { left+=$'\n'"cgroups: $(k8s_cgroups_left | tr '\n' ' ')"; }
  e2e_remove_dir
  if [[ -n ${left//[[:space:]]/} ]]; then
    log "teardown found leftovers (removed now):"
    printf '%s\n' "$left" >&2
    (( rc != 0 )) || rc=1
  fi
  return "$rc"
}

k8s_no_pods_on_node() {
  [[ -z $(kc get pods -A --field-selector "spec.nodeName=$K8S_NODE" -o name 2>/dev/null) ]]
}

# Whatever containerd still has (after a kubelet that did not finish): removed through ctr.
k8s_remove_all_containers() {
  local id
  for id in $(E2E_CTR_TIMEOUT=10 ctrp task ls -q 2>/dev/null); do
    E2E_CTR_TIMEOUT=15 ctrp task kill -a -s SIGKILL "$id" >/dev/null 2>&1
    wait_until 15 task_is "$id" STOPPED
    E2E_CTR_TIMEOUT=15 ctrp task delete -f "$id" >/dev/null 2>&1
  done
  for id in $(E2E_CTR_TIMEOUT=10 ctrp containers ls -q 2>/dev/null); do
    E2E_CTR_TIMEOUT=15 ctrp containers delete "$id" >/dev/null 2>&1
  done
}

# The EXIT trap: teardown, and a failing exit status when it found leftovers.
k8s_install_trap() { trap 'k8s_stop; exit $?' EXIT; trap 'exit 130' INT TERM; }

# ---------------------------------------------------------------------------------------------
# Pods

# k8s_pod_yaml NAME RESTART_POLICY CONTAINERS_YAML [SPEC_EXTRA_YAML]: a Pod in the test
# namespace on runtimeClassName reaper-v2 (K8S_RUNTIME_CLASS="" for runc) with hostNetwork,
# labels from K8S_POD_LABELS (a YAML flow map) if set.
# CONTAINERS_YAML: list items at indent 2 ("  - name: ..."); use k8s_container for them.
K8S_RUNTIME_CLASS=${K8S_RUNTIME_CLASS-reaper-v2}
k8s_pod_yaml() {
  local name=$1 policy=$2 containers=$3 extra=${4:-}
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$K8S_NS"
  [[ -z ${K8S_POD_LABELS:-} ]] || printf '  labels: %s\n' "$K8S_POD_LABELS"
  printf 'spec:\n'
  [[ -z $K8S_RUNTIME_CLASS ]] || printf '  runtimeClassName: %s\n' "$K8S_RUNTIME_CLASS"
  printf '  hostNetwork: true\n  restartPolicy: %s\n  terminationGracePeriodSeconds: 2\n' "$policy"
  [[ -z $extra ]] || printf '%s\n' "$extra"
  printf '  containers:\n%s\n' "$containers"
}

# k8s_container NAME SHELL_CMD [EXTRA_YAML at indent 4]: a container running `sh -c CMD` with
# the run's marker in its environment (leftover processes are found by it).
k8s_container() {
  local name=$1 cmd=$2 extra=${3:-}
  cmd=${cmd//\\/\\\\}
  cmd=${cmd//\"/\\\"}
  printf '  - name: %s\n    image: %s\n    command: ["/bin/sh", "-c", "%s"]\n    env:\n    - {name: E2E_MARK, value: "%s"}\n' \
    "$name" "$E2E_IMAGE" "$cmd" "$E2E_DIR"
  [[ -z $extra ]] || printf '%s\n' "$extra"
}

# Processes of this run's pods (E2E_MARK=<temp dir> in their environment), one grep over /proc
# (never failing: processes vanish while it reads).
k8s_marked_pids() {
  { grep -lsazxF -- "E2E_MARK=$E2E_DIR" /proc/[0-9]*/environ 2>/dev/null || true; } |
    awk -F/ -v me="$$" -v sub_="${BASHPID:-}" '$3 != me && $3 != sub_ { print $3 }'
}

# k8s_marked_cmd_running "CMD ARGS": a process of this run's pods has exactly this argv.
k8s_marked_cmd_running() {
  local p
  for p in $(k8s_marked_pids); do
    [[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == "$1 " ]] && return 0
  done
  return 1
}

# k8s_apply YAML: kubectl apply of a manifest given as a string.
k8s_apply() { kc apply -f - <<<"$1" >/dev/null; }

# k8s_jp KIND/NAME JSONPATH: one field of a test-namespace object.
k8s_jp() { kcn get "$1" -o "jsonpath=$2" 2>/dev/null; }
k8s_phase_is() { [[ $(k8s_jp "pod/$1" '{.status.phase}') == "$2" ]]; }
# k8s_wait_phase POD PHASE [DEADLINE]
k8s_wait_phase() { assert_wait "${3:-90}" "pod $1 phase $2 (is: $(k8s_jp "pod/$1" '{.status.phase}'))" k8s_phase_is "$1" "$2"; }
k8s_ready_is() { [[ $(k8s_jp "pod/$1" '{.status.conditions[?(@.type=="Ready")].status}') == "$2" ]]; }
# k8s_cstate POD CONTAINER FIELD: a field of a container's status (restartCount, ready, state...)
k8s_cstatus() { k8s_jp "pod/$1" "{.status.containerStatuses[?(@.name==\"$2\")].$3}"; }

# k8s_event_for POD REASON: the messages of the pod's events with that reason.
k8s_event_for() {
  kcn get events --field-selector "involvedObject.name=$1,reason=$2" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null
}
k8s_has_event() { [[ $(k8s_event_for "$1" "$2") == *"$3"* ]]; }

# k8s_delete_pod NAME...: delete and wait until the objects are gone.
k8s_delete_pod() { kcn delete pod "$@" --wait=true --timeout=90s >/dev/null; }

# Tests `track` pod names (or KIND/NAME of other objects, e.g. deployment/web); the per-test
# safety net deletes them (pods: force, no grace).
cleanup_container() {
  if [[ $1 == */* ]]; then
    kcn delete "$1" --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1 || echo "cleanup $1 failed" >&2
  else
    kcn delete pod "$1" --grace-period=0 --force --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1 ||
      echo "cleanup pod $1 failed" >&2
  fi
  return 0
}
e2e_cleanup_all_containers() { :; }

# k8s_out_is EXPECTED CMD...: the command's output is EXPECTED (for assert_wait: the command runs
# on every try).
k8s_out_is() { local want=$1; shift; [[ $("$@" 2>/dev/null) == "$want" ]]; }
k8s_waiting_reason_is() { [[ $(k8s_cstatus "$1" "$2" state.waiting.reason) == "$3" ]]; }
k8s_restarts_at_least() { local n; n=$(k8s_cstatus "$1" "$2" restartCount); (( ${n:-0} >= $3 )); }

# k8s_shim_socket_of CONTAINER_ID: the path of the socket of the shim serving the container
# (from its bundle's address file; "containerd://" prefix allowed).
k8s_shim_socket_of() {
  local addr
  addr=$(cat "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/${1#containerd://}/address" 2>/dev/null) || return 1
  echo "${addr#unix://}"
}

# k8s_node_clean: the node has nothing of this run's pods (call it once the test's pods are
# gone; every test deletes its pods): no marked process, no shim, no container bundle, no
# pod volume mount, no kubelet pod directory or pod cgroup, no Reaper tracking cgroup, no
# container registered in an overlay group. (Log files: k8s_gc_leftovers.)
k8s_node_clean() { [[ -z $(k8s_node_leftovers) ]]; }
# k8s_assert_node_clean DEADLINE WHAT: waits for k8s_node_clean, fails with what is left.
k8s_assert_node_clean() {
  wait_until "$1" k8s_node_clean || fail "$2: left on the node after $1 s: $(k8s_node_leftovers | awk 'NR <= 5 { printf "%s; ", $0 }')"
}
k8s_node_leftovers() {
  local d cg2
  k8s_leftovers | awk '!/^mount / || /\/kubelet\/root\/pods\//'
  for d in "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io"/* "$E2E_DIR/kubelet/root/pods"/*; do
    [[ -e $d ]] && echo "directory $d"
  done
  cg2=$(cgroup2_root)$K8S_CGROUP_ROOT/reaper
  for d in $(k8s_cgroups_left); do
    case $d in
      */kubepods/*/pod* | */kubepods/pod*) echo "pod cgroup $d" ;;
      "$cg2"/*/*) echo "Reaper cgroup $d" ;;
    esac
  done
  REAPER_CONFIG=$K8S_REAPER_CONFIG "$E2E_DIR/node/bin/reaper-overlay" list 2>/dev/null |
    awk 'NR > 1 && $3 != 0 { print "overlay group " $1 " has " $3 " containers" }'
  return 0
}
