#!/usr/bin/env bash
# bootstrap.sh IMAGE_TAG WORKDIR
#
# Build the pyodist WebAssembly toolchain image without any container registry:
# debootstrap a Debian sid minbase rootfs, install emscripten + python3.14 from
# the host's Debian mirror (pinned by packages.lock when present), add a
# python3.14 venv with pyodide-build from an offline wheelhouse, install a
# Pyodide cross-build environment made by make_xbuildenv.py, pre-warm the
# emscripten cache, then `docker import` the tree with ENV + LABELs.
#
# Registry locations come from the host configuration (hostcfg.py); none is
# written here. Re-running with unchanged inputs is a no-op (input-hash label).
#
# Environment knobs:
#   PYODIDE_VERSION (314.0.7)   SUITE (sid)   FORCE=1 (rebuild even if cached)
#   KEEP_ROOTFS=1 (keep WORKDIR/rootfs after import)
#   PREPARE_ONLY=1 (only fetch the wheelhouse and make the xbuildenv; used by docker-build.sh)
set -euo pipefail

IMAGE_TAG=${1:?usage: bootstrap.sh IMAGE_TAG WORKDIR}
WORKDIR=${2:?usage: bootstrap.sh IMAGE_TAG WORKDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PYODIDE_VERSION=${PYODIDE_VERSION:-314.0.7}
SUITE=${SUITE:-sid}
FORCE=${FORCE:-0}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TOP_PACKAGES=(emscripten python3 python3.14 python3.14-venv nodejs make
              ca-certificates xz-utils file patch pkgconf
              # build tools real recipes call (requirements/executable, build scripts)
              cmake meson ninja-build autoconf automake libtool libtool-bin perl swig
              bison flex f2c libf2c2-dev gfortran sqlite3 unzip zip
              # CPython's headers: CMake's FindPython (scikit-build-core, pybind11) requires
              # Development.Module to exist; pyodide-build's compiler wrapper then swaps the
              # host include folder for the runtime's
              libpython3.14-dev)
VENV=/opt/pyodide-build-venv
XBENV_DIR=/opt/pyodide-xbuildenv
XBENV_ARCHIVE_IN_IMAGE=/opt/pyodide/xbuildenv-${PYODIDE_VERSION}.tar.bz2
EMCACHE=/opt/emscripten-cache
PKG_LOCK=$HERE/packages.lock
WH_LOCK=$HERE/wheelhouse.lock
XB_LOCK=$HERE/xbuildenv.lock

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
ROOTFS=$WORKDIR/rootfs
TIMINGS=$WORKDIR/timings.txt
: >"$TIMINGS"

log() { printf '[bootstrap %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
T_START=$(date +%s.%N)
T_PHASE=$T_START
PHASE=init
phase() {  # phase NAME: closes the previous phase and starts NAME
  local now; now=$(date +%s.%N)
  awk -v a="$T_PHASE" -v b="$now" -v n="$PHASE" 'BEGIN{printf "%-14s %7.1f s\n", n, b-a}' | tee -a "$TIMINGS" >&2
  PHASE=$1; T_PHASE=$now
  log "== $1"
}
finish() {
  phase done
  awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN{printf "%-14s %7.1f s\n", "total", b-a}' | tee -a "$TIMINGS" >&2
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot, mount)"
for t in debootstrap docker python3 npm awk sha256sum dpkg-deb apt-get; do
  command -v "$t" >/dev/null || die "missing host tool: $t"
done
[ -r "$KEYRING" ] || die "missing $KEYRING (apt-get install debian-archive-keyring)"
docker info >/dev/null 2>&1 || die "docker engine not reachable"

# ---------------------------------------------------------------- resolve
phase resolve
MIRROR=$(python3 "$HERE/hostcfg.py" debian-mirror)
log "Debian mirror (from host apt sources): $MIRROR"

# ---------------------------------------------------------------- wheelhouse
phase wheelhouse
python3 "$HERE/wheelhouse.py" fetch "$HERE/wheelhouse.in" "$WH_LOCK" "$WORKDIR/wheelhouse"

# ---------------------------------------------------------------- xbuildenv
phase xbuildenv
XB_ARCHIVE=$WORKDIR/xbuildenv-${PYODIDE_VERSION}.tar.bz2
lock_get() { [ -f "$XB_LOCK" ] && sed -n "s/^$1=//p" "$XB_LOCK" || true; }
if [ -f "$XB_ARCHIVE" ] && [ -n "$(lock_get archive_sha256)" ] &&
   [ "$(sha256sum <"$XB_ARCHIVE" | cut -d' ' -f1)" = "$(lock_get archive_sha256)" ]; then
  log "xbuildenv archive present and matches xbuildenv.lock"
else
  args=(--pyodide-version "$PYODIDE_VERSION" --out "$XB_ARCHIVE" --cache "$WORKDIR/cache/xbuildenv")
  [ -n "$(lock_get npm_integrity)" ] && args+=(--npm-integrity "$(lock_get npm_integrity)")
  [ -n "$(lock_get libpython_dev_version)" ] && args+=(--libpython-dev-version "$(lock_get libpython_dev_version)")
  python3 "$HERE/make_xbuildenv.py" "${args[@]}" >"$WORKDIR/xbuildenv.json"
  new_sha=$(sha256sum <"$XB_ARCHIVE" | cut -d' ' -f1)
  if [ -n "$(lock_get archive_sha256)" ] && [ "$new_sha" != "$(lock_get archive_sha256)" ]; then
    die "xbuildenv archive sha256 $new_sha differs from xbuildenv.lock ($(lock_get archive_sha256)); inputs changed - delete xbuildenv.lock to accept"
  fi
  if [ ! -f "$XB_LOCK" ]; then
    python3 - "$WORKDIR/xbuildenv.json" "$new_sha" >"$XB_LOCK" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print("# pins for make_xbuildenv.py (written by bootstrap.sh)")
print(f"pyodide_version={m['pyodide_version']}")
print(f"npm_integrity={m['npm']['integrity']}")
print(f"libpython_dev_version={m['headers_deb']['version']}")
print(f"libpython_dev_sha256={m['headers_deb']['sha256']}")
print(f"archive_sha256={sys.argv[2]}")
EOF
    log "wrote $XB_LOCK"
  fi
fi
XB_SHA=$(sha256sum <"$XB_ARCHIVE" | cut -d' ' -f1)
if [ "${PREPARE_ONLY:-0}" = 1 ]; then  # wheelhouse + xbuildenv only (Dockerfile build context)
  log "PREPARE_ONLY: $WORKDIR/wheelhouse and $XB_ARCHIVE are ready"
  finish
  exit 0
fi

# ---------------------------------------------------------------- input hash
phase inputhash
input_hash() {
  {
    echo "suite=$SUITE pyodide=$PYODIDE_VERSION"
    sha256sum <"$HERE/bootstrap.sh"
    sha256sum <"$PKG_LOCK"
    sha256sum <"$WH_LOCK"
    sha256sum <"$HERE/emcc-fast"
    echo "$XB_SHA"
  } | sha256sum | cut -d' ' -f1
}
if [ -f "$PKG_LOCK" ]; then
  INPUT_HASH=$(input_hash)
  log "input hash $INPUT_HASH"
  existing=$(docker images -q --filter "label=org.pyodist.input-hash=$INPUT_HASH" | head -n1)
  if [ -n "$existing" ] && [ "$FORCE" != 1 ]; then
    docker tag "$existing" "$IMAGE_TAG"
    log "image with this input hash exists ($existing); tagged $IMAGE_TAG - nothing to do"
    finish
    exit 0
  fi
else
  log "no packages.lock yet: first (unpinned) build, the lock is written after install"
fi

# ---------------------------------------------------------------- debootstrap
cleanup_mounts() {
  for m in dev/pts dev proc sys var/cache/apt/archives; do
    mountpoint -q "$ROOTFS/$m" 2>/dev/null && umount -R -l "$ROOTFS/$m" || true
  done
}
trap cleanup_mounts EXIT
phase debootstrap
cleanup_mounts
rm -rf "$ROOTFS"
mkdir -p "$WORKDIR/cache/debootstrap" "$WORKDIR/cache/apt-archives/partial"
debootstrap --variant=minbase --keyring="$KEYRING" \
  --cache-dir="$WORKDIR/cache/debootstrap" "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$WORKDIR/debootstrap.log" 2>&1 || { tail -20 "$WORKDIR/debootstrap.log"; die "debootstrap failed"; }

# ---------------------------------------------------------------- apt install
phase apt
echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99pyodist-no-valid-until"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$ROOTFS/etc/apt/apt.conf.d/99pyodist-no-recommends"
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"; chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mount -t proc proc "$ROOTFS/proc"
mount -t sysfs sys "$ROOTFS/sys"
mount --rbind /dev "$ROOTFS/dev"; mount --make-rslave "$ROOTFS/dev"
mount --bind "$WORKDIR/cache/apt-archives" "$ROOTFS/var/cache/apt/archives"
in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
              HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -q >"$WORKDIR/apt.log" 2>&1 || { tail "$WORKDIR/apt.log"; die "apt-get update failed"; }

if [ -f "$PKG_LOCK" ]; then
  mapfile -t PINS < <(grep -v '^#' "$PKG_LOCK" | grep '=')
  # top packages the lock does not have yet (added to TOP_PACKAGES): installed beside the
  # pins, at the mirror's versions, and the lock is rewritten with them
  NEW_TOP=()
  for pkg in "${TOP_PACKAGES[@]}"; do
    grep -q "^$pkg=" "$PKG_LOCK" || NEW_TOP+=("$pkg")
  done
  log "installing ${#PINS[@]} pinned packages from packages.lock${NEW_TOP:+ and new ones: ${NEW_TOP[*]}}"
  missing=()
  for pin in "${PINS[@]}"; do
    pkg=${pin%%=*}; ver=${pin#*=}
    if ! in_root apt-cache show "$pkg=$ver" >/dev/null 2>&1; then
      have=$(in_root apt-cache policy "$pkg" 2>/dev/null | sed -n 's/ *Candidate: //p')
      missing+=("$pkg=$ver (mirror has: ${have:-nothing})")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    printf '  %s\n' "${missing[@]}" >&2
    die "${#missing[@]} pinned package version(s) from packages.lock are no longer on $MIRROR ($SUITE). Use a snapshot mirror, 'docker load' a saved image, or delete packages.lock to re-resolve."
  fi
  in_root apt-get install -y -q --no-install-recommends --allow-downgrades "${PINS[@]}" \
    ${NEW_TOP[@]+"${NEW_TOP[@]}"} \
    >>"$WORKDIR/apt.log" 2>&1 || { tail -30 "$WORKDIR/apt.log"; die "pinned apt-get install failed"; }
  in_root dpkg-query -W -f '${Package}=${Version}\n' | sort >"$WORKDIR/installed.lock"
  if [ ${#NEW_TOP[@]} -gt 0 ]; then
    # every earlier pin must have stayed: only additions are accepted into the lock
    if ! comm -23 <(grep -v '^#' "$PKG_LOCK" | sort) "$WORKDIR/installed.lock" >"$WORKDIR/lock.diff" \
       || [ -s "$WORKDIR/lock.diff" ]; then
      cat "$WORKDIR/lock.diff" >&2
      die "adding ${NEW_TOP[*]} changed pinned packages (see $WORKDIR/lock.diff); re-resolve by deleting packages.lock"
    fi
    {
      echo "# Debian $SUITE packages of the pyodist toolchain image (dpkg-query), $(date -u +%Y-%m-%d)"
      cat "$WORKDIR/installed.lock"
    } >"$PKG_LOCK"
    log "extended $PKG_LOCK with ${NEW_TOP[*]} ($(grep -vc '^#' "$PKG_LOCK") packages)"
    INPUT_HASH=$(input_hash)
  elif ! diff <(grep -v '^#' "$PKG_LOCK" | sort) "$WORKDIR/installed.lock" >"$WORKDIR/lock.diff"; then
    cat "$WORKDIR/lock.diff" >&2
    die "installed package set differs from packages.lock (see $WORKDIR/lock.diff)"
  fi
else
  in_root apt-get install -y -q --no-install-recommends "${TOP_PACKAGES[@]}" \
    >>"$WORKDIR/apt.log" 2>&1 || { tail -30 "$WORKDIR/apt.log"; die "apt-get install failed"; }
  {
    echo "# Debian $SUITE packages of the pyodist toolchain image (dpkg-query), $(date -u +%Y-%m-%d)"
    in_root dpkg-query -W -f '${Package}=${Version}\n' | sort
  } >"$PKG_LOCK"
  log "wrote $PKG_LOCK ($(grep -vc '^#' "$PKG_LOCK") packages)"
  INPUT_HASH=$(input_hash)
fi

# ---------------------------------------------------------------- venv
phase venv
rm -rf "$ROOTFS/opt/wheelhouse"; mkdir -p "$ROOTFS/opt/wheelhouse"
python3 - "$WH_LOCK" "$WORKDIR/wheelhouse" "$ROOTFS/opt/wheelhouse" <<'EOF'
import re, shutil, sys
for line in open(sys.argv[1]):
    m = re.search(r"# file=(\S+)", line)
    if m:
        shutil.copy2(f"{sys.argv[2]}/{m.group(1)}", sys.argv[3])
EOF
cp "$WH_LOCK" "$ROOTFS/opt/wheelhouse/wheelhouse.lock"
in_root python3.14 -m venv "$VENV"
in_root "$VENV/bin/pip" install -q --no-index --find-links /opt/wheelhouse \
  --disable-pip-version-check --require-hashes -r /opt/wheelhouse/wheelhouse.lock
in_root "$VENV/bin/pyodide" --version >/dev/null

# ---------------------------------------------------------------- xbuildenv install
phase xbenv-install
mkdir -p "$ROOTFS/$(dirname "$XBENV_ARCHIVE_IN_IMAGE")"
cp "$XB_ARCHIVE" "$ROOTFS/$XBENV_ARCHIVE_IN_IMAGE"
rm -rf "$ROOTFS/$XBENV_DIR"
in_root env PYODIDE_XBUILDENV_PATH="$XBENV_DIR" "$VENV/bin/pyodide" xbuildenv install \
  --url "file://$XBENV_ARCHIVE_IN_IMAGE" >>"$WORKDIR/xbenv-install.log" 2>&1 \
  || { cat "$WORKDIR/xbenv-install.log"; die "pyodide xbuildenv install failed"; }
# give the install a readable name: <dir>/<pyodide version>, selected with `use`
mangled=$(find "$ROOTFS/$XBENV_DIR" -mindepth 1 -maxdepth 1 -type d -name 'file_*' -printf '%f\n')
[ -n "$mangled" ] || die "xbuildenv install dir not found under $XBENV_DIR"
mv "$ROOTFS/$XBENV_DIR/$mangled" "$ROOTFS/$XBENV_DIR/$PYODIDE_VERSION"
in_root env PYODIDE_XBUILDENV_PATH="$XBENV_DIR" "$VENV/bin/pyodide" xbuildenv use "$PYODIDE_VERSION" \
  >>"$WORKDIR/xbenv-install.log" 2>&1
ls -la "$ROOTFS/$XBENV_DIR" >&2

# ---------------------------------------------------------------- toolchain fixups
phase fixups
# emcc and em++ that send compile-only calls straight to clang with emcc's own flags (the
# same objects, without emcc's Python start-up per call); installed first, so that every
# check below runs through them
mkdir -p "$ROOTFS/usr/local/bin"
install -m 755 "$HERE/emcc-fast" "$ROOTFS/usr/local/bin/emcc"
install -m 755 "$HERE/emcc-fast" "$ROOTFS/usr/local/bin/em++"
# pyodide-build looks for llvm-readobj at realpath(emcc)/../../bin (emsdk layout)
readobj_want=$(in_root python3.14 -c 'import shutil; from pathlib import Path; print((Path(shutil.which("emcc"))/"../../bin/llvm-readobj").resolve())')
readobj_have=$(in_root sh -c 'ls /usr/bin/llvm-readobj-* | sort -V | tail -n1')
[ -n "$readobj_have" ] || die "no llvm-readobj-* in the rootfs"
mkdir -p "$ROOTFS/$(dirname "$readobj_want")"
ln -sf "$(readlink -f "$ROOTFS$readobj_have" | sed "s|^$ROOTFS||")" "$ROOTFS$readobj_want"
log "llvm-readobj: $readobj_want -> $(readlink "$ROOTFS$readobj_want")"
# the same next to the emcc on the image's PATH (/usr/local/bin/emcc/../../bin)
ln -sf "$(readlink "$ROOTFS$readobj_want")" "$ROOTFS/usr/local/bin/llvm-readobj"
# Debian's /usr/bin/emnm resolves its script as <dir of wrapper>/tools/emnm.py, which does not
# exist; pyodide-build calls emnm for `exports: pyinit`, so every C extension needs a working one.
printf '#!/bin/sh\nexec python3 -E /usr/share/emscripten/tools/emnm.py "$@"\n' >"$ROOTFS/usr/local/bin/emnm"
chmod 755 "$ROOTFS/usr/local/bin/emnm"
in_root /usr/local/bin/emnm --version >/dev/null || die "emnm wrapper does not run"
# non-root build user
in_root useradd --uid 1000 --user-group --create-home --shell /bin/bash builder
chown -R 1000:1000 "$ROOTFS/$XBENV_DIR"

# ---------------------------------------------------------------- emscripten cache
phase emcache
rm -rf "$ROOTFS/$EMCACHE" "$ROOTFS/var/cache/emscripten"
mkdir -p "$ROOTFS/$EMCACHE" "$ROOTFS/tmp/prewarm"
cat >"$ROOTFS/tmp/prewarm/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOF
cat >"$ROOTFS/tmp/prewarm/hello.cpp" <<'EOF'
#include <cstdio>
#include <stdexcept>
int main() { try { throw std::runtime_error("x"); } catch (const std::exception &e) { std::puts(e.what()); } return 0; }
EOF
PFLAGS="-O2 -g0 -fwasm-exceptions -sSUPPORT_LONGJMP=wasm -sWASM_BIGINT"
in_root env EM_CACHE="$EMCACHE" sh -c "cd /tmp/prewarm &&
  emcc $PFLAGS hello.c -o hello.js && em++ $PFLAGS hello.cpp -o hellopp.js &&
  node hello.js && node hellopp.js &&
  emcc hello.c -o hello0.js && em++ hello.cpp -o hellopp0.js && node hello0.js &&
  emcc -O2 -fPIC -fwasm-exceptions -sSUPPORT_LONGJMP=wasm -c hello.c -o side.o &&
  emcc -O2 -sWASM_BIGINT -fwasm-exceptions -sSUPPORT_LONGJMP=wasm -sSIDE_MODULE=1 side.o -o side.so" \
  >"$WORKDIR/emcache.log" 2>&1 || { tail -30 "$WORKDIR/emcache.log"; die "emscripten cache pre-warm failed"; }
# the compile shortcut makes the bytes emcc makes (C and C++)
SIDEC="-O2 -fPIC -fwasm-exceptions -sSUPPORT_LONGJMP=wasm"
in_root env EM_CACHE="$EMCACHE" sh -c "cd /tmp/prewarm &&
  /usr/local/bin/emcc $SIDEC -c hello.c -o fast.o && cmp side.o fast.o &&
  em++ $SIDEC -c hello.cpp -o pp.o && /usr/local/bin/em++ $SIDEC -c hello.cpp -o ppfast.o &&
  cmp pp.o ppfast.o" >>"$WORKDIR/emcache.log" 2>&1 \
  || { tail -30 "$WORKDIR/emcache.log"; die "/usr/local/bin/emcc compiles other bytes than emcc"; }
rm -rf "$ROOTFS/tmp/prewarm" "$ROOTFS"/tmp/emcc-fast-*
chown -R 1000:1000 "$ROOTFS/$EMCACHE"
chmod -R a+rX "$ROOTFS/$EMCACHE"
# pyconfig.h static checks against this emcc
I=$(find "$ROOTFS/$XBENV_DIR/$PYODIDE_VERSION" -name pyconfig_check.c -printf '%h\n' | sed "s|^$ROOTFS||")
in_root env EM_CACHE="$EMCACHE" emcc -fsyntax-only -I"$I/include/python3.14" "$I/pyconfig_check.c" \
  || die "pyconfig.h static checks failed"
# libffi's wasm32 headers beside CPython's (cffi compiles against them)
printf '#include <ffi.h>\n_Static_assert(sizeof(ffi_arg) == 4, "wasm32 ffi_arg");\nint abi = FFI_DEFAULT_ABI;\n' \
  >"$ROOTFS/tmp/ffi_check.c"
in_root env EM_CACHE="$EMCACHE" emcc -fsyntax-only -I"$I/include" /tmp/ffi_check.c \
  || die "libffi header check failed"
rm -f "$ROOTFS/tmp/ffi_check.c"

# ---------------------------------------------------------------- versions + cleanup
phase cleanup
EMVER=$(in_root env EM_CACHE="$EMCACHE" emcc --version | sed -n '1s/.*) \([0-9][0-9.]*\).*/\1/p')
PYVER=$(in_root python3.14 -c 'import platform; print(platform.python_version())')
PBVER=$(in_root "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pyodide-build"))')
NODEVER=$(in_root node --version)
LLVMVER=$(in_root sh -c 'ls /usr/lib | sed -n "s/^llvm-//p" | sort -n | tail -n1')
mkdir -p "$ROOTFS/opt/pyodist"
cp "$PKG_LOCK" "$ROOTFS/opt/pyodist/packages.lock"
cat >"$ROOTFS/opt/pyodist/toolchain.json" <<EOF
{
  "input_hash": "$INPUT_HASH",
  "debian_suite": "$SUITE",
  "emscripten_version": "$EMVER",
  "llvm_major": "$LLVMVER",
  "python_version": "$PYVER",
  "node_version": "$NODEVER",
  "pyodide_build_version": "$PBVER",
  "pyodide_version": "$PYODIDE_VERSION",
  "pyodide_abi": "2026_0",
  "xbuildenv_archive_sha256": "$XB_SHA",
  "xbuildenv_path": "$XBENV_DIR"
}
EOF
cleanup_mounts
in_root apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
       "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/lib/dpkg/*-old "$ROOTFS"/tmp/* \
       "$ROOTFS"/root/.cache "$ROOTFS"/etc/resolv.conf
: >"$ROOTFS/etc/machine-id"

# ---------------------------------------------------------------- import
phase import
PKGLIST=$(grep -v '^#' "$PKG_LOCK" | tr '\n' ' ' | sed 's/ $//')
IMPORT_ARGS=(
  -c "ENV PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  -c "ENV LANG=C.UTF-8"
  -c "ENV SKIP_EMSCRIPTEN_VERSION_CHECK=1"
  -c "ENV PYODIDE_SKIP_EMSCRIPTEN_INSTALL=1"
  -c "ENV PYODIDE_XBUILDENV_PATH=$XBENV_DIR"
  -c "ENV DEFAULT_CROSS_BUILD_ENV_URL=file://$XBENV_ARCHIVE_IN_IMAGE"
  -c "ENV EM_CACHE=$EMCACHE"
  -c "ENV PIP_NO_INDEX=1"
  -c "ENV PIP_FIND_LINKS=/opt/wheelhouse"
  -c "ENV PIP_DISABLE_PIP_VERSION_CHECK=1"
  -c "ENV npm_config_yes=true"
  -c "ENV LDFLAGS=-Wl,--experimental-pic"
  -c "USER builder"
  -c "WORKDIR /home/builder"
  -c "LABEL org.pyodist.input-hash=$INPUT_HASH"
  -c "LABEL org.pyodist.emscripten-version=$EMVER"
  -c "LABEL org.pyodist.llvm-version=$LLVMVER"
  -c "LABEL org.pyodist.python-version=$PYVER"
  -c "LABEL org.pyodist.node-version=$NODEVER"
  -c "LABEL org.pyodist.pyodide-build-version=$PBVER"
  -c "LABEL org.pyodist.pyodide-version=$PYODIDE_VERSION"
  -c "LABEL org.pyodist.pyodide-abi=2026_0"
  -c "LABEL org.pyodist.debian-suite=$SUITE"
  -c "LABEL org.pyodist.xbuildenv-sha256=$XB_SHA"
  -c "LABEL org.pyodist.packages-lock-sha256=$(sha256sum <"$PKG_LOCK" | cut -d' ' -f1)"
  -c "LABEL org.pyodist.wheelhouse-lock-sha256=$(sha256sum <"$WH_LOCK" | cut -d' ' -f1)"
  -c "LABEL org.pyodist.debian-packages=\"$PKGLIST\""
)
tar -C "$ROOTFS" --numeric-owner --sort=name --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -c . \
  | docker import "${IMPORT_ARGS[@]}" - "$IMAGE_TAG" >"$WORKDIR/image.id"
log "imported $IMAGE_TAG: $(cat "$WORKDIR/image.id")"
docker image inspect -f '{{.Size}}' "$IMAGE_TAG" | awk '{printf "image size %.0f MB\n", $1/1e6}' | tee -a "$TIMINGS" >&2
[ "${KEEP_ROOTFS:-0}" = 1 ] || rm -rf "$ROOTFS"
finish
