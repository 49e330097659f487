"""Plain-text rendering shared by commands: aligned tables, trees, JSON, build reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from pyodist.builder.report import STATUSES, BuildReport

__all__ = ["build_summary", "emit_json", "table", "tree"]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def tree(roots: Sequence[str], children: Callable[[str], Sequence[str]],
         label: Callable[[str], str]) -> str:
    """An indented dependency tree; a node seen before is shown once and marked ``(*)``."""
    lines: list[str] = []
    shown: set[str] = set()

    def walk(node: str, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        repeat = node in shown and bool(children(node))
        lines.append(f"{prefix}{branch}{label(node)}{' (*)' if repeat else ''}")
        if repeat:
            return
        shown.add(node)
        kids = children(node)
        extension = "" if top else ("    " if last else "│   ")
        for i, kid in enumerate(kids):
            walk(kid, prefix + extension, i == len(kids) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)


def emit_json(data: Mapping[str, Any], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    json.dump(data, stream, indent=2, sort_keys=True)
    stream.write("\n")


def build_summary(report: BuildReport) -> str:
    """The table of a build run, each failure with its log tail and what it blocked."""
    if not report.outcomes:
        return "nothing to build: the recipe folders hold no recipe the selection names"
    out: list[str] = []
    rows = []
    for name in report.names:
        outcome = report.outcomes[name]
        task = report.plan.tasks.get(name)
        names = [f.name for f in outcome.files]
        main = next((n for n in names if not n.endswith("-libs.tar")), names[0] if names else "")
        took = f"{outcome.seconds:.1f}s" if outcome.seconds else ""
        status: str = outcome.status
        if report.store is not None and name in report.store.pulled:
            status = "pulled"
        rows.append((name, task.recipe.version if task else "?", status, took, main))
    out.append(table(("PACKAGE", "VERSION", "STATUS", "TIME", "OUTPUT"), rows))
    for outcome in report.failed():
        out.append(f"\n✗ {outcome.name} failed: {outcome.error}")
        if outcome.log_tail:
            out.append("  last lines of the log:")
            out.append("\n".join(f"  | {line}" for line in outcome.log_tail.splitlines()))
        if outcome.log:
            out.append(f"  full log: {outcome.log}")
        blocked = report.blocked_by(outcome.name)
        if blocked:
            out.append(f"  blocked by this failure: {', '.join(blocked)}")
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES if report.count(s))
    where = f" ({report.shard})" if report.shard else ""
    out.append(f"\n{counts} in {report.seconds:.1f} s{where}")
    store = report.store
    if store is not None:
        if not store.available:
            out.append(f"artifact store {store.url}: not used (it did not answer)")
        else:
            mode = ", read-only" if store.readonly else ""
            out.append(f"artifact store {store.url}{mode}: {len(store.pulled)} pulled, "
                       f"{len(store.pushed)} pushed"
                       + (f", {len(store.refused)} refused" if store.refused else ""))
    return "\n".join(out)
