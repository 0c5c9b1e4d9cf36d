"""Do two sets of rendered manifests hold the same objects? (tests/deploy/check-manifests.sh:
the Helm chart against the kustomizations.)

usage: same_objects.py A.yaml[,A2.yaml...] B.yaml[,B2.yaml...]
Objects are matched by kind, namespace and name and compared as parsed YAML (comments and
layout do not count). Prints each difference; exits 1 if there is one.
"""
import sys

import yaml


def load(paths):
    objs = {}
    for p in paths.split(","):
        with open(p, encoding="utf-8") as f:
            for d in yaml.safe_load_all(f):
                if d is None:
                    continue
                m = d.get("metadata", {})
                objs[(d.get("kind"), m.get("namespace", ""), m.get("name"))] = d
    return objs


def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += diff(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    problems = [f"only in the first: {k}" for k in sorted(set(a) - set(b), key=str)]
    problems += [f"only in the second: {k}" for k in sorted(set(b) - set(a), key=str)]
    for k in sorted(set(a) & set(b), key=str):
        problems += [f"{k[0]}/{k[2]}{d}" for d in diff(a[k], b[k])]
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(set(a) & set(b))} objects compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
