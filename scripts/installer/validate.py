"""containerd itself checks every config the installer would write.

`containerd --config FILE config dump` with the node's own containerd binary (run in the node's
view: chroot into --root when it is not /) loads FILE with its imports exactly as the daemon
will, merges the defaults in and prints the result, or fails with the parser's message. The
installer compares the dump of the candidate with the dump of the file as it is now: the only
difference allowed is the change it means to make (the reaper-v2 runtime, with its
runtime_type, runtime_path and pod_annotations, at the CRI path of that containerd), and
containerd must not log a warning the current file does not cause.
"""
import os
import re
import subprocess
import tomllib

DUMP_TIMEOUT = 60


class ValidationError(Exception):
    pass


class Containerd:
    """The node's containerd binary, run in the node's view of the filesystem."""

    def __init__(self, root, binary):
        self.root = root            # HostRoot
        self.binary = binary        # node path

    def _run(self, args):
        def enter_root():
            if self.root.root != "/":
                os.chroot(self.root.root)
                os.chdir("/")
        try:
            p = subprocess.run([self.binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=DUMP_TIMEOUT, preexec_fn=enter_root, env={"PATH": "/usr/bin:/bin"})
        except subprocess.TimeoutExpired as e:
            raise ValidationError(f"{self.binary} {' '.join(args)} did not finish in {DUMP_TIMEOUT}s") from e
        except OSError as e:
            raise ValidationError(f"cannot run the node's containerd {self.root.show(self.binary)}: {e}") from e
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def version(self):
        """(major, minor) of the binary, from `containerd --version`."""
        rc, out, err = self._run(["--version"])
        m = re.search(r"\sv?(\d+)\.(\d+)\.\d+", out)
        if rc != 0 or not m:
            raise ValidationError(f"{self.binary} --version: unexpected output {out.strip() or err.strip()!r}")
        return int(m.group(1)), int(m.group(2))

    def default_version(self):
        """The config version this containerd writes itself (`config default`)."""
        rc, out, err = self._run(["config", "default"])
        if rc != 0:
            raise ValidationError(f"{self.binary} config default failed: {err.strip()}")
        try:
            return int(tomllib.loads(out).get("version", 1))
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise ValidationError(f"{self.binary} config default: unreadable output ({e})") from e

    def dump(self, node_path):
        """(config dict, warning lines) of the file as containerd loads it; ValidationError if it
        cannot."""
        rc, out, err = self._run(["--config", node_path, "config", "dump"])
        if rc != 0:
            msg = err.strip().splitlines()
            raise ValidationError("containerd cannot load it: " + (msg[-1] if msg else f"exit status {rc}"))
        try:
            doc = tomllib.loads(out)
        except tomllib.TOMLDecodeError as e:
            raise ValidationError(f"containerd's config dump is not TOML ({e})") from e
        warnings = [normalize_log(l, node_path) for l in err.splitlines()
                    if re.search(r"level=(warning|error|fatal)|Ignoring unknown key", l)]
        return doc, warnings


def normalize_log(line, path):
    """A log line's level and message only (no time, no durations such as t="12µs"), with the
    candidate's file name generalised."""
    m = re.search(r'level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"', line)
    if m:
        line = f"level={m.group(1)} msg={m.group(2)}"
    else:
        line = re.sub(r'time="[^"]*"\s*', "", line)
    return line.replace(path, "<config>")


def cri_runtimes(dump):
    """(plugin id, runtimes dict) of the CRI runtime plugin in a dump (any containerd)."""
    plugins = dump.get("plugins", {})
    for plugin in ("io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"):
        rts = plugins.get(plugin, {}).get("containerd", {}).get("runtimes")
        if isinstance(rts, dict):
            return plugin, rts
    return None, None


def grpc_address(dump):
    """The daemon's gRPC socket as configured (version 2/3: [grpc]; 4: the server plugin)."""
    addr = dump.get("grpc", {}).get("address")
    if not addr:
        addr = dump.get("plugins", {}).get("io.containerd.server.v1.grpc", {}).get("address")
    return addr or "/run/containerd/containerd.sock"


def _without_self_import(dump):
    d = dict(dump)
    imports = list(d.get("imports", []))
    if imports:
        imports = imports[1:]   # the file itself comes first
    d["imports"] = imports
    return d


def check_candidate(before, after, shim_path, added, removed=()):
    """Raises ValidationError unless `after` is `before` with exactly these runtime changes:
    added: names that must now exist (reaper-v2 with our fields; others unchanged from before, or
    new); removed: names that must be gone. Everything else must be identical."""
    (b, bw), (a, aw) = before, after
    plugin, art = cri_runtimes(a)
    _, brt = cri_runtimes(b)
    if art is None or brt is None:
        raise ValidationError("containerd's dump has no CRI runtimes table: the CRI plugin is disabled "
                              "(disabled_plugins) or not built in; reaper-v2 is a CRI runtime (ctr users "
                              "pass --runtime io.containerd.reaper.v2 and need no config)")
    problems = []
    if "reaper-v2" in added:
        r = art.get("reaper-v2")
        if r is None:
            problems.append(f"containerd does not see a reaper-v2 runtime in plugins.\"{plugin}\".containerd.runtimes "
                            "(an imported file may replace the CRI section: containerd 1.x replaces whole plugin "
                            "sections from imports)")
        else:
            if r.get("runtime_type") != "io.containerd.reaper.v2":
                problems.append(f"reaper-v2 runtime_type is {r.get('runtime_type')!r}")
            if r.get("runtime_path", "") != shim_path:
                problems.append(f"reaper-v2 runtime_path is {r.get('runtime_path')!r}, expected {shim_path!r}")
            if "reaper.runtime/*" not in (r.get("pod_annotations") or []):
                problems.append(f"reaper-v2 pod_annotations {r.get('pod_annotations')!r} lack 'reaper.runtime/*'")
    for n in removed:
        if n in art:
            problems.append(f"runtime {n} is still defined")
    lost = sorted(set(brt) - set(art) - set(removed))
    if lost:
        problems.append("runtimes that containerd would no longer have: " + ", ".join(lost))
    for n in sorted(set(brt) & set(art)):
        if n not in added and _norm_runtime(brt[n]) != _norm_runtime(art[n]):
            problems.append(f"runtime {n} would change")
    # everything outside the CRI runtimes table must be identical
    bb, aa = _without_self_import(b), _without_self_import(a)
    for d in (bb, aa):
        rts = d.get("plugins", {}).get(plugin, {}).get("containerd", {})
        if "runtimes" in rts:
            d["plugins"] = dict(d["plugins"])
            d["plugins"][plugin] = dict(d["plugins"][plugin])
            d["plugins"][plugin]["containerd"] = {k: v for k, v in rts.items() if k != "runtimes"}
    if bb != aa:
        problems.append("settings outside the runtimes table would change: " + ", ".join(_diff_keys(bb, aa)))
    new_warnings = [w for w in aw if w not in bw]
    if new_warnings:
        problems.append("containerd warns: " + " | ".join(new_warnings))
    if problems:
        raise ValidationError("; ".join(problems))


def _norm_runtime(r):
    """A runtime without zero-valued options: containerd prints its built-in runc with every
    option at its zero value, the same runc defined in a file with an empty options table."""
    r = dict(r)
    opts = r.get("options")
    if isinstance(opts, dict):
        r["options"] = {k: v for k, v in opts.items() if v not in ("", 0, False, None, [], {})}
    return r


def _diff_keys(a, b, prefix=""):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
                out += _diff_keys(a[k], b[k], f"{prefix}{k}.")
            else:
                out.append(prefix + k)
    return out[:10]


def lost_runtimes(before, after):
    """{name: runtime_type} of runtimes present in before's dump and missing in after's."""
    _, brt = cri_runtimes(before[0])
    _, art = cri_runtimes(after[0])
    if brt is None or art is None:
        return {}
    return {n: brt[n].get("runtime_type", "") for n in set(brt) - set(art)}
