"""The shrinkfw command: simulate Linux slab reclaim, run scenarios, check kernel traces.

Exit codes everywhere: 0 success, 1 a check found a problem, 2 bad input or usage. Bad input
gets one line naming the file, line and field, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import __version__
from .errors import ShrinkfwError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with the project's exit code for usage errors (2, as argparse already uses)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line parser, with one sub-command per job."""
    from .trace import cli as trace_cli

    parser = _Parser(prog="shrinkfw", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"shrinkfw {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress (-vv: debug) on stderr"
    )
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="log lines as text or as JSON objects",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    from . import run_cli
    from .calibrate import cli as calibrate_cli

    run_cli.register(sub)
    calibrate_cli.register(sub)

    trace = sub.add_parser("trace", help="read real kernel ftrace text")
    trace_sub = trace.add_subparsers(dest="trace_command", metavar="COMMAND", parser_class=_Parser)
    trace_sub.required = True
    trace_cli.register(trace_sub)

    plugins = sub.add_parser("plugins", help="list the installed plugins and what they provide")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(func=_plugins)

    profiles = sub.add_parser("profiles", help="list the kernel profiles and what each models")
    profiles.add_argument(
        "-v", "--verbose", dest="detail", action="store_true", help="what each models"
    )
    profiles.set_defaults(func=_profiles)
    return parser


def _plugins(args: argparse.Namespace) -> int:
    import json

    from .plugininfo import installed_plugins

    infos = installed_plugins()
    if args.json:
        print(json.dumps({"plugins": [info.as_dict() for info in infos]}, indent=2))
        return EXIT_OK
    for info in infos:
        print(f"{info.name}  ({info.distribution} {info.version})")
        for label, items in (
            ("fs types", info.fs_types),
            ("shrinkers", info.shrinkers),
            ("workloads", info.workloads),
            ("consumers", info.consumers),
        ):
            if items:
                print(f"    {label}: {', '.join(items)}")
    return EXIT_OK


def _profiles(args: argparse.Namespace) -> int:
    from .profiles import DEFAULT_PROFILE, PROFILES

    for profile in PROFILES.values():
        default = " (default)" if profile.name == DEFAULT_PROFILE else ""
        print(f"{profile.name:<18} {profile.era:<7} {profile.scope:<10} {profile.summary}{default}")
        if args.detail:
            for line in profile.modelled:
                print(f"{'':<18}   models: {line}")
            for line in profile.not_modelled:
                print(f"{'':<18}   does not model: {line}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shrinkfw`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._log import configure_cli

    configure_cli(args.verbose, args.log_format)
    try:
        code: int = args.func(args)
    except ShrinkfwError as exc:
        print(f"shrinkfw: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shrinkfw: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
