"""The README, the docs and the example CI workflows stay truthful: the commands they show
exist, every link leads somewhere, and the README stays a guide."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import yaml

from pyodist.cli import build_parser
from pyodist.errors import EXIT_CODES, exit_code_summary
from pyodist.graph import RecipeGraph
from pyodist.recipe import load_recipe_dirs

ROOT = Path(__file__).resolve().parents[2]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _documented_commands(text: str) -> set[tuple[str, ...]]:
    """Every `pyodist CMD [SUB]` starting a line (or after `$ `) inside fenced code blocks."""
    found = set()
    blocks = re.findall(r"(?ms)^```[a-z]*\n(.*?)^```", text)
    for block in blocks:
        for match in re.finditer(r"(?m)^(?:\$ )?pyodist ([a-z][a-z-]*(?: [a-z]+)?)", block):
            found.add(tuple(match.group(1).split()))
    return found


def _docs_text() -> str:
    return "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))])


DOCS = ROOT / "docs"


def test_every_command_in_the_readme_exists() -> None:
    top = _subcommands(build_parser())
    documented = _documented_commands(_docs_text())
    assert len(documented) > 10
    for words in documented:
        assert words[0] in top, f"README shows 'pyodist {words[0]}', which does not exist"
        nested = _subcommands(top[words[0]])
        if nested and len(words) > 1:
            assert words[1] in nested, f"README shows 'pyodist {' '.join(words)}'"


def test_every_command_has_a_readme_line() -> None:
    documented = {w[0] for w in _documented_commands((DOCS / "commands.md").read_text())}
    missing = set(_subcommands(build_parser())) - documented
    assert not missing, f"commands docs/commands.md does not show: {sorted(missing)}"


def test_example_workflow_is_valid_and_runs_the_pipeline() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "release.yml").read_text())
    job = workflow["jobs"]["release"]
    assert job["timeout-minutes"] <= 90
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "make test" in runs and "pyodist release" in runs
    cached = [step["with"]["path"] for step in job["steps"]
              if step.get("uses", "").startswith("actions/cache")]
    assert any("sources" in p for p in cached) and any("artifacts" in p for p in cached)
    assert any("image" in p for p in cached)


def test_the_documented_exit_code_table_is_the_one_in_the_code() -> None:
    text = (DOCS / "commands.md").read_text()
    block = text.split("<!-- exit-codes -->", 1)[1].split("<!-- /exit-codes -->", 1)[0]
    rows = re.findall(r"(?m)^\| (\d+) \| ([a-z ]+) \|$", block)
    assert [(int(code), what) for code, what in rows] == list(EXIT_CODES)
    assert exit_code_summary() in " ".join(build_parser().format_help().split())


def test_sharded_workflow_has_a_job_for_every_wave_of_the_recipes() -> None:
    text = (ROOT / "docs" / "ci" / "sharded.yml").read_text()
    jobs = yaml.safe_load(text)["jobs"]  # safe_load resolves the &shard-steps anchor
    graph = RecipeGraph(load_recipe_dirs([ROOT / "recipes"]).recipes)
    chosen = graph.select(["*"]).closure
    level: dict[str, int] = {}
    for name in graph.order(chosen):  # dependencies first
        level[name] = 1 + max((level[d] for d in graph.deps[name] & chosen), default=0)
    waves = max(level.values())
    assert f"This project's recipes have {waves} waves" in text
    names = [f"wave-{k}" for k in range(1, waves + 1)]
    assert [j for j in jobs if j.startswith("wave-")] == names
    for k, name in enumerate(names, 1):
        job = jobs[name]
        assert job["steps"] == jobs["wave-1"]["steps"]
        assert f"matrix[{k - 1}]" in job["strategy"]["matrix"]["shard"]
        if k > 1:
            assert job["needs"] == ["plan", f"wave-{k - 1}"]
            assert f">= {k}" in job["if"]
    assert jobs["bundle"]["needs"] == ["plan", *names]
    runs = "\n".join(step.get("run", "") for step in jobs["wave-1"]["steps"])
    assert "--shard" in runs and "--wave" in runs and "--shard-plan" in runs



def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "SECURITY.md", *sorted(DOCS.glob("*.md")),
            *sorted((ROOT / "examples").glob("*/README.md"))]


def test_every_link_in_the_docs_leads_somewhere() -> None:
    anchors = {p.resolve(): {_slug(h) for h in re.findall(r"(?m)^#{1,6} (.+)$", p.read_text())}
               for p in _pages()}
    broken = []
    for page in _pages():
        text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())  # not inside code blocks
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page.resolve()
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors.get(dest, set()):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_is_a_guide() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.count("\n") <= 400
    assert "make dist" in text and "make test" in text
    for page in ("concepts", "commands", "recipes", "bundles", "releasing", "sharding",
                 "security", "benchmarks", "architecture"):
        assert f"(docs/{page}.md)" in text, page


def test_the_architecture_page_names_every_module_and_only_real_ones() -> None:
    text = (DOCS / "architecture.md").read_text()
    layers = text.split("## Layers", 1)[1].split("## ", 1)[0]
    src = ROOT / "src" / "pyodist"
    real = {p.relative_to(src).as_posix() for p in src.rglob("*.py")
            if p.name != "__init__.py" and "toolchain/docker/" not in p.as_posix()}
    missing = []
    for module in sorted(real):
        name = module.rpartition("/")[2]
        # a module is named in its package's line (name.py) or on its own (path/name.py)
        if name not in layers and module not in layers:
            missing.append(module)
    assert not missing, f"docs/architecture.md's layers do not name: {missing}"
    named = set(re.findall(r"\b([a-z_]+\.py)\b", layers))
    names = {m.rpartition("/")[2] for m in real}
    assert named <= names, f"docs/architecture.md names modules that do not exist: " \
                           f"{sorted(named - names)}"


def _layers() -> list[set[str]]:
    """The units of each layer in docs/architecture.md's picture, top first: a line that
    starts at the margin opens a layer; its first column names packages (``bundle/``) or
    modules (``release.py``)."""
    text = (DOCS / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    layers = []
    for line in block.splitlines():
        if line and not line[0].isspace():
            head = line.split("  ", 1)[0]
            layers.append({u.removesuffix("/").removesuffix(".py") for u in head.split()})
    return layers


def _imports() -> dict[str, set[str]]:
    """Every module of src/pyodist and the pyodist modules it imports (at any place in the
    file, TYPE_CHECKING blocks included)."""
    src = ROOT / "src" / "pyodist"
    modules = {}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        modules[".".join(("pyodist", *parts)).removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyodist"):
                base = node.module or ""
                # `from pkg import module` imports the module, not the package's __init__
                subs = {f"{base}.{a.name}" for a in node.names} & modules.keys()
                found |= subs or {base}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("pyodist.")}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_every_import_goes_down_the_architecture_page_and_no_module_cycle() -> None:
    layers = _layers()
    rank = {unit: i for i, layer in enumerate(layers) for unit in layer}
    graph = _imports()
    units = {_unit(m) for m in graph} - {"__init__", "__main__"}
    assert units <= rank.keys(), f"not in the picture: {sorted(units - rank.keys())}"
    upward = sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                    if _unit(m) in rank and _unit(t) in rank and rank[_unit(t)] < rank[_unit(m)])
    assert not upward, f"imports against the layers: {upward}"
    # no cycle between modules (a package's __init__ re-exporting its own modules aside)
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if target == module.rpartition(".")[0]:
                continue
            assert state.get(target) != 1, " -> ".join([*path, module, target])
            if target not in state:
                visit(target, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
