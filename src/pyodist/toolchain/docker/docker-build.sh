#!/usr/bin/env bash
# docker-build.sh IMAGE_TAG [WORKDIR]
# Build the emsdk-based image from ./Dockerfile on a machine that can pull
# images. Prepares the same offline inputs as bootstrap.sh (wheelhouse pinned
# by wheelhouse.lock, xbuildenv pinned by xbuildenv.lock) inside the build
# context (./work), computes the input hash and passes it as a label.
# Pin the bases by digest via EMSDK_IMAGE / PYTHON_IMAGE env vars.
set -euo pipefail
IMAGE_TAG=${1:?usage: docker-build.sh IMAGE_TAG}
HERE=$(cd "$(dirname "$0")" && pwd)
EMSDK_IMAGE=${EMSDK_IMAGE:-emscripten/emsdk:5.0.3}
PYTHON_IMAGE=${PYTHON_IMAGE:-python:3.14-slim-trixie}
PYODIDE_VERSION=${PYODIDE_VERSION:-314.0.7}

# the build context must be ./ (Dockerfile COPYs work/wheelhouse and the xbuildenv)
PREPARE_ONLY=1 PYODIDE_VERSION=$PYODIDE_VERSION "$HERE/bootstrap.sh" unused "$HERE/work"

docker pull -q "$EMSDK_IMAGE" >/dev/null
docker pull -q "$PYTHON_IMAGE" >/dev/null
emsdk_id=$(docker image inspect -f '{{.Id}}' "$EMSDK_IMAGE")
python_id=$(docker image inspect -f '{{.Id}}' "$PYTHON_IMAGE")
INPUT_HASH=$({
  sha256sum <"$HERE/Dockerfile"
  sha256sum <"$HERE/wheelhouse.lock"
  sha256sum <"$HERE/work/xbuildenv-$PYODIDE_VERSION.tar.bz2"
  echo "$emsdk_id $python_id"
} | sha256sum | cut -d' ' -f1)

existing=$(docker images -q --filter "label=org.pyodist.input-hash=$INPUT_HASH" | head -n1)
if [ -n "$existing" ] && [ "${FORCE:-0}" != 1 ]; then
  docker tag "$existing" "$IMAGE_TAG"; echo "up to date: $IMAGE_TAG ($existing)"; exit 0
fi
# keep the context small: only what the Dockerfile copies
cat >"$HERE/.dockerignore" <<EOF
*
!Dockerfile
!wheelhouse.lock
!work/wheelhouse/*.whl
!work/xbuildenv-$PYODIDE_VERSION.tar.bz2
EOF
docker build -t "$IMAGE_TAG" \
  --build-arg EMSDK_IMAGE="$EMSDK_IMAGE" --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" \
  --build-arg PYODIDE_VERSION="$PYODIDE_VERSION" --build-arg INPUT_HASH="$INPUT_HASH" \
  --label "org.pyodist.emsdk-image=$EMSDK_IMAGE@$emsdk_id" \
  --label "org.pyodist.python-image=$PYTHON_IMAGE@$python_id" \
  --label "org.pyodist.python-version=$(docker run --rm "$PYTHON_IMAGE" python3 -c 'import platform; print(platform.python_version())')" \
  "$HERE"
