"""The per-test time budget of `make test` (a pytest plugin; tests/conftest.py loads its hooks).

`make test` must stay far from CI's limit, so a test that grows past the budget fails there
instead of slowly eating it: it is made faster, or marked slow (`make test-slow` runs those).
A test's time is its setup and call, so the first test to use a module fixture that builds
something pays for that build.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

_SPENT = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--test-budget", type=float, default=0.0, metavar="SECONDS",
        help="fail a test not marked slow whose setup and call take longer than SECONDS "
             "(make test sets it; 0, the default, is no budget)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    budget: float = item.config.getoption("test_budget")
    if budget <= 0 or item.get_closest_marker("slow") is not None:
        return
    spent = item.stash.get(_SPENT, 0.0) + report.duration
    item.stash[_SPENT] = spent
    if report.when == "call" and report.passed and spent > budget:
        report.outcome = "failed"
        report.longrepr = (
            f"over the time budget: {item.nodeid} took {spent:.1f} s (setup and call), more "
            f"than the {budget:g} s a test may take in this run (--test-budget). Make it "
            "faster, or mark it @pytest.mark.slow so that `make test-slow` runs it instead "
            "(and say so in the README's table of test tiers).")
