"""Values of pyodist.lock and pyodist.toml that become paths are checked when they are read:
a lock pin's sha256 and file name (cache paths), the distribution's version (the bundle's
folder name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.bundle.index_lock import read_lock
from pyodist.errors import ConfigError
from pyodist.project import load_project

PROJECT = ('[distribution]\nname = "demo"\nversion = "{version}"\n'
           '[runtime]\npyodide = "314.0.7"\n[profiles.web]\nindex-packages = ["attrs"]\n')
GOOD_SHA = "ab" * 32
GOOD_FILE = "attrs-25.4.0-py3-none-any.whl"


def _lock(tmp_path: Path, sha: str, file: str) -> Path:
    (tmp_path / "pyodist.toml").write_text(PROJECT.format(version="1.0"))
    (tmp_path / "pyodist.lock").write_text(
        'version = 1\n[profiles.web]\nrequirements = ["attrs"]\nplatform = "p"\n'
        'python = "3.14"\n[[profiles.web.packages]]\nname = "attrs"\nversion = "25.4.0"\n'
        f"file = {file}\nsha256 = {sha}\n"
        'url = "https://example.invalid/attrs.whl"\nrequested = true\n')
    return tmp_path / "pyodist.toml"


def test_a_good_pin_reads(tmp_path: Path) -> None:
    lock = read_lock(load_project(_lock(tmp_path, f'"{GOOD_SHA}"', f'"{GOOD_FILE}"')))
    [pin] = lock.profiles["web"].pins
    assert (pin.sha256, pin.filename) == (GOOD_SHA, GOOD_FILE)


@pytest.mark.parametrize("sha", ['"/etc/passwd"', '"../../x"', f'"{GOOD_SHA}\\n"',
                                 f'"{GOOD_SHA.upper()}"', '""', "1", f'"{GOOD_SHA}0"'])
def test_a_pin_whose_sha256_is_not_a_digest_is_refused(tmp_path: Path, sha: str) -> None:
    with pytest.raises(ConfigError, match="sha256 of 'attrs' is not 64 lowercase hex digits"):
        read_lock(load_project(_lock(tmp_path, sha, f'"{GOOD_FILE}"')))


@pytest.mark.parametrize("file", ['"../attrs-1-py3-none-any.whl"', '"/tmp/a.whl"', '""',
                                  '"a/b.whl"', '"a\\u0000.whl"', '"..whl"', '"attrs.tar.gz"'])
def test_a_pin_whose_file_is_not_a_wheel_name_is_refused(tmp_path: Path, file: str) -> None:
    with pytest.raises(ConfigError, match="file of 'attrs' is not a plain wheel file name"):
        read_lock(load_project(_lock(tmp_path, f'"{GOOD_SHA}"', file)))


@pytest.mark.parametrize("version", ["1.0/../../x", "../1", "1.0 beta", "not-a-version",
                                     "1" * 200, ""])
def test_a_version_that_is_no_file_name_is_refused(tmp_path: Path, version: str) -> None:
    (tmp_path / "pyodist.toml").write_text(PROJECT.format(version=version))
    with pytest.raises(ConfigError, match=r"distribution\.version"):
        load_project(tmp_path / "pyodist.toml")


@pytest.mark.parametrize("version", ["1.0", "0.1.0", "2026.12.7", "1.0rc1", "1.0.post2"])
def test_pep_440_versions_are_taken(tmp_path: Path, version: str) -> None:
    (tmp_path / "pyodist.toml").write_text(PROJECT.format(version=version))
    assert load_project(tmp_path / "pyodist.toml").version == version


# -- nesting deeper than Python's parsers go: a one-line error, not a RecursionError ----------

DEEP = 100_000


def test_a_deeply_nested_project_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyodist.toml").write_text(PROJECT.format(version="1") + "x = " + "[" * DEEP)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_project(tmp_path / "pyodist.toml")


def test_a_deeply_nested_lock_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyodist.toml").write_text(PROJECT.format(version="1"))
    (tmp_path / "pyodist.lock").write_text("version = " + "[" * DEEP + "]" * DEEP + "\n")
    with pytest.raises(ConfigError, match="not a readable pyodist lock"):
        read_lock(load_project(tmp_path / "pyodist.toml"))


def test_a_deeply_nested_manifest_or_lock_is_a_verify_problem(tmp_path: Path) -> None:
    from pyodist.bundle.verify import verify_bundle  # noqa: PLC0415

    (tmp_path / "manifest.json").write_text("[" * DEEP + "]" * DEEP)
    problems = verify_bundle(tmp_path)
    assert any("manifest.json: unreadable" in p for p in problems), problems


def test_a_deeply_nested_sdist_pyproject_is_a_build_error(tmp_path: Path) -> None:
    from pyodist.builder.backends import build_requirements  # noqa: PLC0415
    from pyodist.errors import BuildError  # noqa: PLC0415

    (tmp_path / "pyproject.toml").write_text("x = " + "[" * DEEP)
    with pytest.raises(BuildError, match="nested too deeply"):
        build_requirements(tmp_path, where="recipes/x/meta.yaml")


def test_venv_onto_a_dangling_link_is_refused(tmp_path: Path) -> None:
    from pyodist.bundle.venv import create_venv  # noqa: PLC0415
    from pyodist.errors import UsageError  # noqa: PLC0415

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "pyodide-lock.json").write_text('{"info": {"python": "3.14.2"}, "packages": {}}')
    link = tmp_path / "venv"
    link.symlink_to(tmp_path / "elsewhere" / "made-here")
    with pytest.raises(UsageError, match="which does not exist"):
        create_venv(bundle, link)
    assert not (tmp_path / "elsewhere").exists()


def test_a_profile_that_ships_no_wheel_has_a_valid_pylock(tmp_path: Path) -> None:
    import tomllib  # noqa: PLC0415

    from pyodist.bundle.pylock import write_pylock  # noqa: PLC0415

    write_pylock(tmp_path / "pylock.toml", [], "3.14.2")
    assert tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"] == []


def test_pyodist_python_refuses_a_runtime_file_the_manifest_does_not_list(tmp_path: Path) -> None:
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    from pyodist.cli.python_cmd import _check_runtime_files  # noqa: PLC0415
    from pyodist.errors import VerifyError  # noqa: PLC0415

    (tmp_path / "pyodide.mjs").write_text("export {}\n")
    digest = hashlib.sha256(b"export {}\n").hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"files": {"pyodide.mjs": {"sha256": digest, "size": 10}}}))
    _check_runtime_files(tmp_path)
    (tmp_path / "pyodide.mjs").write_text("export {}\n// changed\n")
    with pytest.raises(VerifyError, match=r"pyodide\.mjs differs from the bundle's manifest"):
        _check_runtime_files(tmp_path)
    (tmp_path / "pyodide.mjs").unlink()
    with pytest.raises(VerifyError):
        _check_runtime_files(tmp_path)


def test_verify_of_a_folder_that_is_no_bundle_does_not_walk_it(tmp_path: Path) -> None:
    from pyodist.bundle.verify import verify_bundle  # noqa: PLC0415

    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "link").symlink_to("/proc/1/cwd")
    assert verify_bundle(tmp_path) == [
        "manifest.json: missing (or not a regular file); this is not a bundle"]


def test_numbers_past_any_use_and_paths_that_mislead_are_clear_errors(tmp_path: Path) -> None:
    from pyodist.builder.shards import parse_shard  # noqa: PLC0415
    from pyodist.bundle.verify import bundle_listing  # noqa: PLC0415
    from pyodist.errors import ConfigError, UsageError  # noqa: PLC0415
    from pyodist.fsutil import output_folder  # noqa: PLC0415
    from pyodist.project import load_project  # noqa: PLC0415
    from pyodist.targets import parse_target  # noqa: PLC0415

    for text in ("9" * 5000 + "/2", "1/100000", "\u0661/\u0662"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(text)
    assert parse_target("node>=" + "9" * 5000) is None
    project = tmp_path / "pyodist.toml"
    project.write_text("[distribution]\nname = 'x'\nversion = " + "1" * 5000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_project(project)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="does not exist"):
        output_folder(tmp_path / "dangling", "--out")
    (tmp_path / "afile").write_text("")
    with pytest.raises(UsageError, match="is not a folder"):
        output_folder(tmp_path / "afile" / "sub", "--out")
    assert not (tmp_path / "nowhere").exists()
    deep = tmp_path / "bundle"
    (deep / "/".join(["d"] * 100)).mkdir(parents=True)
    _files, _folders, odd = bundle_listing(deep)
    assert any("nested deeper than 64 levels" in line for line in odd)
