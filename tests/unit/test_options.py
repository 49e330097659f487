"""Options come from flags, PYODIST_* variables and defaults, resolved in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.errors import ConfigError
from pyodist.options import StepLimits, resolve_options


def limits(**environ: str) -> StepLimits:
    return resolve_options(cwd=Path("/tmp"), environ=environ).limits


def test_default_limits() -> None:
    assert limits() == StepLimits(step_timeout=3600.0, memory=8 * 1024**3, pids=4096,
                                  disk_quota=20 * 1024**3)


def test_limits_from_the_environment() -> None:
    assert limits(PYODIST_STEP_TIMEOUT="90", PYODIST_MEMORY="1.5g", PYODIST_PIDS="512",
                  PYODIST_DISK_QUOTA="300MiB") == StepLimits(
        step_timeout=90.0, memory=int(1.5 * 1024**3), pids=512, disk_quota=300 * 1024**2)
    assert limits(PYODIST_STEP_TIMEOUT="none", PYODIST_DISK_QUOTA="off") == StepLimits(
        step_timeout=None, disk_quota=None)


@pytest.mark.parametrize(("key", "value", "hint"), [
    ("PYODIST_STEP_TIMEOUT", "ten", "600, or none"),
    ("PYODIST_MEMORY", "lots", "500m, 20g, 12 MB, 1.5 GiB, or none"),
    ("PYODIST_PIDS", "-1", "4096, or none"),
    ("PYODIST_DISK_QUOTA", "5x", "500m, 20g, 12 MB, 1.5 GiB, or none"),
])
def test_bad_limits_name_the_variable(key: str, value: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        limits(**{key: value})
    assert f"{key}={value!r}" in str(err.value) and hint in str(err.value)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("PYODIST_STEP_TIMEOUT", "-5", "is not a number of seconds"),
    ("PYODIST_STEP_TIMEOUT", "inf", "is not a number of seconds"),
    ("PYODIST_STEP_TIMEOUT", "", "is set but empty"),
    ("PYODIST_MEMORY", "  ", "is set but empty"),
    ("PYODIST_CACHE_DIR", "", "is set but empty"),
    ("PYODIST_IMAGE", "", "is set but empty"),
    ("PYODIST_EXECUTOR", "", "is set but empty"),
    ("PYODIST_RECIPE_DIRS", "", "is set but empty"),
])
def test_negative_and_empty_settings_are_errors(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_options(cwd=Path("/tmp"), environ={key: value})
    assert key in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("Yes", True),
                                           (" on ", True), ("0", False), ("false", False),
                                           ("no", False), ("off", False), ("", False)])
def test_pyodist_switches_read_on_and_off(tmp_path: Path, value: str, on: bool) -> None:
    options = resolve_options(cwd=tmp_path, environ={"PYODIST_OFFLINE": value,
                                                     "HOME": str(tmp_path)})
    assert options.offline is on


@pytest.mark.parametrize("name", ["OFFLINE", "DEBUG", "ARTIFACT_STORE_READONLY"])
def test_a_switch_that_is_neither_on_nor_off_is_an_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="'nope' is neither on nor off"):
        resolve_options(cwd=tmp_path, environ={f"PYODIST_{name}": "nope",
                                               "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1:1/x",
                                               "HOME": str(tmp_path)})


@pytest.mark.parametrize(("name", "value"), [
    ("SOURCE_DATE_EPOCH", "١٢٣"), ("SOURCE_DATE_EPOCH", "9" * 5000),
    ("SOURCE_DATE_EPOCH", "4354819200"), ("PYODIST_PIDS", "٤٠٩٦"), ("PYODIST_PIDS", "9" * 5000)])
def test_whole_numbers_are_ascii_and_bounded(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match="is not a whole number"):
        options = resolve_options(cwd=tmp_path, environ={name: value, "HOME": str(tmp_path)})
        options.limits  # noqa: B018 - the step limits are read when used
