#!/usr/bin/env python3
"""Assemble a Pyodide cross-build environment (xbuildenv) without GitHub.

Inputs (all fetched through the host's ordinary package clients):
  * the npm package ``pyodide@VERSION`` (``npm pack``; sha512 integrity checked
    against ``npm view ... dist.integrity``) -> runtime files, pyodide-lock.json
    and the runtime's own ``_sysconfigdata__emscripten_wasm32-emscripten.py``;
  * Debian's ``libpython3.X-dev`` binary package (``apt-get download`` with a
    private apt directory, so the host apt configuration is not touched)
    -> CPython headers and the x86_64 ``pyconfig.h`` used as the macro list.

Output: a reproducible ``xbuildenv-VERSION.tar.bz2`` (sorted members, fixed
mtime, uid/gid 0) whose layout is what pyodide-build (>= 0.39) reads:

  xbuildenv/requirements.txt, xbuildenv/site-packages-extras/,
  xbuildenv/pyodide-root/{Makefile.envs, package.json, unisolated.txt,
     tools/constraints.txt, dist/..., cpython/installs/python-X.Y.Z/
     {include/pythonX.Y, sysconfigdata, lib/pythonX.Y}}

Python 3.11 standard library only (+ npm, apt-get, dpkg-deb via subprocess).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSCONFIG_NAME = "_sysconfigdata__emscripten_wasm32-emscripten"
RUNTIME_FILES = [
    "pyodide.asm.mjs", "pyodide.asm.wasm", "pyodide.mjs", "pyodide.js",
    "pyodide.d.ts", "ffi.d.ts", "python_stdlib.zip", "pyodide-lock.json",
    "package.json", "console.html",
]
# pyconfig.h macros that the runtime's sysconfig cannot tell us (sysconfig
# only records macros whose name starts with an upper-case letter) or that
# describe the build machine rather than the wasm32 target: force #undef.
FORCE_UNDEF = {
    "_Py_HACL_CAN_COMPILE_VEC128", "_Py_HACL_CAN_COMPILE_VEC256",
    "_PYTHREAD_NAME_MAXLEN", "_Py_FFI_SUPPORT_C_COMPLEX",
    "HAVE_CURSES_ESCDELAY", "HAVE_CURSES_GETMOUSE", "HAVE_CURSES_SET_ESCDELAY",
    "HAVE_CURSES_SET_TABSIZE", "HAVE_CURSES_TABSIZE",
    "HAVE_SYSCTLBYNAME", "HAVE_SYS_SYSCTL_H", "HAVE_DL_ITERATE_PHDR",
    "_Py_LINKER_THREAD_STACK_SIZE",
}
# Types/ sizes checked with static_assert under emcc.
SIZE_CHECKS = {
    "SIZEOF_INT": "int", "SIZEOF_LONG": "long", "SIZEOF_LONG_LONG": "long long",
    "SIZEOF_SHORT": "short", "SIZEOF_VOID_P": "void *", "SIZEOF_SIZE_T": "size_t",
    "SIZEOF_TIME_T": "time_t", "SIZEOF_OFF_T": "off_t", "SIZEOF_PID_T": "pid_t",
    "SIZEOF_FPOS_T": "fpos_t", "SIZEOF_WCHAR_T": "wchar_t", "SIZEOF_FLOAT": "float",
    "SIZEOF_DOUBLE": "double", "SIZEOF_LONG_DOUBLE": "long double",
    "SIZEOF__BOOL": "_Bool", "SIZEOF_UINTPTR_T": "uintptr_t",
    "SIZEOF_PTHREAD_T": "pthread_t", "SIZEOF_PTHREAD_KEY_T": "pthread_key_t",
    "ALIGNOF_LONG": "_Alignof(long)", "ALIGNOF_SIZE_T": "_Alignof(size_t)",
    "ALIGNOF_MAX_ALIGN_T": "_Alignof(max_align_t)",
}


def log(msg: str) -> None:
    print(f"[make_xbuildenv] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


# --------------------------------------------------------------------------
# npm runtime
# --------------------------------------------------------------------------
def fetch_npm_runtime(version: str, cache: Path) -> tuple[Path, dict]:
    cache.mkdir(parents=True, exist_ok=True)
    spec = f"pyodide@{version}"
    expected = run(["npm", "view", spec, "dist.integrity"],
                   capture_output=True, text=True).stdout.strip()
    if not expected.startswith("sha512-"):
        raise SystemExit(f"unexpected integrity for {spec}: {expected!r}")
    tgz = cache / f"pyodide-{version}.tgz"
    if not tgz.exists():
        log(f"npm pack {spec}")
        run(["npm", "pack", spec, "--pack-destination", str(cache)],
            capture_output=True, text=True)
    digest = base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    actual = f"sha512-{digest}"
    if actual != expected:
        tgz.unlink()
        raise SystemExit(f"integrity mismatch for {tgz.name}: {actual} != {expected}")
    log(f"{tgz.name}: integrity ok ({expected[:24]}...)")
    out = cache / f"pyodide-{version}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    with tarfile.open(tgz) as tf:
        for m in tf.getmembers():
            name = m.name.split("/", 1)[1] if "/" in m.name else m.name
            if not m.isfile() or "/" in name or name not in RUNTIME_FILES:
                continue
            (out / name).write_bytes(tf.extractfile(m).read())
    missing = [f for f in RUNTIME_FILES if not (out / f).exists()]
    if missing:
        raise SystemExit(f"npm package lacks runtime files: {missing}")
    return out, {"npm_spec": spec, "integrity": expected,
                 "tarball_sha256": hashlib.sha256(tgz.read_bytes()).hexdigest()}


def read_sysconfigdata(runtime: Path) -> tuple[str, dict]:
    with zipfile.ZipFile(runtime / "python_stdlib.zip") as zf:
        src = zf.read(f"{SYSCONFIG_NAME}.py").decode()
    ns: dict = {}
    exec(compile(src, SYSCONFIG_NAME, "exec"), ns)  # the runtime's own file
    return src, ns["build_time_vars"]


# --------------------------------------------------------------------------
# Debian headers via a private apt directory
# --------------------------------------------------------------------------
def apt_private_opts(root: Path, mirror: str, suite: str) -> list[str]:
    for d in ("etc/sources.list.d", "etc/preferences.d", "state/lists/partial",
              "cache/archives/partial"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/sources.list").write_text(
        f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        f"{mirror} {suite} main\n")
    return [
        "-o", f"Dir::Etc::sourcelist={root}/etc/sources.list",
        "-o", f"Dir::Etc::sourceparts={root}/etc/sources.list.d",
        "-o", f"Dir::Etc::preferencesparts={root}/etc/preferences.d",
        "-o", f"Dir::State={root}/state",
        "-o", f"Dir::State::status={root}/state/status",
        "-o", f"Dir::Cache={root}/cache",
        "-o", "Acquire::Check-Valid-Until=false",
        "-o", "Debug::NoLocking=1",
        "-o", "APT::Sandbox::User=root",
    ]


def fetch_headers_deb(pkg: str, version: str | None, mirror: str, suite: str,
                      cache: Path) -> tuple[Path, dict]:
    cache.mkdir(parents=True, exist_ok=True)
    if version:
        fname_glob = f"{pkg}_{version.replace(':', '%3a')}_*.deb"
        hits = sorted(cache.glob(fname_glob))
        if hits:
            deb = hits[0]
            return deb, deb_info(deb)
    aptdir = cache / "apt"
    (aptdir / "state").mkdir(parents=True, exist_ok=True)
    (aptdir / "state/status").touch()
    opts = apt_private_opts(aptdir, mirror, suite)
    log(f"apt-get update (private dir, {suite})")
    r = subprocess.run(["apt-get", *opts, "update", "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"apt-get update (private dir) failed:\n{r.stdout}\n{r.stderr}")
    target = f"{pkg}={version}" if version else pkg
    log(f"apt-get download {target}")
    r = subprocess.run(["apt-get", *opts, "download", target], cwd=cache,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"apt-get download {target} failed:\n{r.stderr}")
    debs = sorted(cache.glob(f"{pkg}_*.deb"), key=lambda p: p.stat().st_mtime)
    return debs[-1], deb_info(debs[-1])


# libffi: the runtime links it into its main module and exports ffi_* (ctypes uses it), so
# a side module (cffi's _cffi_backend) needs only the headers for wasm32 and an -lffi that
# resolves: libffi's own wasm32 port, from Debian's copy of the upstream tarball.
LIBFFI_VERSION = "3.4.8"
LIBFFI_ORIG_SHA256 = "cbb7f0b3b095dc506387ec1e35b891bfb4891d05b90a495bc69a10f2293f80ff"
# what libffi's configure substitutes into include/ffi.h.in for wasm32-unknown-emscripten
LIBFFI_SUBST = {"@VERSION@": LIBFFI_VERSION, "@TARGET@": "wasm32", "@HAVE_LONG_DOUBLE@": "1",
                "@HAVE_LONG_DOUBLE_VARIANT@": "0", "@FFI_EXEC_TRAMPOLINE_TABLE@": "0"}
# an ar archive with no members: -lffi links, the symbols come from the main module
EMPTY_AR = b"!<arch>\n"


def fetch_libffi(mirror: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    name = f"libffi_{LIBFFI_VERSION}.orig.tar.gz"
    path = cache / name
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != LIBFFI_ORIG_SHA256:
        url = f"{mirror.rstrip('/')}/pool/main/libf/libffi/{name}"
        log(f"download {url}")
        with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 - the mirror
            data = resp.read()
        got = hashlib.sha256(data).hexdigest()
        if got != LIBFFI_ORIG_SHA256:
            raise SystemExit(f"{url}: sha256 {got}, pinned {LIBFFI_ORIG_SHA256}")
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def libffi_headers(orig: Path) -> dict[str, bytes]:
    """ffi.h (configured as libffi's configure would for wasm32) and ffitarget.h."""
    top = f"libffi-{LIBFFI_VERSION}"
    with tarfile.open(orig) as tar:
        def member(rel: str) -> bytes:
            fh = tar.extractfile(f"{top}/{rel}")
            if fh is None:
                raise SystemExit(f"{orig}: no {rel}")
            return fh.read()
        ffi_h = member("include/ffi.h.in").decode()
        target = member("src/wasm32/ffitarget.h")
    for key, value in LIBFFI_SUBST.items():
        ffi_h = ffi_h.replace(key, value)
    if "@" in "".join(line for line in ffi_h.splitlines() if line.startswith("#")):
        raise SystemExit("ffi.h.in has substitutions this script does not know")
    return {"ffi.h": ffi_h.encode(), "ffitarget.h": target}


def deb_info(deb: Path) -> dict:
    fields = run(["dpkg-deb", "-f", str(deb), "Package", "Version"],
                 capture_output=True, text=True).stdout
    info = dict(line.split(": ", 1) for line in fields.strip().splitlines())
    return {"package": info["Package"], "version": info["Version"],
            "file": deb.name, "sha256": hashlib.sha256(deb.read_bytes()).hexdigest()}


# --------------------------------------------------------------------------
# pyconfig.h for wasm32
# --------------------------------------------------------------------------
DEFINE_RE = re.compile(r"^#define\s+(\w+)(?:\s+(.*?))?\s*$")
UNDEF_RE = re.compile(r"^/\*\s*#undef\s+(\w+)\s*\*/\s*$")


def make_pyconfig(debian_pyconfig: str, btv: dict, pyversion: str) -> tuple[str, dict]:
    out_lines = [
        f"/* pyconfig.h for CPython {pyversion} on wasm32-emscripten (Pyodide).\n"
        "   Generated by pyodist make_xbuildenv.py: macro list from Debian's x86_64\n"
        "   pyconfig.h, values from the runtime's own build_time_vars. */",
    ]
    stats = {"from_sysconfig": 0, "kept_debian": 0, "forced_undef": 0, "changed": 0}
    for line in debian_pyconfig.splitlines():
        m = DEFINE_RE.match(line)
        u = UNDEF_RE.match(line) if not m else None
        if not m and not u:
            out_lines.append(line)
            continue
        name = (m or u).group(1)
        deb_value = m.group(2) if m else None
        deb_defined = m is not None
        if name == "Py_PYCONFIG_H":
            out_lines.append(line)
            continue
        if name in FORCE_UNDEF:
            new = None
            stats["forced_undef"] += 1
        elif name in btv:
            v = btv[name]
            new = None if v == 0 else str(v)
            stats["from_sysconfig"] += 1
        else:
            # feature-test / typedef-fallback macros sysconfig does not record
            new = deb_value if deb_defined else None
            if deb_defined and new is None:
                new = ""
            stats["kept_debian"] += 1
        if new is None:
            out_lines.append(f"/* #undef {name} */")
            if deb_defined:
                stats["changed"] += 1
        else:
            out_lines.append(f"#define {name} {new}".rstrip())
            if not deb_defined or (deb_value or "") != new:
                stats["changed"] += 1
    return "\n".join(out_lines) + "\n", stats


def pyconfig_check_source() -> str:
    lines = ["/* static checks of the generated pyconfig.h against emcc's wasm32 ABI */",
             "#include <pyconfig.h>", "#include <stddef.h>", "#include <stdint.h>",
             "#include <stdio.h>", "#include <time.h>", "#include <sys/types.h>",
             "#include <pthread.h>", "#include <wchar.h>"]
    for macro, typ in SIZE_CHECKS.items():
        expr = typ if typ.startswith("_Alignof") else f"sizeof({typ})"
        lines.append(f"#ifdef {macro}\n_Static_assert({expr} == {macro}, \"{macro}\");\n#endif")
    lines += ["#ifndef __wasm32__", "#error not wasm32", "#endif",
              "#include <Python.h>",
              "int pyodist_check(void) { return (int)sizeof(PyObject); }"]
    return "\n".join(lines) + "\n"


def check_with_emcc(emcc: str, include_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as td:
        c = Path(td) / "check.c"
        c.write_text(pyconfig_check_source())
        r = subprocess.run([emcc, "-fsyntax-only", f"-I{include_dir}", str(c)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"pyconfig.h check with {emcc} failed:\n{r.stderr}")
    log(f"pyconfig.h static checks passed with {emcc}")


# --------------------------------------------------------------------------
# Makefile.envs and helper files
# --------------------------------------------------------------------------
def makefile_envs(pyversion: str, pyodide_version: str, abi: str, emver: str) -> str:
    return f"""\
# Makefile.envs for an out-of-tree Pyodide cross-build environment.
# Generated by pyodist make_xbuildenv.py. pyodide-build evaluates it with
# `make -f Makefile.envs .output_vars` and PYODIDE_ROOT in the environment.
export PYVERSION ?= {pyversion}
export PYODIDE_VERSION ?= {pyodide_version}
export PYODIDE_ABI_VERSION ?= {abi}
export PYODIDE_EMSCRIPTEN_VERSION ?= {emver}
export PLATFORM_TRIPLET ?= wasm32-emscripten
export SYSCONFIG_NAME ?= _sysconfigdata__emscripten_$(PLATFORM_TRIPLET)

_pyver_words := $(subst ., ,$(PYVERSION))
export PYMAJOR := $(word 1,$(_pyver_words))
export PYMINOR := $(word 2,$(_pyver_words))
export PYMICRO := $(word 3,$(_pyver_words))

export CPYTHONROOT := $(PYODIDE_ROOT)/cpython
export CPYTHONINSTALL := $(CPYTHONROOT)/installs/python-$(PYVERSION)
export CPYTHONLIB := $(CPYTHONINSTALL)/lib/python$(PYMAJOR).$(PYMINOR)
export TARGETINSTALLDIR := $(CPYTHONINSTALL)
export SYSCONFIGDATA_DIR := $(CPYTHONINSTALL)/sysconfigdata
export PYTHONINCLUDE := $(CPYTHONINSTALL)/include/python$(PYMAJOR).$(PYMINOR)
export PIP_CONSTRAINT := $(PYODIDE_ROOT)/tools/constraints.txt

# Pyodide's own flags (the runtime is built with wasm exceptions and wasm sjlj)
export CFLAGS_BASE := -O2 -g0 -fPIC -fwasm-exceptions -sSUPPORT_LONGJMP=wasm -I$(CPYTHONINSTALL)/include
export CXXFLAGS_BASE :=
export LDFLAGS_BASE := -O2 -g0 -sWASM_BIGINT -fwasm-exceptions -sSUPPORT_LONGJMP=wasm -L$(CPYTHONINSTALL)/lib

.output_vars:
\tset
"""


PYTHON_SH = """\
#!/bin/sh
# Run the Pyodide runtime next to this script under Node: dist/python [-c CODE | FILE] [ARGS]
here=$(dirname "$(readlink -f "$0")")
exec node "$here/pyodist_python_entry.mjs" "$@"
"""

PYTHON_ENTRY_MJS = """\
// Minimal CLI for the Pyodide runtime in this directory (pyodist).
import { loadPyodide } from "./pyodide.mjs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
// pass a copy: the runtime may modify the array it is given (argv[0])
const py = await loadPyodide({ indexURL: here + "/", args: [...args] });
const cwd = process.cwd();
py.FS.mkdirTree(cwd);
py.mountNodeFS(cwd, cwd);
py.FS.chdir(cwd);
let code;
if (args[0] === "-c") {
  code = args[1];
} else if (args.length) {
  code = `import runpy, sys; sys.argv = ${JSON.stringify(args)}; runpy.run_path(sys.argv[0], run_name="__main__")`;
} else {
  code = "import sys; print(sys.version)";
}
try {
  await py.runPythonAsync(code);
} catch (e) {
  console.error(String(e.message ?? e));
  process.exit(1);
}
"""


# --------------------------------------------------------------------------
# reproducible archive
# --------------------------------------------------------------------------
def write_reproducible_tarbz2(src_root: Path, top: str, out: Path, mtime: int) -> None:
    entries = sorted(p for p in (src_root / top).rglob("*"))
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tarfile.open(tmp, "w:bz2", format=tarfile.GNU_FORMAT, compresslevel=9) as tf:
        for p in [src_root / top] + entries:
            arc = p.relative_to(src_root).as_posix()
            ti = tarfile.TarInfo(arc)
            ti.mtime = mtime
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            if p.is_symlink():
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(p)
                ti.mode = 0o777
                tf.addfile(ti)
            elif p.is_dir():
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            else:
                data = p.read_bytes()
                ti.size = len(data)
                ti.mode = 0o755 if os.access(p, os.X_OK) else 0o644
                tf.addfile(ti, io.BytesIO(data))
    tmp.replace(out)


# --------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pyodide-version", default="314.0.7")
    ap.add_argument("--out", type=Path, required=True, help="output .tar.bz2")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/pyodist-xbuildenv")
    ap.add_argument("--debian-mirror", help="default: from the host's apt sources")
    ap.add_argument("--debian-suite", default="sid")
    ap.add_argument("--libpython-dev-version",
                    help="pin the Debian libpythonX.Y-dev version (e.g. 3.14.10-1)")
    ap.add_argument("--headers-deb", type=Path, help="use this .deb instead of downloading")
    ap.add_argument("--npm-integrity", help="expected sha512 integrity (pin)")
    ap.add_argument("--emcc", help="if given, verify pyconfig.h with static_asserts")
    ap.add_argument("--mtime", type=int,
                    default=int(os.environ.get("SOURCE_DATE_EPOCH", "946684800")))
    args = ap.parse_args()
    args.cache = args.cache.resolve()
    args.out = args.out.resolve()

    runtime, npm_meta = fetch_npm_runtime(args.pyodide_version, args.cache / "npm")
    if args.npm_integrity and npm_meta["integrity"] != args.npm_integrity:
        raise SystemExit(f"npm integrity {npm_meta['integrity']} != pinned {args.npm_integrity}")
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    info = lock["info"]
    pyversion = info["python"]
    abi = info["abi_version"]
    emver = info["platform"].removeprefix("emscripten_").replace("_", ".")
    pymajmin = ".".join(pyversion.split(".")[:2])
    log(f"runtime: python {pyversion}, abi {abi}, emscripten {emver}")

    sysconfig_src, btv = read_sysconfigdata(runtime)
    if btv.get("SOABI") and "wasm32" not in btv["SOABI"]:
        raise SystemExit(f"unexpected SOABI {btv['SOABI']}")

    mirror = args.debian_mirror or subprocess.run(
        [sys.executable, str(HERE / "hostcfg.py"), "debian-mirror"],
        capture_output=True, text=True, check=True).stdout.strip()
    ffi_headers = libffi_headers(fetch_libffi(mirror, args.cache / "libffi"))
    if args.headers_deb:
        deb, deb_meta = args.headers_deb, deb_info(args.headers_deb)
    else:
        deb, deb_meta = fetch_headers_deb(f"libpython{pymajmin}-dev",
                                          args.libpython_dev_version, mirror,
                                          args.debian_suite, args.cache / "debs")
    log(f"headers from {deb_meta['package']} {deb_meta['version']}")

    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        debroot = td / "deb"
        run(["dpkg-deb", "-x", str(deb), str(debroot)])
        inc_src = debroot / f"usr/include/python{pymajmin}"
        arch_pyconfig = next((debroot / "usr/include").glob(f"*/python{pymajmin}/pyconfig.h"))

        stage = td / "stage"
        xb = stage / "xbuildenv"
        root = xb / "pyodide-root"
        install = root / f"cpython/installs/python-{pyversion}"
        inc = install / f"include/python{pymajmin}"
        shutil.copytree(inc_src, inc, symlinks=False)
        pyconfig, stats = make_pyconfig(arch_pyconfig.read_text(), btv, pyversion)
        (inc / "pyconfig.h").write_text(pyconfig)
        log(f"pyconfig.h: {stats}")
        # libffi as Pyodide installs it beside CPython (include/, lib/; on the flags below)
        for name, data in ffi_headers.items():
            (install / "include" / name).write_bytes(data)
        (install / "lib").mkdir(parents=True, exist_ok=True)
        (install / "lib" / "libffi.a").write_bytes(EMPTY_AR)
        for d in ("sysconfigdata", f"lib/python{pymajmin}"):
            (install / d).mkdir(parents=True, exist_ok=True)
            (install / d / f"{SYSCONFIG_NAME}.py").write_text(sysconfig_src)

        dist = root / "dist"
        dist.mkdir(parents=True)
        for f in RUNTIME_FILES:
            shutil.copy(runtime / f, dist / f)
        (dist / "python").write_text(PYTHON_SH)
        (dist / "python").chmod(0o755)
        (dist / "pyodist_python_entry.mjs").write_text(PYTHON_ENTRY_MJS)
        shutil.copy(runtime / "package.json", root / "package.json")

        (root / "Makefile.envs").write_text(makefile_envs(pyversion, args.pyodide_version, abi, emver))
        (root / "tools").mkdir()
        (root / "tools/constraints.txt").write_text(
            "# build-time constraints for pip in isolated build environments (none)\n")
        (root / "unisolated.txt").write_text("")
        (xb / "requirements.txt").write_text(
            "# cross-build packages (name==version) with wasm files in site-packages-extras;\n"
            "# none are provided by this xbuildenv\n")
        (xb / "site-packages-extras").mkdir()
        (install / "pyconfig_check.c").write_text(pyconfig_check_source())

        meta = {
            "generator": "pyodist make_xbuildenv.py",
            "generator_sha256": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
            "pyodide_version": args.pyodide_version, "python_version": pyversion,
            "abi_version": abi, "emscripten_version": emver,
            "npm": npm_meta, "headers_deb": deb_meta, "pyconfig_stats": stats,
            "libffi": {"version": LIBFFI_VERSION, "orig_sha256": LIBFFI_ORIG_SHA256},
        }
        (xb / "pyodist-xbuildenv.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

        if args.emcc:
            check_with_emcc(args.emcc, inc)

        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_reproducible_tarbz2(stage, "xbuildenv", args.out, args.mtime)
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    log(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {sha})")
    print(json.dumps({"archive": str(args.out), "sha256": sha, **meta}, indent=2))


if __name__ == "__main__":
    main()
