"""make test's per-test time budget (tests/budget.py), run on a small suite of its own."""

from __future__ import annotations

import pytest

SUITE = """
import time

import pytest


@pytest.fixture(scope="module")
def built():
    time.sleep(0.4)


def test_pays_for_the_fixture(built):
    pass


def test_uses_it_again(built):
    pass


@pytest.mark.slow
def test_marked_slow():
    time.sleep(0.4)


def test_quick():
    pass


def test_failing_on_its_own():
    time.sleep(0.4)
    raise AssertionError("its own failure")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    slow: long-running\naddopts = -p no:cacheprovider\n")
    pytester.makeconftest(
        "from tests.budget import pytest_addoption, pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_a_test_over_the_budget_fails_with_what_to_do(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--test-budget", "0.3")
    # the fixture's setup counts for the first test that uses it; slow tests have no budget;
    # a test that failed anyway keeps its own failure
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*over the time budget: test_suite.py::test_pays_for_the_fixture took 0.* s (setup and "
        "call), more than the 0.3 s a test may take in this run (--test-budget)*",
    ])
    assert "its own failure" in result.stdout.str()
    assert "test_uses_it_again took" not in result.stdout.str()
    assert "test_marked_slow took" not in result.stdout.str()


def test_no_budget_by_default(suite: pytest.Pytester) -> None:
    suite.runpytest().assert_outcomes(passed=4, failed=1)
