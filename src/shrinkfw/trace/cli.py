"""The ``shrinkfw trace`` sub-commands.

``shrinkfw trace check FILE [--profile auto|E1..E5|NAME] [--batch FUNC=N]... [--seeks FUNC=N]...
[--json]`` checks every ``mm_shrink_slab_start`` / ``_end`` line of a real trace (``-`` reads
standard input). Exit status: 0 every checked line matches, 1 a line does not, 2 unreadable
input or bad usage (one line on standard error naming the file, the line and the field).

A file without any shrink_slab event is not an error: nothing contradicts the model, so the
exit status is 0 with ``checked`` 0, and a note on standard error says the events were not
found (usually the tracepoints were not enabled).

Output is written to a spool first and shown only when the whole file was read, so a
malformed line late in a large file leaves no half-written report on standard output.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from typing import IO, TYPE_CHECKING, Any

from .check import Checker, resolve_profile
from .known import ShrinkerTable
from .parse import ParseStats, parse_file

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["register", "run_check"]

EXIT_OK = 0
EXIT_PROBLEM = 1

_SPOOL_BYTES = 8 << 20


def _override(option: str) -> Callable[[str], tuple[str, int]]:
    def parse(text: str) -> tuple[str, int]:
        func, sep, value = text.rpartition("=")
        func = func.strip()
        if not sep or not func or any(c.isspace() for c in func):
            raise argparse.ArgumentTypeError(
                f"expected FUNC=N (a scan function name, e.g. super_cache_scan=1024), got {text!r}"
            )
        try:
            number = int(value.strip())
        except ValueError:
            number = -1
        if number < 0:
            raise argparse.ArgumentTypeError(
                f"{option} for {func} must be a non-negative integer, got {value!r}"
            )
        return func, number

    parse.__name__ = option  # argparse names the type in its messages
    return parse


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``check`` to the ``shrinkfw trace`` sub-command parsers."""
    check = subparsers.add_parser(
        "check",
        help="check mm_shrink_slab_start/end lines of a real trace against each era",
        description=(
            "Recompute delta and total_scan of every mm_shrink_slab_start line and check "
            "every mm_shrink_slab_end line (unused count, batch-loop remainder, put-back) "
            "against the do_shrink_slab arithmetic of each kernel era."
        ),
    )
    check.add_argument(
        "file",
        metavar="FILE",
        help="ftrace text (trace, trace_pipe, trace-cmd report); - for stdin",
    )
    check.add_argument(
        "--profile",
        default="auto",
        metavar="auto|E1..E5|NAME",
        help="auto (report every era explaining a line), an era, or a variant/profile name "
        "such as v4.16 or v3.14-kmemcg-v15 (default: auto)",
    )
    check.add_argument(
        "--batch",
        action="append",
        default=[],
        type=_override("batch"),
        metavar="FUNC=N",
        help="the batch of scan function FUNC (0 = 128); repeatable",
    )
    check.add_argument(
        "--seeks",
        action="append",
        default=[],
        type=_override("seeks"),
        metavar="FUNC=N",
        help="pin the seeks of scan function FUNC; repeatable",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Run ``shrinkfw trace check``; errors propagate as :class:`~shrinkfw.errors.ShrinkfwError`."""
    profile = resolve_profile(args.profile)
    table = ShrinkerTable(batch=dict(args.batch), seeks=dict(args.seeks))
    checker = Checker(profile, table)
    stats = ParseStats()
    name = "<stdin>" if args.file == "-" else args.file
    ignored: list[dict[str, object]] = []
    with tempfile.SpooledTemporaryFile(_SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
        first = True
        for event in parse_file(args.file, stats=stats):
            result = checker.check(event)
            if args.json:
                if result.status == "ignored":
                    ignored.append(result.to_json())
                    continue
                spool.write("\n    " if first else ",\n    ")
                spool.write(json.dumps(result.to_json()))
                first = False
            else:
                spool.write(result.describe())
                spool.write("\n")
        summary = checker.summary(stats)
        spool.seek(0)
        out = sys.stdout
        if args.json:
            out.write('{\n  "summary": ')
            out.write(json.dumps(summary.to_json()))
            out.write(',\n  "lines": [')
            _copy(spool, out)
            out.write("\n  ]," if not first else "],")
            out.write('\n  "ignored_lines": ')
            out.write(json.dumps(ignored))
            out.write("\n}\n")
        else:
            _copy(spool, out)
            out.write(f"{name}: {summary.describe()}\n")
    if stats.starts + stats.ends == 0:
        print(
            f"shrinkfw trace check: note: {name} has no mm_shrink_slab_start/end events "
            "(enable events/vmscan/mm_shrink_slab_start and mm_shrink_slab_end)",
            file=sys.stderr,
        )
    return EXIT_PROBLEM if summary.mismatched else EXIT_OK


def _copy(source: IO[str], target: IO[str]) -> None:
    shutil.copyfileobj(source, target)
