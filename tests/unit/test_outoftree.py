"""Out-of-tree builds' pure parts: packing a tree, reading [tool.pyodist], the recipe."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from pyodist.errors import ConfigError, UsageError
from pyodist.outoftree import (
    WheelConfig,
    config_from_table,
    inspect_sdist,
    pack_tree,
    read_config,
    recipe_for,
    refuse_unbuildable,
    source_kind,
    tree_name_version,
)

PYPROJECT = ('[build-system]\nrequires = ["setuptools", "numpy>=2"]\n'
             'build-backend = "setuptools.build_meta"\n\n'
             '[project]\nname = "My-Pkg"\nversion = "1.2"\n\n'
             '[tool.pyodist]\ncflags = "-O3"\nhost-requires = ["libpng"]\n')


def _tree(root: Path) -> Path:
    (root / "src" / "my_pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "my_pkg" / "__init__.py").write_text("")
    (root / "src" / "my_pkg" / "_c.c").write_text("int x;\n")
    for junk in ("build/lib/x.py", "__pycache__/a.pyc", ".venv/bin/python", "dist/old.whl",
                 "src/my_pkg/_c.cpython-314.so"):
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_text("junk")
    return root


def test_a_tree_packs_to_the_same_bytes_whatever_its_times_and_leaves_junk_out(
        tmp_path: Path) -> None:
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    os.utime(b / "pyproject.toml", (1, 1))
    one = pack_tree(a, tmp_path / "out1", name="my_pkg", version="1.2", epoch=315532800)
    two = pack_tree(b, tmp_path / "out2", name="my_pkg", version="1.2", epoch=315532800)
    assert one.read_bytes() == two.read_bytes()
    with tarfile.open(one) as tar:
        assert tar.getnames() == ["my_pkg-1.2/pyproject.toml", "my_pkg-1.2/src/my_pkg/__init__.py",
                                  "my_pkg-1.2/src/my_pkg/_c.c"]
        assert {m.mtime for m in tar.getmembers()} == {315532800}


def test_the_recipe_carries_the_config_and_numpy_for_its_headers(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    name, version = tree_name_version(tree)
    packed = pack_tree(tree, tmp_path / "o", name=name, version=version, epoch=0)
    source = inspect_sdist(packed)
    recipe = recipe_for(source, read_config(tree / "pyproject.toml"), url=packed.as_uri())
    assert recipe["package"] == {"name": "my-pkg", "version": "1.2", "top-level": ["my_pkg"]}
    assert recipe["build"] == {"cflags": "-O3"}
    assert recipe["requirements"] == {"host": ["libpng", "numpy"]}
    assert recipe["source"]["sha256"] == source.sha256


def test_bad_config_and_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as bad:
        config_from_table({"cflag": "-O3", "exports": "all", "host-requires": "libpng"}, None)
    keys = {p.key for p in bad.value.problems}
    assert keys == {"tool.pyodist.cflag", "tool.pyodist.exports", "tool.pyodist.host-requires"}
    assert config_from_table({}, None) == WheelConfig()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UsageError, match="not a source tree or an sdist"):
        source_kind("notes.txt", tmp_path)
    with pytest.raises(UsageError, match="no such file"):
        source_kind("./missing", tmp_path)
    assert source_kind("numpy==2.4.6", tmp_path) == "index"
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pyproject.toml").write_text('[project]\nname = "p"\ndynamic = ["version"]\n')
    with pytest.raises(ConfigError, match="dynamic"):
        tree_name_version(tmp_path / "p")


def test_rust_is_refused_before_the_build(tmp_path: Path) -> None:
    tree = tmp_path / "r"
    (tree / "src").mkdir(parents=True)
    (tree / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin"]\nbuild-backend = "maturin"\n'
        '[project]\nname = "r"\nversion = "1"\n')
    (tree / "src" / "lib.rs").write_text("")
    source = inspect_sdist(pack_tree(tree, tmp_path / "o", name="r", version="1", epoch=0))
    with pytest.raises(UsageError, match="Rust"):
        refuse_unbuildable(source.facts, "r")


@pytest.mark.parametrize(("name", "version"), [
    ("/tmp/victim", "1.0"), ("../../x", "1.0"), ("a/b", "1.0"), ("", "1.0"), ("x" * 200, "1"),
    ("ok", "1.0/../../x"), ("ok", "not a version"), ("ok", "9" * 5000), ("ok\0", "1")])
def test_a_name_or_version_that_would_be_a_path_is_refused(tmp_path: Path, name: str,
                                                           version: str) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "pyproject.toml").write_text(
        f'[project]\nname = "{name.replace(chr(0), "")}{"" if chr(0) not in name else "x/"}"'
        f'\nversion = "{version}"\n')
    with pytest.raises(UsageError, match=r"not a distribution name|not a PEP 440 version"):
        tree_name_version(tree)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_hostile_pyproject_structure_is_a_config_error(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for text in ("a = " + "[" * 100000, "[project]\nname = 'x'\nversion = 1" + "0" * 5000):
        (tree / "pyproject.toml").write_text(text)
        with pytest.raises(ConfigError):
            tree_name_version(tree)


def test_with_config_adds_flags_and_host_requirements_to_a_written_recipe() -> None:
    from pyodist.outoftree import WheelConfig, with_config  # noqa: PLC0415

    recipe = {"package": {"name": "x", "version": "1"}, "source": {"url": "u", "sha256": "s"},
              "build": {"script": "true"}, "requirements": {"host": ["numpy"]}}
    config = WheelConfig(cflags="-O3", cxxflags="-O2", exports="pyinit",
                         host_requires=("numpy", "zlib"))
    assert with_config(recipe, config) == {
        "package": {"name": "x", "version": "1"}, "source": {"url": "u", "sha256": "s"},
        "build": {"script": "true", "cflags": "-O3", "cxxflags": "-O2", "exports": "pyinit"},
        "requirements": {"host": ["numpy", "zlib"]}}
    bare = {"package": {"name": "x", "version": "1"}}
    assert with_config(dict(bare), WheelConfig()) == bare
