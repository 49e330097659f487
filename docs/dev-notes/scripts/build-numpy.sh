#!/bin/bash
# Run INSIDE the container as builder. Cold build of numpy 2.4.6 from the sdist tree.
set -euo pipefail
out=${1:-/b/out/numpy}
MCF=$(pyodide config get meson_cross_file)
export CFLAGS="-Wno-return-type"
exec /b/scripts/build-one.sh numpy-2.4.6 "$out" \
  -Csetup-args=-Dallow-noblas=true \
  "-Csetup-args=--cross-file=$MCF" \
  -Cinstall-args=--tags=runtime,python-runtime,devel \
  -Cbuild-dir=build
