#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted $... is expanded by the container's shell, on purpose
# End-to-end tests of reaper-runtime, the runc-compatible OCI runtime CLI (issue 6):
# driven by podman + conmon, and directly with hand-made bundles.
#
#   tests/oci/run.sh                  # all tests
#   tests/oci/run.sh 'podman_.*'      # only tests whose name matches an ERE
#   tests/oci/run.sh -l               # list test names
#
# Env: REAPER_BIN_DIR (default <repo>/build; reaper-runtime is copied from it at start),
# E2E_KEEP=1 (keep the temp dir: per-test logs, runtime argv log), E2E_VERBOSE=1,
# OCI_PODMAN_TIMEOUT (seconds a podman call may take, default 120).
#
# Everything lives in one private temp dir /tmp/reaper-oci.XXXX:
#   podman  --root/--runroot/--tmpdir, storage.conf (vfs), containers.conf (no default
#           ulimits, cgroupfs, file events, private network config dir, image copy dir);
#   runtime podman is given a wrapper script as --runtime. Podman passes no --root to the
#           runtime (runc's default would be used) and, through --runtime-flag, only to some
#           calls (the conmon exit command `podman container cleanup` drops it); neither
#           podman nor conmon pass the caller's environment to the runtime (only
#           PATH/XDG_RUNTIME_DIR/...). So the wrapper adds `--root <tmp>/runtime-root` and
#           REAPER_CONFIG=<tmp>/reaper.toml to EVERY call and logs its argv to
#           <tmp>/runtime-argv.log;
#   Reaper  <tmp>/reaper.toml: state_root = <tmp>/reaper (overlay groups) and cgroup_parent =
#           a private cgroup2 directory (removed at the end);
#   tmux    a private server (-S <tmp>/tmux.sock).
# The EXIT trap removes containers and images from the private podman root, deletes leftover
# runtime state, kills leftover processes by PID (conmon, podman cleanup, workloads tagged
# with E2E_MARK=<tmp> in their environment), kills and removes the private cgroups, unmounts
# every mount under the temp dir (deepest first) and removes it. The system podman storage,
# /run/reaper-runtime and /run/reaper are never touched; `podman load` runs in a private mount
# namespace with tmpfs over /var/tmp and /var/lib/containers, which podman 4.3 writes whatever
# its configuration says. No fixed sleeps: every wait polls a condition with a deadline.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$here/../e2e/lib.sh"   # assertions, wait_until, registry, image tarball builder

OCI_PODMAN_TIMEOUT=${OCI_PODMAN_TIMEOUT:-120}
OCI_IMAGE=$E2E_IMAGE
OCI_TOKEN=""        # lower-case unique token of this run (in names and ids)
OCI_RT_BIN=""       # the copied runtime binary
OCI_RT_WRAP=""      # the wrapper podman uses as --runtime
OCI_RT_ROOT=""      # the runtime --root the wrapper imposes (podman's containers)
OCI_CG=""           # private cgroup parent ("" if no cgroup2)
OCI_TMUX_SOCK=""
OCI_ETC_PROBE=""    # /etc/<unique> path the overlay test writes (must never exist on the host)

# ---------------------------------------------------------------------------
# Setup.

oci_cgroup2_mount() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
    /proc/self/mountinfo | head -n 1
}

oci_setup() {
  E2E_DIR=$(mktemp -d /tmp/reaper-oci.XXXX)
  OCI_TOKEN=$(printf '%s' "${E2E_DIR##*.}" | tr '[:upper:]' '[:lower:]')
  E2E_RUNID=$OCI_TOKEN
  mkdir -p "$E2E_DIR"/{bin,logs,data,podman/root,podman/runroot,podman/tmp,podman/imgtmp,podman/networks,runtime-root,direct}
  OCI_RT_BIN=$E2E_DIR/bin/reaper-runtime.bin
  OCI_RT_WRAP=$E2E_DIR/bin/reaper-runtime
  OCI_RT_ROOT=$E2E_DIR/runtime-root
  OCI_TMUX_SOCK=$E2E_DIR/tmux.sock
  OCI_ETC_PROBE=/etc/reaper-oci-probe-$OCI_TOKEN
  # A copy: build/ may be rebuilt while we run.
  cp "$REAPER_BIN_DIR/reaper-runtime" "$OCI_RT_BIN.tmp" && mv "$OCI_RT_BIN.tmp" "$OCI_RT_BIN"

  local cg2
  cg2=$(oci_cgroup2_mount)
  if [[ -n $cg2 ]]; then
    OCI_CG=$cg2/reaper-oci-test.$OCI_TOKEN
    printf 'state_root = "%s"\ncgroup_parent = "%s"\n' "$E2E_DIR/reaper" "$OCI_CG" >"$E2E_DIR/reaper.toml"
  else
    printf 'state_root = "%s"\ncgroup_parent = "none"\n' "$E2E_DIR/reaper" >"$E2E_DIR/reaper.toml"
  fi

  # The runtime podman and conmon call: every call gets our --root and node config.
  {
    echo '#!/bin/sh'
    printf 'printf "%%s\\n" "$*" >>%q\n' "$E2E_DIR/runtime-argv.log"
    printf 'REAPER_CONFIG=%q; export REAPER_CONFIG\n' "$E2E_DIR/reaper.toml"
    printf 'exec %q --root %q "$@"\n' "$OCI_RT_BIN" "$OCI_RT_ROOT"
  } >"$OCI_RT_WRAP"
  chmod +x "$OCI_RT_WRAP"

  cat >"$E2E_DIR/podman/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$E2E_DIR/podman/root"
runroot = "$E2E_DIR/podman/runroot"
EOF
  cat >"$E2E_DIR/podman/containers.conf" <<EOF
[containers]
default_ulimits = []

[network]
network_config_dir = "$E2E_DIR/podman/networks"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$E2E_DIR/podman/events.log"
image_copy_tmp_dir = "$E2E_DIR/podman/imgtmp"
tmp_dir = "$E2E_DIR/podman/tmp"
EOF
  export CONTAINERS_CONF=$E2E_DIR/podman/containers.conf
  export CONTAINERS_STORAGE_CONF=$E2E_DIR/podman/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$E2E_DIR/podman/registries.conf
  printf 'unqualified-search-registries = []\n' >"$CONTAINERS_REGISTRIES_CONF"
  pm_init
  log "private podman + reaper-runtime in $E2E_DIR (runtime copied from $REAPER_BIN_DIR)"
}

# pm <podman args...>: podman on the private storage with our runtime, bounded.
PM=()
pm_init() {
  PM=(env "TMPDIR=$E2E_DIR/podman/tmp" timeout -k 5 "$OCI_PODMAN_TIMEOUT" podman
      --root "$E2E_DIR/podman/root" --runroot "$E2E_DIR/podman/runroot"
      --tmpdir "$E2E_DIR/podman/tmp" --storage-driver vfs --cgroup-manager cgroupfs
      --events-backend file --runtime "$OCI_RT_WRAP")
}
pm() { (( ${#PM[@]} )) || die "pm before pm_init"; "${PM[@]}" "$@"; }

oci_load_image() {
  local tarball=$E2E_DIR/reaper-test-oci.tar
  e2e_build_image_tarball "$tarball"
  # podman 4.3 copies images through /var/tmp and records blobs in the machine-wide
  # /var/lib/containers/cache whatever its configuration says: load in a private mount
  # namespace where both are empty tmpfs, so the machine keeps no trace of the run.
  local hide=/var/lib
  [[ -d /var/lib/containers ]] && hide=/var/lib/containers
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=0700 oci-test "$1" && mount -t tmpfs -o mode=1777 oci-test /var/tmp && shift && exec "$@"' \
    sh "$hide" "${PM[@]}" load -i "$tarball" >"$E2E_DIR/logs/image-load.log" 2>&1 ||
    { cat "$E2E_DIR/logs/image-load.log" >&2; die "podman load failed"; }
  pm image exists "$OCI_IMAGE" || die "image $OCI_IMAGE not present after podman load"
  log "image $OCI_IMAGE loaded into the private podman storage"
}

# ---------------------------------------------------------------------------
# Teardown (EXIT trap). Best effort, bounded, never touches anything outside the temp dir
# except our private cgroup and the unique /etc probe path.

# oci_pids <cmdline|environ> <needle>: pids whose /proc/<pid>/<file> contains needle, except
# this shell. Builtins only (a fork per process makes a /proc scan take seconds).
oci_pids() {
  local p f a
  [[ -n $E2E_DIR ]] || return 0
  for p in /proc/[0-9]*; do
    f=$p/$1
    p=${p#/proc/}
    [[ $p == "$$" || $p == "${BASHPID:-}" ]] && continue
    a=()
    mapfile -d '' a 2>/dev/null <"$f" || continue
    [[ ${a[*]} == *"$2"* ]] && echo "$p"
  done
  return 0
}
# Processes whose argv mentions the temp dir (conmon, podman cleanup, tmux server, runtime).
oci_dir_pids() { oci_pids cmdline "$E2E_DIR"; }
# Workloads of this run (host processes): E2E_MARK=<tmp> in their environment.
oci_marked_pids() { oci_pids environ "E2E_MARK=$E2E_DIR"; }
oci_no_dir_pids() { [[ -z $(oci_dir_pids) ]]; }

oci_cgroup_teardown() {
  [[ -n $OCI_CG && -d $OCI_CG ]] || return 0
  local d p
  find "$OCI_CG" -depth -type d | while read -r d; do
    if [[ -e $d/cgroup.kill ]]; then
      echo 1 >"$d/cgroup.kill" 2>/dev/null || true
    else
      while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$d/cgroup.procs"
    fi
    wait_until 5 oci_cgroup_empty "$d" || log "cgroup $d still populated"
    rmdir "$d" 2>/dev/null || log "cannot remove cgroup $d"
  done
}
oci_cgroup_empty() { [[ ! -s $1/cgroup.procs ]]; }

oci_teardown() {
  local rc=$? id root d p
  [[ -n $E2E_DIR && -d $E2E_DIR ]] || return "$rc"
  set +e
  if [[ -S $OCI_TMUX_SOCK ]]; then tmux -S "$OCI_TMUX_SOCK" kill-server >/dev/null 2>&1; fi
  if (( ${#PM[@]} )); then
    OCI_PODMAN_TIMEOUT=60
    pm_init
    pm rm -af -t 0 >/dev/null 2>&1 || log "teardown: podman rm -af failed"
    pm rmi -af >/dev/null 2>&1 || log "teardown: podman rmi -af failed"
  fi
  # runtime state left behind (podman's and the direct tests' roots)
  for root in "$OCI_RT_ROOT" "$E2E_DIR"/direct/*/root "$E2E_DIR"/direct/*/nest/root; do
    [[ -d $root ]] || continue
    for d in "$root"/*; do
      [[ -d $d ]] || continue
      id=${d##*/}
      log "teardown: deleting leftover runtime state $id"
      REAPER_CONFIG=$E2E_DIR/reaper.toml timeout -k 5 20 "$OCI_RT_BIN" --root "$root" delete --force "$id" \
        >/dev/null 2>&1 || true
    done
  done
  # conmon / podman cleanup / tmux processes of this run, then workloads (host processes)
  if ! wait_until 10 oci_no_dir_pids; then
    for p in $(oci_dir_pids); do log "teardown: leftover pid $p: $(proc_cmdline "$p" | head -c 300)"; done
  fi
  # shellcheck disable=SC2046
  kill_pids_deadline TERM 5 $(oci_dir_pids)
  # shellcheck disable=SC2046
  kill_pids_deadline KILL 5 $(oci_marked_pids)
  oci_cgroup_teardown
  [[ -n $OCI_ETC_PROBE && -e $OCI_ETC_PROBE ]] && { log "teardown: removing leaked $OCI_ETC_PROBE"; rm -f "$OCI_ETC_PROBE"; }
  e2e_remove_dir
  return "$rc"
}

# ---------------------------------------------------------------------------
# Helpers for tests.

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
unique_sleep() { echo $(( 3000000 + (RANDOM << 8) + ($$ & 255) )); }
sleep_pids() { pgrep -f "^(/bin/|/usr/bin/)?sleep $1\$" || true; }
sleep_running() { [[ -n $(sleep_pids "$1") ]]; }
no_sleep() { [[ -z $(sleep_pids "$1") ]]; }

# gone or a zombie (orphans of the direct tests are reaped by pid 1, eventually)
proc_state() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; echo "${s%% *}"; }
proc_dead() { local s; s=$(proc_state "$1"); [[ -z $s || $s == Z || $s == X ]]; }
proc_ppid() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; s=${s#* }; echo "${s%% *}"; }
proc_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }
proc_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

json_valid() {
  if command -v jq >/dev/null; then jq -e . >/dev/null 2>&1
  elif command -v python3 >/dev/null; then python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null
  else local t; t=$(cat); [[ $t == \{*\} || $t == \[*\] ]]
  fi
}
# json_str <json> <key>: first string value of "key" (top-level keys we read are unique).
json_str() { printf '%s' "$1" | grep -o "\"$2\": *\"[^\"]*\"" | head -n 1 | sed 's/^[^:]*: *"//; s/"$//'; }
json_num() { printf '%s' "$1" | grep -o "\"$2\": *-\?[0-9]*" | head -n 1 | sed 's/^[^:]*: *//'; }

# json_array <words...>: a JSON array of strings (escapes \ and ").
json_array() {
  local out="" a
  for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//\"/\\\"}
    out+="${out:+,}\"$a\""
  done
  printf '[%s]' "$out"
}

# make_bundle <dir> <arg...>: a minimal bundle (empty rootfs, ignored by the runtime).
make_bundle() {
  local dir=$1
  shift
  mkdir -p "$dir/rootfs"
  cat >"$dir/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $(json_array "$@"),
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "E2E_MARK=$E2E_DIR", "OCI_TEST=$OCI_TOKEN"],
    "cwd": "/tmp"
  },
  "root": {"path": "rootfs"},
  "annotations": {"test.reaper/run": "$OCI_TOKEN"}
}
EOF
}

# Direct runtime calls: rtd <root> <args...> (bounded; REAPER_CONFIG = ours).
rtd() {
  local root=$1
  shift
  REAPER_CONFIG=$E2E_DIR/reaper.toml timeout -k 5 30 "$OCI_RT_BIN" --root "$root" "$@"
}

# A per-test directory with its own runtime root.
TD="" ROOT=""
test_dir() {
  TD=$E2E_DIR/direct/$1
  ROOT=$TD/root
  mkdir -p "$TD"
}

# rt_create <id> <bundle>: create with the container's stdio on files in $TD (the created
# process keeps them: never a pipe we would wait on). stdin: $TD/<id>.in if it exists.
rt_create() {
  local id=$1 bundle=$2 in=/dev/null
  [[ -e $TD/$id.in ]] && in=$TD/$id.in
  rtd "$ROOT" create --bundle "$bundle" "$id" <"$in" >"$TD/$id.out" 2>"$TD/$id.err"
}

rt_status() { json_str "$(rtd "$ROOT" state "$1" 2>/dev/null)" status; }
rt_status_is() { [[ $(rt_status "$1") == "$2" ]]; }
root_empty() { [[ -z $(ls -A "$1" 2>/dev/null) ]]; }
# names registered in the groups of our state_root (oci.<id> per container)
group_users() {
  local f
  for f in "$E2E_DIR"/reaper/groups/*/users/*; do [[ -e $f ]] && echo "${f##*/}"; done
  return 0
}
cg_of() { echo "$OCI_CG/oci/$1"; }

# assert_fails <regex> <what> <cmd...>: non-zero exit and stderr matching regex.
assert_fails() {
  local re=$1 what=$2 rc=0 err
  shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  echo "$what: rc=$rc stderr: $err"
  [[ $rc != 0 ]] || fail "$what: expected a non-zero exit status"
  [[ -n $err ]] || fail "$what: no message on stderr"
  assert_match "$err" "$re" "$what: message"
}

# Nothing of a failed create left: no state, no cgroup, no group registration, no process.
assert_nothing_left() { # <root> <id> <what>
  root_empty "$1" || fail "$3: runtime root not empty: $(ls -A "$1")"
  [[ -z $OCI_CG || ! -e $(cg_of "$2") ]] || fail "$3: cgroup $(cg_of "$2") left"
  [[ $(group_users) != *"oci.$2"* ]] || fail "$3: group user oci.$2 still registered"
}

# ---------------------------------------------------------------------------
# podman tests.

t_podman_echo() {
  local d=$E2E_DIR/data/echo out id
  mkdir -p "$d"
  out=$(pm run --rm --network host --cidfile "$d/cid" --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" /bin/echo hi)
  assert_eq "hi" "$out" "podman run echo hi"
  id=$(cat "$d/cid")
  grep -q "create .*$id" "$E2E_DIR/runtime-argv.log" || fail "reaper-runtime create was not called for $id"
  # --rm: the runtime's state, cgroup and group registration are gone
  assert_wait 20 "runtime state of $id left in $OCI_RT_ROOT" test ! -e "$OCI_RT_ROOT/$id"
  [[ -z $OCI_CG || ! -e $(cg_of "$id") ]] || fail "cgroup of $id left"
  [[ $(group_users) != *"oci.$id"* ]] || fail "group user oci.$id left registered"
  [[ -z $(pm ps -aq --filter "id=$id") ]] || fail "podman still lists $id"
}

t_podman_exit_code() {
  local rc=0
  pm run --rm --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" /bin/sh -c 'exit 7' || rc=$?
  assert_eq 7 "$rc" "podman run exit status"
}

t_podman_exec() {
  local name=oci-$OCI_TOKEN-exec u pid out rc=0 ppid
  u=$(unique_sleep)
  pm run -d --name "$name" --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" sleep "$u" >/dev/null
  assert_wait 20 "container process (sleep $u) not running" sleep_running "$u"
  pid=$(sleep_pids "$u")
  # the container process runs on the host, child of conmon (the caller of create)
  ppid=$(proc_ppid "$pid")
  assert_eq conmon "$(proc_comm "$ppid")" "parent of the container process"
  assert_eq "$pid" "$(pm inspect -f '{{.State.Pid}}' "$name")" "podman's pid of the container"
  out=$(pm exec "$name" /bin/sh -c 'echo "exec-out $((2 + 3)) $OCI_NONE$E2E_MARK"; exit 4') || rc=$?
  assert_eq "exec-out 5 $E2E_DIR" "$out" "podman exec output"
  assert_eq 4 "$rc" "podman exec exit status"
  rc=0
  out=$(pm exec -e OCI_X=fromexec "$name" /bin/sh -c 'echo "$OCI_X $(pwd)"') || rc=$?
  assert_eq 0 "$rc" "podman exec -e exit status"
  assert_eq "fromexec /" "$out" "podman exec -e output"
  pm rm -f -t 0 "$name" >/dev/null
  assert_wait 20 "sleep $u still running after podman rm -f" no_sleep "$u"
}

t_podman_stop_sigkill() {
  local name=oci-$OCI_TOKEN-stop u t0 t1 code
  u=$(unique_sleep)
  # SIGTERM ignored (the disposition survives exec)
  pm run -d --name "$name" --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" \
    /bin/sh -c "trap '' TERM; exec sleep $u" >/dev/null
  assert_wait 20 "container process (sleep $u) not running" sleep_running "$u"
  t0=$(now_ms)
  pm stop -t 2 "$name"
  t1=$(now_ms)
  echo "podman stop -t 2 took $((t1 - t0)) ms"
  code=$(pm inspect -f '{{.State.ExitCode}}' "$name")
  assert_eq 137 "$code" "exit code after stop (SIGKILL)"
  (( t1 - t0 >= 1800 )) || fail "stop returned after $((t1 - t0)) ms: SIGTERM should have been ignored for 2s"
  (( t1 - t0 <= 15000 )) || fail "stop took $((t1 - t0)) ms (timeout 2s)"
  assert_wait 10 "sleep $u still running after stop" no_sleep "$u"
  grep -E "kill .*$(pm inspect -f '{{.Id}}' "$name") (15|TERM|SIGTERM)" "$E2E_DIR/runtime-argv.log" ||
    fail "podman did not send SIGTERM through the runtime"
  pm rm -f "$name" >/dev/null
}

# podman run -it inside a private tmux server.
oci_tmux() { tmux -S "$OCI_TMUX_SOCK" "$@"; }
oci_pane() { oci_tmux capture-pane -p -J -S - -t "$1" 2>/dev/null || true; }
oci_send() { oci_tmux send-keys -t "$1" -l "$2"; oci_tmux send-keys -t "$1" Enter; }
oci_pane_has_line() { oci_pane "$1" | grep -qxE -- "$2"; }
oci_dump() { echo "---- pane $1 ----" >&2; oci_pane "$1" >&2; echo "---- end ----" >&2; }
oci_expect_line() { # <deadline> <session> <ERE> <msg>
  wait_until "$1" oci_pane_has_line "$2" "$3" || { oci_dump "$2"; fail "$4 (no pane line /$3/ within $1s)"; }
}

t_podman_run_tty() {
  local d=$E2E_DIR/data/tty s=oci-it size want rc
  mkdir -p "$d"
  printf '%s\n' 'set -g status off' 'set -g remain-on-exit on' 'set -g history-limit 5000' >"$d/tmux.conf"
  # The pane runs podman in the foreground of its terminal; its status goes to a file.
  {
    echo '#!/bin/sh'
    printf 'export CONTAINERS_CONF=%q CONTAINERS_STORAGE_CONF=%q CONTAINERS_REGISTRIES_CONF=%q TMPDIR=%q\n' \
      "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_REGISTRIES_CONF" "$E2E_DIR/podman/tmp"
    printf 'timeout --foreground -k 5 120 podman --root %q --runroot %q --tmpdir %q --storage-driver vfs' \
      "$E2E_DIR/podman/root" "$E2E_DIR/podman/runroot" "$E2E_DIR/podman/tmp"
    printf ' --cgroup-manager cgroupfs --events-backend file --runtime %q' "$OCI_RT_WRAP"
    printf ' run -it --rm --network host --name %q --env %q --env %q %q /bin/sh' \
      "oci-$OCI_TOKEN-tty" "E2E_MARK=$E2E_DIR" "PS1=OCI-IT> " "$OCI_IMAGE"
    printf ' 2>%q\n' "$d/podman.err"
    printf 'rc=$?\necho "PODMAN-EXIT=$rc"\necho "$rc" >%q.tmp && mv %q.tmp %q\n' "$d/rc" "$d/rc" "$d/rc"
  } >"$d/run.sh"
  chmod +x "$d/run.sh"
  trap 'tmux -S "$OCI_TMUX_SOCK" kill-server >/dev/null 2>&1 || true' EXIT
  oci_tmux -f "$d/tmux.conf" new-session -d -s "$s" -x 100 -y 30 "sh $d/run.sh"
  oci_expect_line 30 "$s" 'OCI-IT> ?' "no shell prompt"
  oci_send "$s" 'echo "typed-$((6 * 7))"; tty'
  oci_expect_line 15 "$s" 'typed-42' "typed command did not run"
  oci_expect_line 5 "$s" '/dev/pts/[0-9]+' "stdin of the shell is not a terminal"
  want=$(oci_tmux display -p -t "$s" '#{pane_height} #{pane_width}')
  assert_eq "30 100" "$want" "tmux pane size"
  oci_send "$s" 'stty size'
  oci_expect_line 15 "$s" '[0-9]+ [0-9]+' "stty size printed nothing"
  size=$(oci_pane "$s" | grep -xE '[0-9]+ [0-9]+' | tail -n 1)
  assert_eq "$want" "$size" "stty size inside the container vs tmux pane"
  oci_send "$s" 'exit 5'
  assert_wait 30 "podman run -it did not return" test -s "$d/rc"
  rc=$(cat "$d/rc")
  if [[ $rc != 5 ]]; then oci_dump "$s"; cat "$d/podman.err" >&2 || true; fi
  assert_eq 5 "$rc" "podman run -it exit status after 'exit 5'"
}

t_overlay_protection() {
  local out rc=0 f=${OCI_ETC_PROBE#/}
  [[ ! -e $OCI_ETC_PROBE ]] || fail "$OCI_ETC_PROBE exists before the test"
  out=$(pm run --rm --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" \
    /bin/sh -c "echo secret-$OCI_TOKEN >/$f && cat /$f") || rc=$?
  assert_eq 0 "$rc" "write to /$f inside the container"
  assert_eq "secret-$OCI_TOKEN" "$out" "the container reads back its write"
  [[ ! -e $OCI_ETC_PROBE ]] || fail "the container's write reached the host: $OCI_ETC_PROBE"
  # it landed in an overlay group of OUR state_root (REAPER_CONFIG reached the runtime)
  ls "$E2E_DIR"/reaper/groups/*/upper/"$f" >/dev/null 2>&1 ||
    fail "the write is not in the upper layer of a group under $E2E_DIR/reaper"
  # a second container of the group sees it; the host still does not
  out=$(pm run --rm --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" /bin/cat "/$f")
  assert_eq "secret-$OCI_TOKEN" "$out" "second container of the group"
  [[ ! -e $OCI_ETC_PROBE ]] || fail "write reached the host"
}

t_podman_state_private() {
  local name=oci-$OCI_TOKEN-state u id st
  u=$(unique_sleep)
  pm run -d --name "$name" --network host --env "E2E_MARK=$E2E_DIR" "$OCI_IMAGE" sleep "$u" >/dev/null
  id=$(pm inspect -f '{{.Id}}' "$name")
  assert_wait 20 "sleep $u not running" sleep_running "$u"
  [[ -f $OCI_RT_ROOT/$id/state.json ]] || fail "no runtime state in $OCI_RT_ROOT/$id"
  [[ ! -e /run/reaper-runtime/$id ]] || fail "runtime state in the default root /run/reaper-runtime/$id"
  st=$(rtd "$OCI_RT_ROOT" state "$id")
  assert_eq running "$(json_str "$st" status)" "runtime state of a podman container"
  assert_eq "$(sleep_pids "$u")" "$(json_num "$st" pid)" "runtime state pid"
  [[ $(group_users) == *"oci.$id"* ]] || fail "container not registered in a group under $E2E_DIR/reaper"
  [[ -z $OCI_CG || -d $(cg_of "$id") ]] || fail "no cgroup $(cg_of "$id")"
  pm rm -f -t 0 "$name" >/dev/null
  [[ ! -e $OCI_RT_ROOT/$id ]] || fail "runtime state left after podman rm -f"
  [[ $(group_users) != *"oci.$id"* ]] || fail "group user left after podman rm -f"
  assert_wait 10 "sleep $u still running" no_sleep "$u"
}

# ---------------------------------------------------------------------------
# Direct runtime tests (hand-made bundles).

t_lifecycle() {
  test_dir lifecycle
  local id=lc-$OCI_TOKEN b=$TD/bundle st pid gate
  make_bundle "$b" /bin/sh -c "echo started-$OCI_TOKEN; read x; echo \"got \$x\"; exit 3"
  mkfifo "$TD/$id.in"
  exec {gate}<>"$TD/$id.in"   # keeps the FIFO open: the container's stdin
  rt_create "$id" "$b" || { cat "$TD/$id.err" >&2; fail "create failed"; }
  st=$(rtd "$ROOT" state "$id")
  echo "$st"
  json_valid <<<"$st" || fail "state is not JSON"
  assert_eq created "$(json_str "$st" status)" "status after create"
  assert_eq "$id" "$(json_str "$st" id)" "state id"
  assert_eq "$b" "$(json_str "$st" bundle)" "state bundle"
  assert_eq "$OCI_TOKEN" "$(json_str "$st" test.reaper/run)" "state annotations"
  [[ -n $(json_str "$st" created) ]] || fail "state has no created time"
  assert_match "$st" '"ociVersion": *"1\.' "state ociVersion"
  pid=$(json_num "$st" pid)
  [[ $pid -gt 0 && -d /proc/$pid ]] || fail "created pid $pid not alive"
  # waiting before execve: not yet the workload
  [[ $(proc_cmdline "$pid") != *"started-$OCI_TOKEN"* ]] || fail "process exec'd before start"
  [[ ! -s $TD/$id.out ]] || fail "output before start: $(cat "$TD/$id.out")"
  rtd "$ROOT" start "$id"
  assert_wait 10 "no output after start" grep -q "started-$OCI_TOKEN" "$TD/$id.out"
  assert_eq running "$(rt_status "$id")" "status after start"
  assert_eq "$pid" "$(json_num "$(rtd "$ROOT" state "$id")" pid)" "pid after start"
  assert_contains "$(proc_cmdline "$pid")" "started-$OCI_TOKEN" "cmdline after start"
  assert_fails 'running|cannot start' "start of a running container" rtd "$ROOT" start "$id"
  # the process exits
  echo go >&"$gate"
  assert_wait 10 "status never became stopped" rt_status_is "$id" stopped
  grep -qx "got go" "$TD/$id.out" || fail "process output: $(cat "$TD/$id.out")"
  assert_eq 0 "$(json_num "$(rtd "$ROOT" state "$id")" pid)" "pid of a stopped container"
  assert_fails 'not running' "kill of a stopped container" rtd "$ROOT" kill "$id" KILL
  rtd "$ROOT" delete "$id"
  assert_fails 'container does not exist' "state after delete" rtd "$ROOT" state "$id"
  assert_nothing_left "$ROOT" "$id" "after delete"
  exec {gate}>&-
}

t_delete_running() {
  test_dir delrun
  local id=dr-$OCI_TOKEN b=$TD/bundle u pid
  u=$(unique_sleep)
  make_bundle "$b" /bin/sh -c "sleep $u & exec sleep $((u + 1))"
  rt_create "$id" "$b" || { cat "$TD/$id.err" >&2; fail "create failed"; }
  rtd "$ROOT" start "$id"
  assert_wait 10 "children not running" sleep_running "$u"
  assert_wait 10 "init not exec'd" sleep_running "$((u + 1))"
  pid=$(json_num "$(rtd "$ROOT" state "$id")" pid)
  assert_fails 'not stopped' "delete of a running container" rtd "$ROOT" delete "$id"
  assert_eq running "$(rt_status "$id")" "status after refused delete"
  proc_dead "$pid" && fail "refused delete killed the process"
  rtd "$ROOT" delete --force "$id"
  assert_wait 10 "init $pid alive after delete --force" proc_dead "$pid"
  assert_wait 10 "child sleep $u alive after delete --force" no_sleep "$u"
  assert_fails 'does not exist' "state after delete --force" rtd "$ROOT" state "$id"
  assert_nothing_left "$ROOT" "$id" "after delete --force"
}

t_log_json() {
  test_dir logjson
  local rc=0 line
  rtd "$ROOT" --log "$TD/runtime.log" --log-format json kill "nosuch-$OCI_TOKEN" KILL 2>"$TD/stderr" || rc=$?
  [[ $rc != 0 ]] || fail "kill of a missing container succeeded"
  [[ -s $TD/runtime.log ]] || fail "nothing written to --log"
  cat "$TD/runtime.log"
  line=$(grep -F '"level":"error"' "$TD/runtime.log" | tail -n 1)
  [[ -n $line ]] || fail "no \"level\":\"error\" record in the log: $(cat "$TD/runtime.log")"
  json_valid <<<"$line" || fail "log record is not JSON: $line"
  assert_contains "$line" "does not exist" "log record message"
  assert_match "$line" '"time": *"[0-9]{4}-' "log record time"
  # text format
  rc=0
  rtd "$ROOT" --log "$TD/runtime.txt" kill "nosuch-$OCI_TOKEN" KILL 2>/dev/null || rc=$?
  [[ $rc != 0 ]] || fail "kill of a missing container succeeded"
  assert_contains "$(cat "$TD/runtime.txt")" "does not exist" "text log"
}

t_bad_input() {
  test_dir badinput
  local id=bad-$OCI_TOKEN b=$TD/bundle nest=$TD/nest u
  u=$(unique_sleep)
  make_bundle "$b" sleep "$u"
  # missing bundle
  assert_fails 'bundle|no such file' "missing bundle" \
    rtd "$ROOT" create --bundle "$TD/no-such-bundle" "$id"
  assert_nothing_left "$ROOT" "$id" "missing bundle"
  # bundle without config.json
  mkdir -p "$TD/empty-bundle"
  assert_fails 'config\.json|no such file' "bundle without config.json" \
    rtd "$ROOT" create --bundle "$TD/empty-bundle" "$id"
  assert_nothing_left "$ROOT" "$id" "bundle without config.json"
  # invalid config.json
  mkdir -p "$TD/bad-json"
  printf '{"ociVersion": "1.0.2", "process": {"args": ["sleep"' >"$TD/bad-json/config.json"
  assert_fails 'config\.json|json|parse' "invalid config.json" \
    rtd "$ROOT" create --bundle "$TD/bad-json" "$id"
  assert_nothing_left "$ROOT" "$id" "invalid config.json"
  mkdir -p "$TD/bad-type"
  printf '{"ociVersion": "1.0.2", "process": {"args": "sleep 1", "cwd": "/"}}' >"$TD/bad-type/config.json"
  assert_fails 'args|config|invalid|type' "config.json with args not an array" \
    rtd "$ROOT" create --bundle "$TD/bad-type" "$id"
  assert_nothing_left "$ROOT" "$id" "config.json with args not an array"
  # ids with / or .. (the root is nested so that even a wrong path stays in the temp dir)
  mkdir -p "$nest/root"
  local bad
  for bad in "a/b-$OCI_TOKEN" "../x-$OCI_TOKEN" ".." "x/../y" "/abs-$OCI_TOKEN" "."; do
    assert_fails 'id|invalid|must not' "create with id '$bad'" rtd "$nest/root" create --bundle "$b" "$bad"
    root_empty "$nest/root" || fail "id '$bad': $nest/root not empty: $(ls -A "$nest/root")"
    [[ $(ls -A "$nest") == root ]] || fail "id '$bad': something created beside the root: $(ls -A "$nest")"
    assert_fails 'id|invalid|must not|does not exist' "state of id '$bad'" rtd "$nest/root" state "$bad"
    assert_fails 'id|invalid|must not|does not exist' "delete of id '$bad'" rtd "$nest/root" delete --force "$bad"
  done
  [[ -d $nest/root && -d $TD && -f $b/config.json ]] || fail "a bad id removed something"
  no_sleep "$u" || fail "a failed create left a process"
  # unknown signal: refused, the container is unaffected
  rt_create "$id" "$b" || { cat "$TD/$id.err" >&2; fail "create failed"; }
  rtd "$ROOT" start "$id"
  assert_wait 10 "sleep $u not running" sleep_running "$u"
  assert_fails 'signal' "kill with signal SIGFOO" rtd "$ROOT" kill "$id" SIGFOO
  assert_fails 'signal' "kill with signal 99" rtd "$ROOT" kill "$id" 99
  assert_fails 'signal' "kill --all with signal NOPE" rtd "$ROOT" kill --all "$id" NOPE
  assert_eq running "$(rt_status "$id")" "status after bad signals"
  sleep_running "$u" || fail "a bad signal killed the process"
  # signals by name and number work
  rtd "$ROOT" kill "$id" 0 2>/dev/null || true
  rtd "$ROOT" kill "$id" SIGKILL
  assert_wait 10 "not stopped after kill SIGKILL" rt_status_is "$id" stopped
  rtd "$ROOT" delete "$id"
  assert_nothing_left "$ROOT" "$id" "after the signal checks"
  no_sleep "$u" || fail "process left"
  # unknown command, missing id
  assert_fails 'unknown command' "unknown command" rtd "$ROOT" frobnicate "$id"
  assert_fails 'does not exist' "start of a missing container" rtd "$ROOT" start "nosuch-$OCI_TOKEN"
  root_empty "$ROOT" || fail "runtime root not empty at the end: $(ls -A "$ROOT")"
}

t_ps_list_features() {
  test_dir pslist
  local id=ps-$OCI_TOKEN b=$TD/bundle u pid child js out
  u=$(unique_sleep)
  make_bundle "$b" /bin/sh -c "sleep $u & wait"
  rt_create "$id" "$b" || { cat "$TD/$id.err" >&2; fail "create failed"; }
  rtd "$ROOT" start "$id"
  assert_wait 10 "child sleep $u not running" sleep_running "$u"
  pid=$(json_num "$(rtd "$ROOT" state "$id")" pid)
  child=$(sleep_pids "$u")
  js=$(rtd "$ROOT" ps --format json "$id")
  echo "ps json: $js"
  json_valid <<<"$js" || fail "ps --format json is not JSON: $js"
  [[ $js =~ ^\[ ]] || fail "ps json is not an array: $js"
  [[ ,${js//[\[\] ]/}, == *",$pid,"* ]] || fail "ps json lacks init pid $pid: $js"
  [[ ,${js//[\[\] ]/}, == *",$child,"* ]] || fail "ps json lacks child pid $child: $js"
  out=$(rtd "$ROOT" ps "$id")
  echo "$out"
  assert_match "$out" "^ *$child +.*sleep $u" "ps table"
  # list
  out=$(rtd "$ROOT" list)
  echo "$out"
  assert_match "$out" "^$id +$pid +running " "list table"
  js=$(rtd "$ROOT" list --format json)
  json_valid <<<"$js" || fail "list --format json is not JSON: $js"
  assert_contains "$js" "\"id\":\"$id\"" "list json"
  assert_contains "$js" '"status":"running"' "list json"
  # exec into it (not detached: waits, returns the status)
  local rc=0
  out=$(rtd "$ROOT" exec "$id" /bin/sh -c 'echo "exec $OCI_TEST $(pwd)"; exit 6') || rc=$?
  assert_eq "exec $OCI_TOKEN /tmp" "$out" "runtime exec output (the container's env and cwd)"
  assert_eq 6 "$rc" "runtime exec status"
  # features, version
  js=$(rtd "$ROOT" features)
  json_valid <<<"$js" || fail "features is not JSON: $js"
  assert_contains "$js" '"ociVersionMax"' "features"
  assert_match "$(rtd "$ROOT" --version)" 'reaper-runtime version' "--version"
  rtd "$ROOT" delete --force "$id"
  assert_wait 10 "child sleep $u left" no_sleep "$u"
  out=$(rtd "$ROOT" list --format json)
  assert_eq "[]" "$out" "list after delete"
  assert_nothing_left "$ROOT" "$id" "after delete"
}

register_test podman_echo t_podman_echo
register_test podman_exit_code t_podman_exit_code
register_test podman_exec t_podman_exec
register_test podman_run_tty t_podman_run_tty
register_test podman_stop_sigkill t_podman_stop_sigkill
register_test podman_state_private t_podman_state_private
register_test overlay_protection t_overlay_protection
register_test rt_lifecycle t_lifecycle
register_test rt_delete_running t_delete_running
register_test rt_log_json t_log_json
register_test rt_bad_input t_bad_input
register_test rt_ps_list_features t_ps_list_features

if [[ ${1:-} == -l || ${1:-} == --list ]]; then
  for entry in "${E2E_TESTS[@]}"; do echo "${entry%% *}"; done
  exit 0
fi

[[ $EUID -eq 0 ]] || die "must run as root"
for c in podman conmon tmux busybox timeout; do
  command -v "$c" >/dev/null || die "$c not installed (scripts/install-deps.sh)"
done
[[ -x $REAPER_BIN_DIR/reaper-runtime ]] || die "$REAPER_BIN_DIR/reaper-runtime not found (scripts/build.sh, or set REAPER_BIN_DIR)"

t_start=$(date +%s)
trap oci_teardown EXIT
trap 'exit 130' INT TERM
oci_setup
oci_load_image
echo "runtime: $OCI_RT_BIN (podman $(podman --version | awk '{print $3}'), conmon $(conmon --version | awk 'NR==1 {print $3}'))"
run_registered "$@"
echo "time: $(( $(date +%s) - t_start ))s"
e2e_summary
