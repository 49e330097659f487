#!/bin/bash
# Run INSIDE the container as builder. Registers a built wasm numpy wheel as a "cross-build"
# (unisolated) package of the xbuildenv, the way Pyodide's own xbuildenv ships it:
#   xbuildenv/requirements.txt           -> numpy==<version>   (pins the host numpy)
#   xbuildenv/site-packages-extras/numpy  <- the recipe's cross-build-files, taken from the wasm wheel
# pyodide-build then, for any build whose build requirements name numpy, pip-installs the *native*
# numpy==<version> (must be in PIP_FIND_LINKS) into the isolated build env and overlays these files,
# so numpy.get_include() gives numpy's headers with the wasm32 numpyconfig.h/_numpyconfig.h and the
# wasm libnpymath.a / libnpyrandom.a.
set -euo pipefail
whl=$1
X=$(dirname "$(pyodide config get pyodide_root)")   # .../xbuildenv
ver=$(basename "$whl" | cut -d- -f2)
files="numpy/_core/include/numpy/numpyconfig.h numpy/_core/include/numpy/_numpyconfig.h numpy/_core/lib/libnpymath.a numpy/random/lib/libnpyrandom.a"
tmp=$(mktemp -d); python3 -m zipfile -e "$whl" "$tmp"
for f in $files; do mkdir -p "$X/site-packages-extras/$(dirname $f)"; cp "$tmp/$f" "$X/site-packages-extras/$f"; done
grep -q '^numpy==' "$X/requirements.txt" || echo "numpy==$ver" >> "$X/requirements.txt"
rm -rf "$tmp"; find "$X/site-packages-extras" -type f; cat "$X/requirements.txt"
