#!/usr/bin/env bash
# install-node.sh: the node steps of every Reaper installation path (by hand, Ansible, kind,
# the Kubernetes node-installer DaemonSet). docs/installation.md describes each path.
#
# STABLE INTERFACE (other installers call it; keep it compatible):
#   install-node.sh [options]                 install or upgrade (idempotent)
#   install-node.sh --uninstall [options]     restore the node's previous state
# Options (every PATH is a path ON THE NODE; it is used under --root):
#   --root DIR                 host root prefix (default /; e.g. /host in a DaemonSet pod)
#   --bin-src DIR              where the built binaries are (default: the script's own
#                              directory if it holds them, else <script dir>/../build)
#   --bin-dir PATH             install directory (default /usr/local/bin)
#   --containerd-config PATH   containerd's config (default /etc/containerd/config.toml)
#   --containerd-version 2|3   config version to create when there is no config (default 2,
#                              which containerd 1.6, 1.7 and 2.x all read)
#   --node-config PATH         Reaper's node config (default /etc/reaper/reaper.toml)
#   --default-config FILE      the default node config to install (default: reaper.toml next to
#                              the script, else <script dir>/../deploy/reaper.toml)
#   --restart-cmd CMD          run (bash -c) after containerd's config changed. Default:
#                              `systemctl restart containerd` when --root is / and systemd runs;
#                              otherwise nothing is restarted (a DaemonSet passes e.g.
#                              "nsenter -t 1 -m -- systemctl restart containerd")
#   --no-restart               never restart containerd
#   --label-node NAME          label the node reaper.io/enabled=true (--uninstall: remove it)
#   --kubectl PATH             kubectl to use for --label-node (default kubectl)
#   --dry-run                  print what would change (config diff included), change nothing
#   -h, --help
# What it changes (install): the binaries containerd-shim-reaper-v2, reaper-runtime,
# reaper-overlay in --bin-dir (each replaced atomically: temp file, fsync, rename; running shims
# keep the old file); containerd's config gets one delimited block "# BEGIN reaper" ... "# END
# reaper" defining runtime reaper-v2 (runtime_type io.containerd.reaper.v2), the original kept
# once as <config>.reaper-backup; the node config is written only if absent; state for
# --uninstall in <node config dir>/install-node.state. Binaries that already are the --bin-src
# files (e.g. a package's /usr/bin with --bin-src /usr/bin --bin-dir /usr/bin) are used in
# place and kept by --uninstall. containerd is restarted only if its config changed. Refuses (exit 1, nothing changed) unknown config versions and a reaper-v2
# runtime defined outside the block. The last line is "RESULT: changed" or "RESULT: unchanged".
set -euo pipefail

BEGIN_MARK='# BEGIN reaper (managed by scripts/install-node.sh; --uninstall removes this block)'
END_MARK='# END reaper'
LABEL_KEY=reaper.io/enabled
BINARIES=(containerd-shim-reaper-v2 reaper-runtime reaper-overlay)
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ROOT=/ BIN_SRC="" BIN_DIR="" CONFIG=/etc/containerd/config.toml NEW_VERSION=2
NODE_CONFIG=/etc/reaper/reaper.toml DEFAULT_CONFIG="" RESTART_CMD="" RESTART_SET=0 NO_RESTART=0
LABEL_NODE="" KUBECTL=kubectl DRY=0 UNINSTALL=0
CHANGED=0 CONFIG_CHANGED=0 WORK=""

log() { printf 'install-node: %s\n' "$*"; }
die() { printf 'install-node: ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

cleanup() { [[ -z $WORK ]] || rm -rf "$WORK"; }
trap cleanup EXIT
set -E   # every unexpected failure is reported with its line and command
on_err() { printf 'install-node: ERROR: line %s: "%s" failed (exit %s)\n' "$2" "$3" "$1" >&2; }
trap 'on_err $? "$LINENO" "$BASH_COMMAND"' ERR

while (($#)); do
  case $1 in
    --root) ROOT=${2:?--root needs a value}; shift ;;
    --bin-src) BIN_SRC=${2:?--bin-src needs a value}; shift ;;
    --bin-dir) BIN_DIR=${2:?--bin-dir needs a value}; shift ;;
    --containerd-config) CONFIG=${2:?--containerd-config needs a value}; shift ;;
    --containerd-version) NEW_VERSION=${2:?--containerd-version needs a value}; shift ;;
    --node-config) NODE_CONFIG=${2:?--node-config needs a value}; shift ;;
    --default-config) DEFAULT_CONFIG=${2:?--default-config needs a value}; shift ;;
    --restart-cmd) RESTART_CMD=${2?--restart-cmd needs a value}; RESTART_SET=1; shift ;;
    --no-restart) NO_RESTART=1 ;;
    --label-node) LABEL_NODE=${2:?--label-node needs a value}; shift ;;
    --kubectl) KUBECTL=${2:?--kubectl needs a value}; shift ;;
    --dry-run) DRY=1 ;;
    --uninstall) UNINSTALL=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ -d $ROOT ]] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
[[ $NEW_VERSION == 2 || $NEW_VERSION == 3 ]] || die "--containerd-version must be 2 or 3"
for p in "$CONFIG" "$NODE_CONFIG" "${BIN_DIR:-/}"; do
  [[ $p == /* && $p != *$'\n'* ]] || die "'$p' must be an absolute path on the node"
done
STATE=$(dirname "$NODE_CONFIG")/install-node.state

# host PATH -> the file under --root
hp() { if [[ $ROOT == / ]]; then printf '%s' "$1"; else printf '%s%s' "$ROOT" "$1"; fi; }

WORK=$(mktemp -d /tmp/install-node.XXXXXX)
# One run at a time per host root (the DaemonSet, Ansible, a person): lock the root directory.
exec 9<"$ROOT"
flock -w 120 9 || die "another install-node.sh holds the lock on $ROOT for 120s"

# ---------------------------------------------------------------------------------------------
# Mutations (all go through these; --dry-run only logs them).

# mkdir_tracked PATH: create the directory and its missing parents; record the ones created.
CREATED_DIRS=()
mkdir_tracked() {
  local path=$1 cur="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${path#/}"
  for part in "${parts[@]}"; do
    [[ -n $part ]] || continue
    cur+=/$part
    [[ -d $(hp "$cur") ]] && continue
    [[ -e $(hp "$cur") ]] && die "$(hp "$cur") exists and is not a directory"
    if ((DRY)); then log "would create directory $cur"; continue; fi
    mkdir -m 0755 "$(hp "$cur")" || die "cannot create directory $(hp "$cur")"
    log "created directory $cur"
    CREATED_DIRS+=("$cur")
    CHANGED=1
  done
}

# put_file SRC DST MODE: replace DST atomically by a copy of SRC (same directory, fsync, rename).
# An existing DST keeps its owner and mode.
put_file() {
  local src=$1 dst=$2 mode=$3 tmp
  tmp=$(dirname "$dst")/.$(basename "$dst").install-node-tmp
  if ((DRY)); then log "would write $dst"; return 0; fi
  rm -f "$tmp"
  cp "$src" "$tmp" || die "cannot copy $src to $tmp"
  if [[ -e $dst ]]; then
    if ! chmod --reference="$dst" "$tmp" || ! chown --reference="$dst" "$tmp"; then
      rm -f "$tmp"
      die "cannot copy owner/mode of $dst"
    fi
  else
    chmod "$mode" "$tmp"
  fi
  sync "$tmp" || { rm -f "$tmp"; die "fsync $tmp failed"; }
  mv -f "$tmp" "$dst" || { rm -f "$tmp"; die "cannot rename $tmp to $dst"; }
  sync "$(dirname "$dst")" 2>/dev/null || true
  CHANGED=1
}

remove_file() {
  if ((DRY)); then log "would remove $1"; return 0; fi
  rm -f "$1" || die "cannot remove $1"
  log "removed $1"
  CHANGED=1
}

run_restart() {
  local cmd=$RESTART_CMD
  if ((NO_RESTART)); then log "containerd config changed; not restarting containerd (--no-restart)"; return 0; fi
  if ((!RESTART_SET)); then
    if [[ $ROOT == / && -d /run/systemd/system ]]; then
      cmd="systemctl restart containerd"
    else
      log "containerd config changed: restart containerd to apply it (no --restart-cmd given)"
      return 0
    fi
  fi
  [[ -n $cmd ]] || { log "containerd config changed; restart command is empty, not restarting"; return 0; }
  if ((DRY)); then log "would run: $cmd"; return 0; fi
  log "restarting containerd: $cmd"
  bash -c "$cmd" || die "containerd config was changed but the restart command failed: $cmd"
}

run_label() { # label|unlabel
  [[ -n $LABEL_NODE ]] || return 0
  local arg="$LABEL_KEY=true"
  [[ $1 == unlabel ]] && arg="$LABEL_KEY-"
  if ((DRY)); then log "would run: $KUBECTL label node $LABEL_NODE $arg --overwrite"; return 0; fi
  log "kubectl label node $LABEL_NODE $arg"
  "$KUBECTL" label node "$LABEL_NODE" "$arg" --overwrite ||
    die "labelling node $LABEL_NODE ($arg) failed"
}

# ---------------------------------------------------------------------------------------------
# containerd config analysis (plain text: the block is found by its markers).

ends_with_newline() { [[ ! -s $1 || -z $(tail -c 1 "$1") ]]; }

# toml_version FILE: the top-level `version = N` (top-level keys precede every [table]); empty if none.
toml_version() {
  awk '/^[ \t]*\[/ { exit } match($0, /^[ \t]*version[ \t]*=[ \t]*[0-9]+/) {
         v = substr($0, RSTART, RLENGTH); sub(/.*=[ \t]*/, "", v); print v; exit }' "$1"
}

# strip_block FILE OUT: FILE without our block and the blank line before it.
strip_block() {
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '
    $0 == b { pend = 0; inb = 1; next }
    inb { if ($0 == e) inb = 0; next }
    { if (pend) { print ""; pend = 0 } if ($0 == "") { pend = 1; next } print }
    END { if (pend) print "" }' "$1" >"$2"
}

# current_block FILE OUT: our block as it is in FILE.
current_block() {
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { inb = 1 } inb { print } $0 == e { inb = 0 }' "$1" >"$2"
}

# check_markers FILE: 0 = no block, 1 = one well-formed block; dies on a damaged block.
check_markers() {
  local nb ne
  nb=$(grep -cxF -- "$BEGIN_MARK" "$1" || true)
  ne=$(grep -cxF -- "$END_MARK" "$1" || true)
  ((nb == 0 && ne == 0)) && return 1
  ((nb == 1 && ne == 1)) || die "$(hp "$CONFIG"): damaged Reaper block ($nb BEGIN and $ne END markers); fix it by hand"
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { s = NR } $0 == e { t = NR } END { exit !(s < t) }' "$1" ||
    die "$(hp "$CONFIG"): damaged Reaper block (END before BEGIN); fix it by hand"
  return 0
}

cri_prefix() {
  case $1 in
    2) printf '%s' 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes' ;;
    3) printf '%s' 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes' ;;
  esac
}

# defines_runtime FILE NAME: FILE has a [..runtimes.NAME] table (or a subtable of it).
defines_runtime() {
  grep -Eq "^[[:space:]]*\\[[^]]*\\.runtimes\\.(\"$2\"|'$2'|$2)[]. ]" "$1"
}

# make_block VERSION WITH_RUNC
make_block() {
  local p
  p=$(cri_prefix "$1")
  printf '%s\n' "$BEGIN_MARK" "[$p.reaper-v2]" \
    '  runtime_type = "io.containerd.reaper.v2"' \
    "  runtime_path = \"${BIN_DIR%/}/containerd-shim-reaper-v2\"" \
    '  pod_annotations = ["reaper.runtime/*"]'
  if [[ $2 == 1 ]]; then
    printf '%s\n' "# containerd replaces its built-in runtime list by this file's: keep runc, the default" \
      "[$p.runc]" '  runtime_type = "io.containerd.runc.v2"'
  fi
  printf '%s\n' "$END_MARK"
}

# append_block BASE BLOCK OUT: BASE, a blank line, BLOCK.
append_block() {
  cp "$1" "$3"
  if [[ -s $1 ]]; then
    if ends_with_newline "$1"; then printf '\n' >>"$3"; else printf '\n\n' >>"$3"; fi
  fi
  cat "$2" >>"$3"
}

# ---------------------------------------------------------------------------------------------
# State kept for --uninstall: "key value" lines.

state_get() { # KEY -> all values
  local f
  f=$(hp "$STATE")
  [[ -f $f ]] || return 0
  awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print }' "$f"
}

write_state() { # config_created node_config_sha256
  local f new d
  mkdir_tracked "$(dirname "$STATE")"
  f=$(hp "$STATE")
  new=$WORK/state
  {
    echo "# written by install-node.sh, read by install-node.sh --uninstall"
    echo "bin_dir $BIN_DIR"
    echo "binaries_owned $BIN_OWNED"
    echo "config_created $1"
    echo "node_config_sha256 $2"
    state_get dir | sed 's/^/dir /'
    for d in "${CREATED_DIRS[@]}"; do echo "dir $d"; done
  } >"$new"
  if [[ -f $f ]] && cmp -s "$new" "$f"; then return 0; fi
  ((DRY)) || log "recorded install state in $STATE"
  put_file "$new" "$f" 0644
}

# ---------------------------------------------------------------------------------------------

BIN_OWNED=0   # 1: the binaries in --bin-dir are copies made by this script (--uninstall removes them)
install_binaries() {
  local b src dst
  if [[ $(state_get binaries_owned) == 1 ]]; then BIN_OWNED=1; fi
  mkdir_tracked "$BIN_DIR"
  for b in "${BINARIES[@]}"; do
    src=$BIN_SRC/$b dst=$(hp "$BIN_DIR")/$b
    if [[ $src -ef $dst ]]; then
      log "$BIN_DIR/$b is up to date (it is the source itself, e.g. a package's: --uninstall keeps it)"
      continue
    fi
    BIN_OWNED=1
    if [[ -f $dst ]] && cmp -s "$src" "$dst"; then
      log "$BIN_DIR/$b is up to date"
      continue
    fi
    put_file "$src" "$dst" 0755
    ((DRY)) || chmod 0755 "$dst"
    ((DRY)) || log "installed $BIN_DIR/$b (atomic replace)"
  done
}

NODE_SHA=""
install_node_config() { # sets NODE_SHA: the sha256 recorded for the node config ("" if not ours)
  local dst
  dst=$(hp "$NODE_CONFIG")
  if [[ -e $dst ]]; then
    log "$NODE_CONFIG exists: kept as it is"
    NODE_SHA=$(state_get node_config_sha256)
    return 0
  fi
  mkdir_tracked "$(dirname "$NODE_CONFIG")"
  put_file "$DEFAULT_CONFIG" "$dst" 0644
  ((DRY)) || log "wrote the default node config $NODE_CONFIG"
  NODE_SHA=$(sha256sum <"$DEFAULT_CONFIG" | cut -d' ' -f1)
}

# plan_config: computes $WORK/new (the wanted config); sets NEED_CONFIG=1 if the file must
# change. Validates everything first: a refusal changes nothing on the node.
NEED_CONFIG=0
plan_config() {
  local cfg ver runc=0 def
  cfg=$(hp "$CONFIG")
  if [[ -e $cfg ]]; then
    [[ ! -L $cfg ]] || die "$cfg is a symbolic link: pass its target as --containerd-config"
    [[ -f $cfg ]] || die "$cfg is not a regular file"
    if check_markers "$cfg"; then strip_block "$cfg" "$WORK/base"; else cp "$cfg" "$WORK/base"; fi
    ver=$(toml_version "$WORK/base")
    case $ver in
      2|3) ;;
      "") die "$cfg has no top-level 'version = 2' or 'version = 3': a version 1 config is not supported; convert it to version 2 (containerd 1.x) or 3 (containerd config migrate, 2.x) and run again" ;;
      *) die "$cfg: unknown config version $ver (supported: 2 for containerd 1.6/1.7, 3 for 2.x)" ;;
    esac
    if defines_runtime "$WORK/base" reaper-v2; then
      die "$cfg already defines a reaper-v2 runtime outside the Reaper block; remove it (or uninstall the other installer) and run again"
    fi
  else
    ver=$NEW_VERSION
    printf 'version = %s\n' "$ver" >"$WORK/base"
    log "$CONFIG does not exist: creating a version $ver config"
  fi
  def=$(awk -F'"' '/^[ \t]*default_runtime_name[ \t]*=/ { print $2; exit }' "$WORK/base")
  def=${def:-runc}
  if ! defines_runtime "$WORK/base" "$def"; then
    if [[ $def == runc ]]; then
      runc=1
      log "the config defines no runc runtime: the block also defines runc (containerd would drop its built-in one)"
    else
      log "WARNING: default runtime '$def' is not defined in $CONFIG"
    fi
  fi
  make_block "$ver" "$runc" >"$WORK/block"
  append_block "$WORK/base" "$WORK/block" "$WORK/new"
  if [[ -e $cfg ]] && cmp -s "$WORK/new" "$cfg"; then NEED_CONFIG=0; else NEED_CONFIG=1; fi
}

apply_config() {
  local cfg created=0 backup
  cfg=$(hp "$CONFIG") backup=$(hp "$CONFIG").reaper-backup
  [[ -e $cfg ]] || created=1
  [[ -n $(state_get config_created) ]] && created=$(state_get config_created)
  if ((DRY)); then
    log "would change the containerd config (diff follows):"
    if [[ -e $cfg ]]; then diff -u "$cfg" "$WORK/new" || true; else diff -u /dev/null "$WORK/new" || true; fi
    return 0
  fi
  mkdir_tracked "$(dirname "$CONFIG")"
  if [[ -e $cfg ]] && ! check_markers "$cfg" && [[ ! -e $backup ]]; then
    cp -p "$cfg" "$backup" || die "cannot back up $cfg to $backup"
    log "backed up the original config to $CONFIG.reaper-backup"
  fi
  put_file "$WORK/new" "$cfg" 0644
  log "containerd config $CONFIG: Reaper block written"
  CONFIG_CHANGED=1
  CONFIG_CREATED=$created
}

do_install() {
  local b
  if [[ -z $BIN_SRC ]]; then
    if [[ -x $SCRIPT_DIR/${BINARIES[0]} ]]; then BIN_SRC=$SCRIPT_DIR; else BIN_SRC=$SCRIPT_DIR/../build; fi
  fi
  for b in "${BINARIES[@]}"; do
    [[ -f $BIN_SRC/$b && -x $BIN_SRC/$b ]] || die "binary $BIN_SRC/$b not found (build first, or pass --bin-src)"
  done
  if [[ -z $DEFAULT_CONFIG ]]; then
    DEFAULT_CONFIG=$SCRIPT_DIR/reaper.toml
    [[ -f $DEFAULT_CONFIG ]] || DEFAULT_CONFIG=$SCRIPT_DIR/../deploy/reaper.toml
  fi
  [[ -f $DEFAULT_CONFIG ]] || die "default node config $DEFAULT_CONFIG not found (pass --default-config)"
  log "installing Reaper: root $ROOT, binaries from $BIN_SRC to $BIN_DIR, containerd config $CONFIG"

  plan_config                                  # may refuse: nothing changed yet
  install_binaries
  install_node_config
  CONFIG_CREATED=""
  if ((NEED_CONFIG)); then apply_config; else log "containerd config $CONFIG already has the Reaper block: unchanged"; fi
  write_state "${CONFIG_CREATED:-$(state_get config_created)}" "${NODE_SHA:--}"
  ((CONFIG_CHANGED)) && run_restart
  run_label label
}

uninstall_config() {
  local cfg backup created
  cfg=$(hp "$CONFIG") backup=$(hp "$CONFIG").reaper-backup
  created=$(state_get config_created)
  if [[ ! -e $cfg ]]; then log "$CONFIG does not exist: nothing to remove"; return 0; fi
  if ! check_markers "$cfg"; then
    log "$CONFIG has no Reaper block: unchanged"
    [[ ! -e $backup ]] || log "WARNING: $CONFIG.reaper-backup left in place (no block to remove)"
    return 0
  fi
  strip_block "$cfg" "$WORK/stripped"
  current_block "$cfg" "$WORK/block"
  CONFIG_CHANGED=1
  if [[ -e $backup ]]; then
    append_block "$backup" "$WORK/block" "$WORK/expect"
    if cmp -s "$WORK/expect" "$cfg"; then
      if ((DRY)); then log "would restore $CONFIG from $CONFIG.reaper-backup"; return 0; fi
      mv -f "$backup" "$cfg" || die "cannot restore $cfg from $backup"
      log "restored the original $CONFIG from its backup (byte for byte)"
      CHANGED=1
      return 0
    fi
    log "WARNING: $CONFIG changed since the install: removing only the Reaper block; the original stays in $CONFIG.reaper-backup"
  elif [[ $created == 1 && $(cat "$WORK/stripped") =~ ^version\ =\ [23]$ ]]; then
    remove_file "$cfg"
    return 0
  fi
  put_file "$WORK/stripped" "$cfg" 0644
  ((DRY)) || log "removed the Reaper block from $CONFIG"
}

do_uninstall() {
  local b dst pids sha want d i
  local -a dirs
  [[ -n $BIN_DIR ]] || BIN_DIR=$(state_get bin_dir)
  BIN_DIR=${BIN_DIR:-/usr/local/bin}
  log "uninstalling Reaper: root $ROOT, binaries in $BIN_DIR, containerd config $CONFIG"
  pids=$(find /proc/[0-9]*/exe -maxdepth 0 -lname '*/containerd-shim-reaper-v2*' 2>/dev/null |
         cut -d/ -f3 || true)
  [[ -z $pids ]] || log "WARNING: $(wc -l <<<"$pids") Reaper shim process(es) still run (e.g. pid $(head -n 1 <<<"$pids")): their pods keep running, but containerd can no longer start Reaper containers"
  uninstall_config
  ((CONFIG_CHANGED)) && run_restart
  if [[ $(state_get binaries_owned) == 0 ]]; then
    log "the binaries in $BIN_DIR were in place before the install (a package's?): kept"
  else
    for b in "${BINARIES[@]}"; do
      dst=$(hp "$BIN_DIR")/$b
      if [[ -e $dst ]]; then remove_file "$dst"; else log "$BIN_DIR/$b not present"; fi
    done
  fi
  dst=$(hp "$NODE_CONFIG")
  if [[ -f $dst ]]; then
    want=$(state_get node_config_sha256)
    if [[ -z $want ]]; then
      local def=${DEFAULT_CONFIG:-$SCRIPT_DIR/reaper.toml}
      [[ -f $def ]] || def=$SCRIPT_DIR/../deploy/reaper.toml
      [[ -f $def ]] && want=$(sha256sum <"$def" | cut -d' ' -f1)
    fi
    sha=$(sha256sum <"$dst" | cut -d' ' -f1)
    if [[ $sha == "$want" ]]; then remove_file "$dst"; else log "$NODE_CONFIG differs from the default: kept"; fi
  fi
  mapfile -t dirs < <(state_get dir)
  [[ -e $(hp "$STATE") ]] && remove_file "$(hp "$STATE")"
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    d=${dirs[i]}
    [[ -d $(hp "$d") ]] || continue
    if ((DRY)); then log "would remove directory $d if empty"; continue; fi
    if rmdir "$(hp "$d")" 2>/dev/null; then log "removed directory $d (created by the install)"; CHANGED=1
    else log "directory $d not empty: kept"; fi
  done
  run_label unlabel
}

if ((UNINSTALL)); then do_uninstall; else BIN_DIR=${BIN_DIR:-/usr/local/bin}; do_install; fi
if ((CHANGED)); then log "RESULT: changed"; else log "RESULT: unchanged"; fi
