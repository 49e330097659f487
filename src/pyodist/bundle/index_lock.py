"""``pyodist.lock``: the index wheels of each profile, pinned, so a bundle never changes
because the index did.

Beside ``pyodist.toml``. For each profile with ``index-packages`` it records the
requirements as written, the platform and Python they were resolved for, and per wheel its
name, version, file, sha256 and the URL it was found at. ``pyodist lock`` writes the entries
that are missing or whose requirements changed; ``pyodist lock --upgrade`` resolves them all
again. ``pyodist bundle`` only reads it: a profile whose pins are missing or stale is an
error that says to run ``pyodist lock``. The wheels are fetched by project and file name
through the configured index (a mirror works) and checked by sha256; other bytes are never
taken.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from pyodist.errors import ConfigError
from pyodist.fsutil import write_atomic
from pyodist.project import Profile, Project, why_unreadable
from pyodist.recipe.spec import canonical_name
from pyodist.sources.index import IndexSettings
from pyodist.sources.resolve import IndexPin, TargetPlatform, resolve_requirements

__all__ = ["LOCK_FILE", "LockedProfile", "ProjectLock", "check_no_overlap", "lock_path",
           "profile_pins", "read_lock", "update_lock"]

LOCK_FILE = "pyodist.lock"
LOCK_VERSION = 1


@dataclass(frozen=True)
class LockedProfile:
    requirements: tuple[str, ...]
    platform: str
    python: str
    pins: tuple[IndexPin, ...]

    def matches(self, profile: Profile, target: TargetPlatform) -> bool:
        return (self.requirements == profile.index_packages
                and self.platform == target.platform_tag and self.python == target.python)


@dataclass(frozen=True)
class ProjectLock:
    path: Path
    profiles: Mapping[str, LockedProfile]


def lock_path(project: Project) -> Path:
    return project.root / LOCK_FILE


def read_lock(project: Project) -> ProjectLock:
    """The project's lock (empty when there is none yet); ConfigError when it is damaged."""
    path = lock_path(project)
    if not path.is_file():
        return ProjectLock(path, {})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        profiles = _profiles(data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, KeyError,
            TypeError, AttributeError, RecursionError) as exc:
        raise ConfigError.single(f"not a readable pyodist lock ({why_unreadable(exc)})", file=path,
                                 hint="restore it from version control, or delete it and run "
                                      "'pyodist lock'") from None
    return ProjectLock(path, profiles)


def _profiles(data: Mapping[str, object]) -> dict[str, LockedProfile]:
    if data.get("version") != LOCK_VERSION:
        raise ValueError(f"version {data.get('version')!r}, expected {LOCK_VERSION}")
    profiles = {}
    table = data.get("profiles", {})
    if not isinstance(table, dict):
        raise TypeError("'profiles' is not a table")
    for name, entry in table.items():
        pins = tuple(_pin(name, p) for p in entry.get("packages", []))
        profiles[name] = LockedProfile(tuple(entry["requirements"]), str(entry["platform"]),
                                       str(entry["python"]), pins)
    return profiles


_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*\.whl")


def _pin(profile: str, entry: Mapping[str, object]) -> IndexPin:
    """One locked wheel; its hash and file name become cache paths, so both are checked."""
    pin = IndexPin(str(entry["name"]), str(entry["version"]), str(entry["file"]),
                   str(entry["sha256"]), str(entry["url"]), bool(entry["requested"]))
    if not isinstance(entry["sha256"], str) or not _SHA256.fullmatch(pin.sha256):
        raise ValueError(f"profiles.{profile}: the sha256 of {pin.name[:80]!r} is not 64 "
                         "lowercase hex digits")
    if not isinstance(entry["file"], str) or not _FILE.fullmatch(pin.filename) \
            or ".." in pin.filename:
        raise ValueError(f"profiles.{profile}: the file of {pin.name[:80]!r} is not a plain "
                         "wheel file name")
    return pin


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for the text pyodist writes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _render(profiles: Mapping[str, LockedProfile]) -> str:
    lines = ["# pyodist.lock: the index wheels of pyodist.toml's profiles, pinned by",
             "# `pyodist lock` (changed only by `pyodist lock --upgrade`). Commit it.",
             f"version = {LOCK_VERSION}", ""]
    for name, entry in sorted(profiles.items()):
        lines += [f"[profiles.{json.dumps(name)}]",
                  f"requirements = {_toml(entry.requirements)}",
                  f"platform = {_toml(entry.platform)}", f"python = {_toml(entry.python)}", ""]
        for pin in entry.pins:
            lines += [f"[[profiles.{json.dumps(name)}.packages]]",
                      f"name = {_toml(pin.name)}", f"version = {_toml(pin.version)}",
                      f"file = {_toml(pin.filename)}", f"sha256 = {_toml(pin.sha256)}",
                      f"url = {_toml(pin.url)}", f"requested = {_toml(pin.requested)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def check_no_overlap(project: Project, profile: Profile, recipe_names: Iterable[str]) -> None:
    """A project both built from a recipe and taken from the index: say which to remove."""
    built = {canonical_name(n) for n in recipe_names}
    both = sorted(canonical_name(Requirement(r).name) for r in profile.index_packages
                  if canonical_name(Requirement(r).name) in built)
    if both:
        raise ConfigError.single(
            f"profile {profile.name!r} takes {', '.join(both)} both from a recipe and from the "
            "index", file=project.path, key=f"profiles.{profile.name}.index-packages",
            hint=f"remove {', '.join(both)} from index-packages to build the recipe, or drop the "
                 "recipe from the profile's packages (and what selects it) to take the "
                 "index's wheel")


def update_lock(project: Project, target: TargetPlatform, index: IndexSettings, *,
                provided: Mapping[str, Mapping[str, str]], upgrade: bool = False,
                only: Sequence[str] = ()) -> tuple[ProjectLock, list[str]]:
    """Resolve the profiles whose pins are missing or stale (all with ``upgrade``) and write
    the lock; the names of the profiles resolved. ``provided[profile]`` maps the projects a
    recipe of that profile builds to their versions (held there, and not pinned again)."""
    current = read_lock(project)
    profiles = dict(current.profiles)
    resolved = []
    for name, profile in sorted(project.profiles.items()):
        if only and name not in only:
            continue
        if not profile.index_packages:
            profiles.pop(name, None)
            continue
        entry = profiles.get(name)
        if entry is not None and entry.matches(profile, target) and not upgrade:
            continue
        held = provided.get(name, {})
        pins = resolve_requirements(profile.index_packages, target, index,
                                    constraints=[f"{n}=={v}" for n, v in sorted(held.items())])
        profiles[name] = LockedProfile(profile.index_packages, target.platform_tag,
                                       target.python,
                                       tuple(p for p in pins if p.name not in held))
        resolved.append(name)
    for name in list(profiles):
        if name not in project.profiles:
            del profiles[name]
    text = _render(profiles)
    path = lock_path(project)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)
    return ProjectLock(path, profiles), resolved


def profile_pins(project: Project, profile: Profile,
                 target: TargetPlatform) -> tuple[IndexPin, ...]:
    """The pinned index wheels of ``profile``; ConfigError when the lock lacks them or they
    were resolved for other requirements or another runtime."""
    if not profile.index_packages:
        return ()
    lock = read_lock(project)
    entry = lock.profiles.get(profile.name)
    if entry is None or not entry.matches(profile, target):
        why = "has no pins for it" if entry is None else (
            "pins other requirements" if entry.requirements != profile.index_packages
            else f"was resolved for {entry.python}, {entry.platform}")
        raise ConfigError.single(
            f"profile {profile.name!r} takes index-packages, and {lock.path.name} {why}",
            file=lock.path, key=f"profiles.{profile.name}",
            hint="run 'pyodist lock' (it resolves what is missing or stale; 'pyodist lock "
                 "--upgrade' moves every pin to the newest fitting release)")
    return entry.pins
