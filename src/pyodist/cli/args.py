"""Arguments several commands take, defined once."""

from __future__ import annotations

import argparse

from pyodist.options import DEFAULT_JOBS, MAX_JOBS

__all__ = ["add_jobs"]


def _jobs(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {MAX_JOBS}")
    return int(text)


def add_jobs(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``-j/--jobs N``: how many ``what`` run at once (1 to MAX_JOBS); unset, the options'
    cascade decides (PYODIST_JOBS, then [build] jobs, then DEFAULT_JOBS)."""
    parser.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                        help=f"{what} at once (default: PYODIST_JOBS, else [build] jobs in "
                             f"pyodist.toml, else {DEFAULT_JOBS})")
