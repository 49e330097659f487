"""``pyodist plan``: the waves and shards a selection's build splits into, for CI."""

from __future__ import annotations

import argparse

from pyodist.builder.session import plan_shards
from pyodist.builder.shards import MAX_SHARDS
from pyodist.cli.progress import build_sink
from pyodist.cli.render import emit_json
from pyodist.errors import UsageError
from pyodist.options import Options

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser(
        "plan", help="split a build into waves and shards for CI runners",
        description="Expand SELECTION to its dependency closure and split it: waves follow "
                    "the dependency levels (a wave needs only earlier ones), and each wave "
                    "goes to N shards balanced by the build seconds the artifact store keeps "
                    "(--artifact-store), else by package count. Runner I of wave W then runs "
                    "'pyodist build --shard I/N --wave W SELECTION'. Reads recipes only: no "
                    "toolchain, no builds.",
    )
    plan.add_argument("selection", nargs="*", default=["*"], metavar="SELECTION",
                      help="'*' (default), NAME, tag:TAG, !NAME")
    plan.add_argument("--shards", type=int, default=1, metavar="N",
                      help="runners per wave (default 1)")
    plan.add_argument("--json", action="store_true",
                      help="print the split as JSON (input of 'pyodist build --shard-plan' "
                           "and of CI matrix generators)")
    plan.set_defaults(handler=_plan)


def _plan(args: argparse.Namespace, options: Options) -> int:
    if not 1 <= args.shards <= MAX_SHARDS:
        raise UsageError(f"--shards {args.shards}: give 1 to {MAX_SHARDS} runners",
                         hint="one shard per CI runner of a wave")
    with build_sink(plain=True, quiet=args.json) as sink:
        count, result = plan_shards(options, tuple(args.selection), args.shards,
                                    on_event=sink)
    if args.json:
        emit_json({**result.to_json(), "selection": list(args.selection)})
        return 0
    basis = "measured build seconds" if result.timed else "package count"
    print(f"{count} package(s) in {len(result.waves)} wave(s), {args.shards} "
          f"shard(s) each, balanced by {basis}")
    for w, shards in enumerate(result.waves, 1):
        print(f"wave {w}:")
        for s, names in enumerate(shards, 1):
            cost = sum(result.costs[n] for n in names)
            weight = f"{cost:.0f} s" if result.timed else f"{len(names)} pkg"
            print(f"  shard {s} ({weight}): {', '.join(names) or '-'}")
    return 0
