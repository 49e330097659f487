"""Arguments several commands take, defined once."""

from __future__ import annotations

import argparse

__all__ = ["MAX_JOBS", "add_jobs"]

# more than this many builds or downloads at once is a typo, not a machine
MAX_JOBS = 256


def _jobs(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {MAX_JOBS}")
    return int(text)


def add_jobs(parser: argparse.ArgumentParser, *, default: int, what: str) -> None:
    """``-j/--jobs N``: how many ``what`` run at once (1 to MAX_JOBS)."""
    parser.add_argument("-j", "--jobs", type=_jobs, default=default, metavar="N",
                        help=f"{what} at once (default {default})")
