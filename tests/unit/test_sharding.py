"""Sharding (waves, balanced shards, simulation), store addresses, and a build run's exchange
with the store (against an in-memory store: the real registry is in the integration tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyodist.builder.exchange import StoreExchange
from pyodist.builder.planner import BuildPlan, BuildTarget, BuildTask
from pyodist.builder.report import BuildOutcome, BuildReport
from pyodist.builder.shards import ShardPlan, ShardSpec, levels, parse_shard, simulate, split
from pyodist.errors import ConfigError, StoreError
from pyodist.events import Event, StoreNotice
from pyodist.options import parse_store, resolve_options
from pyodist.store.local import ArtifactCache
from pyodist.store.oci import Pulled

ORDER = ("a", "b", "c", "d", "e", "f")
DEPS = {"c": ("a",), "d": ("a", "b"), "e": ("c",), "f": ("d", "e")}


def test_waves_follow_dependency_levels() -> None:
    assert levels(ORDER, DEPS) == {"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 4}
    plan = split(ORDER, DEPS, 2)
    assert plan.waves == ((("a",), ("b",)), (("c",), ("d",)), (("e",), ()), (("f",), ()))
    assert not plan.timed
    assert plan.place("d") == (2, 2)
    assert plan.own(ShardSpec(1, 2)) == ("a", "c", "e", "f")
    assert plan.own(ShardSpec(2, 2, wave=2)) == ("d",)


def test_shards_balance_measured_seconds_and_unknown_ones_cost_the_median() -> None:
    order = ("big", "m1", "m2", "m3", "new")
    plan = split(order, {}, 2, {"big": 300.0, "m1": 100.0, "m2": 100.0, "m3": 100.0})
    assert plan.timed and plan.costs["new"] == 100.0
    assert [sorted(s) for s in plan.waves[0]] == [["big", "new"], ["m1", "m2", "m3"]]
    # the same inputs give the same split, whatever order the timings come in
    again = split(order, {}, 2, dict(reversed(list(
        {"big": 300.0, "m1": 100.0, "m2": 100.0, "m3": 100.0}.items()))))
    assert again == plan


def test_shard_plan_json_round_trip_and_bad_files(tmp_path: Path) -> None:
    plan = split(ORDER, DEPS, 3)
    data = json.loads(json.dumps(plan.to_json()))
    back = ShardPlan.from_json(data)
    assert back.waves == plan.waves and back.names() == set(ORDER)
    with pytest.raises(ConfigError, match="every wave needs 3"):
        ShardPlan.from_json({**data, "waves": [{"shards": [{"packages": ["a"]}]}]})
    with pytest.raises(ConfigError, match="not a shard plan"):
        ShardPlan.from_json({"shards": 2}, file=tmp_path / "x.json")
    with pytest.raises(ConfigError, match="does not fit a split into 3"):
        plan.own(ShardSpec(1, 2))
    with pytest.raises(ConfigError, match="has 4 wave"):
        plan.own(ShardSpec(1, 3, wave=9))


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", ""])
def test_bad_shard_flags(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(text)


def test_shard_flag() -> None:
    assert parse_shard(" 2/4 ", 3) == ShardSpec(2, 4, 3)
    assert str(ShardSpec(2, 4, 3)) == "shard 2/4 of wave 3"
    with pytest.raises(ConfigError, match="from 1"):
        parse_shard("1/2", 0)


def test_simulation() -> None:
    costs = {"a": 10.0, "b": 1.0, "c": 5.0, "d": 1.0, "e": 5.0, "f": 1.0}
    one = simulate(ORDER, DEPS, costs, 1)
    assert one.waves == one.free == one.total == 23.0
    many = simulate(ORDER, DEPS, costs, 8)
    assert many.critical_path == 21.0  # a -> c -> e -> f
    assert many.free == 21.0 and many.waves == 10 + 5 + 5 + 1
    two = simulate(ORDER, DEPS, costs, 2)
    assert many.critical_path <= two.free <= two.waves <= one.waves


@pytest.mark.parametrize(("url", "words"), [
    ("oci://127.0.0.1:5000/pyodist/cache", None),
    ("oci://registry.example:443/team/pyodist", None),
    ("oci://[::1]:5000/x", None),
    ("http://127.0.0.1/x", "not an OCI artifact store address"),
    ("oci://127.0.0.1:5000/", "not an OCI artifact store address"),
    ("oci://127.0.0.1:5000/Caps", "not an OCI artifact store address"),
    ("oci://me:pw@127.0.0.1/x", "carries credentials"),
])
def test_store_addresses(url: str, words: str | None) -> None:
    if words is None:
        spec = parse_store(url)
        assert spec.url == url
        return
    with pytest.raises(ConfigError, match=words) as info:
        parse_store(url)
    assert "pw" not in str(info.value)


def test_only_this_machine_is_spoken_to_without_tls() -> None:
    assert parse_store("oci://127.0.0.1:5000/x").insecure
    assert parse_store("oci://localhost/x").insecure
    assert parse_store("oci://[::1]:5000/x").insecure
    assert not parse_store("oci://localhost.example/x").insecure
    assert not parse_store("oci://10.0.0.1:5000/x").insecure


def test_store_from_flags_and_environment() -> None:
    opts = resolve_options(cwd=Path("/tmp"), environ={
        "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1:5000/env", "PYODIST_STORE_USER": "ci",
        "PYODIST_STORE_PASSWORD": "hunter2", "PYODIST_ARTIFACT_STORE_OPTIONAL": "1"})
    spec = opts.artifact_store
    assert spec is not None and spec.repo == "env" and spec.host == "127.0.0.1:5000"
    assert spec.optional and not spec.readonly and spec.username == "ci"
    assert "hunter2" not in repr(spec)
    flag = resolve_options(cwd=Path("/tmp"), environ={
        "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1:5000/env"},
        artifact_store="oci://127.0.0.1:5000/flag", store_readonly=True).artifact_store
    assert flag is not None and flag.repo == "flag" and flag.readonly
    assert resolve_options(cwd=Path("/tmp"), environ={}).artifact_store is None
    with pytest.raises(ConfigError, match="only one of"):
        resolve_options(cwd=Path("/tmp"), environ={
            "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1/x", "PYODIST_STORE_USER": "ci"})


class _MemoryStore:
    """What StoreExchange calls on a RemoteStore, kept in a dict."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.tags: dict[str, Any] = {}
        self.spec: Any = None

    def probe(self) -> None:
        if self.down:
            raise StoreError("the artifact store oci://x/y does not answer (ConnectionError)")

    def pull(self, key: str, cache: ArtifactCache) -> Any:
        self.probe()
        if key == "bad":
            return Pulled(None, refused="bad: w.whl does not match its layer digest")
        entry = self.tags.get(key)
        if entry is None:
            return Pulled(None)
        return Pulled(cache.put(key, entry["name"], [entry["file"]], {"build_seconds": 12.0}))

    def push(self, artifact: Any) -> bool:
        self.probe()
        if artifact.key in self.tags:
            return False
        self.tags[artifact.key] = {"name": artifact.name, "file": artifact.paths()[0]}
        return True

    def get_json(self, tag: str) -> Any:
        return self.tags.get(tag)

    def put_json(self, tag: str, data: Any) -> None:
        self.tags[tag] = data


def _plan(*names: str, cached: tuple[str, ...] = ()) -> BuildPlan:
    recipe: Any = None  # the exchange never reads recipes
    tasks = {n: BuildTask(n, recipe, n, (), (), (), n in cached) for n in names}
    return BuildPlan(BuildTarget("314.0.7", "2026_0", "t"), names, tasks, frozenset(names))


def _exchange(tmp_path: Path, store: _MemoryStore, *, optional: bool = False,
              readonly: bool = False) -> tuple[StoreExchange, list[Event]]:
    events: list[Event] = []
    spec = parse_store("oci://127.0.0.1:1/x", optional=optional, readonly=readonly)
    exchange = StoreExchange(spec, ArtifactCache(tmp_path / "cache"), on_event=events.append)
    store.spec = spec
    exchange.store = store  # type: ignore[assignment]
    return exchange, events


def test_exchange_pulls_what_it_has_refuses_bad_bytes_and_pushes_the_rest(
        tmp_path: Path) -> None:
    store = _MemoryStore()
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(b"wheel")
    store.tags["a"] = {"name": "a", "file": wheel}
    exchange, events = _exchange(tmp_path, store)
    exchange.open()
    plan = exchange.pull_missing(_plan("a", "bad", "c"))
    assert [n for n in plan.order if plan.tasks[n].cached] == ["a"]
    assert exchange.summary.pulled == ["a"]
    assert exchange.summary.refused == ["bad: w.whl does not match its layer digest"]
    assert any(isinstance(e, StoreNotice) and e.warning and "refused bad" in e.message
               for e in events)
    # "c" built here: pushed; "a" came from the store: not pushed back
    art = exchange.cache.put("c", "c", [wheel], {"build_seconds": 30.0})
    report = BuildReport(plan, {"a": BuildOutcome("a", "cached", "a"),
                                "c": BuildOutcome("c", "built", "c", files=tuple(art.paths()))})
    exchange.push_results(report)
    assert exchange.summary.pushed == ["c"]
    exchange.write_timings(plan)
    assert store.tags["pyodist-timings"] == {"format": 1, "seconds": {"a": 12.0, "c": 30.0}}
    assert exchange.timings() == {"a": 12.0, "c": 30.0}


def test_readonly_exchange_never_writes(tmp_path: Path) -> None:
    store = _MemoryStore()
    exchange, _ = _exchange(tmp_path, store, readonly=True)
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(b"wheel")
    exchange.cache.put("c", "c", [wheel], {"build_seconds": 3.0})
    plan = _plan("c", cached=("c",))
    exchange.push_results(BuildReport(plan, {"c": BuildOutcome("c", "built", "c")}))
    exchange.write_timings(plan)
    assert store.tags == {} and exchange.summary.pushed == []


def test_a_store_that_does_not_answer(tmp_path: Path) -> None:
    exchange, _ = _exchange(tmp_path, _MemoryStore(down=True))
    with pytest.raises(StoreError, match="does not answer"):
        exchange.open()
    optional, events = _exchange(tmp_path, _MemoryStore(down=True), optional=True)
    optional.open()
    assert not optional.active
    assert optional.pull_missing(_plan("a")).to_build == ("a",)
    assert [e.message for e in events if isinstance(e, StoreNotice)] == [
        "the artifact store oci://x/y does not answer (ConnectionError); building locally "
        "without it (--artifact-store-optional)"]
