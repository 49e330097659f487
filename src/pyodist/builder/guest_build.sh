#!/bin/bash
# Build one recipe inside the toolchain (container or host); called by pyodist's build engine.
# usage: guest_build.sh --prepare WORK_DIR     once per run, before any build
#        guest_build.sh NAME TASK_DIR
#   TASK_DIR/recipes/NAME/meta.yaml  the recipe, its source rewritten to a prepared local tree
#   TASK_DIR/build                   pyodide-build's build dir; build/.libs holds the libraries
#                                    this recipe links against (WASM_LIBRARY_DIR)
#   TASK_DIR/cross/                  optional: requirements.txt lines and site-packages-extras
#                                    files of cross-build packages (numpy's wasm headers ...)
# pyodide-build writes its wheel to TASK_DIR/recipes/NAME/dist/. The image's cross-build
# environment is read-only, so each build gets a private copy (about 16 MB) it may change.
set -euo pipefail

if [ "$1" = --prepare ]; then
  # Emscripten writes to its cache even when linking (symbol lists, locks, libraries it
  # builds on demand), and the image is read-only: give the run a writable copy. Builds of
  # the run share it; emscripten locks it itself.
  work=$2
  rm -rf "$work/.emcache" "$work/.emcache.tmp"
  mkdir -p "$work/.emcache.tmp"
  cp -a "${EM_CACHE:?EM_CACHE is not set: not a pyodist toolchain}/." "$work/.emcache.tmp/"
  # each package may build as a user of its own (see DockerExecutor.lend): all may write here
  chmod -R a+rwX "$work/.emcache.tmp"
  mv "$work/.emcache.tmp" "$work/.emcache"
  exit 0
fi

name=$1
task=$2
export EM_CACHE=${task%/*}/.emcache

image_xbenv=${PYODIDE_XBUILDENV_PATH:?PYODIDE_XBUILDENV_PATH is not set: not a pyodist toolchain}
version=$(basename "$(readlink -f "$image_xbenv/xbuildenv")")
mine=$task/xbuildenv
rm -rf "$mine"
mkdir -p "$mine"
cp -a "$image_xbenv/$version" "$mine/$version"
ln -s "$mine/$version" "$mine/xbuildenv"
if [ -d "$task/cross" ]; then
  xb=$mine/$version/xbuildenv
  cat "$task/cross/requirements.txt" >>"$xb/requirements.txt"
  cp -a "$task/cross/site-packages-extras/." "$xb/site-packages-extras/"
fi
export PYODIDE_XBUILDENV_PATH=$mine

echo "pyodist: building $name with pyodide-build" \
     "$(python3 -c 'import importlib.metadata as m; print(m.version("pyodide-build"))')," \
     "emcc $(emcc -dumpversion), target emscripten $(pyodide config get emscripten_version)"
# pyodide-build looks for a Pyodide checkout upwards from the working directory
cd /tmp
exec pyodide build-recipes-no-deps "$name" --recipe-dir "$task/recipes" \
  --build-dir "$task/build" --force-rebuild
