"""The install manifest: what install-node.sh put on the node, with hashes, so that --uninstall
removes exactly that (docs/installation.md, "Uninstall").

JSON in <node config dir>/install-manifest.json:
  bin_dir            the --bin-dir of the last install
  files              {node path: sha256} of every file this installer wrote (binaries, the
                     default node config); a file whose hash changed since is not removed
  dirs               directories the installer created (removed at uninstall if empty)
  containerd_config  how the config was changed: path, created (no file existed), method
                     (block | tomlkit), runtimes (names it added), original_sha256 and
                     backup (the original's copy), written_sha256 (the file as written)
  restart_pending    the config changed and no restart made containerd serve it yet
A manifest of the first version of this script (install-node.state, "key value" lines) is read
and converted.
"""
import json

from rootfs import RootError

NAME = "install-manifest.json"
OLD_NAME = "install-node.state"
FORMAT = 1


def empty():
    return {"format": FORMAT, "bin_dir": None, "files": {}, "dirs": [], "containerd_config": None,
            "restart_pending": False}


def load(root, path, old_path, binaries, node_config):
    data = root.read(path)
    if data is not None:
        try:
            m = json.loads(data)
        except ValueError as e:
            raise RootError(f"{root.show(path)} is damaged ({e}); remove it only if you know nothing "
                            "was installed") from e
        if m.get("format") != FORMAT:
            raise RootError(f"{root.show(path)}: unknown format {m.get('format')!r}")
        base = empty()
        base.update(m)
        return base, True
    old = root.read(old_path)
    if old is None:
        return empty(), False
    return from_old_state(root, old.decode(errors="replace"), binaries, node_config), True


def from_old_state(root, text, binaries, node_config):
    """The first installer's state: bin_dir, binaries_owned, config_created, node_config_sha256,
    dir lines; its containerd change is the marked block with <config>.reaper-backup."""
    kv, dirs = {}, []
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        k, v = line.split(" ", 1)
        if k == "dir":
            dirs.append(v)
        else:
            kv[k] = v
    m = empty()
    m["bin_dir"] = kv.get("bin_dir")
    m["dirs"] = dirs
    m["legacy"] = {"config_created": kv.get("config_created") == "1",
                   "node_config_sha256": kv.get("node_config_sha256", "-")}
    want = kv.get("node_config_sha256", "-")
    if want != "-" and root.sha256(node_config) == want:
        m["files"][node_config] = want
    if kv.get("binaries_owned") == "1" and m["bin_dir"]:
        for b in binaries:
            p = m["bin_dir"].rstrip("/") + "/" + b
            h = root.sha256(p)
            if h:
                m["files"][p] = h
    return m


def dump(m):
    return (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()
