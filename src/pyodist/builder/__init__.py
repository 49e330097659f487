"""Recipes to wheels and library artifacts: plan, schedule, build in the toolchain, cache.

The entry point is :class:`~pyodist.builder.session.BuildSession` (or
:func:`~pyodist.builder.session.build` for one build): planner (pure: keys and cache
lookups) → scheduler (order, ``-j``, keep-going) → steps (one package in the toolchain) →
artifact cache; reproducible wheels and deterministic archives on the way.
"""

from pyodist.builder.report import BuildOutcome, BuildReport
from pyodist.builder.session import BuildFailed, BuildRequest, BuildSession, build

__all__ = ["BuildFailed", "BuildOutcome", "BuildReport", "BuildRequest", "BuildSession", "build"]
