"""``shrinkfw run`` and ``shrinkfw scenario validate``.

``run`` shows a progress bar on a terminal (nothing when stderr is not one), prints a summary
table, and exits 0 when the run completed, 2 when a misbehaving plugin or a bad scenario
stopped it (its files are complete up to the last finished tick), 130 on Ctrl-C (likewise).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import argparse

    from .runner import RunResult
    from .scenario import Scenario

__all__ = ["register"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def register(sub: Any) -> None:
    """Add ``run`` and ``scenario`` to the ``shrinkfw`` sub-command parser."""
    run = sub.add_parser(
        "run",
        help="run a scenario (the embedded default if none is given)",
        description="Run a scenario and write the run directory.",
    )
    run.add_argument("scenario", nargs="?", help="a scenario TOML file (default: embedded)")
    run.add_argument("--profile", help="kernel profile (default: the scenario's, else the seed)")
    run.add_argument("--seed", type=int, help="RNG seed (default: the scenario's, else 0)")
    run.add_argument(
        "--out", default="shrinkfw-run", help="run directory (default: ./shrinkfw-run/)"
    )
    run.add_argument(
        "--on-plugin-error",
        choices=("stop", "disable"),
        default="stop",
        help="a plugin breaking its contract stops the run (default) or is unregistered",
    )
    run.add_argument(
        "-p",
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE[:ATTR]",
        help="also load this plugin (an importable module, or an object in one); repeatable",
    )
    run.add_argument("--no-trace", action="store_true", help="do not write ftrace.txt")
    run.add_argument("--no-report", action="store_true", help="do not write report.html")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    run.set_defaults(func=_run)

    scenario = sub.add_parser("scenario", help="work with scenario files")
    from .cli import _Parser

    scenario_sub = scenario.add_subparsers(
        dest="scenario_command", metavar="COMMAND", parser_class=_Parser
    )
    scenario_sub.required = True
    validate = scenario_sub.add_parser(
        "validate", help="check a scenario file against the installed plugins"
    )
    validate.add_argument("file", help="the scenario TOML file ('-' for the embedded default)")
    validate.add_argument("--profile", help="check against this kernel profile")
    validate.add_argument(
        "-p",
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE[:ATTR]",
        help="also load this plugin; repeatable",
    )
    validate.set_defaults(func=_validate)
    show = scenario_sub.add_parser("default", help="print the embedded default scenario")
    show.set_defaults(func=_show_default)


def _plugins(specs: list[str]) -> list[object]:
    """Plugin objects from ``module`` or ``module:attribute`` specs (``-p``)."""
    import importlib

    from .errors import UsageError

    out: list[object] = []
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        try:
            obj: object = importlib.import_module(module_name)
            if attr:
                obj = getattr(obj, attr)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"--plugin {spec}: cannot load it: {exc}") from None
        out.append(obj)
    return out


def _load(name: str | None) -> Scenario:
    from .scenario import default_scenario, load_scenario

    return default_scenario() if name in (None, "-") else load_scenario(str(name))


def _validate(args: argparse.Namespace) -> int:
    from .runner import ScenarioDriver

    scenario = _load(args.file)
    # building the driver checks everything a run would check before it starts
    sim = ScenarioDriver(scenario, profile=args.profile, plugins=_plugins(args.plugin)).sim
    print(
        f"{scenario.file}: ok: {len(scenario.memcgs)} memcgs, {len(scenario.mounts)} mounts, "
        f"{len(scenario.workloads)} workloads, {len(scenario.consumers)} consumers; "
        f"{scenario.duration:g} s in ticks of {scenario.tick:g} s on {sim.profile.name}"
    )
    return EXIT_OK


def _show_default(args: argparse.Namespace) -> int:
    from importlib import resources

    text = resources.files("shrinkfw").joinpath("scenarios", "default.toml").read_text("utf-8")
    sys.stdout.write(text)
    return EXIT_OK


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()
        self.last = -1.0
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done else 0.0
        self.stream.write(
            f"\r{self.label} [{bar}] {done}/{total} ticks  {elapsed:5.1f}s  eta {eta:4.0f}s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.last >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _run(args: argparse.Namespace) -> int:
    from .runner import ScenarioRun

    scenario = _load(args.scenario)
    started = time.monotonic()
    progress = _Progress(sys.stderr, scenario.name) if not args.quiet else None
    run = ScenarioRun(
        scenario,
        profile=args.profile,
        seed=args.seed,
        out=Path(args.out),
        on_plugin_error=args.on_plugin_error,
        plugins=_plugins(args.plugin),
        trace=not args.no_trace,
        report=not args.no_report,
        progress=progress,
    )
    result = run.run()
    wall = time.monotonic() - started
    if progress is not None and not result.complete:
        progress.clear()
    if not args.quiet:
        _print_table(result, wall)
    if result.stopped == "interrupted":
        print(
            f"shrinkfw: interrupted after {result.summary['ticks']} ticks; the files in "
            f"{result.out} are complete up to t={result.summary['time']:g} s",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if result.stopped is not None:
        from .errors import ContractViolation

        hint = (
            "; --on-plugin-error=disable goes on without the plugin"
            if isinstance(result.error, ContractViolation)
            else ""
        )
        print(f"shrinkfw: error: {result.stopped}", file=sys.stderr)
        print(
            f"shrinkfw: the files in {result.out} are complete up to "
            f"t={result.summary['time']:g} s{hint}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 20):.1f}"


def _print_table(result: RunResult, wall: float) -> None:
    s = result.summary
    out = sys.stdout
    state = "complete" if s["complete"] else "stopped early"
    out.write(
        f"{s['scenario']}: {s['profile']} ({s['era']}), seed {s['seed']}: {s['ticks']} ticks, "
        f"{s['time']:g} s simulated in {wall:.1f} s, {state}\n\n"
    )
    rows: list[tuple[str, ...]] = [
        ("memcg", "state", "usage MiB", "kmem MiB", "limit MiB", "objects")
    ]
    for m in s["memcgs"]:
        if m["state"] == "freed":
            continue
        rows.append(
            (
                m["path"],
                m["state"],
                _mib(m["usage_bytes"]),
                _mib(m["kmem_bytes"]),
                _mib(m["limit_bytes"]),
                str(m["objects"]),
            )
        )
    freed = sum(1 for m in s["memcgs"] if m["state"] == "freed")
    _table(out, rows)
    if freed:
        out.write(f"  (+ {freed} freed memcgs)\n")
    out.write("\n")
    rows = [("shrinker", "plugin", "calls", "scanned", "freed", "deferred", "objects")]
    for sh in s["shrinkers"]:
        rows.append(
            (
                sh["name"],
                sh["plugin"],
                str(sh["invocations"]),
                str(sh["scanned"]),
                str(sh["freed"]),
                str(sh["nr_deferred"]),
                str(sh["objects"]),
            )
        )
    _table(out, rows)
    r, p, d = s["reclaim"], s["vmpressure"], s["dying_memcgs"]
    out.write(
        f"\nreclaim: {r['direct']} direct, {r['kswapd']} kswapd, {r['memcg_limit']} memcg "
        f"limit, {r['memcg_high']} memcg high; {r['pages_reclaimed']} pages, "
        f"{r['slab_freed']} slab objects freed\n"
        f"vmpressure: {p['low']} low, {p['medium']} medium, {p['critical']} critical; "
        f"dying memcgs: max {d['max']}, at the end {d['final']}\n"
    )
    decisions = s["decisions"]
    if decisions["count"]:
        acts = ", ".join(f"{n} {a}" for a, n in decisions["by_action"].items())
        out.write(f"consumer decisions: {acts}\n")
    for err in s["plugin_errors"]:
        out.write(f"plugin disabled: {err['plugin']}: {err['error']}\n")
    report = " (open report.html)" if (Path(str(result.out)) / "report.html").exists() else ""
    out.write(f"\nrun directory: {result.out}/{report}\n")


def _table(out: TextIO, rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 or (not cell[:1].isdigit() and cell != "-") else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
