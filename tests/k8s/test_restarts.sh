# shellcheck shell=bash
# Restart policies with kubelet's back-off, and probes run by kubelet through CRI ExecSync
# (exec probes) or against the pod's host-network server (httpGet).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi


# restartPolicy Always on a container that exits 1: restarts counted, CrashLoopBackOff between
# them (kubelet's back-off: 10 s, 20 s, ...), each exit recorded.
t_restart_always() {
  local pod=crash
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container main 'echo crashing; exit 1')")"
  assert_wait 60 "back-off after the first exit" k8s_waiting_reason_is "$pod" main CrashLoopBackOff
  assert_wait 120 "restartCount reaches 2" k8s_restarts_at_least "$pod" main 2
  assert_eq 1 "$(k8s_cstatus "$pod" main lastState.terminated.exitCode)" "exit code of the last run"
  # kubelet answers --previous from its status cache, which may name a container its garbage
  # collection just removed (crash loop): ask again until it names the current previous one
  assert_wait 30 "kubectl logs --previous is the previous run's log ($(kcn logs "$pod" --previous 2>&1 | cut -c1-200))" \
    k8s_out_is crashing kcn logs "$pod" --previous
  assert_wait 60 "CrashLoopBackOff again" k8s_waiting_reason_is "$pod" main CrashLoopBackOff
  assert_wait 30 "a BackOff event" k8s_has_event "$pod" BackOff "Back-off restarting failed container"
  assert_eq Running "$(k8s_jp "pod/$pod" '{.status.phase}')" "phase of a crash-looping Always pod"
  k8s_delete_pod "$pod"
}

# restartPolicy OnFailure: a failed run is restarted, a successful one ends the pod.
t_restart_onfailure() {
  local pod=onfail
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" OnFailure "$(k8s_container main \
    'if [ -e /state/ran ]; then echo second; exit 0; fi; touch /state/ran; echo first; exit 3' \
    '    volumeMounts: [{name: state, mountPath: /state}]')" \
    '  volumes: [{name: state, emptyDir: {}}]')"
  k8s_wait_phase "$pod" Succeeded 120
  assert_eq 1 "$(k8s_cstatus "$pod" main restartCount)" "restarts"
  assert_eq 3 "$(k8s_cstatus "$pod" main lastState.terminated.exitCode)" "exit code of the failed run"
  assert_eq 0 "$(k8s_cstatus "$pod" main state.terminated.exitCode)" "exit code of the last run"
  assert_eq second "$(kcn logs "$pod")" "log of the last run"
  k8s_delete_pod "$pod"
}

# An exec liveness probe that starts failing: kubelet kills and restarts the container.
t_liveness_exec() {
  local pod=live
  track "$pod"
  # healthy while /state/healthy exists; the first run removes it after a while, the second
  # keeps it
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container main \
    'touch /state/healthy; if [ ! -e /state/second ]; then touch /state/second; sleep 3; rm /state/healthy; fi; exec sleep 100000' \
    '    volumeMounts: [{name: state, mountPath: /state}]
    livenessProbe:
      exec: {command: [cat, /state/healthy]}
      periodSeconds: 1
      failureThreshold: 2')" \
    '  volumes: [{name: state, emptyDir: {}}]')"
  assert_wait 120 "restarted by the liveness probe" k8s_restarts_at_least "$pod" main 1
  assert_wait 30 "an Unhealthy event" k8s_has_event "$pod" Unhealthy "Liveness probe failed"
  assert_wait 30 "a Killing event" k8s_has_event "$pod" Killing "failed liveness probe"
  assert_wait 60 "running again" kcn wait --for=condition=Ready "pod/$pod" --timeout=5s
  assert_eq 1 "$(k8s_cstatus "$pod" main restartCount)" "one restart (the second run stays healthy)"
  k8s_delete_pod "$pod"
}

# An exec readiness probe gates Ready, both ways; the container is never restarted for it.
t_readiness_exec() {
  local pod=ready
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container main 'exec sleep 100000' \
    '    volumeMounts: [{name: state, mountPath: /state}]
    readinessProbe:
      exec: {command: [test, -e, /state/ready]}
      periodSeconds: 1
      failureThreshold: 1')" \
    '  volumes: [{name: state, emptyDir: {}}]')"
  k8s_wait_phase "$pod" Running 90
  assert_wait 30 "a failing readiness probe is reported" k8s_has_event "$pod" Unhealthy "Readiness probe failed"
  k8s_ready_is "$pod" False || fail "Ready before the probe succeeded"
  kcn exec "$pod" -- touch /state/ready
  assert_wait 30 "Ready once the probe succeeds" k8s_ready_is "$pod" True
  kcn exec "$pod" -- rm /state/ready
  assert_wait 30 "not Ready once it fails again" k8s_ready_is "$pod" False
  assert_eq 0 "$(k8s_cstatus "$pod" main restartCount)" "readiness never restarts"
  k8s_delete_pod "$pod"
}

# An httpGet readiness and liveness probe against the server the pod runs on the host network:
# a 404 makes the pod not Ready at once (failureThreshold 1), then restarted (8 failures).
t_http_probe() {
  local pod=http port www=/tmp/reaper-k8s-$E2E_RUNID-probe
  port=$(k8s_ports 1)
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container main \
    "mkdir -p $www && echo ok >$www/healthz && exec busybox httpd -f -p 127.0.0.1:$port -h $www" \
    "    readinessProbe:
      httpGet: {host: 127.0.0.1, port: $port, path: /healthz}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      httpGet: {host: 127.0.0.1, port: $port, path: /healthz}
      periodSeconds: 1
      failureThreshold: 8")")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  assert_eq ok "$(curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz")" "the pod's server on the host network"
  kcn exec "$pod" -- rm "$www/healthz"
  assert_wait 30 "not Ready once the server answers 404" k8s_ready_is "$pod" False
  assert_wait 60 "restarted by the failing httpGet liveness probe" k8s_restarts_at_least "$pod" main 1
  assert_wait 60 "Ready again after the restart" k8s_ready_is "$pod" True
  k8s_delete_pod "$pod"
}

# A startupProbe holds back liveness and readiness until it succeeds.
t_startup_probe() {
  local pod=startup
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container main 'exec sleep 100000' \
    '    volumeMounts: [{name: state, mountPath: /state}]
    startupProbe:
      exec: {command: [test, -e, /state/started]}
      periodSeconds: 1
      failureThreshold: 120
    livenessProbe:
      exec: {command: [test, -e, /state/started]}
      periodSeconds: 1
      failureThreshold: 1
    readinessProbe:
      exec: {command: ["true"]}
      periodSeconds: 1')" \
    '  volumes: [{name: state, emptyDir: {}}]')"
  k8s_wait_phase "$pod" Running 90
  assert_wait 30 "the startup probe fails first" k8s_has_event "$pod" Unhealthy "Startup probe failed"
  assert_eq false "$(k8s_cstatus "$pod" main started)" "started before the startup probe succeeded"
  k8s_ready_is "$pod" False || fail "Ready before the startup probe succeeded"
  kcn exec "$pod" -- touch /state/started
  assert_wait 30 "started once the startup probe succeeds" k8s_out_is true k8s_cstatus "$pod" main started
  assert_wait 30 "Ready after startup" k8s_ready_is "$pod" True
  assert_eq 0 "$(k8s_cstatus "$pod" main restartCount)" "liveness did not run before startup"
  k8s_delete_pod "$pod"
}

register_test restart_always t_restart_always
register_test restart_onfailure t_restart_onfailure
register_test liveness_exec t_liveness_exec
register_test readiness_exec t_readiness_exec
register_test http_probe t_http_probe
register_test startup_probe t_startup_probe
