"""Recipe skeletons: choosing a release, reading an archive, writing and updating YAML."""

from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from pyodist.errors import RecipeError, SourceError, UsageError
from pyodist.recipe.loader import parse_recipe
from pyodist.skeleton import (
    Draft,
    choose_release,
    inspect_source,
    parse_request,
    render_recipe,
    update_recipe_text,
)
from pyodist.skeleton.inspect import numpy_headers_needed, parse_requires_txt
from pyodist.sources.index import IndexFile
from tests.conftest import make_sdist

PY = "3.14.2"


def files(*names: str, yanked: tuple[str, ...] = (),
          requires_python: dict[str, str] | None = None) -> list[IndexFile]:
    rp = requires_python or {}
    return [IndexFile(n, f"https://example.invalid/{n}", "0" * 64, n in yanked, rp.get(n))
            for n in names]


def sdist(path: Path, members: dict[str, str], top: str = "demo-1.0") -> Path:
    path.write_bytes(make_sdist(top, members))
    return path


# -- parse_request ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name", "spec"), [
    ("six", "six", ""), ("six==1.17.0", "six", "==1.17.0"),
    ("zope.interface>=5,<7", "zope.interface", "<7,>=5"), ("Foo_Bar", "Foo_Bar", ""),
])
def test_parse_request(text: str, name: str, spec: str) -> None:
    assert parse_request(text) == (name, SpecifierSet(spec))


@pytest.mark.parametrize("text", ["", "==1.0", "six==", "six===", "a/b"])
def test_parse_request_rejects_garbage(text: str) -> None:
    with pytest.raises(UsageError):
        parse_request(text)


# -- choose_release ---------------------------------------------------------------------------

def test_newest_stable_sdist_wins_over_prereleases_and_wheels() -> None:
    listing = files("demo-1.0.tar.gz", "demo-1.1.tar.gz", "demo-1.1.zip", "demo-2.0b1.tar.gz",
                    "demo-1.2-py3-none-any.whl", "demo-1.2-cp314-cp314-manylinux_2_28.whl")
    release = choose_release("demo", listing, SpecifierSet(), kind="sdist", python=PY)
    assert (str(release.version), release.file.filename) == ("1.1", "demo-1.1.tar.gz")
    assert release.passed_over == ("1.2",)


def test_pinned_prerelease_and_pinned_yanked_are_allowed() -> None:
    listing = files("demo-1.0.tar.gz", "demo-2.0b1.tar.gz", yanked=("demo-1.0.tar.gz",))
    assert str(choose_release("demo", listing, SpecifierSet("==2.0b1"), kind="sdist",
                              python=PY).version) == "2.0b1"
    assert str(choose_release("demo", listing, SpecifierSet("==1.0"), kind="sdist",
                              python=PY).version) == "1.0"
    # unpinned: the yanked stable release is skipped, so only the pre-release is left
    with pytest.raises(SourceError, match="no sdist usable"):
        choose_release("demo", files("demo-1.0.tar.gz", yanked=("demo-1.0.tar.gz",)),
                       SpecifierSet(), kind="sdist", python=PY)


def test_requires_python_is_checked_against_the_runtime() -> None:
    listing = files("demo-1.0.tar.gz", "demo-2.0.tar.gz",
                    requires_python={"demo-2.0.tar.gz": "<3.14"})
    release = choose_release("demo", listing, SpecifierSet(), kind="sdist", python=PY)
    assert str(release.version) == "1.0"


def test_hyphenated_names_in_old_sdists() -> None:
    listing = files("python-dateutil-2.9.0.tar.gz", "python_dateutil-2.9.1.tar.gz")
    release = choose_release("python-dateutil", listing, SpecifierSet(), kind="sdist",
                             python=PY)
    assert str(release.version) == "2.9.1"


def test_missing_version_lists_what_exists() -> None:
    with pytest.raises(SourceError) as err:
        choose_release("demo", files("demo-1.0.tar.gz", "demo-1.1.tar.gz"),
                       SpecifierSet("==3.0"), kind="sdist", python=PY)
    assert "no release matches ==3.0" in str(err.value)
    assert "1.1, 1.0" in str(err.value)


def test_no_sdist_points_at_the_wheel() -> None:
    listing = files("demo-1.0-py3-none-any.whl")
    with pytest.raises(SourceError) as err:
        choose_release("demo", listing, SpecifierSet(), kind="sdist", python=PY)
    assert "use --source wheel" in str(err.value)
    wheel = choose_release("demo", listing, SpecifierSet(), kind="wheel", python=PY)
    assert wheel.file.filename == "demo-1.0-py3-none-any.whl"


# -- inspect_source ---------------------------------------------------------------------------

def test_modern_sdist(tmp_path: Path) -> None:
    archive = sdist(tmp_path / "demo-1.0.tar.gz", {
        "PKG-INFO": textwrap.dedent("""\
            Metadata-Version: 2.4
            Name: Demo
            Version: 1.0
            Summary: A demo
              package
            License-Expression: MIT
            Project-URL: Homepage, https://demo.example
            Requires-Dist: attrs>=22
            Requires-Dist: colorama; sys_platform == "win32"
            Requires-Dist: pytest; extra == "test"
            """),
        "pyproject.toml": '[build-system]\nrequires = ["meson-python", "numpy>=2", "cython"]\n'
                          'build-backend = "mesonpy"\n',
        "src/demo/__init__.py": "", "src/demo/_core.pyx": "include \"_part.pyx\"\n",
        "src/demo/_part.pyx": "", "src/demo/fast.cpp": "", "src/demo/fast.hpp": "",
        "src/_demo_helpers.py": "", "tests/test_x.c": "", "setup.py": "",
    })
    facts = inspect_source(archive, filename=archive.name, kind="sdist", project="demo")
    assert facts.name == "Demo" and facts.version == "1.0"
    assert facts.summary == "A demo package" and facts.license == "MIT"
    assert facts.home == "https://demo.example"
    assert facts.requires_dist == ('attrs>=22', 'colorama; sys_platform == "win32"',
                                   'pytest; extra == "test"')
    assert facts.top_level == ("_demo_helpers", "demo")
    assert facts.languages == {"C++": 2, "Cython": 2}  # tests/ is not counted
    assert facts.extensions == ("demo._core",)  # _part.pyx is included, not a module
    assert numpy_headers_needed(facts)


def test_old_setuptools_sdist_uses_egg_info(tmp_path: Path) -> None:
    archive = sdist(tmp_path / "old-0.1.tar.gz", {
        "PKG-INFO": "Metadata-Version: 2.1\nName: old\nVersion: 0.1\nLicense: BSD License\n"
                    "Classifier: License :: OSI Approved :: MIT License\n",
        "old.egg-info/requires.txt": "six\n\n[:python_version < \"3.8\"]\nimportlib_metadata\n"
                                     "\n[docs]\nsphinx\n",
        "old.egg-info/top_level.txt": "old\n_old_c\n",
        "setup.py": 'Extension("_old_c", sources=["old.c"])\n', "old.c": "", "old/__init__.py": "",
    }, top="old-0.1")
    facts = inspect_source(archive, filename=archive.name, kind="sdist", project="old")
    assert facts.requires_dist == ("six", 'importlib_metadata; python_version < "3.8"')
    assert facts.requires_from == "old.egg-info/requires.txt"
    assert facts.top_level == ("_old_c", "old")
    assert facts.license == "MIT"
    assert facts.extensions == ("_old_c",)


def test_single_module_and_rust_crates(tmp_path: Path) -> None:
    six = sdist(tmp_path / "six-1.0.tar.gz", {"six.py": "", "setup.py": "", "test_six.py": "",
                                               "conftest.py": ""}, top="six-1.0")
    assert inspect_source(six, filename="six-1.0.tar.gz", kind="sdist",
                          project="six").top_level == ("six",)
    rusty = sdist(tmp_path / "rusty-1.0.tar.gz", {
        "pyproject.toml": '[build-system]\nrequires = ["maturin>=1"]\n',
        "Cargo.toml": "", "src/lib.rs": "", "python/rusty/__init__.py": ""}, top="rusty-1.0")
    facts = inspect_source(rusty, filename="rusty-1.0.tar.gz", kind="sdist", project="rusty")
    assert facts.languages == {"Rust": 1}
    assert facts.requires_dist is None  # nothing states them statically


def test_wheel_source(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/__init__.py", "")
        zf.writestr("demo_plugin.py", "")
        zf.writestr("demo-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n")
    facts = inspect_source(path, filename=path.name, kind="wheel", project="demo")
    assert facts.top_level == ("demo", "demo_plugin")
    assert facts.requires_dist == ("six",) and facts.languages == {}


def test_requires_txt_sections() -> None:
    assert parse_requires_txt("a\n[extra]\nb\n[:os_name == 'nt']\nc\n[x:os_name == 'nt']\nd\n") \
        == ["a", "c; os_name == 'nt'"]


# -- rendering and updating -------------------------------------------------------------------

def test_rendered_recipe_loads_back(tmp_path: Path) -> None:
    draft = Draft(
        name="demo", version="2026.10", url="pypi:demo/demo-2026.10.tar.gz", sha256="b" * 64,
        top_level=("demo",), test_imports=("demo", "demo._core"),
        run=(("attrs", ">=22"), ("yes", "")), host=(("numpy", "C headers"),),
        header=("first line",), build_comments=("C++ here",), cxxflags="-fwasm-exceptions",
        summary="Tricky: a # summary", license="MIT", home="https://demo.example/x?a=1#b",
    )
    text = render_recipe(draft)
    recipe = parse_recipe(tmp_path / "demo" / "meta.yaml", text)
    assert recipe.version == "2026.10"  # quoted, so YAML does not read a float
    assert '"2026.10"' in text and '"yes"' in text
    assert recipe.requirements.run == ("attrs", "yes")
    assert recipe.requirements.host == ("numpy",)
    assert recipe.about.summary == "Tricky: a # summary"
    assert recipe.build.cxxflags == "-fwasm-exceptions"
    assert "    - attrs  # >=22\n" in text


def test_update_keeps_everything_else(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        # maintainer's note
        package:
          name: demo
          version: 1.0  # pinned for a reason
        source:
          url: pypi:demo/demo-1.0.tar.gz
          sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          patches:
            - patches/fix.patch
        build:
          cflags: -O3  # speed
        """)
    new = update_recipe_text(text, tmp_path / "meta.yaml", version="1.10",
                             url="pypi:demo/demo-1.10.tar.gz", sha256="c" * 64)
    assert new == text.replace("version: 1.0 ", 'version: "1.10" ') \
        .replace("demo-1.0.tar.gz", "demo-1.10.tar.gz").replace("a" * 64, "c" * 64)


def test_update_needs_the_keys(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="source/sha256"):
        update_recipe_text("package: {name: a, version: '1'}\nsource:\n  url: x\n",
                           tmp_path / "meta.yaml", version="2", url="y", sha256="d" * 64)
