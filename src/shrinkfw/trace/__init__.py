"""Real kernel traces: read ftrace text, check it against each era, write it back.

- :mod:`shrinkfw.trace.parse` reads ``mm_shrink_slab_start`` / ``_end`` lines of every layout;
- :mod:`shrinkfw.trace.check` recomputes them with :mod:`shrinkfw.shrink_arith`;
- :mod:`shrinkfw.trace.known` says what ``seeks`` and ``batch`` known shrinkers use;
- :mod:`shrinkfw.trace.format` renders events in each era's text layout;
- :mod:`shrinkfw.trace.cli` is ``shrinkfw trace check``.
"""

from __future__ import annotations

from .check import (
    Checker,
    CheckReport,
    LineResult,
    Profile,
    Summary,
    check_file,
    profile_names,
    resolve_profile,
)
from .format import format_end, format_record, format_start
from .known import KNOWN_SHRINKERS, ShrinkerFacts, ShrinkerTable
from .parse import LineFormat, ParseStats, ShrinkEnd, ShrinkStart, iter_events, parse_file

__all__ = [
    "KNOWN_SHRINKERS",
    "CheckReport",
    "Checker",
    "LineFormat",
    "LineResult",
    "ParseStats",
    "Profile",
    "ShrinkEnd",
    "ShrinkStart",
    "ShrinkerFacts",
    "ShrinkerTable",
    "Summary",
    "check_file",
    "format_end",
    "format_record",
    "format_start",
    "iter_events",
    "parse_file",
    "profile_names",
    "resolve_profile",
]
