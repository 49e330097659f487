"""Mean and variance of a sequence of numbers, computed in C (``cstats._core``)."""

from cstats._core import mean, variance

__all__ = ["mean", "stdev", "variance"]


def stdev(values):
    """The sample standard deviation."""
    return variance(values) ** 0.5
