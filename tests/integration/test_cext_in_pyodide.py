"""A C extension built in the toolchain image with pyodide-build runs in Pyodide under Node."""

from __future__ import annotations

import shutil
from pathlib import Path

from pyodist.builder.wheel import parse_wheel_name
from pyodist.runtime.node import run_python
from pyodist.toolchain import DockerExecutor, Mount, Step

DATA = Path(__file__).resolve().parents[1] / "data" / "cext"

SMOKE = """
import json
import demo_cext
try:
    demo_cext.checked_sqrt(-4.0)
    raised = None
except ValueError as exc:
    raised = str(exc)
json.dumps({"triangle": demo_cext.triangle(100), "sqrt": demo_cext.checked_sqrt(2.25),
            "raised": raised, "file": demo_cext._speed.__file__})
"""


def test_c_extension_builds_and_runs(toolchain_image: str, runtime_dir: Path,
                                     tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(DATA, work / "cext")
    with DockerExecutor(toolchain_image, [Mount(work, "/work", read_only=False)]) as ex:
        result = ex.run(Step("pyodide build", ("pyodide", "build", "-o", "/work/dist"),
                             work / "cext", log=tmp_path / "build.log"))
    assert result.ok, (tmp_path / "build.log").read_text()[-3000:]
    (wheel,) = (work / "dist").glob("*.whl")
    tag = parse_wheel_name(wheel.name)
    assert (tag.python, tag.abi) == ("cp314", "cp314")
    assert tag.platform.endswith("_2026_0_wasm32")
    run = run_python(runtime_dir, [wheel], SMOKE)
    assert run["ok"], run
    assert run["result"]["triangle"] == 5050
    assert run["result"]["sqrt"] == 1.5
    assert run["result"]["raised"] == "negative input rejected in C"
    assert run["result"]["file"].endswith(".cpython-314-wasm32-emscripten.so")
