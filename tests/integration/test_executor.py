"""The executors against the real Docker engine and the real toolchain image."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pyodist.errors import ToolchainError
from pyodist.options import StepLimits
from pyodist.toolchain import DockerExecutor, HostExecutor, Mount, Step, docker_client
from pyodist.toolchain.docker import PID_LABEL

PIC = "-O2 -g0 -fPIC -fwasm-exceptions -sSUPPORT_LONGJMP=wasm"
SIDE = "-sSIDE_MODULE=1 -sWASM_BIGINT -fwasm-exceptions -sSUPPORT_LONGJMP=wasm"

C_SRC = """
#include <setjmp.h>
static jmp_buf env;
static void jump(void) { longjmp(env, 1); }
int answer(void) { if (setjmp(env)) return 42; jump(); return 0; }
"""
CXX_SRC = """
#include <stdexcept>
extern "C" int safe_div(int a, int b) {
  try { if (b == 0) throw std::domain_error("zero"); return a / b; }
  catch (const std::exception &) { return -1; }
}
"""


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "a.c").write_text(C_SRC)
    (src / "b.cpp").write_text(CXX_SRC)
    return src, out


def _containers(pid: int | None = None) -> list[str]:
    """pyodist containers started by process ``pid`` (default: this one); other pyodist runs
    on the same engine are not this test's business."""
    label = f"{PID_LABEL}={os.getpid() if pid is None else pid}"
    return [c.name for c in docker_client().containers.list(all=True,
                                                            filters={"label": label})]


def test_c_and_cxx_with_exceptions_compile_to_side_modules(
    toolchain_image: str, dirs: tuple[Path, Path],
) -> None:
    src, out = dirs
    script = (f"emcc {PIC} -c /src/a.c -o a.o && emcc {SIDE} a.o -o a.so && "
              f"em++ {PIC} -c /src/b.cpp -o b.o && em++ {SIDE} b.o -o b.so && "
              # pyodide-build lists symbols with emnm for `exports: pyinit`
              "emnm a.o > a.syms")
    with DockerExecutor(toolchain_image, [Mount(src, "/src"), Mount(out, "/out", False)]) as ex:
        result = ex.run(Step.script("compile", script, out, log=out / "build.log"))
        assert result.ok, (out / "build.log").read_text()
        assert ex.guest_path(out / "a.so") == "/out/a.so"
    for name in ("a.so", "b.so"):
        assert (out / name).read_bytes()[:4] == b"\0asm"
        assert (out / name).stat().st_uid == os.getuid()  # the caller owns the outputs
    assert " T answer" in (out / "a.syms").read_text()
    log = (out / "build.log").read_text()
    assert log.startswith("+ bash -eo pipefail -c 'emcc ")


def test_compile_shortcut_makes_the_bytes_emcc_makes(
    toolchain_image: str, dirs: tuple[Path, Path],
) -> None:
    # /usr/local/bin/emcc and em++ (docker/emcc-fast) run clang straight for -c; Debian's
    # /usr/bin/emcc is the reference. -O3 -msimd128 -MD as OpenBLAS and meson builds pass them.
    src, out = dirs
    # clang's own -s... flags reach clang (a -std= taken for an emcc setting was once dropped)
    (src / "std.c").write_text("#if __STDC_VERSION__ != 199901L\n#error not C99\n#endif\n"
                               "int c99(void) { return 1; }\n")
    flags = f"{PIC} -O3 -msimd128 -I /src -DX=1 -MD"
    script = " && ".join([
        f"emcc {PIC} -std=c99 -c /src/std.c -o std.o",
        f"/usr/bin/emcc {flags} -c /src/a.c -o a.ref.o",
        f"emcc {flags} -c /src/a.c -o a.o", "cmp a.o a.ref.o",
        f"/usr/bin/em++ {flags} -c /src/b.cpp -o b.ref.o",
        f"em++ {flags} -c /src/b.cpp -o b.o", "cmp b.o b.ref.o",
        # what it does not read goes to emcc: a link, preprocessing, emcc's own -g forms
        f"emcc {SIDE} a.o -o a.so", "emcc -E /src/a.c > a.i",
        f"emcc {PIC} -gsource-map -c /src/a.c -o g.o",
        "command -v emcc > where"])
    with DockerExecutor(toolchain_image, [Mount(src, "/src"), Mount(out, "/out", False)]) as ex:
        result = ex.run(Step.script("compile", script, out, log=out / "build.log"))
    assert result.ok, (out / "build.log").read_text()
    assert (out / "where").read_text().strip() == "/usr/local/bin/emcc"
    assert (out / "a.so").read_bytes()[:4] == b"\0asm"
    assert "longjmp" in (out / "a.i").read_text()
    assert (out / "a.d").read_text().startswith("a.o: /src/a.c")  # -MD went to clang too


# The compile shortcut against emcc over a corpus of flags and files: for each, the object
# emcc makes and the one the shortcut makes (straight to clang, or back to emcc for what it
# does not read) must be the same bytes. SIMD emulation flags (-msse*, -mavx, -mfpu=neon) are
# emcc's to translate: clang refuses them. (-mfpu=neon is not in the corpus: Debian's emcc
# takes its NEON headers from SIMDe, libsimde-dev, which the image does not have yet.)
SIMD_SOURCES = {
    "sse2.c": "#include <emmintrin.h>\ndouble f(const double *x) { __m128d v = _mm_loadu_pd(x);"
              " v = _mm_add_pd(v, v); double o[2]; _mm_storeu_pd(o, v); return o[0] + o[1]; }\n",
    "sse42.c": "#include <nmmintrin.h>\n__m128i f(__m128i a, __m128i b) "
               "{ return _mm_cmpgt_epi64(a, b); }\n",
    "avx.c": "#include <immintrin.h>\n__m256d f(__m256d a, __m256d b) "
             "{ return _mm256_add_pd(a, b); }\n",
}
FLAG_CORPUS = [
    ("a.c", "-O2"), ("a.c", "-O3 -msimd128"), ("a.c", "-Oz"), ("a.c", "-O0 -g"),
    ("a.c", "-O1 -g2"), ("a.c", "-O2 -ffast-math"), ("a.c", "-Os -fno-strict-aliasing"),
    ("a.c", "-O2 -fvisibility=hidden -DNDEBUG -std=c11 -Wall"),
    ("a.c", "-O2 -mbulk-memory -mnontrapping-fptoint -msign-ext"),
    ("a.c", "-O2 -msimd128 -mrelaxed-simd"),
    ("a.c", "-O2 -sSUPPORT_LONGJMP=wasm -fwasm-exceptions"),
    ("sse2.c", "-O2 -msimd128 -msse2"), ("sse2.c", "-O3 -msimd128 -msse -msse2 -msse3"),
    ("sse42.c", "-O2 -msimd128 -msse4.2"), ("avx.c", "-O2 -msimd128 -mavx"),
    ("b.cpp", "-O2 -fwasm-exceptions"), ("b.cpp", "-O2 -fexceptions"),
    ("b.cpp", "-O2 -std=c++17 -fwasm-exceptions -fvisibility-inlines-hidden"),
]


def test_compile_shortcut_matches_emcc_over_a_corpus_of_flags(
    toolchain_image: str, dirs: tuple[Path, Path],
) -> None:
    src, out = dirs
    for name, text in SIMD_SOURCES.items():
        (src / name).write_text(text)
    lines = []
    for i, (name, flags) in enumerate(FLAG_CORPUS):
        cc = "em++" if name.endswith(".cpp") else "emcc"
        lines.append(f"/usr/bin/{cc} -fPIC {flags} -c /src/{name} -o ref{i}.o && "
                     f"{cc} -fPIC {flags} -c /src/{name} -o fast{i}.o && "
                     f"{{ cmp -s ref{i}.o fast{i}.o && echo 'same {i}' || echo 'DIFFERENT {i}'; }}")
    with DockerExecutor(toolchain_image, [Mount(src, "/src"), Mount(out, "/out", False)]) as ex:
        result = ex.run(Step.script("corpus", "\n".join(["set -e", *lines]), out,
                                    log=out / "build.log"))
    log = (out / "build.log").read_text()
    assert result.ok, log[-4000:]
    outcome = {int(line.split()[1]): line.split()[0] for line in log.splitlines()
               if line.startswith(("same ", "DIFFERENT "))}
    assert outcome == dict.fromkeys(range(len(FLAG_CORPUS)), "same"), [
        FLAG_CORPUS[i] for i, what in outcome.items() if what != "same"]


def test_container_has_no_network_and_read_only_inputs(
    toolchain_image: str, dirs: tuple[Path, Path],
) -> None:
    src, out = dirs
    probe = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n"
             "    print('CONNECTED')\nexcept OSError as e:\n    print('NO NETWORK', e)\n"
             "print(sorted(i[1] for i in socket.if_nameindex()))\n")
    with DockerExecutor(toolchain_image, [Mount(src, "/src"), Mount(out, "/out", False)]) as ex:
        net = ex.run(Step("net", ("python3", "-c", probe), out, log=out / "net.log"))
        write = ex.run(Step("write", ("touch", "/src/new"), out, log=out / "w.log"))
        who = ex.run(Step("who", ("id", "-u"), out, log=out / "id.log"))
    assert who.ok
    assert net.ok
    printed = (out / "net.log").read_text().splitlines()[-2:]
    assert printed[0].startswith("NO NETWORK") and printed[1] == "['lo']"
    assert not write.ok and "Read-only file system" in (out / "w.log").read_text()
    assert (out / "id.log").read_text().splitlines()[-1] != "0"  # never root inside
    assert not (src / "new").exists()


def test_step_time_limit(toolchain_image: str, dirs: tuple[Path, Path]) -> None:
    _, out = dirs
    with DockerExecutor(toolchain_image, [Mount(out, "/out", False)],
                        limits=StepLimits(step_timeout=2)) as ex:
        start = time.monotonic()
        result = ex.run(Step("forever", ("sleep", "60"), out))
    assert result.timed_out and not result.ok
    assert time.monotonic() - start < 30


def test_container_removed_on_failure(toolchain_image: str, dirs: tuple[Path, Path]) -> None:
    _, out = dirs
    with pytest.raises(RuntimeError), DockerExecutor(toolchain_image,
                                                     [Mount(out, "/out", False)]) as ex:
        assert ex.run(Step("false", ("false",), out)).returncode == 1
        raise RuntimeError("build went wrong")
    assert _containers() == []


def test_ctrl_c_leaves_no_container(toolchain_image: str, dirs: tuple[Path, Path]) -> None:
    _, out = dirs
    script = textwrap.dedent(f"""
        import signal
        from pathlib import Path
        from pyodist.toolchain import DockerExecutor, Mount, Step
        # a background job of a non-interactive shell (nohup make test &) starts with SIGINT
        # ignored, and children inherit that: restore Python's handler, as a terminal has it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        out = Path({str(out)!r})
        with DockerExecutor({toolchain_image!r}, [Mount(out, "/out", False)]) as ex:
            print("started", flush=True)
            ex.run(Step("long", ("sleep", "120"), out))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    assert len(_containers(proc.pid)) == 1
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert _containers(proc.pid) == []


def test_stale_container_of_a_killed_run_is_removed(toolchain_image: str,
                                                    dirs: tuple[Path, Path]) -> None:
    _, out = dirs
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from pyodist.toolchain import DockerExecutor, Mount
        ex = DockerExecutor({toolchain_image!r}, [Mount(Path({str(out)!r}), "/out", False)])
        ex.__enter__()
        os._exit(0)  # dies like SIGKILL would: no cleanup
    """)
    dead = subprocess.Popen([sys.executable, "-c", script])
    assert dead.wait(timeout=120) == 0
    assert len(_containers(dead.pid)) == 1
    with DockerExecutor(toolchain_image, [Mount(out, "/out", False)]):
        assert _containers(dead.pid) == []  # removed by the next run
        assert len(_containers()) == 1  # only our own
    assert _containers() == []


def test_missing_image_is_a_clear_error(dirs: tuple[Path, Path]) -> None:
    _, out = dirs
    with pytest.raises(ToolchainError) as info, DockerExecutor("pyodist-no-such:image",
                                                               [Mount(out, "/out", False)]):
        pass
    assert str(info.value) == ("toolchain image 'pyodist-no-such:image' is not present\n"
                               "  fix: build it with 'pyodist toolchain build'")


def test_host_executor(tmp_path: Path) -> None:
    ex = HostExecutor(base_env={"PATH": os.environ["PATH"], "GREETING": "hi"})
    with ex:
        ok = ex.run(Step.script("echo", 'echo "$GREETING $EXTRA" > out.txt', tmp_path,
                                env={"EXTRA": "there"}, log=tmp_path / "log"))
        slow = ex.run(Step("slow", ("sleep", "30"), tmp_path, timeout=1))
        missing = ex.run(Step.script("fail", "exit 3", tmp_path))
    assert ok.ok and (tmp_path / "out.txt").read_text() == "hi there\n"
    assert slow.timed_out and missing.returncode == 3
    with pytest.raises(ToolchainError, match="'no-such-tool' was not found on the host"):
        ex.run(Step("x", ("no-such-tool",), tmp_path))
