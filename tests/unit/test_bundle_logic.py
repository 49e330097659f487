"""Project files, lock computation and manifest checks (pure logic)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from pyodist.bundle.assemble import check_profile_targets
from pyodist.bundle.lock import (
    ShippedPackage,
    target_environment,
    wheel_depends,
    wheel_imports,
    write_lock,
)
from pyodist.bundle.verify import compare_folders, verify_bundle
from pyodist.errors import BundleError, ConfigError
from pyodist.options import resolve_options
from pyodist.project import Profile, find_project, load_project
from pyodist.recipe import load_recipe_dirs
from pyodist.sizes import parse_size
from pyodist.targets import optimization, recipe_features
from tests.conftest import WriteRecipe, simple_recipe

GOOD = """
[distribution]
name = "demo"
version = "1.0"

[runtime]
pyodide = "314.0.7"

[profiles.slim]
packages = ["micropip"]
size-budget = "12 MB"
compress = ["br"]
"""


def _config_errors(path: Path, text: str) -> str:
    """Write ``text`` as the project file ``path``; the ConfigError loading it gives, as text."""
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_project(path)
    return str(info.value)


def test_project_defaults(tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    path.write_text(GOOD)
    project = load_project(path)
    slim = project.profile(None)
    assert project.default_profile == "slim"
    assert slim.size_budget == 12_000_000 and slim.stdlib == "pyc" and slim.wheels == "py"
    assert project.recipe_dirs == ((tmp_path / "recipes").resolve(),)


def test_the_project_option_takes_the_file_or_its_folder(tmp_path: Path) -> None:
    (tmp_path / "pyodist.toml").write_text(GOOD)
    elsewhere = tmp_path / "elsewhere"
    by_folder = find_project(elsewhere, tmp_path)
    assert by_folder.path == (tmp_path / "pyodist.toml").resolve()
    assert find_project(elsewhere, tmp_path / "pyodist.toml").path == by_folder.path
    assert find_project(tmp_path).path == by_folder.path
    assert find_project(tmp_path, Path("pyodist.toml")).path == by_folder.path


def test_project_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    text = _config_errors(path, GOOD.replace('version = "1.0"', "colour = 1")
                          .replace('size-budget = "12 MB"', 'size-budget = "big"\nstdlib = "zip"'))
    assert "distribution.version: is missing" in text
    assert "distribution.colour: is not a known key" in text
    assert "profiles.slim.size-budget: 'big' is not a size" in text
    assert "profiles.slim.stdlib: must be one of py, pyc, both, startup-pyc" in text
    assert str(path) in text


def test_size_options(tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    path.write_text(GOOD.replace('compress = ["br"]', 'compress = ["br"]\nstdlib = "startup-pyc"\n'
                                 'source-form = "min"\npyc-debug-ranges = false\n'
                                 'wheel-compression = "stored"'))
    slim = load_project(path).profile("slim")
    assert (slim.stdlib, slim.source_form, slim.pyc_debug_ranges, slim.wheel_compression) == \
        ("startup-pyc", "min", False, "stored")
    text = _config_errors(path, GOOD.replace('compress = ["br"]', 'source-form = "tiny"\n'
                                             'pyc-debug-ranges = "no"\n'
                                             'wheel-compression = "zstd"'))
    assert "profiles.slim.source-form: must be one of py, min" in text
    assert "profiles.slim.pyc-debug-ranges: must be true or false" in text
    assert "profiles.slim.wheel-compression: must be one of deflate, stored" in text


def test_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    path.write_text(GOOD)
    with pytest.raises(ConfigError, match="no profile 'full'"):
        load_project(path).profile("full")


@pytest.mark.parametrize(("text", "size"), [
    ("12 MB", 12_000_000), ("12mb", 12_000_000), ("1.5 MiB", 1572864), ("700", 700),
    (700, 700), ("12 parsecs", None), ("20g", 20 * 1024**3), ("500m", 500 * 1024**2),
    ("20 GiB", 20 * 1024**3), ("2 kB", 2000), ("3 B", 3), ("1 iB", None), (-1, None),
    (True, None), ("9" * 5000, None), ("١٢ MB", None)])
def test_parse_size(text: object, size: int | None) -> None:
    assert parse_size(text) == size


def _wheel(path: Path, name: str, requires: list[str], files: list[str],
           top_level: str | None = None) -> Path:
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.writestr(f, "")
        zf.writestr(f"{name}-1.0.dist-info/METADATA", meta)
        if top_level is not None:
            zf.writestr(f"{name}-1.0.dist-info/top_level.txt", top_level)
        zf.writestr(f"{name}-1.0.dist-info/RECORD", "")
    return path


ENV = target_environment("3.14.2", "5.0.3")


def test_depends_evaluates_markers(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "app-1.0-py3-none-any.whl", "app", [
        "Six>=1", "pywin32; sys_platform == 'win32'", "tomli; python_version < '3.11'",
        "attrs[tests]; platform_system == 'Emscripten'", "pytest; extra == 'test'"], [])
    assert wheel_depends(wheel, ENV) == ["six", "attrs"]


def test_imports_from_top_level_or_files(tmp_path: Path) -> None:
    listed = _wheel(tmp_path / "a-1.0-py3-none-any.whl", "a", [], ["x/__init__.py"], "x\ny\n")
    assert wheel_imports(listed) == ["x", "y"]
    scanned = _wheel(tmp_path / "b-1.0-py3-none-any.whl", "b", [],
                     ["pkg/__init__.py", "mod.py", "_speed.cpython-314-wasm32-emscripten.so",
                      "b.libs/libz.so"])
    assert wheel_imports(scanned) == ["_speed", "mod", "pkg"]


def test_lock_requires_dependencies_in_the_bundle(recipe_dir: Path, write_recipe: WriteRecipe,
                                                  tmp_path: Path) -> None:
    write_recipe("app", simple_recipe("app"))
    recipe = load_recipe_dirs([recipe_dir]).recipes["app"]
    wheel = _wheel(tmp_path / "app-1.0-py3-none-any.whl", "app", ["six"], ["app/__init__.py"])
    info = {"abi_version": "2026_0", "arch": "wasm32", "platform": "emscripten_5_0_3",
            "python": "3.14.2", "version": "314.0.7"}
    with pytest.raises(BundleError, match=r"requires six, which the bundle does not contain"):
        write_lock(info, [ShippedPackage(recipe, [wheel])], tmp_path / "lock.json")
    wheel = _wheel(tmp_path / "app-1.0-py3-none-any.whl", "app", [], ["app/__init__.py"])
    lock = write_lock(info, [ShippedPackage(recipe, [wheel])], tmp_path / "lock.json")
    entry = lock.packages["app"]
    assert entry["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["imports"] == ["app"] and entry["depends"] == []
    assert json.loads((tmp_path / "lock.json").read_text())["info"]["abi_version"] == "2026_0"


def test_verify_and_compare(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    digest = hashlib.sha256(b"a").hexdigest()
    (folder / "manifest.json").write_text(json.dumps(
        {"files": {"a.txt": {"sha256": digest, "size": 1}, "gone.txt": {"sha256": "0",
                                                                        "size": 1}}}))
    assert verify_bundle(folder) == ["gone.txt: listed in the manifest but missing"]
    (folder / "a.txt").write_text("b")
    assert "a.txt: sha256 differs from the manifest (file was modified)" in verify_bundle(folder)
    other = tmp_path / "c"
    other.mkdir()
    (other / "a.txt").write_text("a")
    assert compare_folders(folder, other) == [f"manifest.json: only in {folder}",
                                              "a.txt: bytes differ"]


def test_targets_parse_and_refuse_features_an_engine_lacks(recipe_dir: Path,
                                                           write_recipe: WriteRecipe,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    path.write_text(GOOD.replace('compress = ["br"]',
                                 'targets = ["node>=20", "Chromium>=91", "safari>=15.2"]'))
    project = load_project(path)
    slim = project.profile("slim")
    assert [str(t) for t in slim.targets] == ["node>=20", "chrome>=91", "safari>=15.2"]
    write_recipe("blas", simple_recipe("blas").replace(
        'version: "1.0"', 'version: "1.0"\nbuild:\n  type: static_library\n  script: make\n'
        "  cflags: -O3 -msimd128"))
    write_recipe("np", simple_recipe("np", host=["blas"]) + "build:\n  cflags: -O3 -g0\n")
    recipes = load_recipe_dirs([recipe_dir]).recipes
    features = recipe_features(recipes["np"], [recipes["blas"]])
    assert features == ("simd128",)
    assert recipe_features(recipes["np"]) == ()
    assert optimization(recipes["np"]) == {"compile": "-O3", "link": "-Oz"}
    with pytest.raises(BundleError) as info:
        check_profile_targets(project, slim, [(recipes["np"], features),
                                              (recipes["blas"], ("simd128",))])
    assert str(info.value).splitlines()[1] == (
        "  np needs WebAssembly simd128, which safari>=15.2 does not promise (safari has it "
        "from 16.4 on)")
    assert "numpy-noblas" in (info.value.hint or "") and str(path) in (info.value.hint or "")
    # a profile whose targets all have the feature, or that declares none, passes
    path.write_text(GOOD.replace('compress = ["br"]', 'targets = ["safari>=16.4"]'))
    check_profile_targets(project, load_project(path).profile("slim"),
                          [(recipes["np"], features)])
    check_profile_targets(project, Profile("none", ()), [(recipes["np"], features)])


def test_bad_targets_are_config_errors(tmp_path: Path) -> None:
    text = _config_errors(tmp_path / "pyodist.toml",
                          GOOD.replace('compress = ["br"]', 'targets = ["ie>=11", "node 20"]'))
    assert "profiles.slim.targets: 'ie>=11' is not an engine target" in text
    assert "profiles.slim.targets: 'node 20' is not an engine target" in text
    assert "chrome, firefox, safari, node" in text


def test_recipe_dirs_are_checked_when_the_project_loads(tmp_path: Path) -> None:
    path = tmp_path / "pyodist.toml"
    (tmp_path / "here").mkdir()
    text = _config_errors(path, GOOD + '[build]\nrecipe-dirs = ["here", "", "gone"]\n')
    assert f"{path}: build.recipe-dirs: has an empty entry" in text
    assert f"{path}: build.recipe-dirs: 'gone' is not a folder ({tmp_path / 'gone'})" in text
    assert "'here'" not in text


def test_a_profile_naming_no_recipe_names_the_profile_and_the_file(
        tmp_path: Path, write_recipe: WriteRecipe) -> None:
    from pyodist.builder.session import BuildSession  # noqa: PLC0415
    from pyodist.bundle.make import make_bundle  # noqa: PLC0415

    write_recipe("six", simple_recipe("six"))
    path = tmp_path / "pyodist.toml"
    path.write_text(GOOD.replace('["micropip"]', '["sixx"]')
                    + '[build]\nrecipe-dirs = ["recipes"]\n')
    project = load_project(path)
    options = resolve_options(cwd=tmp_path, environ={}, cache_dir=str(tmp_path / "c"),
                              executor="host", project=project.values())
    from pyodist.runtime.pyodide import RuntimeFacts  # noqa: PLC0415

    session = BuildSession(options)
    # the runtime's facts as its lock states them (no npm fetch in a unit test)
    session._runtime = RuntimeFacts(tmp_path, options.runtime,
                                    {"python": "3.14.2", "abi_version": "2026_0"})
    with pytest.raises(ConfigError) as info:
        make_bundle(session, project, None, tmp_path / "out")
    assert str(info.value).startswith(
        f"{path}: profiles.slim.packages: profile 'slim': no recipe named 'sixx'; "
        "did you mean 'six'?")
