#!/usr/bin/env python3
"""The shim's part of `ctr run --rm`, step by step, from a containerd debug log.

    bench/timeline.sh                      # runs the latency phase at debug level, then this
    bench/timeline.py CONTAINERD_LOG [ID_SUBSTRING]

At debug level containerd starts every shim with -debug and copies the shim's log lines into
its own log; the Reaper shim then logs each step (src/ttrpc/server.cc "request"/"reply",
src/shim/lifecycle.cc "spawned", "child ready", "released", "exit seen", task_service.cc
"event queued"). For every task whose id contains ID_SUBSTRING (default "reaper") this takes
the lines from containerd's "creating task" to its "shim disconnected", names each step, and
prints the median offset of each step from "creating task" (containerd 1.6, which does not log
that line: its last "get snapshot mounts" of the task) over all such tasks (ms), and the
median time since the previous step: a markdown table for docs/benchmarks.md.
"""
import re
import statistics
import sys
from datetime import datetime

LINE = re.compile(r'^time="([^"]+)" level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S+)(.*)$')
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_time(t):
    # 2026-12-02T16:44:10.254878585Z: datetime keeps microseconds; keep the nanoseconds apart
    base, frac = t.rstrip("Z").split(".")
    return datetime.fromisoformat(base).timestamp() + int(frac.ljust(9, "0")) / 1e9


def unquote(v):
    return v[1:-1].replace('\\"', '"') if v.startswith('"') else v


def lines(path):
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            fields = {k: unquote(v) for k, v in FIELD.findall(m.group(4))}
            yield parse_time(m.group(1)), unquote(m.group(3)), fields


def runs(path, want):
    current, steps, methods, seen = None, [], {}, set()
    for t, msg, f in lines(path):
        if msg == "creating task" and want in f.get("id", ""):
            current, steps, methods, seen = f["id"], [(t, "containerd: creating task")], {}, set()
            continue
        if msg == "get snapshot mounts" and want in f.get("key", ""):
            # containerd 1.6 logs no "creating task": its last read of the rootfs mounts
            # (just before it runs the shim's `start`) stands for it; 2.x's line replaces it
            label = "containerd: rootfs mounts read (1.6 logs no 'creating task')"
            current, steps, methods, seen = f["key"], [(t, label)], {}, set()
            continue
        if current is None:
            continue
        if msg == "shim disconnected" and f.get("id") == current:
            steps.append((t, "containerd: shim disconnected"))
            yield current, steps
            current = None
            continue
        if "id" in f and f["id"] not in (current, ""):
            continue  # another task's line
        if msg == "request":
            methods[f.get("stream")] = f.get("method", "?")
            label = "shim: request " + f.get("method", "?")
        elif msg == "reply":
            label = "shim: reply " + methods.get(f.get("stream"), "?")
        elif msg == "event queued":
            label = "shim: event " + f.get("topic", "?")
        elif msg in ("start: stdin",):
            label = "shim start: stdin read"
        elif msg.startswith("connecting to shim"):
            label = "containerd: address read, connecting"
        elif msg == "spawned":
            how = {"clone3": "born in its cgroup (clone3)", "fork": "forked, joins its cgroup itself"}
            label = "shim: spawned, " + how.get(f.get("into_cgroup"), "?")
        elif msg in ("shim started", "child ready", "released", "exit seen"):
            label = "shim: " + msg
        else:
            continue
        if label in seen:
            continue  # first occurrence only (e.g. the second State request)
        seen.add(label)
        steps.append((t, label))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    want = sys.argv[2] if len(sys.argv) > 2 else "reaper"
    offsets, order = {}, []
    n = 0
    for _, steps in runs(sys.argv[1], want):
        n += 1
        t0 = steps[0][0]
        for t, label in steps:
            if label not in offsets:
                offsets[label] = []
                order.append(label)
            offsets[label].append((t - t0) * 1000)
    if not n:
        sys.exit("no task matching %r with a complete timeline in %s" % (want, sys.argv[1]))
    rows = sorted(order, key=lambda l: statistics.median(offsets[l]))
    print("| step (%d runs) | median offset (ms) | since previous step (ms) | seen in |" % n)
    print("|---|---|---|---|")
    prev = 0.0
    for label in rows:
        med = statistics.median(offsets[label])
        print("| %s | %.2f | %.2f | %d |" % (label, med, med - prev, len(offsets[label])))
        prev = med


if __name__ == "__main__":
    main()
