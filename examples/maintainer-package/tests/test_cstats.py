import math
import sys

import pytest

import cstats


def test_mean_and_variance_match_the_definition():
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert cstats.mean(values) == 5.0
    assert cstats.variance(values) == pytest.approx(32 / 7)
    assert cstats.stdev(values) == pytest.approx(math.sqrt(32 / 7))


def test_it_takes_any_sequence_of_numbers():
    assert cstats.mean(range(1, 101)) == 50.5
    assert cstats.mean((1, 2.5)) == 1.75


def test_bad_input_raises():
    with pytest.raises(ValueError, match="empty"):
        cstats.mean([])
    with pytest.raises(ValueError, match="two values"):
        cstats.variance([1.0])
    with pytest.raises(TypeError):
        cstats.mean(["a"])


def test_it_runs_where_it_was_built_for():
    # in Pyodide: the wheel's extension is a WebAssembly side module
    assert sys.platform in ("emscripten", "linux", "darwin", "win32")
