#!/bin/sh
# install-node.sh: the node steps of every Reaper installation path (by hand, Ansible, the
# Kubernetes node-installer DaemonSet, the .deb). docs/installation.md describes each path;
# `install-node.sh --help` the options (a stable interface).
#
# The steps are in installer/install_node.py next to this script (Python 3.11+ with tomlkit:
# Debian's python3 and python3-tomlkit). This wrapper only finds that Python: $REAPER_PYTHON,
# else /usr/bin/python3, else the first python3 on PATH that has tomlkit.
here=$(cd "$(dirname "$0")" && pwd) || exit 1
main=$here/installer/install_node.py
[ -f "$main" ] || { echo "install-node: ERROR: $main is missing (copy scripts/installer/ next to this script)" >&2; exit 1; }
for py in "${REAPER_PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$py" ] || continue
  if "$py" -c 'import sys, tomllib, tomlkit' 2>/dev/null; then
    exec "$py" -B "$main" "$@"
  fi
done
echo "install-node: ERROR: no Python 3.11+ with tomlkit found (Debian: apt install python3 python3-tomlkit; or set REAPER_PYTHON)" >&2
exit 1
