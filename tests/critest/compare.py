#!/usr/bin/env python3
"""Compares two critest runs (ginkgo JSON reports), runc's and Reaper's, against the exception
list of docs/conformance.md, and prints the result as markdown.

Exit status 1 when a spec passes with runc and does not pass with Reaper without being listed
(or when a report is missing); 0 otherwise. Listed specs that pass with Reaper are reported as
stale exceptions (a warning: the list should shrink as the pending issues land).

The list is the markdown table between the lines <!-- critest-exceptions:begin --> and
<!-- critest-exceptions:end --> of docs/conformance.md: column 1 the spec's full name in
backticks (`*` matches any text), column 2 its status (`by design` or `pending`).
Usage: compare.py --doc docs/conformance.md [--containerd V] [--critest V]
                  [--seconds runc=S,reaper-v2=S] RUNC.json REAPER.json
"""
import argparse
import json
import os
import re
import sys


def load_specs(path):
    """{full spec name: (state, failure message)} of the It nodes of a ginkgo JSON report."""
    with open(path) as f:
        suites = json.load(f)
    specs = {}
    for suite in suites:
        for r in suite.get("SpecReports") or []:
            if r.get("LeafNodeType") != "It":
                continue
            name = " ".join([*(r.get("ContainerHierarchyTexts") or []), r.get("LeafNodeText", "")])
            msg = ((r.get("Failure") or {}).get("Message") or "").strip()
            if r.get("State") == "skipped" and name in specs:
                continue  # run.sh merges passes: a spec skipped in one ran in another
            specs[name] = (r.get("State", "?"), msg)
    return specs


def load_exceptions(doc):
    """[(pattern, status, feature)] from the exception table of docs/conformance.md."""
    with open(doc) as f:
        text = f.read()
    m = re.search(r"<!-- critest-exceptions:begin -->(.*?)<!-- critest-exceptions:end -->", text, re.S)
    if not m:
        sys.exit(f"{doc}: no <!-- critest-exceptions:begin/end --> block")
    out = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        out.append((cells[0].strip("`"), cells[1].lower(), cells[2]))
    if not out:
        sys.exit(f"{doc}: the exception table is empty")
    return out


def matches(name, pat):
    """Exact, or `*` as the only wildcard (spec names are full of [brackets])."""
    rx = ".*".join(re.escape(part) for part in pat.split("*"))
    return re.fullmatch(rx, name) is not None


def listed(name, exceptions):
    for pat, status, feature in exceptions:
        if matches(name, pat):
            return status, feature
    return None


def counts(specs):
    c = {"passed": 0, "failed": 0, "skipped": 0}
    for state, _ in specs.values():
        key = state if state in ("passed", "skipped") else "failed"
        c[key] += 1
    return c


def short(msg, n=160):
    msg = " ".join(msg.split())
    return (msg[: n - 1] + "…") if len(msg) > n else msg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", required=True)
    ap.add_argument("--containerd", default="?")
    ap.add_argument("--critest", default="?")
    ap.add_argument("--seconds", default="")
    ap.add_argument("runc")
    ap.add_argument("reaper")
    a = ap.parse_args()
    secs = dict(kv.split("=", 1) for kv in a.seconds.split(",") if "=" in kv)
    exceptions = load_exceptions(a.doc)
    for path in (a.runc, a.reaper):
        if not os.path.exists(path):
            print(f"missing report {path}")
            return 1
    runc, reaper = load_specs(a.runc), load_specs(a.reaper)

    print(f"## critest {a.critest} on containerd {a.containerd}\n")
    print("| runtime (handler) | specs | passed | failed | skipped | time |")
    print("|---|---|---|---|---|---|")
    for label, h, specs in (("runc", "runc", runc), ("Reaper", "reaper-v2", reaper)):
        c = counts(specs)
        print(f"| {label} (`{h}`) | {len(specs)} | {c['passed']} | {c['failed']} | {c['skipped']} "
              f"| {secs.get(h, '?')} s |")

    unexpected, excused, stale, runc_fail, both_skip = [], [], [], [], []
    for name in sorted(set(runc) | set(reaper)):
        rs = runc.get(name, ("absent", ""))[0]
        es, emsg = reaper.get(name, ("absent", ""))
        ex = listed(name, exceptions)
        if rs == "passed" and es != "passed":
            (excused if ex else unexpected).append((name, es, emsg, ex))
        elif rs == "passed" and es == "passed" and ex:
            stale.append((name, ex))
        elif rs not in ("passed", "skipped"):
            runc_fail.append((name, rs, es, runc[name][1]))
        elif rs == "skipped" and es == "skipped":
            both_skip.append(name)

    print(f"\nPassed with runc, not with Reaper: {len(unexpected) + len(excused)} "
          f"({len(excused)} listed in docs/conformance.md, {len(unexpected)} not listed).")
    if unexpected:
        print("\n### Reaper-only failures NOT in the exception list (these fail the test)\n")
        print("| spec | Reaper | failure |")
        print("|---|---|---|")
        for name, es, emsg, _ in unexpected:
            print(f"| `{name}` | {es} | {short(emsg)} |")
    if excused:
        print("\n### Listed exceptions (failed with Reaper, passed with runc)\n")
        print("| spec | status | Pod feature | Reaper |")
        print("|---|---|---|---|")
        for name, es, emsg, (status, feature) in excused:
            print(f"| `{name}` | {status} | {feature} | {es}: {short(emsg, 100)} |")
    if stale:
        print("\n### Listed but passing with Reaper (remove from the list)\n")
        for name, (status, _) in stale:
            print(f"- `{name}` ({status})")
    if runc_fail:
        print("\n### Failed with runc too (not compared: this machine or the stand-in images)\n")
        print("| spec | runc | Reaper | runc's failure |")
        print("|---|---|---|---|")
        for name, rs, es, msg in runc_fail:
            print(f"| `{name}` | {rs} | {es} | {short(msg, 120)} |")
    if both_skip:
        print(f"\nSkipped for both ({len(both_skip)}): the built-in skips of tests/critest/run.sh "
              "and specs that skip themselves on this machine.")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
