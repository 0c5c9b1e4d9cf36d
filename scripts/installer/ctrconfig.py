"""containerd's config file: where the reaper-v2 runtime goes and how it is added and removed.

Parsed with real TOML parsers: tomllib (the standard library's, strict TOML 1.0) to read what a
file means, tomlkit (keeps the operator's formatting and comments) to edit inside inline tables.
Every candidate is checked here first (it must parse, and mean exactly the original plus our
runtime), then by containerd itself (validate.py).

Two ways to add the runtime, tried in this order:
  block   the runtime table appended after the original bytes between BEGIN/END markers
          (the original is then the file minus the block, byte for byte);
  tomlkit the runtime inserted into the document by tomlkit (needed when a parent table is an
          inline table, which TOML does not let a [table] header extend).
"""
import copy
import tomllib

import tomlkit

RUNTIME = "reaper-v2"
RUNTIME_TYPE = "io.containerd.reaper.v2"
POD_ANNOTATIONS = ["reaper.runtime/*"]
BEGIN = "# BEGIN reaper (managed by scripts/install-node.sh; --uninstall removes this block)"
END = "# END reaper"
SUPPORTED_VERSIONS = (2, 3, 4)


class ConfigError(Exception):
    pass


def cri_plugin(version):
    """The plugin whose .containerd.runtimes holds CRI runtimes in a file of this version."""
    return "io.containerd.grpc.v1.cri" if version == 2 else "io.containerd.cri.v1.runtime"


def runtimes_path(version):
    return ["plugins", cri_plugin(version), "containerd", "runtimes"]


def parse(text, what):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{what} is not valid TOML: {e}") from e


def file_version(doc, what):
    v = doc.get("version", 1)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ConfigError(f"{what}: 'version' is not an integer")
    if v == 1:
        raise ConfigError(f"{what} has no top-level 'version = 2|3|4' (a version 1 config): convert it "
                          "(containerd 1.x: write it as version 2; 2.x: `containerd config migrate`) and run again")
    if v not in SUPPORTED_VERSIONS:
        raise ConfigError(f"{what}: unknown config version {v} (supported: 2 for containerd 1.6/1.7, "
                          "3 for 2.0-2.2, 4 for 2.3+)")
    return v


def get_path(doc, path):
    cur = doc
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def runtime_entry(shim_path):
    return {"runtime_type": RUNTIME_TYPE, "runtime_path": shim_path, "pod_annotations": list(POD_ANNOTATIONS)}


def _toml_str(s):
    return tomlkit.string(s).as_string()


def _header(version, name):
    plugin = cri_plugin(version)
    return f'[plugins."{plugin}".containerd.runtimes.{name}]'


def make_block(version, shim_path, extra_runtimes):
    """Our delimited block. extra_runtimes: {name: runtime_type} to define besides ours."""
    lines = [BEGIN, _header(version, RUNTIME),
             f"  runtime_type = {_toml_str(RUNTIME_TYPE)}",
             f"  runtime_path = {_toml_str(shim_path)}",
             "  pod_annotations = [" + ", ".join(_toml_str(a) for a in POD_ANNOTATIONS) + "]"]
    for name, rtype in sorted(extra_runtimes.items()):
        lines += ["# containerd replaces its built-in runtimes by the file's: keep " + name,
                  _header(version, name), f"  runtime_type = {_toml_str(rtype)}"]
    lines.append(END)
    return "\n".join(lines) + "\n"


def find_block(text):
    """(start, end) character offsets of our block (end after its END line), or None.

    The markers are whole lines; more than one block, or a marker without its pair, is an error.
    """
    lines = text.splitlines(keepends=True)
    begins = [i for i, l in enumerate(lines) if l.rstrip("\r\n") == BEGIN]
    ends = [i for i, l in enumerate(lines) if l.rstrip("\r\n") == END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ConfigError(f"damaged Reaper block ({len(begins)} BEGIN and {len(ends)} END markers); "
                          "fix it by hand")
    start = sum(len(l) for l in lines[:begins[0]])
    end = sum(len(l) for l in lines[:ends[0] + 1])
    return start, end


def append_block(base, block):
    """base, a blank line (completing base's last line first), then the block."""
    if not base:
        return block
    sep = "\n" if base.endswith("\n") else "\n\n"
    return base + sep + block


def strip_block(text):
    """text without our block and the blank line append_block put before it."""
    span = find_block(text)
    if span is None:
        return text
    start, end = span
    before, after = text[:start], text[end:]
    if before.endswith("\n\n"):
        before = before[:-1]
    return before + after


def expected_doc(base_doc, version, entries):
    """base_doc plus the runtime entries ({name: table}) at the version's runtimes path."""
    doc = copy.deepcopy(base_doc)
    cur = doc
    for k in runtimes_path(version):
        cur = cur.setdefault(k, {})
    for name, entry in entries.items():
        cur[name] = entry
    return doc


def plan_block(base, version, shim_path, extra):
    return append_block(base, make_block(version, shim_path, extra))


def plan_tomlkit(base, version, shim_path, extra):
    """The runtime(s) inserted by tomlkit into the document (inline parents stay inline)."""
    doc = tomlkit.parse(base)
    cur = doc
    inline = False
    for k in runtimes_path(version):
        if k not in cur:
            new = tomlkit.inline_table() if inline else tomlkit.table(is_super_table=True)
            cur[k] = new
        cur = cur[k]
        if isinstance(cur, tomlkit.items.InlineTable):
            inline = True
    entries = {RUNTIME: runtime_entry(shim_path)}
    entries.update({n: {"runtime_type": t} for n, t in extra.items()})
    for name, entry in entries.items():
        if inline:
            t = tomlkit.inline_table()
        else:
            t = tomlkit.table()
        for key, value in entry.items():
            t[key] = value
        cur[name] = t
    return doc.as_string()


def remove_tomlkit(text, version, names):
    """text with the runtimes `names` removed by tomlkit (empty parents we created stay)."""
    doc = tomlkit.parse(text)
    cur = doc
    for k in runtimes_path(version):
        if k not in cur:
            return text
        cur = cur[k]
    for n in names:
        if n in cur:
            del cur[n]
    return doc.as_string()
