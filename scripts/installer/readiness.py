"""Does the RUNNING containerd serve the reaper-v2 runtime? Asked through CRI.

`crictl info` sends CRI Status with verbose=true: containerd answers with its runtime
conditions, the runtime handlers it serves (containerd 2.x, CRI 1.30+) and the CRI config it
runs with (every containerd since 1.x, under "config"). The handler counts as served when the
running daemon's CRI config has the runtime with our runtime_type (and, where the daemon lists
runtime handlers, reaper-v2 is one of them). A file that looks right is not enough: a failed or
forgotten restart leaves the old daemon running, and it does not serve reaper-v2.
"""
import json
import os
import subprocess
import time

CRICTL_TIMEOUT = 15


class NotReady(Exception):
    pass


def query(crictl, endpoint, pass_fds=()):
    """(served, detail). served: True, False, or None when the daemon cannot be asked."""
    try:
        p = subprocess.run([crictl, "--runtime-endpoint", endpoint, "--timeout", "10s", "info"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=CRICTL_TIMEOUT,
                           pass_fds=pass_fds)
    except subprocess.TimeoutExpired:
        return None, f"{crictl} info did not answer in {CRICTL_TIMEOUT}s"
    except OSError as e:
        return None, f"cannot run {crictl}: {e}"
    if p.returncode != 0:
        return None, "containerd's CRI does not answer: " + (p.stderr.decode(errors="replace").strip()
                                                            .splitlines() or ["?"])[-1]
    try:
        info = json.loads(p.stdout)
    except ValueError:
        return None, f"{crictl} info printed no JSON"
    return served(info)


def served(info):
    cfg = info.get("config")
    if isinstance(cfg, str):
        try:
            cfg = json.loads(cfg)
        except ValueError:
            cfg = None
    runtimes = ((cfg or {}).get("containerd") or {}).get("runtimes") or {}
    r = runtimes.get("reaper-v2")
    if r is None:
        return False, "the running containerd has no reaper-v2 runtime (runtimes: " + \
            ", ".join(sorted(runtimes)) + ")"
    rtype = r.get("runtimeType", r.get("runtime_type"))
    if rtype != "io.containerd.reaper.v2":
        return False, f"the running containerd's reaper-v2 has runtime type {rtype!r}"
    handlers = (info.get("status") or {}).get("runtimeHandlers")
    if isinstance(handlers, list) and handlers and \
            "reaper-v2" not in [h.get("name") for h in handlers if isinstance(h, dict)]:
        return False, "the running containerd does not list reaper-v2 among its runtime handlers"
    conds = (info.get("status") or {}).get("conditions") or []
    for c in conds:
        if c.get("type") == "RuntimeReady" and c.get("status") is not True:
            return False, f"containerd reports RuntimeReady=false ({c.get('reason', '')})"
    return True, "the running containerd serves reaper-v2 (CRI Status)"


def wait(check, want, deadline_s, log):
    """Asks check() until it answers `want` (True: served, False: not served) or the deadline
    passes; returns the last (served, detail)."""
    end = time.monotonic() + deadline_s
    last = (None, "not asked")
    delay = 0.2
    while True:
        last = check()
        if last[0] is want:
            return last
        if time.monotonic() >= end:
            return last
        time.sleep(min(delay, max(0.0, end - time.monotonic())))
        delay = min(delay * 1.5, 2.0)


def find_crictl(explicit, candidates):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    for d in os.environ.get("PATH", "").split(":"):
        p = os.path.join(d, "crictl")
        if d and os.access(p, os.X_OK):
            return p
    return None
