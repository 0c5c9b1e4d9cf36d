# shellcheck shell=bash
# End-to-end test library for containerd-shim-reaper-v2.
#
# Source this file; it never touches the system containerd: every ctr call
# goes through `ctrp`, which talks to a PRIVATE containerd started by
# e2e_start_containerd in a fresh /tmp/reaper-e2e.XXXX directory.
#
# Environment knobs:
#   RUNTIME          runtime under test (default io.containerd.reaper.v2;
#                    io.containerd.runc.v2 validates the harness with runc)
#   REAPER_BIN_DIR   directory holding containerd-shim-reaper-v2, prefixed to
#                    containerd's PATH (default <repo>/build)
#   E2E_CTR_TIMEOUT  seconds after which a ctr call is killed (default 60)
#   REAPER_CONTAINERD  containerd release of the private containerd: 1.6 (Debian's package on
#                    PATH), 2.0, 2.2, 2.3 or 2.4 (containerd, ctr and runc's shim of the release
#                    pinned in tests/peers/versions.env, built once by tests/peers/build.sh and
#                    put first on PATH), or main (CONTAINERD_MAIN there). Default 1.6 for the
#                    scripts that source this file; the suites' runners (tests/e2e/run.sh,
#                    tests/cri/run.sh, tests/matrix, tests/critest, bench) default to main.
#   E2E_KEEP         if 1, keep the temp dir (logs) after the run
#   E2E_VERBOSE      if 1, print each test's log even when it passes

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
RUNTIME=${RUNTIME:-io.containerd.reaper.v2}
REAPER_BIN_DIR=${REAPER_BIN_DIR:-$REPO/build}
E2E_NS=reaper-e2e
E2E_IMAGE=docker.io/library/reaper-test:latest
E2E_CTR_TIMEOUT=${E2E_CTR_TIMEOUT:-60}
SHIM_SOCK_DIR=/run/containerd/s
E2E_PEERS_BUILD=$REPO/tests/peers/build.sh

E2E_DIR=""            # temp dir of this run
E2E_ADDR=""           # private containerd gRPC socket
E2E_STATE=""          # private containerd state dir
E2E_CONTAINERD_PID="" # pid of the private containerd
E2E_RUNID=""          # short unique token used in container ids
E2E_CONTAINERD_SERIES="" # 1.6, 2.0, 2.2, 2.3 or 2.4, set by e2e_select_containerd
E2E_CONTAINERD_VERSION="" # e.g. 2.3.7
E2E_CONFIG_VERSION=""  # the config version that release expects: 2, 3 or 4
E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_TESTS=()          # registered "name fn" pairs

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

is_reaper() { [[ $RUNTIME == io.containerd.reaper.v2 ]]; }
is_runc() { [[ $RUNTIME == io.containerd.runc.v2 ]]; }

# ---------------------------------------------------------------------------
# ctr wrapper: private socket, private namespace, bounded run time.
# E2E_CTR_TIMEOUT=0 disables the bound (used for `ctr events`).
ctrp() {
  [[ -n $E2E_ADDR ]] || die "ctrp called before e2e_start_containerd"
  timeout -k 5 "$E2E_CTR_TIMEOUT" \
    ctr --address "$E2E_ADDR" --namespace "$E2E_NS" "$@"
}

# ---------------------------------------------------------------------------
# Polling helpers (bounded, never a fixed sleep).

# wait_until <deadline-seconds> <command...>: retry the command until it
# succeeds; returns 1 if the deadline passes first.
wait_until() {
  local deadline=$1 end
  shift
  end=$(( $(date +%s%N) + deadline * 1000000000 ))
  while :; do
    if "$@"; then return 0; fi
    (( $(date +%s%N) < end )) || return 1
    sleep 0.1
  done
}

# wait_pid_exit <deadline-seconds> <pid>: true once the process is gone.
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
wait_pid_exit() { wait_until "$1" pid_gone "$2"; }

# ---------------------------------------------------------------------------
# Process discovery (always by PID, scoped to this run's temp dir).

# proc_has <pid> <file> <needle>: /proc/<pid>/<file> (NUL separated) contains needle.
proc_has() { grep -qasF -- "$3" "/proc/$1/$2" 2>/dev/null; }

# Shim processes of our containerd: executable named containerd-shim-* whose
# argv (-address) or environment (TTRPC_ADDRESS) mentions our temp dir.
e2e_shim_pids() {
  [[ -n $E2E_DIR ]] || return 0
  local f p exe
  # one grep over every process (a fork per process is slow on a busy machine), then the
  # few candidates are checked one by one
  while read -r f; do
    p=${f#/proc/}; p=${p%%/*}
    [[ $p == "$E2E_CONTAINERD_PID" ]] && continue
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    exe=${exe##*/}
    [[ $exe == containerd-shim* ]] || continue
    if proc_has "$p" cmdline "$E2E_DIR" || proc_has "$p" environ "TTRPC_ADDRESS=$E2E_DIR"; then
      echo "$p"
    fi
  # (a /proc entry that vanishes mid-scan makes grep exit 2: not an error here)
  done < <({ grep -lasF -- "$E2E_DIR" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null || true; } |
           sort -u -t/ -k3,3n)
}
e2e_shim_count() { e2e_shim_pids | wc -l; }
no_shims_left() { [[ -z $(e2e_shim_pids) ]]; }

# Workload processes started by this run: ctr_run adds E2E_MARK=<dir> to env.
e2e_marked_pids() {
  [[ -n $E2E_DIR ]] || return 0
  local f p
  while read -r f; do
    p=${f#/proc/}; p=${p%%/*}
    [[ $p == "$$" || $p == "${BASHPID:-}" ]] && continue
    echo "$p"
  done < <(grep -lasF -- "E2E_MARK=$E2E_DIR" /proc/[0-9]*/environ 2>/dev/null || true)
  return 0
}

# Zombies whose parent is containerd or one of our shims.
e2e_zombies() {
  local parents p stat state ppid
  parents=" $E2E_CONTAINERD_PID $(e2e_shim_pids | tr '\n' ' ') "
  for p in /proc/[0-9]*; do
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    stat=${stat##*) }            # strip "pid (comm) "
    state=${stat%% *}
    ppid=${stat#* }; ppid=${ppid%% *}
    if [[ $state == Z && $parents == *" $ppid "* ]]; then
      echo "${p#/proc/} (ppid $ppid)"
    fi
  done
  return 0
}

# The cgroup2 mount point (Reaper tracks processes in <it>/reaper/<namespace>/<id>).
cgroup2_root() { awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo; }

# The node's mounts, without those of OTHER test runs on the machine (their temp dirs appear
# and vanish while we run; CI runs one suite at a time, a developer machine may not).
e2e_node_mounts() {
  awk -v d="$E2E_DIR" '{ for (i = 4; i <= 5; i++) if (index($i, "/tmp/reaper-") == 1 && index($i, d) != 1) next; print $5 }' \
    /proc/self/mountinfo | sort
}

shim_socket_list() {
  find "$SHIM_SOCK_DIR" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true
}

# bundle dirs left in the private state dir for our namespace
e2e_bundles() { ls -1A "$E2E_STATE/io.containerd.runtime.v2.task/$E2E_NS" 2>/dev/null || true; }

kill_pids_deadline() { # <signal-first> <deadline> pid...
  local sig=$1 deadline=$2 p
  shift 2
  [[ $# -gt 0 ]] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  for p in "$@"; do
    wait_pid_exit "$deadline" "$p" || kill -KILL "$p" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------
# containerd release (REAPER_CONTAINERD).

# e2e_containerd_series [WANT]: the release series REAPER_CONTAINERD (or WANT) names.
e2e_containerd_series() {
  local want=${1:-${REAPER_CONTAINERD:-1.6}}
  if [[ $want == main ]]; then
    want=$(sed -n 's/^CONTAINERD_MAIN=//p' "$REPO/tests/peers/versions.env")
  fi
  case $want in
    1.6 | 2.0 | 2.2 | 2.3 | 2.4) echo "$want" ;;
    *) die "REAPER_CONTAINERD='$want': expected 1.6, 2.0, 2.2, 2.3, 2.4 or main" ;;
  esac
}

# e2e_select_containerd: picks the binaries of REAPER_CONTAINERD once per process. For 2.x it
# builds them if missing (tests/peers/build.sh, cached) and puts their directory first on PATH
# (exported), so containerd, ctr and containerd-shim-runc-v2 are that release's everywhere: in
# the tests, in containerd's own lookup of runc's shim, in restarts. Sets E2E_CONTAINERD_SERIES,
# E2E_CONTAINERD_VERSION and E2E_CONFIG_VERSION (the release's own config version: 2 for 1.6,
# 3 for 2.0-2.2, 4 from 2.3).
e2e_select_containerd() {
  [[ -z $E2E_CONTAINERD_SERIES ]] || return 0
  local series bindir v
  series=$(e2e_containerd_series) || exit 1
  case $series in
    1.6)
      command -v containerd >/dev/null || die "containerd not installed (scripts/install-deps.sh)"
      E2E_CONFIG_VERSION=2
      ;;
    *)
      bindir=$("$E2E_PEERS_BUILD" --path "containerd-$series") ||
        die "cannot build containerd $series (tests/peers/build.sh --path containerd-$series)"
      [[ -x $bindir/containerd && -x $bindir/ctr ]] || die "no containerd/ctr in $bindir"
      PATH=$bindir:$PATH
      export PATH
      case $series in 2.0 | 2.2) E2E_CONFIG_VERSION=3 ;; *) E2E_CONFIG_VERSION=4 ;; esac
      ;;
  esac
  v=$(containerd --version 2>/dev/null | awk '{ print $3 }')
  v=${v#v} v=${v%%[+~]*}  # 2.3.7+unknown (module build), 1.6.20~ds1 (Debian)
  [[ $v == "$series".* ]] || die "REAPER_CONTAINERD=$series, but $(command -v containerd) is '$v'"
  E2E_CONTAINERD_SERIES=$series
  E2E_CONTAINERD_VERSION=$v
}

is_containerd_1x() { [[ $E2E_CONTAINERD_SERIES == 1.* ]]; }

# ---------------------------------------------------------------------------
# Private containerd.

# e2e_config_common [cri]: the part of a private containerd's config every suite shares, in the
# config version of the selected release (e2e_select_containerd). Without "cri" the CRI plugins
# are disabled.
e2e_config_common() {
  e2e_select_containerd
  local p plugins=()
  [[ ${1:-} == cri ]] || plugins=(io.containerd.grpc.v1.cri)
  if is_containerd_1x; then
    plugins+=(io.containerd.internal.v1.opt io.containerd.snapshotter.v1.aufs
      io.containerd.snapshotter.v1.btrfs io.containerd.snapshotter.v1.devmapper
      io.containerd.snapshotter.v1.zfs io.containerd.tracing.processor.v1.otlp
      io.containerd.internal.v1.tracing)
  else
    # 2.x: CRI is three plugins here; NRI would listen on the machine-wide
    # /var/run/nri/nri.sock; the other plugins are not used by the tests.
    [[ ${1:-} == cri ]] || plugins+=(io.containerd.cri.v1.runtime io.containerd.cri.v1.images
      io.containerd.podsandbox.controller.v1.podsandbox)
    plugins+=(io.containerd.nri.v1.nri io.containerd.internal.v1.opt
      io.containerd.snapshotter.v1.btrfs io.containerd.snapshotter.v1.devmapper
      io.containerd.snapshotter.v1.zfs io.containerd.snapshotter.v1.erofs
      io.containerd.snapshotter.v1.blockfile io.containerd.tracing.processor.v1.otlp
      io.containerd.internal.v1.tracing)
  fi
  printf 'version = %s\nroot = "%s"\nstate = "%s"\ntemp = "%s"\n' \
    "$E2E_CONFIG_VERSION" "$E2E_DIR/root" "$E2E_DIR/state" "$E2E_DIR/tmp"
  # 2.x reads the node's /etc/containerd/conf.d/*.toml unless imports says otherwise
  is_containerd_1x || printf 'imports = []\n'
  printf 'disabled_plugins = [\n'
  for p in "${plugins[@]}"; do printf '  "%s",\n' "$p"; done
  printf ']\n'
  if (( E2E_CONFIG_VERSION < 4 )); then
    cat <<EOF

[grpc]
  address = "$E2E_ADDR"

[ttrpc]
  address = "$E2E_ADDR.ttrpc"

[debug]
  address = "$E2E_DIR/debug.sock"
  level = "debug"
EOF
  else  # version 4: the servers are plugins
    cat <<EOF

[debug]
  level = "debug"

[plugins."io.containerd.server.v1.grpc"]
  address = "$E2E_ADDR"

[plugins."io.containerd.server.v1.ttrpc"]
  address = "$E2E_ADDR.ttrpc"

[plugins."io.containerd.server.v1.debug"]
  address = "$E2E_DIR/debug.sock"
EOF
  fi
}

e2e_write_config() { e2e_config_common >"$E2E_DIR/config.toml"; }

# Copy the shim binaries into <tmp>/bin (put first in containerd's PATH) so
# that a rebuild of $REAPER_BIN_DIR during the run cannot break it.
e2e_snapshot_shim() {
  local f
  mkdir -p "$E2E_DIR/bin"
  for f in "$REAPER_BIN_DIR"/containerd-shim-*; do
    [[ -f $f && -x $f ]] || continue
    cp "$f" "$E2E_DIR/bin/.tmp" && mv "$E2E_DIR/bin/.tmp" "$E2E_DIR/bin/${f##*/}"
  done
}

containerd_answers() { E2E_CTR_TIMEOUT=5 ctrp version >/dev/null 2>&1; }

e2e_start_containerd() {
  e2e_select_containerd
  E2E_DIR=$(mktemp -d /tmp/reaper-e2e.XXXX)
  E2E_RUNID=${E2E_DIR##*.}
  E2E_RUNID=$(printf '%s' "$E2E_RUNID" | tr '[:upper:]' '[:lower:]')
  E2E_ADDR=$E2E_DIR/containerd.sock
  E2E_STATE=$E2E_DIR/state
  mkdir -p "$E2E_DIR/tmp" "$E2E_DIR/logs" "$E2E_DIR/data"
  e2e_write_config
  # The Reaper node config: overlay groups and their state live in the temp dir;
  # E2E_REAPER_CONFIG_EXTRA (e.g. bench/timeline.sh's "clone_into_cgroup = false") is added.
  printf 'state_root = "%s"\n%s\n' "$E2E_DIR/reaper" "${E2E_REAPER_CONFIG_EXTRA:-}" >"$E2E_DIR/reaper.toml"
  e2e_snapshot_shim
  log "private containerd $E2E_CONTAINERD_VERSION (config version $E2E_CONFIG_VERSION) in $E2E_DIR (runtime $RUNTIME, shim from $REAPER_BIN_DIR)"
  # cwd = temp dir so that ./containerd-shim-* lookups cannot hit the repo.
  (cd "$E2E_DIR" && PATH="$E2E_DIR/bin:$PATH" REAPER_CONFIG="$E2E_DIR/reaper.toml" \
      exec containerd --config "$E2E_DIR/config.toml" \
      >"$E2E_DIR/containerd.log" 2>&1 </dev/null) &
  E2E_CONTAINERD_PID=$!
  if ! wait_until 30 containerd_answers; then
    tail -n 30 "$E2E_DIR/containerd.log" >&2 || true
    die "private containerd did not answer within 30s"
  fi
  kill -0 "$E2E_CONTAINERD_PID" 2>/dev/null || die "containerd exited"
  log "containerd pid $E2E_CONTAINERD_PID ready"
}

e2e_unmount_all() {
  # deepest mount points first; field 5 of mountinfo is the mount point
  local mp
  awk -v d="$E2E_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r mp; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "cannot unmount $mp"
    done
}

# Best effort, bounded: remove every task/container left in our namespace
# (e.g. after Ctrl-C) while containerd still runs, so runc's state and the
# cgroups are cleaned up properly.
e2e_cleanup_all_containers() {
  local id ids
  ids=$( { E2E_CTR_TIMEOUT=10 ctrp task ls -q; E2E_CTR_TIMEOUT=10 ctrp containers ls -q; } 2>/dev/null | sort -u)
  for id in $ids; do
    log "teardown: removing leftover container $id"
    E2E_CTR_TIMEOUT=15 cleanup_container "$id"
  done
}

# runc keeps per-container state in /run/containerd/runc/<ns>/<id> (shared
# by all containerds); if containerd died before deleting our tasks, remove
# the entries of this run only (ids carry the unique run token).
e2e_runc_state_cleanup() {
  local root=/run/containerd/runc/$E2E_NS d
  [[ -n $E2E_RUNID && -d $root ]] && command -v runc >/dev/null || return 0
  for d in "$root"/e2e-"$E2E_RUNID"-*; do
    [[ -e $d ]] || continue
    timeout 10 runc --root "$root" delete --force "${d##*/}" >/dev/null 2>&1 || true
  done
  rmdir "$root" 2>/dev/null || true
}

# The shim sockets of this run that nothing listens on any more (a shim killed by the
# teardown, or one that exits without unlinking — runc's grouped shim on 2.3 does): their
# addresses are in this containerd's own log ("connecting to shim … address=unix://…", 2.x),
# so only sockets of our own shims are ever removed.
e2e_remove_dead_sockets() {
  local log=$E2E_DIR/containerd.log listening s
  [[ -f $log ]] || return 0
  listening=$(ss -xl 2>/dev/null | awk '{ print $5 }')
  for s in $(grep -oE "unix://$SHIM_SOCK_DIR/[0-9a-f]{64}" "$log" | sed 's|^unix://||' | sort -u); do
    [[ -S $s ]] || continue
    grep -qxF "$s" <<<"$listening" && continue
    rm -f "$s"
  done
}

# A test that restarted containerd (tests/cri/faults_lib.sh) left the new pid in this file.
e2e_reload_containerd_pid() {
  if [[ -s $E2E_DIR/containerd.pid ]]; then E2E_CONTAINERD_PID=$(<"$E2E_DIR/containerd.pid"); fi
}

e2e_stop_containerd() {
  local rc=$?
  [[ -n $E2E_DIR && -d $E2E_DIR ]] || return "$rc"
  set +e
  if [[ -n ${E2E_EVENTS_PID:-} ]]; then kill_pids_deadline TERM 5 "$E2E_EVENTS_PID"; fi
  e2e_reload_containerd_pid
  if [[ -n $E2E_CONTAINERD_PID ]]; then
    if kill -0 "$E2E_CONTAINERD_PID" 2>/dev/null; then e2e_cleanup_all_containers; fi
    kill_pids_deadline TERM 10 "$E2E_CONTAINERD_PID"
    wait "$E2E_CONTAINERD_PID" 2>/dev/null
  fi
  # shims first (they may restart nothing once containerd is gone), then
  # workloads of ours that escaped (reaper runs them on the host).
  # shellcheck disable=SC2046
  kill_pids_deadline TERM 5 $(e2e_shim_pids)
  # shellcheck disable=SC2046
  kill_pids_deadline KILL 5 $(e2e_marked_pids)
  e2e_runc_state_cleanup
  e2e_remove_dead_sockets
  e2e_remove_dir
  return "$rc"
}

# Unmounts everything below the run's temp dir and removes it (kept with E2E_KEEP=1).
e2e_remove_dir() {
  e2e_unmount_all
  if [[ ${E2E_KEEP:-0} == 1 ]]; then
    log "keeping $E2E_DIR (E2E_KEEP=1)"
  else
    rm -rf "$E2E_DIR"
  fi
  E2E_DIR=""
}

e2e_install_trap() { trap e2e_stop_containerd EXIT; trap 'exit 130' INT TERM; }

# ---------------------------------------------------------------------------
# A tiny OCI image built by hand: busybox-static plus applet symlinks.

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

oci_arch() {
  case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    armv7l) echo arm ;;
    *) uname -m ;;
  esac
}

# put_blob <file>: move file into blobs/sha256, print its digest
put_blob() {
  local layout=$1 file=$2 d
  d=$(sha256_of "$file")
  mv "$file" "$layout/blobs/sha256/$d"
  echo "$d"
}

# e2e_build_image_tarball OUT [NAME [CMD-JSON]]: the image as an OCI archive, named NAME
# (default $E2E_IMAGE), with command CMD-JSON (default ["/bin/sh"]).
e2e_build_image_tarball() {
  local out=$1 name=${2:-$E2E_IMAGE} cmd=${3:-'["/bin/sh"]'} work layout rootfs bb arch diffid ldig lsize cdig csize mdig msize a
  bb=$(command -v busybox) || die "busybox-static not installed"
  work=$(mktemp -d "$E2E_DIR/img.XXXX")
  layout=$work/layout rootfs=$work/rootfs
  mkdir -p "$layout/blobs/sha256" "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" \
    "$rootfs/dev" "$rootfs/sys"
  chmod 1777 "$rootfs/tmp"
  cp "$bb" "$rootfs/bin/busybox"
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$work/layer.tar" .
  diffid=$(sha256_of "$work/layer.tar")
  gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
  lsize=$(stat -c %s "$work/layer.tar.gz")
  ldig=$(put_blob "$layout" "$work/layer.tar.gz")
  arch=$(oci_arch)

  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"reaper e2e lib.sh"}]}' \
    "$arch" "$cmd" "$diffid" >"$work/config.json"
  csize=$(stat -c %s "$work/config.json")
  cdig=$(put_blob "$layout" "$work/config.json")

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$work/manifest.json"
  msize=$(stat -c %s "$work/manifest.json")
  mdig=$(put_blob "$layout" "$work/manifest.json")

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
    "$mdig" "$msize" "$arch" "$name" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  tar -C "$layout" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out" .
  rm -rf "$work"
}

e2e_build_image() {
  local tarball=$E2E_DIR/reaper-test-oci.tar
  [[ -f $tarball ]] || e2e_build_image_tarball "$tarball"
  ctrp images import --all-platforms "$tarball" >"$E2E_DIR/logs/image-import.log" 2>&1 ||
    { cat "$E2E_DIR/logs/image-import.log" >&2; die "ctr images import failed"; }
  ctrp images ls -q | grep -qxF "$E2E_IMAGE" || die "image $E2E_IMAGE not listed after import"
  log "image $E2E_IMAGE imported"
}

# ---------------------------------------------------------------------------
# Container helpers used by tests.

# cid <name>: container id unique to this run (runc's state root
# /run/containerd/runc/<ns> is shared between containerds on the machine).
cid() { echo "e2e-$E2E_RUNID-$1"; }

# Record a container for the safety-net cleanup done after each test.
track() { [[ -z ${E2E_TRACK_FILE:-} ]] || echo "$1" >>"$E2E_TRACK_FILE"; }

# ctr_run [ctr-run-options...] -- <id> <cmd...>
# Runs `ctr run` with the runtime under test and the test image; tags the
# workload's environment with E2E_MARK so leftovers can be found by PID.
ctr_run() {
  local opts=()
  while [[ $# -gt 0 && $1 != -- ]]; do opts+=("$1"); shift; done
  [[ ${1:-} == -- ]] && shift
  local id=$1
  shift
  track "$id"
  ctrp run --runtime "$RUNTIME" --env "E2E_MARK=$E2E_DIR" "${opts[@]}" "$E2E_IMAGE" "$id" "$@"
}

task_status() { ctrp task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { ctrp task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
task_is() { [[ $(task_status "$1") == "$2" ]]; }
task_absent() { [[ -z $(task_status "$1") ]]; }
container_absent() { ! ctrp containers ls -q 2>/dev/null | awk -v id="$1" '$0 == id { f = 1 } END { exit !f }'; }

# cleanup_container <id>: SIGKILL, wait for STOPPED, delete task and container.
# Never fails, never hangs.
cleanup_container() {
  local id=$1 out
  if ! task_absent "$id"; then
    out=$(ctrp task kill -a -s SIGKILL "$id" 2>&1) ||
      out=$(ctrp task kill -s SIGKILL "$id" 2>&1) || echo "cleanup $id: kill: $out" >&2
    wait_until 20 task_is "$id" STOPPED || echo "cleanup $id: task not STOPPED after 20s" >&2
    out=$(ctrp task delete "$id" 2>&1) || out=$(ctrp task delete -f "$id" 2>&1) ||
      echo "cleanup $id: task delete: $out" >&2
  fi
  if ! container_absent "$id"; then
    out=$(ctrp container delete "$id" 2>&1) || echo "cleanup $id: container delete: $out" >&2
  fi
  return 0
}

# ---------------------------------------------------------------------------
# Assertions. They print the reason to stderr and exit the test subshell.

fail() {
  local msg="$*"
  echo "ASSERTION FAILED: $msg" >&2
  [[ -z ${E2E_REASON_FILE:-} ]] || [[ -s $E2E_REASON_FILE ]] || echo "$msg" >"$E2E_REASON_FILE"
  exit 1
}

skip() {
  [[ -z ${E2E_REASON_FILE:-} ]] || echo "$*" >"$E2E_REASON_FILE"
  exit 77
}

assert_eq() { # expected actual msg
  [[ $1 == "$2" ]] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_ne() { # unexpected actual msg
  [[ $1 != "$2" ]] || fail "${3:-values equal}: did not expect '$2'"
}

assert_contains() { # haystack needle msg
  [[ $1 == *"$2"* ]] || fail "${3:-missing substring}: '$2' not in '$(printf '%s' "$1" | head -c 400)'"
}

assert_match() { # haystack ERE msg
  printf '%s' "$1" | grep -Eqi -- "$2" ||
    fail "${3:-no match}: /$2/ not in '$(printf '%s' "$1" | head -c 400)'"
}

assert_empty() { # value msg
  [[ -z $1 ]] || fail "${2:-expected empty}: got '$(printf '%s' "$1" | head -c 400)'"
}

assert_wait() { # deadline msg command...
  local deadline=$1 msg=$2
  shift 2
  wait_until "$deadline" "$@" || fail "$msg (waited ${deadline}s for: $*)"
}

# ---------------------------------------------------------------------------
# Test registry.

# e2e_load_tests FILES... [-- ARGS...]: sources the test files (root required); with -l or
# --list as the first ARG prints the registered test names and exits.
e2e_load_tests() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  local f
  while (( $# )) && [[ $1 != -- ]]; do
    # shellcheck disable=SC1090
    source "$1"
    shift
  done
  [[ ${1:-} == -- ]] && shift
  if [[ ${1:-} == -l || ${1:-} == --list ]]; then
    for f in "${E2E_TESTS[@]}"; do echo "${f%% *}"; done
    exit 0
  fi
}

register_test() { E2E_TESTS+=("$1 $2"); }

# ERR trap of a test subshell: record the failing command and the call stack.
e2e_err_trap() {
  local rc=$1 cmd=$2 i where=""
  for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
    [[ ${FUNCNAME[i]} == run_test ]] && break
    where+="${FUNCNAME[i]}:${BASH_LINENO[i-1]} < "
  done
  [[ -s $E2E_REASON_FILE ]] ||
    echo "command failed (rc=$rc) in ${where% < }: $cmd" >"$E2E_REASON_FILE"
}

# run_test <name> <fn>: run fn in a subshell with errexit; catch failure
# without aborting the suite; print PASS/FAIL/SKIP; safety-net cleanup.
run_test() {
  local name=$1 fn=$2 rc reason logf id
  logf=$E2E_DIR/logs/$name.log
  E2E_REASON_FILE=$E2E_DIR/logs/$name.reason
  E2E_TRACK_FILE=$E2E_DIR/logs/$name.containers
  : >"$E2E_REASON_FILE"
  : >"$E2E_TRACK_FILE"
  set +e
  (
    set -Eeuo pipefail
    trap 'e2e_err_trap $? "$BASH_COMMAND"' ERR
    "$fn"
  ) >"$logf" 2>&1 </dev/null
  rc=$?
  set -e
  e2e_reload_containerd_pid
  while read -r id; do
    [[ -n $id ]] && cleanup_container "$id"
  done < <(sort -u "$E2E_TRACK_FILE")
  reason=$(head -n 1 "$E2E_REASON_FILE")
  case $rc in
    0) E2E_PASSED=$((E2E_PASSED + 1)); echo "PASS $name" ;;
    77) E2E_SKIPPED=$((E2E_SKIPPED + 1)); echo "SKIP $name: $reason" ;;
    *) E2E_FAILED=$((E2E_FAILED + 1)); echo "FAIL $name: ${reason:-exit status $rc}" ;;
  esac
  if [[ $rc != 0 && $rc != 77 ]] || [[ ${E2E_VERBOSE:-0} == 1 ]]; then
    tail -n 25 "$logf" | sed 's/^/    | /'
  fi
  E2E_REASON_FILE="" E2E_TRACK_FILE=""
  return 0
}

# run_registered [ERE...]: run every registered test whose name matches one
# of the patterns (all tests if none given).
run_registered() {
  local entry name fn pat match
  for entry in "${E2E_TESTS[@]}"; do
    name=${entry%% *} fn=${entry#* }
    match=$(( $# == 0 ))
    for pat in "$@"; do
      if [[ $name =~ $pat ]]; then match=1; fi
    done
    (( match )) && run_test "$name" "$fn"
  done
  return 0
}

# Prints the summary; returns non-zero if anything failed.
e2e_summary() {
  (( E2E_SKIPPED == 0 )) || echo "($E2E_SKIPPED skipped)"
  echo "$E2E_PASSED passed, $E2E_FAILED failed"
  (( E2E_FAILED == 0 ))
}
