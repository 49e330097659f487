"""``pyodist wheel``: a Pyodide wheel of a package, without writing a recipe for it."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from pyodist.builder.session import BuildRequest, BuildSession
from pyodist.cli.progress import build_sink
from pyodist.cli.render import build_summary, emit_json
from pyodist.errors import UsageError
from pyodist.fsutil import copy_atomic, output_folder
from pyodist.hashing import sha256_file
from pyodist.options import Options
from pyodist.outoftree import (
    WheelConfig,
    WheelSource,
    config_from_table,
    inspect_sdist,
    pack_tree,
    parse_pyproject,
    read_config,
    recipe_for,
    refuse_unbuildable,
    source_kind,
    tree_name_version,
    with_config,
    write_recipe,
)
from pyodist.recipe.spec import EXPORT_KINDS

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wheel = sub.add_parser(
        "wheel", help="build a Pyodide wheel of a source tree, an sdist or NAME==VERSION",
        description="Build a Pyodide wheel (tagged for the runtime's platform, "
                    "pyemscripten_<abi>_wasm32 for compiled code) of a package without "
                    "writing a recipe: from its source tree (the files git tracks, packed "
                    "like an sdist), its sdist, or NAME==VERSION from the package index. "
                    "It builds in the same pinned toolchain as every recipe, offline after "
                    "the source is fetched, cached by content (the same input gives the "
                    "same bytes), and the wheel is imported in Pyodide. [tool.pyodist] in "
                    "the package's pyproject.toml adds cflags, cxxflags, ldflags, exports, "
                    "host-requires (library or numpy recipes from --recipe-dir or the "
                    "project's recipe folders) and imports; the options below override it.",
    )
    wheel.add_argument("source", metavar="PATH|SDIST|NAME==VERSION")
    wheel.add_argument("-o", "--out", type=Path, default=Path("dist"), metavar="DIR",
                       help="where the wheel is copied (default: ./dist)")
    wheel.add_argument("--exports", choices=EXPORT_KINDS,
                       help="which symbols the extension modules export (pyodide-build's "
                            "build/exports; default: pyinit)")
    wheel.add_argument("--cflags", help="extra C flags (replaces [tool.pyodist] cflags)")
    wheel.add_argument("--ldflags", help="extra linker flags (replaces [tool.pyodist] ldflags)")
    wheel.add_argument("--host", action="append", default=[], metavar="RECIPE",
                       help="a library recipe it compiles against (repeatable; added to "
                            "[tool.pyodist] host-requires)")
    wheel.add_argument("--force", action="store_true", help="build again even if cached")
    wheel.add_argument("--no-import-check", action="store_true",
                       help="do not import the wheel in Pyodide after building")
    wheel.add_argument("--json", action="store_true", help="print a JSON report")
    wheel.set_defaults(handler=_wheel)


def _sdist_pyproject(archive: Path) -> dict[str, object]:
    """The top-level pyproject.toml of an sdist, parsed ({} when there is none)."""
    limit = 4 << 20
    data = None
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            info = next((i for i in zf.infolist() if i.filename.count("/") == 1
                         and i.filename.endswith("/pyproject.toml")), None)
            if info is not None:
                with zf.open(info) as fh:
                    data = fh.read(limit + 1)
    else:
        with tarfile.open(archive) as tar:
            member = next((m for m in tar if m.isfile() and m.name.count("/") == 1
                           and m.name.endswith("/pyproject.toml")), None)
            stream = tar.extractfile(member) if member is not None else None
            data = stream.read(limit + 1) if stream is not None else None
    if data is None:
        return {}
    return parse_pyproject(data.decode("utf-8", "replace"), archive)


def _keep(archive: Path, options: Options) -> Path:
    """``archive`` in the cache under its sha256, so that the recipe's URL (part of its cache
    key) is the same for the same bytes, wherever the file came from."""
    digest = sha256_file(archive)
    return copy_atomic(archive, options.cache_dir / "wheel-sources" / digest[:16] / archive.name,
                       keep_existing=True)


def _from_index(text: str, options: Options, folder: Path) -> dict[str, Any]:
    """The recipe skeleton writes for ``text`` (an sdist of the index), run requirements
    dropped: the wheel carries them in its metadata, and they need no recipe here."""
    from pyodist.cli.skeleton_cmd import _runtime  # noqa: PLC0415
    from pyodist.skeleton import Skeleton, SkeletonRequest  # noqa: PLC0415
    from pyodist.sources import PackageIndex, configured_index  # noqa: PLC0415
    from pyodist.sources.fetch import make_fetcher  # noqa: PLC0415

    if options.offline:
        raise UsageError(f"{text} is looked up on the package index; it cannot be --offline",
                         hint="drop --offline, or give the sdist file")
    environment, platform_tag = _runtime(options)
    skeleton = Skeleton(PackageIndex(configured_index(options.index_urls)),
                        make_fetcher(options), environment, existing=set(),
                        platform_tag=platform_tag)
    outcome = skeleton.one(SkeletonRequest(text, folder, source="sdist"))
    recipe: dict[str, Any] = yaml.safe_load(outcome.path.read_text())
    requirements = recipe.get("requirements") or {}
    requirements.pop("run", None)
    if requirements:
        recipe["requirements"] = requirements
    else:
        recipe.pop("requirements", None)
    recipe.get("test", {}).pop("imports", None)  # the import check uses top-level
    if not recipe.get("test"):
        recipe.pop("test", None)
    shutil.rmtree(outcome.path.parent)
    return recipe


def _merge(config: WheelConfig, args: argparse.Namespace) -> WheelConfig:
    return dataclasses.replace(
        config,
        exports=args.exports or config.exports,
        cflags=config.cflags if args.cflags is None else args.cflags,
        ldflags=config.ldflags if args.ldflags is None else args.ldflags,
        host_requires=tuple(dict.fromkeys([*config.host_requires, *args.host])))


def _wheel(args: argparse.Namespace, options: Options) -> int:
    kind = source_kind(args.source, options.project_root)
    with tempfile.TemporaryDirectory(prefix="pyodist-wheel-") as tmp:
        recipes = Path(tmp) / "recipes"
        recipe: dict[str, Any]
        if kind == "index":
            recipe = with_config(_from_index(args.source, options, recipes),
                                 _merge(WheelConfig(), args))
        else:
            source = _source(args.source, kind, options, Path(tmp))
            refuse_unbuildable(source.facts, args.source)
            recipe = recipe_for(source, _merge(_config(source, kind, args), args),
                                url=source.archive.as_uri())
        write_recipe(recipes, recipe)
        name = str(recipe["package"]["name"])
        dirs = tuple(d for d in options.recipe_dirs if d.is_dir())
        session = BuildSession(dataclasses.replace(options, recipe_dirs=(*dirs, recipes)))
        request = BuildRequest((name,), jobs=options.jobs, force=name if args.force else None,
                               import_check=not args.no_import_check)
        with build_sink(plain=options.plain, quiet=args.json) as sink:
            report = session.build(request, on_event=sink)
        if not args.json:
            print(build_summary(report))
        session.raise_for_failures(report)
    outcome = report.outcomes[name]
    wheels = [p for p in outcome.files if p.name.endswith(".whl")]
    out = output_folder(options.project_root / args.out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in wheels:
        copied.append(copy_atomic(path, out / path.name))
    if args.json:
        emit_json({"package": name, "version": recipe["package"]["version"],
                   "status": outcome.status,
                   "wheels": [{"path": str(p), "sha256": sha256_file(p)} for p in copied]})
    else:
        for path in copied:
            print(f"wheel {path}\n  sha256 {sha256_file(path)}")
    return 0


def _source(text: str, kind: str, options: Options, tmp: Path) -> WheelSource:
    if kind == "tree":
        tree = (options.project_root / text).resolve()
        name, version = tree_name_version(tree)
        packed = pack_tree(tree, tmp / "packed", name=name.replace("-", "_"), version=version,
                           epoch=options.source_date_epoch)
        return inspect_sdist(_keep(packed, options))
    return inspect_sdist(_keep((options.project_root / text).resolve(), options))


def _config(source: WheelSource, kind: str, args: argparse.Namespace) -> WheelConfig:
    if kind == "tree":
        return read_config((Path(args.source) / "pyproject.toml").resolve())
    tool = _sdist_pyproject(source.archive).get("tool")
    table = tool.get("pyodist") if isinstance(tool, dict) else None
    return config_from_table(table, Path(args.source)) if table is not None else WheelConfig()
