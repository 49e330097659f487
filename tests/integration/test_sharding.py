"""Sharded builds over a real OCI registry (Debian's docker-registry on 127.0.0.1).

Two shard processes with separate local caches build a small project wave by wave and push
to the store; a third process with an empty cache (no artifacts, no sources: only the
runtime core is copied in) bundles the profile without building anything, byte-identical to
a single-machine bundle. Then: a tampered blob is refused and rebuilt, a stopped registry is
an error (exit 12) or, when optional, a warning and a local build, and the toolchain image
goes through the store and comes back with its id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pyodist.options import default_cache_dir
from tests.integration.conftest import OciRegistry

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ("liblz4", "lz4", "msgpack", "six")
SELECTION = ("lz4", "msgpack", "six")


def _project(folder: Path) -> Path:
    recipes = folder / "recipes"
    for name in RECIPES:
        shutil.copytree(ROOT / "recipes" / name, recipes / name)
    (folder / "pyodist.toml").write_text(textwrap.dedent(f"""\
        [distribution]
        name = "shards"
        version = "1.0"
        default-profile = "small"
        [runtime]
        pyodide = "314.0.7"
        [build]
        recipe-dirs = ["recipes"]
        [profiles.small]
        packages = {json.dumps(list(SELECTION))}
        """))
    return folder


def _cache(folder: Path, *, sources: bool) -> Path:
    """A local cache of its own: the runtime core (and the downloaded sources and build
    backends, to spare the index) linked in from the user's cache; never artifacts."""
    user = default_cache_dir(os.environ)
    kinds = ("runtime", "sources", "backends") if sources else ("runtime",)
    for kind in kinds:
        if (user / kind).is_dir():
            shutil.copytree(user / kind, folder / kind, copy_function=os.link)
    return folder


def pyodist(*args: str, cwd: Path, cache: Path,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pyodist", "--cache-dir", str(cache), *args], cwd=cwd,
        capture_output=True, text=True, timeout=3600, check=False,
        env={**os.environ, "CI": "1", "PYTHONPATH": str(ROOT / "src")})
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def report(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def built(data: dict[str, Any]) -> set[str]:
    return {n for n, p in data["packages"].items() if p["status"] == "built"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path / "project")


def test_two_shards_then_a_bundle_that_builds_nothing(
        project: Path, tmp_path: Path, oci_registry: OciRegistry, toolchain_image: str) -> None:
    store = ("--artifact-store", oci_registry.store())
    user_cache = default_cache_dir(os.environ)
    # the single-machine bundle (the user's cache: warm from the other tests, or built)
    single = report(pyodist("bundle", "--out", str(tmp_path / "single"), "--json",
                            cwd=project, cache=user_cache))
    plan = pyodist(*store, "plan", "--shards", "2", "--json", *SELECTION, cwd=project,
                   cache=user_cache)
    (tmp_path / "plan.json").write_text(plan.stdout)
    split = report(plan)
    assert split["balanced_by"] == "count"  # the store has no timings yet
    assert [[s["packages"] for s in w["shards"]] for w in split["waves"]] == [
        [["liblz4", "six"], ["msgpack"]], [["lz4"], []]]
    for wave in (1, 2):
        # the two shards of a wave run at once, each on a fresh "runner" (a cache of its own)
        caches = [_cache(tmp_path / f"wave{wave}-shard{i}", sources=True) for i in (1, 2)]
        procs = [subprocess.Popen(
            [sys.executable, "-m", "pyodist", "--cache-dir", str(caches[i - 1]), *store,
             "build", "--shard", f"{i}/2", "--wave", str(wave), "--shard-plan",
             str(tmp_path / "plan.json"), "--json", *SELECTION],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "CI": "1", "PYTHONPATH": str(ROOT / "src")}) for i in (1, 2)]
        outs = [p.communicate(timeout=3600) for p in procs]
        for proc, (out, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, out[-4000:] + err[-4000:]
        results = [json.loads(out) for out, _ in outs]
        for i, result in enumerate(results, 1):
            own = set(split["waves"][wave - 1]["shards"][i - 1]["packages"])
            assert result["shard"] == f"shard {i}/2 of wave {wave}"
            assert built(result) == own, result
            assert set(result["store"]["pushed"]) == own
            assert not result["store"]["built_here"]
    # wave 2's lz4 was built against the liblz4 that wave 1 pushed
    assert results[0]["store"]["pulled"] == ["liblz4"]
    assert results[0]["packages"]["liblz4"]["status"] == "cached"
    # a third runner with an empty cache: every artifact pulled, nothing built
    third = _cache(tmp_path / "runner3", sources=False)
    result = report(pyodist(*store, "--artifact-store-readonly", "bundle", "--out",
                            str(tmp_path / "third"), "--json", cwd=project, cache=third))
    assert result["build"]["counts"]["built"] == 0
    assert sorted(result["build"]["store"]["pulled"]) == sorted(RECIPES)
    assert result["build"]["store"]["pushed"] == []
    assert result["tarball_sha256"] == single["tarball_sha256"]
    assert not (third / "sources").exists()  # nothing was even fetched
    # a run that is not a shard records the build seconds: the next split balances by them
    pyodist(*store, "build", *SELECTION, cwd=project, cache=caches[0])
    timed = report(pyodist(*store, "plan", "--shards", "2", "--json", *SELECTION,
                           cwd=project, cache=user_cache))
    assert timed["balanced_by"] == "seconds"


def test_tampered_blob_is_refused_and_rebuilt(
        project: Path, tmp_path: Path, oci_registry: OciRegistry, toolchain_image: str) -> None:
    store = ("--artifact-store", oci_registry.store())
    first = _cache(tmp_path / "first", sources=True)
    pushed = report(pyodist(*store, "build", "--json", "six", cwd=project, cache=first))
    assert pushed["store"]["pushed"] == ["six"]
    wheel = Path(pushed["packages"]["six"]["files"][0])
    wheel_bytes = wheel.read_bytes()
    [blob] = [b for b in oci_registry.blobs() if b.read_bytes() == wheel_bytes]
    blob.write_bytes(wheel_bytes[:-1] + bytes([wheel_bytes[-1] ^ 1]))
    second = _cache(tmp_path / "second", sources=True)
    again = pyodist(*store, "build", "--json", "six", cwd=project, cache=second)
    result = report(again)
    assert result["packages"]["six"]["status"] == "built"
    assert result["store"]["pulled"] == []
    assert "does not match its layer digest" in result["store"]["refused"][0]
    assert "refused six from the store" in again.stderr
    # the rebuilt wheel is the same bytes the store should have held
    assert Path(result["packages"]["six"]["files"][0]).read_bytes() == wheel_bytes


def test_stopped_registry(project: Path, tmp_path: Path, oci_registry: OciRegistry,
                          toolchain_image: str) -> None:
    store = ("--artifact-store", oci_registry.store())
    oci_registry.stop()
    cache = _cache(tmp_path / "cache", sources=True)
    failed = pyodist(*store, "build", "six", cwd=project, cache=cache, check=False)
    assert failed.returncode == 12, failed.stderr
    assert "does not answer" in failed.stderr and "--artifact-store-optional" in failed.stderr
    assert not (cache / "artifacts").exists()  # it stopped before building anything
    ok = pyodist(*store, "--artifact-store-optional", "build", "--json", "six", cwd=project,
                 cache=cache)
    result = report(ok)
    assert result["packages"]["six"]["status"] == "built"
    assert result["store"]["available"] is False
    assert "building locally without it" in ok.stderr


def test_bad_store_addresses(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for address, words in (("https://127.0.0.1/x", "is not an OCI artifact store address"),
                           ("oci://user:secret@127.0.0.1:5000/x", "carries credentials"),
                           ("oci://127.0.0.1:5000/Upper", "not an OCI artifact store")):
        proc = pyodist("--artifact-store", address, "plan", cwd=project, cache=cache,
                       check=False)
        assert proc.returncode == 5, proc.stderr
        assert words in proc.stderr and "secret" not in proc.stderr


def test_toolchain_image_through_the_store(tmp_path: Path, oci_registry: OciRegistry,
                                           toolchain_image: str) -> None:
    from pyodist.options import parse_store  # noqa: PLC0415
    from pyodist.store.oci import RemoteStore  # noqa: PLC0415
    from pyodist.toolchain import docker_client, inspect_image  # noqa: PLC0415
    from pyodist.toolchain.shipping import ensure_image, input_hash, push_image  # noqa: PLC0415

    client = docker_client()
    original = inspect_image(client, toolchain_image)
    assert original is not None
    digest = input_hash(ROOT / "docker", "314.0.7")
    assert digest == original.input_hash  # the same sum bootstrap.sh labels the image with
    store = RemoteStore(parse_store(oci_registry.store("pyodist/toolchain")))
    push_image(store, client, toolchain_image, [f"toolchain-{digest}"], tmp_path)
    assert store.annotations(f"toolchain-{digest}") == {
        "org.opencontainers.artifact.type": "application/vnd.pyodist.artifact.v1",
        "org.pyodist.image-id": original.image_id, "org.pyodist.input-hash": digest}
    # a runner without the image: the store's copy, checked by digest and image id
    tag = "pyodist-toolchain:from-store-test"
    try:
        got = ensure_image(client, image=tag, docker_dir=ROOT / "docker", workdir=tmp_path,
                           pyodide_version="314.0.7", store=store, force=False,
                           log=tmp_path / "log", warn=pytest.fail, local=False)
        assert (got.source, got.image_id) == ("store", original.image_id)
        found = inspect_image(client, tag)
        assert found is not None and found.image_id == original.image_id
    finally:
        client.images.remove(tag, noprune=True)
