"""What the BLAS build of numpy costs in transfer size, per profile, in one run.

For every profile of pyodist.toml whose packages include numpy (or its no-BLAS variant), the
bundle is assembled both ways: with `numpy` (OpenBLAS, WebAssembly SIMD, -O3) and with
`numpy-noblas` standing in for it (numpy's own loops and lapack-lite, the toolchain's -Oz).
Sizes are what a page fetches to start Python with every package of the profile: loader,
runtime, stdlib, lock and all package files; raw and brotli -q 11. Builds are cached.

Usage: python bench/blas_size.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from bundle import START_FILES, build, sizes

from pyodist.graph import RecipeGraph
from pyodist.project import load_project
from pyodist.recipe import load_recipe_dirs

ROOT = Path(__file__).resolve().parents[1]
BLAS, NOBLAS = "numpy", "numpy-noblas"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def write_project(data: dict[str, Any], path: Path) -> None:
    """A TOML writer for pyodist.toml's shapes: tables of strings, booleans and lists."""
    lines = []
    for table, body in data.items():
        if table == "profiles":
            for name, profile in body.items():
                lines.append(f"[profiles.{name}]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in profile.items()]
        else:
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
    path.write_text("\n".join(lines) + "\n")


def measure(folder: Path) -> tuple[int, int, int]:
    """(raw, brotli) of everything a page fetches, and the numpy wheel's brotli size."""
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    files = [folder / f for f in START_FILES]
    files += [folder / p["file_name"] for p in lock["packages"].values()]
    raw, _gz, br = sizes(files)
    numpy = lock["packages"].get("numpy")
    wheel = sizes([folder / numpy["file_name"]])[2] if numpy else 0
    return raw, br, wheel


def main() -> None:
    project_file = ROOT / "pyodist.toml"
    project = load_project(project_file)
    loaded = load_recipe_dirs(project.recipe_dirs)
    loaded.raise_errors()
    graph = RecipeGraph(loaded.recipes)
    data = tomllib.loads(project_file.read_text())
    data.setdefault("build", {})["recipe-dirs"] = [str(d) for d in project.recipe_dirs]
    pairs: list[tuple[str, str, str]] = []  # (profile, BLAS profile, no-BLAS profile)
    for name, profile in project.profiles.items():
        closure = graph.select(list(profile.packages)).closure
        if BLAS not in closure and NOBLAS not in closure:
            continue
        table = data["profiles"][name]
        # the other build of the same profile: no budget, and no engine targets (the BLAS
        # build of a no-SIMD profile would be refused for them)
        other = {k: v for k, v in table.items() if k not in ("size-budget", "targets")}
        if NOBLAS in closure:
            other["packages"] = [p for p in table["packages"] if p != NOBLAS] + [BLAS]
            pairs.append((name, f"{name}--blas", name))
            data["profiles"][f"{name}--blas"] = other
        else:
            other["packages"] = [*table["packages"], NOBLAS]
            pairs.append((name, name, f"{name}--noblas"))
            data["profiles"][f"{name}--noblas"] = other
    if not pairs:
        sys.exit("no profile of pyodist.toml includes numpy")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        alt = Path(tmp) / "pyodist.toml"
        write_project(data, alt)
        for name, with_blas, without in pairs:
            a = measure(build(with_blas, Path(tmp) / "out", alt))
            b = measure(build(without, Path(tmp) / "out", alt))
            rows.append((name, a, b))
    print("Transfer size of each profile with numpy built against OpenBLAS and with "
          "numpy-noblas in its place (everything a page fetches to start Python with all of "
          "the profile's packages; brotli -q 11):\n")
    print("| profile | with BLAS MB (br) | without BLAS MB (br) | BLAS costs | "
          "numpy wheel with / without (br) | raw MB with / without |")
    print("|---|---|---|---|---|---|")
    for name, (raw_a, br_a, np_a), (raw_b, br_b, np_b) in rows:
        print(f"| {name} | {br_a / 1e6:.2f} | {br_b / 1e6:.2f} | {(br_a - br_b) / 1e6:+.2f} MB "
              f"({(br_a - br_b) / br_b:+.0%}) | {np_a / 1e6:.2f} / {np_b / 1e6:.2f} "
              f"| {raw_a / 1e6:.2f} / {raw_b / 1e6:.2f} |")


if __name__ == "__main__":
    main()
