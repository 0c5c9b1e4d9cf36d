#!/usr/bin/env bash
# The layers of src/ (docs/design.md "Layers") may include only downward:
#   base  <- wire  <- ttrpc <- shim
#   base  <- host  <- shim, runtime
# The libraries enforce it at link time; this test also catches header-only includes.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../src" && pwd)
declare -A allowed=(
  [base]="base"
  [wire]="base wire"
  [ttrpc]="base wire ttrpc"
  [host]="base host"
  [runtime]="base host runtime"
  [shim]="base wire ttrpc host shim"
)
bad=0
for layer in "${!allowed[@]}"; do
  while IFS=: read -r file line inc; do
    dep=${inc#*\"}
    dep=${dep%%/*}
    [[ $inc == *\"*/*\"* ]] || continue  # "version.h", "task.pb.h": generated, not a layer
    if [[ " ${allowed[$layer]} " != *" $dep "* ]]; then
      echo "layering: ${file#"$src"/}:$line includes $dep/ (a $layer file may include: ${allowed[$layer]})"
      bad=1
    fi
  done < <(grep -n '^#include "' "$src/$layer"/*.{h,cc} 2>/dev/null | sed 's/^\([^:]*\):\([0-9]*\):/\1:\2:/')
done
exit "$bad"
