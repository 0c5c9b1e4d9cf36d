"""install-node: the node steps of every Reaper installation path. Run through
scripts/install-node.sh; docs/installation.md describes the behaviour, HELP the interface."""
import argparse
import difflib
import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ctrconfig  # noqa: E402
import manifest as mf  # noqa: E402
import readiness  # noqa: E402
import validate  # noqa: E402
from ctrconfig import ConfigError  # noqa: E402
from rootfs import HostRoot, RootError, sha256_bytes  # noqa: E402
from validate import ValidationError  # noqa: E402

BINARIES = ["containerd-shim-reaper-v2", "reaper-runtime", "reaper-overlay"]
LABEL_KEY = "node-restriction.kubernetes.io/reaper-v2"
LABEL_VALUE = "true"
BACKUP_SUFFIX = ".reaper-backup"
CONTAINERD_PATHS = ["/usr/local/bin/containerd", "/usr/bin/containerd", "/usr/sbin/containerd",
                    "/opt/bin/containerd", "/bin/containerd"]
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
INSTALLER_DIR = os.path.dirname(os.path.abspath(__file__))
SCRIPT_DIR = os.path.dirname(INSTALLER_DIR)

HELP = """\
usage: install-node.sh [options]                 install or upgrade Reaper on this node
       install-node.sh --uninstall [options]     remove exactly what the install put there
       install-node.sh --status [options]        does containerd's config use Reaper?

STABLE INTERFACE (the DaemonSet, Ansible, the .deb and people call it; keep it compatible).
Every PATH below is a path ON THE NODE, resolved inside --root (symlinks never lead out of it).

  --root DIR                 host root (default /; e.g. /host in a DaemonSet pod)
  --bin-src DIR              where the built binaries are, on this machine (default: the
                             package's /usr/bin, the script's own directory if it holds them,
                             else <script dir>/../build)
  --bin-dir PATH             install directory (default /usr/local/bin; the package: /usr/bin)
  --containerd-config PATH   containerd's config (default /etc/containerd/config.toml)
  --containerd PATH          the node's containerd binary; it checks every candidate config
                             (default: the first of PATH (with --root /), /usr/local/bin,
                             /usr/bin, /usr/sbin, /opt/bin)
  --containerd-version 2|3|4 config version to create when there is no config (default: the
                             version the node's containerd writes, `containerd config default`)
  --node-config PATH         Reaper's node config (default /etc/reaper/reaper.toml)
  --default-config FILE      the default node config to install (default: reaper.toml next to
                             the script, else <script dir>/../deploy/reaper.toml)
  --restart-cmd CMD          run (sh -c) to restart containerd. Default: `systemctl restart
                             containerd` when --root is / and systemd runs; otherwise none
                             (the DaemonSet passes "nsenter -t 1 -m -u -i -n -p -- systemctl
                             restart containerd")
  --no-restart               never restart containerd (the restart stays pending)
  --crictl PATH              CRI client asking the running containerd whether it serves
                             reaper-v2 (default: crictl next to the script, or on PATH)
  --cri-endpoint ADDR        containerd's CRI socket on this machine (default: the [grpc]
                             address of containerd's config, under --root)
  --ready-timeout SECONDS    how long to wait for a restarted containerd (default 60)
  --label-node NAME          label the node %(label)s=true once containerd serves
                             reaper-v2 (--uninstall: remove the label first)
  --kubectl PATH             kubectl for --label-node (default kubectl)
  --dry-run                  print what would change (with the config diff), change nothing
  -h, --help

What it changes: the binaries containerd-shim-reaper-v2, reaper-runtime, reaper-overlay in
--bin-dir (atomic replace; running shims keep their file); the reaper-v2 runtime in containerd's
config (runtime_type io.containerd.reaper.v2, runtime_path, pod_annotations reaper.runtime/*),
checked by that containerd before the file is written and before every restart, the original
kept as <config>%(backup)s; the node config only if absent; the manifest
<node config dir>/install-manifest.json (what was installed, with hashes). containerd is
restarted when its config changed or a restart is still pending, and then must serve reaper-v2
(CRI Status) before the node is labelled. The last lines are "READY: yes|no|unknown (why)" and
"RESULT: changed|unchanged" ("RESULT: would change" with --dry-run). Exit status: 0 done, 1
refused or failed (a refusal changes nothing), 2 usage; --status: 0 Reaper configured,
1 not configured, 2 unknown.
""" % {"label": LABEL_KEY, "backup": BACKUP_SUFFIX}


class Failure(Exception):
    pass


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message.replace("unrecognized arguments", "unknown argument"))


def parse_args(argv):
    p = Parser(add_help=False)
    p.add_argument("--root", default="/")
    p.add_argument("--bin-src")
    p.add_argument("--bin-dir")
    p.add_argument("--containerd-config", default="/etc/containerd/config.toml")
    p.add_argument("--containerd")
    p.add_argument("--containerd-version", type=int, choices=[2, 3, 4])
    p.add_argument("--node-config", default="/etc/reaper/reaper.toml")
    p.add_argument("--default-config")
    p.add_argument("--restart-cmd")
    p.add_argument("--no-restart", action="store_true")
    p.add_argument("--crictl")
    p.add_argument("--cri-endpoint")
    p.add_argument("--ready-timeout", type=float, default=60.0)
    p.add_argument("--label-node")
    p.add_argument("--kubectl", default="kubectl")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--uninstall", action="store_true")
    p.add_argument("--status", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    a = p.parse_args(argv)
    if a.uninstall and a.status:
        raise UsageError("--uninstall and --status exclude each other")
    return a


def log(msg):
    print(f"install-node: {msg}", flush=True)


def package_defaults():
    """Set by the .deb (cmake/package.cmake): its binaries are in /usr/bin."""
    p = os.path.join(INSTALLER_DIR, "package-defaults")
    d = {}
    try:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    d[k] = v
    except FileNotFoundError:
        pass
    return d


class Installer:
    def __init__(self, a):
        self.a = a
        self.dry = a.dry_run
        self.changed = False
        self.root = HostRoot(a.root)
        for p in (a.containerd_config, a.node_config, a.bin_dir or "/", a.containerd or "/"):
            if not p.startswith("/") or "\n" in p:
                raise Failure(f"'{p}' must be an absolute path on the node")
        self.pkg = package_defaults()
        ncdir = os.path.dirname(a.node_config)
        self.manifest_path = os.path.join(ncdir, mf.NAME)
        self.old_state_path = os.path.join(ncdir, mf.OLD_NAME)
        self.m = None
        self.have_manifest = False
        self.ctr = None
        self.ready = None          # True / False / None (unknown)
        self.ready_why = "not checked"
        self.cfg_dump = None
        self.config_changed = False    # this run changed (or, dry, would change) the config

    # ---- small helpers ---------------------------------------------------------------------
    def show(self, p):
        return self.root.show(p)

    def act(self, what):
        """Logs a change; False in a dry run (the caller then skips it)."""
        self.changed = True
        if self.dry:
            log(f"would {what}")
            return False
        log(what)
        return True

    def lock(self):
        end = time.monotonic() + 120
        while True:
            try:
                fcntl.flock(self.root.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > end:
                    raise Failure(f"another install-node.sh holds the lock on {self.root.root} for 120s")
                time.sleep(0.2)

    def load_manifest(self):
        self.m, self.have_manifest = mf.load(self.root, self.manifest_path, self.old_state_path, BINARIES,
                                               self.a.node_config)

    def save_manifest(self):
        if self.dry:
            return
        self.mkdirs(os.path.dirname(self.manifest_path))
        self.root.write_atomic(self.manifest_path, mf.dump(self.m), 0o644)
        if self.root.exists(self.old_state_path):
            self.root.unlink(self.old_state_path)
        self.have_manifest = True

    def mkdirs(self, path):
        if self.root.is_dir(path):
            return
        if self.dry:
            self.act(f"create directory {path}")
            return
        for d in self.root.makedirs(path):
            self.changed = True
            log(f"created directory {d}")
            if d not in self.m["dirs"]:
                self.m["dirs"].append(d)

    def find_containerd(self):
        if self.a.containerd:
            cands = [self.a.containerd]
        else:
            cands = []
            if self.root.root == "/":
                w = shutil.which("containerd")
                if w:
                    cands.append(os.path.abspath(w))
            cands += CONTAINERD_PATHS
        for c in cands:
            try:
                st = self.root.lstat(c)
                ok = st is not None and (os.path.islink(self.show(c)) or os.access(self.show(c), os.X_OK))
            except RootError:
                ok = False
            if ok:
                self.ctr = validate.Containerd(self.root, c)
                return
        raise Failure("the node's containerd binary was not found (" + ", ".join(cands) +
                      "): it must check the config before it is written; pass --containerd PATH")

    def temp_path(self, tag):
        d, n = os.path.split(self.a.containerd_config)
        return os.path.join(d, f".{n}.reaper-{tag}")

    def dump_text(self, text, tag, keep_from=None):
        """containerd's dump of text, written as a temp file next to the config (so relative
        imports resolve as they will); the temp file is removed unless tag == 'candidate'."""
        p = self.temp_path(tag)
        self.root.write_atomic(p, text.encode(), 0o600, keep_from=keep_from)
        try:
            return self.ctr.dump(p)
        finally:
            if tag != "candidate" or self.dry:
                self.root.unlink(p)

    def drop_candidate(self):
        p = self.temp_path("candidate")
        if self.root.exists(p):
            self.root.unlink(p)

    # ---- containerd config: plan ------------------------------------------------------------
    def plan_config(self):
        """Returns (text or None, info). text None: the config already is what we want.
        Refuses (Failure) with nothing changed when containerd would not accept a candidate."""
        cfg = self.a.containerd_config
        try:
            st = self.root.regular_file(cfg)
        except RootError as e:
            raise Failure(str(e)) from e
        shim = self.bin_dir.rstrip("/") + "/containerd-shim-reaper-v2"
        rec = self.m.get("containerd_config")
        if st is None:
            if self.a.containerd_version:
                version = self.a.containerd_version
            else:
                try:
                    version = max(2, self.ctr.default_version())
                except ValidationError as e:
                    raise Failure(str(e)) from e
            log(f"{cfg} does not exist: creating a version {version} config")
            base, current = f"version = {version}\n", None
        else:
            raw = self.root.read(cfg)
            try:
                current = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise Failure(f"{self.show(cfg)} is not UTF-8 text ({e})") from e
            try:
                if ctrconfig.find_block(current) is not None:
                    base = ctrconfig.strip_block(current)
                elif rec and rec.get("method") == "tomlkit":
                    base = ctrconfig.remove_tomlkit(current, self.file_version(current, cfg), rec["runtimes"])
                else:
                    base = current
            except ConfigError as e:
                raise Failure(f"{self.show(cfg)}: {e}") from e
        try:
            base_doc = ctrconfig.parse(base, self.show(cfg))
            version = ctrconfig.file_version(base_doc, self.show(cfg))
        except ConfigError as e:
            raise Failure(str(e)) from e
        try:
            cver = self.ctr.version()
        except ValidationError as e:
            raise Failure(str(e)) from e
        if cver[0] < 2 and os.path.normpath(self.bin_dir) not in SYSTEM_PATH:
            log(f"WARNING: containerd {cver[0]}.{cver[1]} starts a pod sandbox's shim by its name from its PATH "
                f"(runtime_path is used only for containers): {self.bin_dir} must be on containerd's PATH")
        if (cver[0] < 2 and version > 2) or (version == 4 and cver < (2, 3)):
            raise Failure(f"{self.show(cfg)} is a version {version} config, which the node's containerd "
                          f"{cver[0]}.{cver[1]} ({self.ctr.binary}) cannot read (1.x: 2; 2.0-2.2: 2, 3; 2.3+: 2-4)")
        if ctrconfig.get_path(base_doc, ctrconfig.runtimes_path(version) + [ctrconfig.RUNTIME]) is not None:
            raise Failure(f"{self.show(cfg)} already defines a reaper-v2 runtime outside the Reaper block "
                          "(another installer, or by hand): remove it and run again")
        try:
            before = self.dump_text(base, "base", keep_from=st)
        except ValidationError as e:
            raise Failure(f"the current config {self.show(cfg)}: {e}; fix it first") from e
        _, brt = validate.cri_runtimes(before[0])
        if brt is not None and ctrconfig.RUNTIME in brt:
            raise Failure(f"containerd already has a reaper-v2 runtime from a file {cfg} imports: "
                          "remove it there and run again")
        self.cfg_dump = before[0]
        # Is the file already what we want? (same meaning, and containerd agrees)
        if current is not None and (rec or ctrconfig.find_block(current) is not None):
            want = ctrconfig.expected_doc(base_doc, version, {ctrconfig.RUNTIME: ctrconfig.runtime_entry(shim)})
            cur_doc = ctrconfig.parse(current, cfg)
            if self._same_but_extras(cur_doc, want, version):
                try:
                    now = self.dump_text(current, "check", keep_from=st)
                    validate.check_candidate(before, now, shim, added=("reaper-v2",))
                    self.cfg_dump = now[0]
                    return None, {"version": version}
                except ValidationError as e:
                    log(f"the installed config is not accepted as it is ({e}): rewriting it")
        reasons = []
        extra = {}
        for _ in range(2):
            retry = False
            for method in ("block", "tomlkit"):
                plan = ctrconfig.plan_block if method == "block" else ctrconfig.plan_tomlkit
                try:
                    text = plan(base, version, shim, extra)
                    entries = {ctrconfig.RUNTIME: ctrconfig.runtime_entry(shim)}
                    entries.update({n: {"runtime_type": t} for n, t in extra.items()})
                    if ctrconfig.parse(text, "the candidate") != ctrconfig.expected_doc(base_doc, version, entries):
                        raise ConfigError("the candidate does not mean the original plus the runtime")
                    after = self.dump_text(text, "candidate", keep_from=st)
                    lost = validate.lost_runtimes(before, after)
                    if lost and not extra:
                        self.drop_candidate()
                        extra = lost
                        log("containerd would drop its built-in runtime(s) " + ", ".join(sorted(lost)) +
                            " once the file defines one: defining them too")
                        retry = True
                        break
                    validate.check_candidate(before, after, shim, added=("reaper-v2",))
                    self.cfg_dump = after[0]
                    return text, {"version": version, "method": method, "runtimes": [ctrconfig.RUNTIME] + sorted(extra),
                                  "created": current is None, "st": st, "original": raw if current is not None else None}
                except (ConfigError, ValidationError) as e:
                    self.drop_candidate()
                    reasons.append(f"{method}: {e}")
            if not retry:
                break
        raise Failure(f"no change to {self.show(cfg)} that containerd accepts; nothing changed. " +
                      " / ".join(reasons))

    def _same_but_extras(self, cur_doc, want, version):
        """cur_doc == want, allowing runtimes we added besides ours (runc) to be present."""
        if cur_doc == want:
            return True
        rec = self.m.get("containerd_config") or {}
        extras = [n for n in rec.get("runtimes", []) if n != ctrconfig.RUNTIME]
        if not extras:
            return False
        cur = ctrconfig.get_path(cur_doc, ctrconfig.runtimes_path(version)) or {}
        w = ctrconfig.expected_doc(want, version, {n: cur.get(n) for n in extras if n in cur})
        return cur_doc == w

    def file_version(self, text, what):
        try:
            return ctrconfig.file_version(ctrconfig.parse(text, what), what)
        except ConfigError as e:
            raise Failure(str(e)) from e

    # ---- install steps ----------------------------------------------------------------------
    def resolve_sources(self):
        a = self.a
        self.bin_dir = a.bin_dir or self.pkg.get("bin_dir") or "/usr/local/bin"
        src = a.bin_src or self.pkg.get("bin_src")
        if not src:
            src = SCRIPT_DIR if os.access(os.path.join(SCRIPT_DIR, BINARIES[0]), os.X_OK) else \
                os.path.join(SCRIPT_DIR, "..", "build")
        self.bin_src = os.path.abspath(src)
        for b in BINARIES:
            p = os.path.join(self.bin_src, b)
            if not (os.path.isfile(p) and os.access(p, os.X_OK)):
                raise Failure(f"binary {p} not found (build first, or pass --bin-src)")
        d = a.default_config
        if not d:
            d = os.path.join(SCRIPT_DIR, "reaper.toml")
            if not os.path.isfile(d):
                d = os.path.join(SCRIPT_DIR, "..", "deploy", "reaper.toml")
        if not os.path.isfile(d):
            raise Failure(f"default node config {d} not found (pass --default-config)")
        self.default_config = d

    def install_binaries(self):
        self.mkdirs(self.bin_dir)
        for b in BINARIES:
            src = os.path.join(self.bin_src, b)
            dst = self.bin_dir.rstrip("/") + "/" + b
            st = self.root.lstat(dst) if self.root.is_dir(self.bin_dir) else None
            sst = os.stat(src)
            if st is not None and (st.st_dev, st.st_ino) == (sst.st_dev, sst.st_ino):
                log(f"{dst} is up to date (it is the source itself, e.g. a package's: --uninstall keeps it)")
                continue
            with open(src, "rb") as f:
                data = f.read()
            h = sha256_bytes(data)
            cur = self.root.sha256(dst) if st is not None and not os.path.islink(self.show(dst)) else None
            ours = dst in self.m["files"]
            if cur == h:
                if ours:
                    self.m["files"][dst] = h
                    log(f"{dst} is up to date")
                else:
                    log(f"{dst} is up to date (not installed by install-node.sh: --uninstall keeps it)")
                continue
            if st is not None and not ours:
                log(f"WARNING: {dst} exists and was not installed by install-node.sh: replacing it")
            if self.act(f"install {dst} (atomic replace)"):
                self.root.write_atomic(dst, data, 0o755)
                self.m["files"][dst] = h
                self.save_manifest()

    def install_node_config(self):
        nc = self.a.node_config
        if self.root.exists(nc):
            log(f"{nc} exists: kept as it is")
            return
        with open(self.default_config, "rb") as f:
            data = f.read()
        self.mkdirs(os.path.dirname(nc))
        if self.act(f"write the default node config {nc}"):
            self.root.write_atomic(nc, data, 0o644)
            self.m["files"][nc] = sha256_bytes(data)
            self.save_manifest()

    def write_config(self, text, info):
        cfg = self.a.containerd_config
        cur = self.root.read(cfg)
        self.config_changed = True
        if self.dry:
            self.changed = True
            log(f"would change {cfg} ({info['method']}; containerd accepts the result). Diff:")
            old = (cur or b"").decode(errors="replace").splitlines(keepends=True)
            for line in difflib.unified_diff(old, text.splitlines(keepends=True), cfg, cfg + " (new)"):
                sys.stdout.write(line if line.endswith("\n") else line + "\n")
            return
        rec = self.m.get("containerd_config")
        if rec is None:
            rec = {"path": cfg, "created": info["created"], "backup": None, "original_sha256": None}
            if not info["created"]:
                legacy_backup = self.root.read(cfg + BACKUP_SUFFIX)
                original = info["original"]
                if ctrconfig.find_block(original.decode()) is not None and legacy_backup is not None:
                    original = legacy_backup      # installed by the first installer: its backup
                elif ctrconfig.find_block(original.decode()) is not None:
                    original = ctrconfig.strip_block(original.decode()).encode()
                rec["original_sha256"] = sha256_bytes(original)
                rec["backup"] = cfg + BACKUP_SUFFIX
                if legacy_backup is None or sha256_bytes(legacy_backup) != rec["original_sha256"]:
                    self.root.write_atomic(rec["backup"], original, keep_from=info["st"])
                    log(f"backed up the original config to {rec['backup']}")
            elif (self.m.get("legacy") or {}).get("config_created"):
                rec["created"] = True
        rec.update({"method": info["method"], "runtimes": info["runtimes"],
                    "written_sha256": sha256_bytes(text.encode())})
        self.mkdirs(os.path.dirname(cfg))
        self.m["containerd_config"] = rec
        self.m["restart_pending"] = True
        self.save_manifest()
        # the very file containerd checked becomes the config
        self.root.rename(self.temp_path("candidate"), cfg)
        self.changed = True
        log(f"containerd config {cfg}: reaper-v2 runtime written ({info['method']}), checked by "
            f"{self.ctr.binary}")

    def remove_old_binaries(self):
        for p in sorted(self.m["files"]):
            if os.path.dirname(p) == self.bin_dir.rstrip("/") or p == self.a.node_config:
                continue
            if os.path.basename(p) not in BINARIES:
                continue
            self.remove_owned(p, "from the previous --bin-dir")

    def remove_owned(self, p, why=""):
        h = self.m["files"].get(p)
        cur = self.root.sha256(p) if self.root.exists(p) and not os.path.islink(self.show(p)) else None
        if cur is None:
            log(f"{p} not present")
        elif cur != h:
            log(f"WARNING: {p} changed since install-node.sh wrote it: kept")
        elif self.act(f"remove {p}" + (f" ({why})" if why else "")):
            self.root.unlink(p)
        if not self.dry:
            self.m["files"].pop(p, None)
            self.save_manifest()

    # ---- restart, readiness, label ----------------------------------------------------------
    def cri_check(self):
        crictl = readiness.find_crictl(self.a.crictl, [os.path.join(SCRIPT_DIR, "crictl"),
                                                       os.path.join(SCRIPT_DIR, "bin", "crictl")])
        if crictl is None:
            return None
        if self.a.cri_endpoint:
            ep = self.a.cri_endpoint
            if not ep.startswith("unix://"):
                ep = "unix://" + ep
            return lambda: readiness.query(crictl, ep)
        addr = validate.grpc_address(self.cfg_dump or {})

        def ask():
            try:
                fd, path = self.root.resolved(addr)
            except (OSError, RootError) as e:
                return None, f"containerd's socket {self.show(addr)}: {e}"
            try:
                return readiness.query(crictl, "unix://" + path, pass_fds=(fd,))
            finally:
                os.close(fd)
        return ask

    def restart_cmd(self):
        if self.a.no_restart:
            return None, "--no-restart"
        if self.a.restart_cmd is not None:
            return (self.a.restart_cmd or None), "the restart command is empty"
        if self.root.root == "/" and os.path.isdir("/run/systemd/system"):
            return "systemctl restart containerd", ""
        return None, "no --restart-cmd given"

    def restart(self, reason):
        cmd, why = self.restart_cmd()
        if cmd is None:
            log(f"containerd must be restarted ({reason}): not restarting ({why}); the restart stays pending")
            return False
        if not self.act(f"restart containerd ({reason}): {cmd}"):
            return False
        p = subprocess.run(["/bin/sh", "-c", cmd], stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise Failure(f"the restart command failed (exit status {p.returncode}): {cmd}; the restart stays "
                          "pending and is retried by the next run")
        return True

    def converge(self, want_served):
        """Restart when pending or when the running containerd disagrees; then check it."""
        check = self.cri_check()
        pending = self.m.get("restart_pending", False) or self.config_changed
        reason = "its config changed" if pending else ""
        if check is not None and not pending:
            served, detail = check()
            if served is (not want_served):
                pending, reason = True, "the running containerd does not match its config: " + detail
            elif served is None:
                log(detail)
            else:
                self.ready, self.ready_why = served, detail
        if pending:
            if want_served and not self.dry:
                self.check_config_before_restart()
            if not self.restart(reason or "a restart is pending"):
                self.ready, self.ready_why = (None if self.dry else False), "restart pending"
                return
            if check is None:
                self.ready, self.ready_why = None, "no crictl to ask containerd (--crictl PATH)"
            else:
                served, detail = readiness.wait(check, want_served, self.a.ready_timeout, log)
                if served is not want_served:
                    raise Failure(f"containerd was restarted but {detail}; the restart stays pending")
                self.ready, self.ready_why = served, detail
            self.m["restart_pending"] = False
            if want_served or self.have_manifest:
                self.save_manifest()
        elif check is None:
            self.ready, self.ready_why = None, "no crictl to ask containerd (--crictl PATH)"

    def check_config_before_restart(self):
        cfg = self.a.containerd_config
        try:
            doc, _ = self.ctr.dump(cfg)
        except ValidationError as e:
            raise Failure(f"not restarting containerd: {self.show(cfg)}: {e}") from e
        _, rts = validate.cri_runtimes(doc)
        if not rts or ctrconfig.RUNTIME not in rts:
            raise Failure(f"not restarting containerd: {self.show(cfg)} no longer has the reaper-v2 runtime")

    def label(self, on):
        node = self.a.label_node
        if not node:
            return
        arg = f"{LABEL_KEY}={LABEL_VALUE}" if on else f"{LABEL_KEY}-"
        cmd = [self.a.kubectl, "label", "node", node, arg, "--overwrite"]
        if on and self.ready is not True:
            raise Failure(f"not labelling node {node}: containerd is not known to serve reaper-v2 "
                          f"({self.ready_why})")
        line = " ".join(shlex.quote(c) for c in cmd)
        if self.dry:
            log(f"would run: {line}")
            return
        log(f"run: {line}")
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        out = (p.stdout + p.stderr).strip()
        if out:
            log(f"kubectl: {out}")
        if p.returncode != 0:
            raise Failure(f"labelling node {node} ({arg}) failed")
        # kubectl says "not labeled" when the label was already so (or, removing, absent)
        if "not labeled" not in out and "not found" not in out:
            self.changed = True

    # ---- the two operations -----------------------------------------------------------------
    def install(self):
        self.resolve_sources()
        self.load_manifest()
        self.find_containerd()
        log(f"installing Reaper: root {self.root.root}, binaries from {self.bin_src} to {self.bin_dir}, "
            f"containerd config {self.a.containerd_config}")
        cdir = os.path.dirname(self.a.containerd_config)
        if not self.root.is_dir(cdir):
            if self.dry:
                raise Failure(f"{self.show(cdir)} does not exist: a dry run cannot have containerd check a "
                              "config there (it would have to create the directory)")
            made = len(self.m["dirs"])
            self.mkdirs(cdir)   # the candidates are checked in the config's own directory
        else:
            made = None
        try:
            text, info = self.plan_config()       # a refusal changes nothing
        except Failure:
            if made is not None:                  # not even the directory made for the candidates
                for d in reversed(self.m["dirs"][made:]):
                    self.root.rmdir(d)
                del self.m["dirs"][made:]
            raise
        try:
            self.install_binaries()
            self.install_node_config()
            if text is not None:
                self.write_config(text, info)
            else:
                log(f"containerd config {self.a.containerd_config} already has the reaper-v2 runtime: unchanged")
            self.remove_old_binaries()
            if self.m["bin_dir"] != self.bin_dir and not self.dry:
                self.m["bin_dir"] = self.bin_dir
                self.save_manifest()
        finally:
            self.drop_candidate()
        self.converge(want_served=True)
        self.label(True)

    def uninstall(self):
        self.load_manifest()
        cfg = self.a.containerd_config
        cur = None
        try:
            if self.root.regular_file(cfg) is not None:
                cur = self.root.read(cfg).decode("utf-8")
        except (RootError, UnicodeDecodeError) as e:
            raise Failure(str(e)) from e
        has_block = cur is not None and ctrconfig.find_block(cur) is not None
        if not self.have_manifest and not has_block:
            log("nothing was installed here by install-node.sh (no manifest "
                f"{self.manifest_path}, no Reaper block in {cfg}): nothing to remove")
            self.label(False) if self.a.label_node else None
            return
        log(f"uninstalling Reaper: root {self.root.root}, containerd config {cfg}")
        self.label(False)
        pids = shim_pids()
        if pids:
            log(f"WARNING: {len(pids)} Reaper shim process(es) still run (e.g. pid {pids[0]}): their pods keep "
                "running, but containerd can no longer start Reaper containers")
        try:
            self.find_containerd()
        except Failure as e:
            self.ctr = None
            log(f"WARNING: {e}; restoring without that check")
        self.restore_config(cur)
        if self.m.get("restart_pending") or self.config_changed:
            self.converge(want_served=False)
        for p in sorted(self.m["files"]):
            self.remove_owned(p)
        if self.root.exists(self.manifest_path) and self.act(f"remove the install manifest {self.manifest_path}"):
            self.root.unlink(self.manifest_path)
        if self.root.exists(self.old_state_path) and self.act(f"remove {self.old_state_path}"):
            self.root.unlink(self.old_state_path)
        for d in reversed(self.m["dirs"]):
            if not self.root.is_dir(d):
                continue
            if self.dry:
                log(f"would remove directory {d} if empty")
            elif self.root.rmdir(d):
                self.changed = True
                log(f"removed directory {d} (created by the install)")
            else:
                log(f"directory {d} not empty: kept")

    def restore_config(self, cur):
        cfg = self.a.containerd_config
        rec = self.m.get("containerd_config") or {}
        legacy = self.m.get("legacy")
        if cur is None:
            log(f"{cfg} does not exist: nothing to restore")
            return
        cur_sha = sha256_bytes(cur.encode())
        backup = rec.get("backup") or (cfg + BACKUP_SUFFIX if legacy else None)
        if rec and rec.get("written_sha256") == cur_sha:
            if rec.get("created"):
                self.config_changed = True
                if self.act(f"remove {cfg} (the install created it)"):
                    self.root.unlink(cfg)
                    self.m["restart_pending"] = True
                return
            data = self.root.read(backup) if backup else None
            if data is None or sha256_bytes(data) != rec.get("original_sha256"):
                log(f"WARNING: the backup {backup} is missing or changed: removing only the reaper-v2 runtime")
            else:
                self.check_restored(cur, data.decode("utf-8"))
                self.config_changed = True
                if self.act(f"restore the original {cfg} from {backup} (byte for byte)"):
                    self.m["restart_pending"] = True
                    self.save_manifest()
                    self.root.rename(backup, cfg)
                return
        elif legacy and ctrconfig.find_block(cur) is not None and backup and self.root.exists(backup):
            data = self.root.read(backup)
            if ctrconfig.append_block(data.decode(), cur[ctrconfig.find_block(cur)[0]:]) == cur:
                self.check_restored(cur, data.decode("utf-8"))
                self.config_changed = True
                if self.act(f"restore the original {cfg} from {backup} (byte for byte)"):
                    self.m["restart_pending"] = True
                    self.save_manifest()
                    self.root.rename(backup, cfg)
                return
        # edited since the install: take out only what we added
        if ctrconfig.find_block(cur) is not None:
            new = ctrconfig.strip_block(cur)
        elif rec.get("method") == "tomlkit":
            new = ctrconfig.remove_tomlkit(cur, self.file_version(cur, cfg), rec.get("runtimes", []))
        else:
            log(f"{cfg} has no reaper-v2 runtime of ours: unchanged")
            return
        if new == cur:
            log(f"{cfg} has no reaper-v2 runtime of ours: unchanged")
            return
        if legacy and legacy.get("config_created") and new.strip() in ("version = 2", "version = 3"):
            self.config_changed = True
            if self.act(f"remove {cfg} (the install created it)"):
                self.root.unlink(cfg)
                self.m["restart_pending"] = True
            return
        self.check_restored(cur, new)
        self.config_changed = True
        log(f"WARNING: {cfg} changed since the install: removing only the reaper-v2 runtime"
            + (f"; the original stays in {backup}" if backup and self.root.exists(backup) else ""))
        if self.act(f"remove the reaper-v2 runtime from {cfg}"):
            st = self.root.regular_file(cfg)
            self.m["restart_pending"] = True
            self.save_manifest()
            self.root.write_atomic(cfg, new.encode(), keep_from=st)

    def check_restored(self, cur, new):
        """containerd must load the restored file, and it must lack only our runtime(s)."""
        if self.ctr is None:
            return
        st = self.root.regular_file(self.a.containerd_config)
        try:
            before = self.dump_text(cur, "check", keep_from=st)
            after = self.dump_text(new, "restore", keep_from=st)
            rec = self.m.get("containerd_config") or {}
            removed = [n for n in rec.get("runtimes", [ctrconfig.RUNTIME]) if n == ctrconfig.RUNTIME] or \
                [ctrconfig.RUNTIME]
            # runtimes we defined besides ours come back as containerd's built-ins: same values
            validate.check_candidate(before, after, "", added=(), removed=removed)
        except ValidationError as e:
            raise Failure(f"the restored {self.show(self.a.containerd_config)} would not be right: {e}; "
                          "nothing changed") from e
        self.cfg_dump = before[0]

    def status(self):
        self.find_containerd()
        cfg = self.a.containerd_config
        try:
            doc, _ = self.ctr.dump(cfg)
        except ValidationError as e:
            print(f"STATUS: unknown ({self.show(cfg)}: {e})")
            return 2
        _, rts = validate.cri_runtimes(doc)
        for name, r in sorted((rts or {}).items()):
            if r.get("runtime_type") == ctrconfig.RUNTIME_TYPE:
                print(f"STATUS: configured runtime={name} runtime_path={r.get('runtime_path') or '(PATH lookup)'}")
                return 0
        print("STATUS: not-configured")
        return 1


def shim_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.path.basename(os.readlink(f"/proc/{d}/exe")).startswith("containerd-shim-reaper-v2"):
                    out.append(int(d))
            except OSError:
                pass
    return sorted(out)


def main(argv):
    try:
        a = parse_args(argv)
    except UsageError as e:
        print(f"install-node: ERROR: {e} (see --help)", file=sys.stderr)
        return 2
    if a.help:
        sys.stdout.write(HELP)
        return 0
    try:
        inst = Installer(a)
        inst.lock()
        if a.status:
            return inst.status()
        if a.uninstall:
            inst.uninstall()
        else:
            inst.install()
        if not a.uninstall:
            state = {True: "yes", False: "no", None: "unknown"}[inst.ready]
            log(f"READY: {state} ({inst.ready_why})")
    except (Failure, RootError, OSError) as e:
        print(f"install-node: ERROR: {e}", file=sys.stderr)
        return 1
    if a.dry_run and inst.changed:
        log("RESULT: would change")
    else:
        log("RESULT: changed" if inst.changed else "RESULT: unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
