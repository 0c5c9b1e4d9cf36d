# shellcheck shell=bash
# bench/throughput.sh: the "throughput" phase of bench/run.sh (sourced by it, not run alone:
# `bench/run.sh throughput` runs only this phase).
#
# A task writes BENCH_TP_BYTES (1 GiB) to its stdout; `ctr run --rm` (foreground, no -t) copies
# it from the stdout FIFO to its own stdout, a pipe read by bench/sink.c, which splices it into
# /dev/null, counts it and timestamps the first and the last byte. Path of the bytes:
#
#   producer -> pipe -> SHIM (reaper: splice; runc: read/write) -> FIFO -> ctr (Go io.Copy)
#            -> pipe -> sink (splice to /dev/null)
#
# containerd itself is not on the data path with ctr (ctr opens the FIFOs itself); its CPU is
# measured anyway to show that.
#
# The task is `/bin/busybox sh -c '<producer>; exec >/dev/null 2>&1; exec /bin/busybox sleep
# 3600'`: once the bytes are out, it closes its stdout (so the copy ends) but stays alive, so
# its shim is still there to be measured. When the sink has seen every byte and the task's main
# process has become `sleep`, the script reads utime+stime (/proc/<pid>/stat fields 14+15) of
# the shim, of the ctr client and of containerd, and cutime+cstime (fields 16+17) of the task,
# which hold the producer's CPU (reaped by sh before its exec). Nothing calls containerd between
# the start of `ctr run` and that sample (the task is found through /proc, not `ctr task ls`).
# Then the task is SIGKILLed, `ctr run --rm` removes it, and the sink's final count is checked.
#
# Each CPU figure includes the fixed cost of starting and serving the task, so the same is
# measured for a 0-byte transfer (BENCH_TP_BASE_RUNS runs per runtime) and the median of that
# baseline is subtracted before dividing by the GiB moved.
#
# Producers (BENCH_TP_PRODUCERS, default "head dd"), the SAME static busybox binary for both
# runtimes (lib.sh copies the host's busybox-static into the image; Reaper runs the host's):
#   head  /bin/busybox head -c <bytes> /dev/zero                (writes 4 KiB at a time)
#   dd    /bin/busybox dd if=/dev/zero bs=1048576 count=<MiB>   (writes 1 MiB at a time)
# The same commands piped straight into the sink on the host (no containerd, no shim, no ctr)
# are measured as the ceiling ("host pipe").
#
# A second client, "fifo", takes ctr off the data path to show the shims' own ceiling (see
# tp_run).
#
# Env: BENCH_TP_RUNS (5 measured transfers per runtime, producer and client), BENCH_TP_BYTES
#      (1073741824), BENCH_TP_PRODUCERS ("head dd"), BENCH_TP_CLIENTS ("ctr fifo"),
#      BENCH_TP_BASE_RUNS (3 per runtime and client), BENCH_TP_TIMEOUT (600 s per transfer).

TP_RUNS=${BENCH_TP_RUNS:-5}
TP_BYTES=${BENCH_TP_BYTES:-1073741824}
TP_PRODUCERS=${BENCH_TP_PRODUCERS:-head dd}
TP_CLIENTS=${BENCH_TP_CLIENTS:-ctr fifo}
TP_BASE_RUNS=${BENCH_TP_BASE_RUNS:-3}
TP_TIMEOUT=${BENCH_TP_TIMEOUT:-600}
TP_SLEEP_ARGV="/bin/busybox sleep 3600 " # the task's main process after the transfer (cmdline, NULs as spaces)
TP_SINK=""                               # compiled by tp_setup
CLK_TCK=$(getconf CLK_TCK)

declare -A TP_RAW=() # "<client>,<rt>,<producer|base>" or "host,<producer>" -> lines
                     # "bytes secs shim prod ctr cd sink shim_ctxsw" (CPU in s)

tp_check_args() {
  [[ $TP_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_TP_RUNS must be a positive integer"
  [[ $TP_BASE_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_TP_BASE_RUNS must be a positive integer"
  [[ $TP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_TP_TIMEOUT must be a positive integer (seconds)"
  [[ $TP_BYTES =~ ^[1-9][0-9]*$ ]] || die "BENCH_TP_BYTES must be a positive integer"
  local p
  for p in $TP_PRODUCERS; do
    case $p in
      head) ;;
      dd) ((TP_BYTES % 1048576 == 0)) || die "producer dd needs BENCH_TP_BYTES to be a multiple of 1 MiB" ;;
      *) die "unknown producer '$p' in BENCH_TP_PRODUCERS (head, dd)" ;;
    esac
  done
  for p in $TP_CLIENTS; do
    [[ $p == ctr || $p == fifo ]] || die "unknown client '$p' in BENCH_TP_CLIENTS (ctr, fifo)"
  done
  [[ -n ${TP_CLIENTS// /} && -n ${TP_PRODUCERS// /} ]] || die "BENCH_TP_CLIENTS and BENCH_TP_PRODUCERS must not be empty"
}

tp_producer_cmd() { # <producer> <bytes>
  case $1 in
    head) echo "/bin/busybox head -c $2 /dev/zero" ;;
    dd) echo "/bin/busybox dd if=/dev/zero bs=1048576 count=$(($2 / 1048576)) 2>/dev/null" ;;
  esac
}

tp_setup() {
  mkdir -p "$E2E_DIR/tp"
  TP_SINK=$E2E_DIR/tp/sink
  cc -O2 -Wall -o "$TP_SINK" "$BENCH_SELF/sink.c" || die "cannot compile bench/sink.c"
}

# tp_stat <pid>: "utime+stime cutime+cstime" in clock ticks
tp_stat() {
  local s f
  s=$(<"/proc/$1/stat") || return 1
  s=${s##*) } # fields from 3 (state) on; utime is field 14
  read -ra f <<<"$s"
  echo "$((f[11] + f[12])) $((f[13] + f[14]))"
}
tp_secs() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }'; }

# tp_task_pid <id>: pid of the task's main process once it has exec'd sleep.
tp_task_pid() {
  local p
  for p in $(pgrep -x busybox); do
    [[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == "$TP_SLEEP_ARGV" ]] || continue
    proc_has "$p" environ "BENCH_TP_ID=$1" && { echo "$p"; return 0; }
  done
  return 1
}
tp_task_sleeping() { tp_task_pid "$1" >/dev/null; }
# tp_is_our_shim <pid>: a containerd-shim-* of this run's containerd (lib.sh's e2e_shim_pids
# test, for one pid: scanning all of /proc takes seconds on a loaded machine).
# tp_ctxsw <pid>: context switches (voluntary + involuntary) summed over the process's live
# threads: roughly how often the shim went to sleep (epoll_wait, futex) and was woken again.
tp_ctxsw() {
  awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }' /proc/"$1"/task/*/status 2>/dev/null
}
tp_is_our_shim() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ ${exe##*/} == containerd-shim* ]] || return 1
  proc_has "$1" cmdline "$E2E_DIR" || proc_has "$1" environ "TTRPC_ADDRESS=$E2E_DIR"
}

# tp_run <client> <rt> <label> <bytes> <producer-cmd>: one transfer; on success appends
# "bytes secs shim prod ctr cd sink shim_ctxsw" to TP_RAW[<client>,<rt>,<label>] and returns 0.
#   client ctr:  `ctr run --rm` in the foreground reads the stdout FIFO (the normal path).
#   client fifo: `ctr run -d --fifo-dir <dir>` starts the task, which first waits for a line on
#                its stdin; once ctr has exited, the sink opens the stdout FIFO by path and the
#                script writes the line into the stdin FIFO. No ctr on the data path: this is the
#                shim's own ceiling with the fastest possible FIFO reader.
tp_run() {
  local client=$1 rt=$2 label=$3 bytes=$4 cmd=$5 id out errf nfd sinkpid ctrpid="" rc=0
  local tag total t_first t_reach sink_us cd0 cd1 tpid spid="" shim_t shim_cs task_t ctr_t=0 x ok=1 final
  local fdir holdfd fifos
  id=$(cid "tp-$(short "$rt")-$client-$label-$RANDOM")
  errf=$E2E_DIR/logs/$id.err
  if [[ $client == ctr ]]; then
    out=$E2E_DIR/tp/$id.out
    mkfifo "$out"
    exec {nfd}< <(exec "$TP_SINK" "$bytes" <"$out")
    sinkpid=$!
    read -r cd0 x < <(tp_stat "$E2E_CONTAINERD_PID")
    ctr --address "$E2E_ADDR" --namespace "$E2E_NS" --timeout "$((TP_TIMEOUT + 60))s" \
      run --rm --runtime "$rt" --env "E2E_MARK=$E2E_DIR" --env "BENCH_TP_ID=$id" "$E2E_IMAGE" "$id" \
      /bin/busybox sh -c "$cmd; exec >/dev/null 2>&1; exec $TP_SLEEP_ARGV" \
      </dev/null >"$out" 2>"$errf" &
    ctrpid=$!
  else
    fdir=$E2E_DIR/tp/$id.fifos
    mkdir "$fdir"
    # ctr's stdin: a FIFO this shell holds open and never writes, so ctr neither sees EOF (which
    # would make it CloseIO the task's stdin) nor sends anything before it exits.
    mkfifo "$fdir.hold"
    exec {holdfd}<>"$fdir.hold"
    if ! ctrp run -d --fifo-dir "$fdir" --runtime "$rt" --env "E2E_MARK=$E2E_DIR" --env "BENCH_TP_ID=$id" \
        "$E2E_IMAGE" "$id" /bin/busybox sh -c "read -r go; $cmd; exec >/dev/null 2>&1; exec $TP_SLEEP_ARGV" \
        <&"$holdfd" >/dev/null 2>"$errf"; then
      exec {holdfd}>&-
      record_failure "$rt" "$label ($client): ctr run -d failed" "$id" "$errf"
      remove_container "$id"
      return 1
    fi
    exec {holdfd}>&-
    fifos=("$fdir"/*/"$id"-stdout "$fdir"/*/"$id"-stdin)
    if [[ ${#fifos[@]} != 2 || ! -p ${fifos[0]} || ! -p ${fifos[1]} ]]; then
      echo "stdio FIFOs not found under $fdir: $(find "$fdir" | tr '\n' ' ')" >>"$errf"
      record_failure "$rt" "$label ($client): no stdio FIFOs after ctr run -d" "$id" "$errf"
      remove_container "$id"
      return 1
    fi
    exec {nfd}< <(exec "$TP_SINK" "$bytes" <"${fifos[0]}")
    sinkpid=$!
    read -r cd0 x < <(tp_stat "$E2E_CONTAINERD_PID")
    # Both shims hold the stdin FIFO open for reading, so this open does not block.
    printf 'go\n' >"${fifos[1]}"
  fi
  if ! read -r -t "$TP_TIMEOUT" -u "$nfd" tag total t_first t_reach sink_us; then
    echo "no result from the sink within ${TP_TIMEOUT}s" >>"$errf"
    record_failure "$rt" "$label ($client) transfer of $bytes bytes did not finish within ${TP_TIMEOUT}s" "$id" "$errf"
    ok=0
  elif ((total < bytes)); then
    record_failure "$rt" "$label ($client) transfer: only $total of $bytes bytes arrived" "$id" "$errf"
    ok=0
  elif ! wait_until 30 tp_task_sleeping "$id"; then
    record_failure "$rt" "$label ($client) transfer: the task did not reach its final sleep" "$id" "$errf"
    ok=0
  else
    # The sample: nothing has called containerd since the transfer began.
    read -r cd1 x < <(tp_stat "$E2E_CONTAINERD_PID")
    [[ -z $ctrpid ]] || read -r ctr_t x < <(tp_stat "$ctrpid")
    tpid=$(tp_task_pid "$id")
    spid=$(ppid_of "$tpid")
    read -r shim_t x < <(tp_stat "$spid")
    shim_cs=$(tp_ctxsw "$spid")
    read -r x task_t < <(tp_stat "$tpid") # the producer: children of the task's sh
    task_t=$((task_t + x))
    if ! tp_is_our_shim "$spid"; then
      echo "parent $spid of task pid $tpid is not a shim of this containerd" >>"$errf"
      record_failure "$rt" "$label ($client) transfer: shim not found" "$id" "$errf"
      ok=0
    fi
  fi
  # Tear down: end the task (ctr run --rm then deletes it; for fifo, cleanup_container does),
  # then check the sink's final count.
  if [[ -n $ctrpid ]]; then
    ctrp task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    if ((ok)); then
      wait "$ctrpid" || rc=$?
    else
      kill "$ctrpid" 2>/dev/null || true
      wait "$ctrpid" 2>/dev/null || true
    fi
  else
    cleanup_container "$id"
    rc=137
  fi
  if ((ok)) && read -r -t 30 -u "$nfd" tag final x && [[ $tag == eof ]]; then
    if ((final != bytes)); then
      record_failure "$rt" "$label ($client) transfer: the sink counted $final bytes, expected $bytes" "$id" "$errf"
      ok=0
    fi
  elif ((ok)); then
    record_failure "$rt" "$label ($client) transfer: no EOF at the sink after the task was deleted" "$id" "$errf"
    ok=0
  fi
  exec {nfd}<&-
  kill "$sinkpid" 2>/dev/null || true
  wait "$sinkpid" 2>/dev/null || true
  rm -rf "${out:-}" "${fdir:-}" "${fdir:+$fdir.hold}"
  if ((ok)) && ((rc != 137)); then
    blog "WARNING: ctr run --rm $id exited $rc (expected 137 after SIGKILL): $(tail -n 3 "$errf" | tr '\n' ' ')"
  fi
  remove_container "$id"
  [[ -z $spid ]] || wait_pid_exit 10 "$spid" || blog "WARNING: shim $spid still alive 10s after $id was deleted"
  ((ok)) || return 1
  local secs cpu_line
  secs=$(awk -v a="$t_first" -v b="$t_reach" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
  cpu_line="$(tp_secs "$shim_t") $(tp_secs "$task_t") $(tp_secs "$ctr_t") $(tp_secs "$((cd1 - cd0))") $(awk -v u="$sink_us" 'BEGIN { printf "%.3f", u / 1e6 }')"
  TP_RAW[$client,$rt,$label]+="$total $secs $cpu_line $shim_cs"$'\n'
  blog "  $(short "$rt") $label via $client: $total bytes in $(awk -v d="$secs" -v n="$total" 'BEGIN { printf "%.2f s = %.0f MB/s", d, (d > 0) ? n / d / 1e6 : 0 }'); CPU s (shim producer ctr containerd sink): $cpu_line; shim context switches $shim_cs"
}

# tp_host <label> <bytes> <producer-cmd>: the producer piped straight into the sink.
tp_host() {
  local label=$1 bytes=$2 cmd=$3 tag total t_first t_reach sink_us
  read -r tag total t_first t_reach sink_us < <(/bin/busybox sh -c "$cmd" | "$TP_SINK" "$bytes" | head -n 1)
  if [[ $tag != reached || $total != "$bytes" ]]; then
    blog "WARNING: host pipe $label: got '$tag $total', expected $bytes bytes"
    return 1
  fi
  TP_RAW[host,$label]+="$total $(awk -v a="$t_first" -v b="$t_reach" 'BEGIN { printf "%.6f", (b - a) / 1e9 }') 0 0 0 0 $(awk -v u="$sink_us" 'BEGIN { printf "%.3f", u / 1e6 }') 0"$'\n'
}

measure_throughput() {
  local i rt p c order base_cmd
  tp_setup
  base_cmd=$(tp_producer_cmd head 0)
  for c in $TP_CLIENTS; do
    blog "throughput: $TP_BASE_RUNS 0-byte baseline runs per runtime via $c"
    for ((i = 1; i <= TP_BASE_RUNS; i++)); do
      if ((i % 2)); then order=("$RT_REAPER" "$RT_RUNC"); else order=("$RT_RUNC" "$RT_REAPER"); fi
      for rt in "${order[@]}"; do
        [[ -z ${FAILED[$rt]:-} ]] || continue
        tp_run "$c" "$rt" base 0 "$base_cmd" || true
      done
    done
  done
  for p in $TP_PRODUCERS; do
    blog "throughput: producer $p ($(tp_producer_cmd "$p" "$TP_BYTES")), $TP_RUNS runs per runtime and client ($TP_CLIENTS) + host pipe"
    for ((i = 1; i <= TP_RUNS; i++)); do
      tp_host "$p" "$TP_BYTES" "$(tp_producer_cmd "$p" "$TP_BYTES")" || true
      if ((i % 2)); then order=("$RT_REAPER" "$RT_RUNC"); else order=("$RT_RUNC" "$RT_REAPER"); fi
      for c in $TP_CLIENTS; do
        for rt in "${order[@]}"; do
          [[ -z ${FAILED[$rt]:-} ]] || continue
          tp_run "$c" "$rt" "$p" "$TP_BYTES" "$(tp_producer_cmd "$p" "$TP_BYTES")" || true
        done
      done
    done
  done
}

# ---------------------------------------------------------------------------
# Report

# tp_median_in: median (linear interpolation) of the numbers on stdin, empty if none
tp_median_in() {
  awk 'NF' | sort -g | awk '{ x[n++] = $1 } END { if (n) { h = (n - 1) / 2; lo = int(h); printf "%.6g", (lo + 1 < n) ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo] } }'
}
tp_median() { printf '%s\n' "$@" | tp_median_in; } # <values...>
# tp_col <key> <column 1-7>: that column of every run of TP_RAW[<key>]
tp_col() { printf '%s' "${TP_RAW[$1]:-}" | awk -v c="$2" 'NF { print $c }'; }
# tp_mbps <key>: MB/s (1e6 bytes/s) of every run
tp_mbps() { printf '%s' "${TP_RAW[$1]:-}" | awk 'NF && $2 > 0 { printf "%.1f\n", $1 / $2 / 1e6 }'; }
# tp_per_gib <client> <rt> <label> <column>: CPU s/GiB of every run, baseline median subtracted
tp_per_gib() {
  local base
  base=$(tp_col "$1,$2,base" "$4" | tp_median_in)
  printf '%s' "${TP_RAW[$1,$2,$3]:-}" | awk -v c="$4" -v b="${base:-0}" 'NF { printf "%.4f\n", ($c - b) / ($1 / 1073741824) }'
}
tp_range() { # <printf-format> <values...>: "median (min–max)", empty if no values
  local fmt=$1 m
  shift
  m=$(tp_median "$@")
  [[ -n $m ]] || return 0
  printf '%s\n' "$@" | awk -v m="$m" -v f="$fmt" 'NF { v[n++] = $1 } END { lo = v[0]; hi = v[0]; for (i in v) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] } printf f " (" f "–" f ")", m, lo, hi }'
}
tp_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

declare -A TP_RESULT=() # "<client>,<producer>,<metric>" -> value, for the targets

# tp_rows <client> <producer>: the table rows of one client for one producer
tp_rows() {
  local client=$1 p=$2 rt cells m col name via
  local -A med=()
  case $client in
    ctr) via="via \`ctr run\`" ;;
    fifo) via="direct FIFO reader, no ctr" ;;
  esac
  for rt in "$RT_REAPER" "$RT_RUNC"; do
    mapfile -t cells < <(tp_mbps "$client,$rt,$p")
    med[$rt,mbps]=$(tp_median "${cells[@]}")
    med[$rt,mbps_cell]=$(tp_range "%.0f" "${cells[@]}")
    med[$rt,n]=${#cells[@]}
  done
  printf '| **throughput**, %s (MB/s) | %s | %s | **%s** |\n' "$via" "$(cell "$RT_REAPER" "${med[$RT_REAPER,mbps_cell]}")" \
    "$(cell "$RT_RUNC" "${med[$RT_RUNC,mbps_cell]}")" "$(tp_ratio "${med[$RT_REAPER,mbps]}" "${med[$RT_RUNC,mbps]}")"
  TP_RESULT[$client,$p,mbps_ratio]=$(tp_ratio "${med[$RT_REAPER,mbps]}" "${med[$RT_RUNC,mbps]}")
  TP_RESULT[$client,$p,mbps_reaper]=${med[$RT_REAPER,mbps]}
  TP_RESULT[$client,$p,mbps_runc]=${med[$RT_RUNC,mbps]}
  for m in "3 **shim**" "4 producer (task)" "5 ctr" "6 containerd" "7 sink"; do
    col=${m%% *} name=${m#* }
    if [[ $client == fifo && $col == 5 ]]; then med[$RT_REAPER,5]=0 med[$RT_RUNC,5]=0; continue; fi
    for rt in "$RT_REAPER" "$RT_RUNC"; do
      mapfile -t cells < <(tp_per_gib "$client" "$rt" "$p" "$col")
      med[$rt,$col]=$(tp_median "${cells[@]}")
      med[$rt,$col,cell]=$(tp_range "%.2f" "${cells[@]}")
    done
    printf '| %s CPU s/GiB | %s | %s | %s |\n' "$name" "$(cell "$RT_REAPER" "${med[$RT_REAPER,$col,cell]}")" \
      "$(cell "$RT_RUNC" "${med[$RT_RUNC,$col,cell]}")" "$(tp_ratio "${med[$RT_REAPER,$col]}" "${med[$RT_RUNC,$col]}")"
  done
  for rt in "$RT_REAPER" "$RT_RUNC"; do
    mapfile -t cells < <(tp_per_gib "$client" "$rt" "$p" 8 | awk '{ printf "%.0f\n", $1 / 1024 }')
    med[$rt,8]=$(tp_median "${cells[@]}")
    med[$rt,8,cell]=$(tp_range "%.0f" "${cells[@]}")
  done
  printf '| shim context switches per MiB (all threads) | %s | %s | %s |\n' "$(cell "$RT_REAPER" "${med[$RT_REAPER,8,cell]}")" \
    "$(cell "$RT_RUNC" "${med[$RT_RUNC,8,cell]}")" "$(tp_ratio "${med[$RT_REAPER,8]}" "${med[$RT_RUNC,8]}")"
  TP_RESULT[$client,$p,shim_reaper]=${med[$RT_REAPER,3]}
  TP_RESULT[$client,$p,shim_runc]=${med[$RT_RUNC,3]}
  for rt in "$RT_REAPER" "$RT_RUNC"; do
    med[$rt,total]=$(awk -v a="${med[$rt,3]}" -v b="${med[$rt,4]}" -v c="${med[$rt,5]}" -v d="${med[$rt,6]}" -v e="${med[$rt,7]}" \
      'BEGIN { if (a == "") exit; printf "%.2f", a + b + c + d + e }')
    med[$rt,wall]=$(awk -v m="${med[$rt,mbps]}" 'BEGIN { if (m > 0) printf "%.2f", 1073741824 / 1e6 / m }')
    med[$rt,util]=$(awk -v t="${med[$rt,total]}" -v w="${med[$rt,wall]}" -v n="$(nproc)" 'BEGIN { if (t != "" && w > 0) printf "%.0f %%", 100 * t / (n * w) }')
  done
  printf '| sum of the CPU above, s/GiB | %s | %s | %s |\n' "$(cell "$RT_REAPER" "${med[$RT_REAPER,total]}")" \
    "$(cell "$RT_RUNC" "${med[$RT_RUNC,total]}")" "$(tp_ratio "${med[$RT_REAPER,total]}" "${med[$RT_RUNC,total]}")"
  printf '| wall s/GiB (at the median throughput) | %s | %s | %s |\n' "$(cell "$RT_REAPER" "${med[$RT_REAPER,wall]}")" \
    "$(cell "$RT_RUNC" "${med[$RT_RUNC,wall]}")" "$(tp_ratio "${med[$RT_REAPER,wall]}" "${med[$RT_RUNC,wall]}")"
  printf '| that CPU as a share of the %s CPUs during the transfer | %s | %s | - |\n' "$(nproc)" \
    "$(cell "$RT_REAPER" "${med[$RT_REAPER,util]}")" "$(cell "$RT_RUNC" "${med[$RT_RUNC,util]}")"
  printf '| successful transfers | %s/%s | %s/%s | - |\n' "${med[$RT_REAPER,n]}" "$TP_RUNS" "${med[$RT_RUNC,n]}" "$TP_RUNS"
}

report_throughput() {
  local p c cells m col name r k
  echo
  echo "## Throughput: $TP_BYTES bytes on the task's stdout"
  echo
  echo "- Task: \`/bin/busybox sh -c '<producer>; exec >/dev/null 2>&1; exec ${TP_SLEEP_ARGV% }'\` (the sleep keeps the shim alive for the CPU sample)"
  echo "- via \`ctr run\`: \`ctr --address <tmp>/containerd.sock --namespace $E2E_NS run --rm --runtime <rt> --env ... $E2E_IMAGE <id> <task>\`, ctr's stdout a FIFO read by \`bench/sink.c\` (splice to /dev/null; counts bytes; times first→last byte)"
  echo "- direct FIFO reader: \`ctr run -d --fifo-dir <dir> ...\`, task gated on a line on its stdin; after ctr exits, the sink opens \`<dir>/*/<id>-stdout\` itself (no ctr on the data path)"
  echo "- $TP_RUNS transfers per runtime, producer and client (runtimes alternated ABBA), $TP_BASE_RUNS 0-byte baseline runs per runtime and client; cells are median (min–max), ratios are of medians. MB/s = 10^6 bytes/s, first→last byte at the sink."
  echo "- CPU: utime+stime of each process from /proc/<pid>/stat at the end of the transfer (tick 1/$CLK_TCK s), minus the median of the 0-byte baseline, divided by the GiB moved; producer = cutime+cstime of the task's sh (its reaped producer); sink = its getrusage."
  for p in $TP_PRODUCERS; do
    echo
    echo "### Producer \`$p\`: \`$(tp_producer_cmd "$p" "$TP_BYTES")\`"
    echo
    echo "| Metric | reaper | runc | reaper/runc |"
    echo "|---|---:|---:|---:|"
    for c in $TP_CLIENTS; do tp_rows "$c" "$p"; done
    mapfile -t cells < <(tp_mbps "host,$p")
    # shellcheck disable=SC2016 # literal backquotes (markdown)
    printf '| host pipe, no containerd: `%s \\| sink` (MB/s) | %s | | |\n' "$p" "$(tp_range "%.0f" "${cells[@]}")"
  done
  echo
  echo "0-byte baseline (subtracted above), CPU s per task, median:"
  echo
  echo "| | reaper | runc |"
  echo "|---|---:|---:|"
  for c in $TP_CLIENTS; do
    for m in "3 shim" "4 producer (task)" "5 ctr" "6 containerd"; do
      col=${m%% *} name=${m#* }
      [[ $c == fifo && $col == 5 ]] && continue
      r=$(tp_col "$c,$RT_REAPER,base" "$col" | tp_median_in)
      k=$(tp_col "$c,$RT_RUNC,base" "$col" | tp_median_in)
      printf '| %s (%s) | %s | %s |\n' "$name" "$c" "$(cell "$RT_REAPER" "$r")" "$(cell "$RT_RUNC" "$k")"
    done
  done
}

# Lines for the report's "Targets" list. The targets are about the normal path (client ctr);
# the fifo client is a diagnostic and is listed for information only.
targets_throughput() {
  local p c r s1 s2 what
  for c in $TP_CLIENTS; do
    for p in $TP_PRODUCERS; do
      r=${TP_RESULT[$c,$p,mbps_ratio]:-n/a}
      s1=${TP_RESULT[$c,$p,shim_reaper]:-} s2=${TP_RESULT[$c,$p,shim_runc]:-}
      if [[ $c == ctr ]]; then
        if [[ $r == n/a ]]; then
          echo "- [$p via ctr run] stdout throughput ≥ 1.5× runc: NOT MEASURED"
        else
          echo "- [$p via ctr run] stdout throughput ≥ 1.5× runc: $(awk -v r="$r" 'BEGIN { print (r >= 1.5) ? "met" : "NOT met" }') (ratio $r: $(printf '%.0f' "${TP_RESULT[$c,$p,mbps_reaper]}") vs $(printf '%.0f' "${TP_RESULT[$c,$p,mbps_runc]}") MB/s)"
        fi
        if [[ -z $s1 || -z $s2 ]]; then
          echo "- [$p via ctr run] less shim CPU than runc: NOT MEASURED"
        else
          echo "- [$p via ctr run] less shim CPU than runc: $(awk -v a="$s1" -v b="$s2" 'BEGIN { print (a < b) ? "met" : "NOT met" }') ($(printf '%.2f' "$s1") vs $(printf '%.2f' "$s2") CPU s/GiB)"
        fi
      elif [[ $r != n/a && -n $s1 && -n $s2 ]]; then
        what="(diagnostic, not a target) [$p, direct FIFO reader]"
        echo "- $what throughput ratio $r ($(printf '%.0f' "${TP_RESULT[$c,$p,mbps_reaper]}") vs $(printf '%.0f' "${TP_RESULT[$c,$p,mbps_runc]}") MB/s), shim CPU $(printf '%.2f' "$s1") vs $(printf '%.2f' "$s2") s/GiB"
      fi
    done
  done
}
