"""``shrinkfw calibrate``: one scenario on a real kernel and in the simulator, compared.

:func:`calibrate` runs the guest (:func:`~shrinkfw.calibrate.guest.run_guest`), then the
simulator under the profile of the guest's kernel (:func:`profile_for`), and writes:

- ``real/``: the guest's console, ``trace.txt`` and ``guest.json``;
- ``sim/``: the simulator's run directory (``summary.json``, ``events.jsonl``,
  ``metrics.csv``, ``ftrace.txt``);
- ``calibration.json``: ``kernel``, ``profile``, ``real_trace_check`` (the real trace judged
  by ``shrinkfw trace check``), ``comparisons`` (each compared quantity with both values, the
  tolerance and a verdict) and ``sequence`` (the first reclaim of the superblock shrinker,
  priority by priority);
- ``report.html``: the same for a reader.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any, Final

from ..errors import UsageError
from ..memcg import PAGE_SIZE, MemcgState
from ..report.files import atomic_write_text
from ..runner import ScenarioRun
from .compare import (
    COUNT_TOLERANCE,
    SEQUENCE_TOLERANCE,
    Comparison,
    SequenceRow,
    compare_counters,
    compare_sequences,
    invocations,
    verdict_counts,
)
from .errors import CalibrateError
from .guest import run_guest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ..scenario import Scenario

__all__ = ["FORMAT", "calibrate", "profile_for"]

#: version of calibration.json
FORMAT: Final = 1
#: the superblock shrinker's scan function, as both traces name it
SUPER_SCAN: Final = "super_cache_scan"


def profile_for(release: str) -> str | None:
    """The simulator profile of a kernel release (``"6.1.0-56-cloud-amd64"`` → ``"v6.1"``),
    or ``None`` when no full profile models that kernel."""
    m = re.match(r"(\d+)\.(\d+)", release)
    if m is None:
        return None
    version = (int(m.group(1)), int(m.group(2)))
    if (6, 1) <= version < (6, 5):
        return "v6.1"
    if version >= (6, 7):
        return "v6.7"
    return None


def calibrate(
    scenario: Scenario,
    *,
    out: Path,
    kernel: str | None = None,
    profile: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` on a real kernel and in the simulator; write and return the
    calibration (the content of ``calibration.json``).

    :raises ScenarioError: the scenario uses what the guest cannot run (the message names
        the field).
    :raises CalibrateError: the toolchain is missing, or the guest failed or timed out.
    """
    out.mkdir(parents=True, exist_ok=True)
    guest = run_guest(
        scenario, out_dir=out / "real", kernel=kernel, timeout=timeout, progress=progress
    )
    chosen = profile or profile_for(guest.release) or scenario.profile
    if chosen is None:
        raise UsageError(
            f"no full profile models the guest's kernel {guest.release}; name one with "
            "--profile (shrinkfw profiles)"
        )
    note = ""
    if profile is None and profile_for(guest.release) is None:
        note = f"no full profile models {guest.release}; using the scenario's {chosen}"
    if progress is not None:
        progress(f"simulating under {chosen}")
    run = ScenarioRun(scenario, profile=chosen, out=out / "sim", report=False)
    result = run.run()
    if not result.complete:
        raise CalibrateError(f"the simulator side stopped early: {result.stopped}")
    sim_trace = out / "sim" / "ftrace.txt"
    assert guest.trace_path is not None
    rows, comparisons = compare_sequences(
        invocations(guest.trace_path, SUPER_SCAN),
        invocations(sim_trace, SUPER_SCAN),
        shrinker=SUPER_SCAN,
    )
    for spec in scenario.memcgs:
        try:
            real = guest.memcg(spec.path)
        except KeyError:
            continue
        comparisons.extend(
            compare_counters(
                spec.path,
                {
                    "memory_current": real.memory_current,
                    "memory_stat": real.memory_stat,
                    "memory_events": real.memory_events,
                },
                _simulated_counters(run, spec.path),
            )
        )
    check = guest.trace_check("auto").summary
    calibration: dict[str, Any] = {
        "format": FORMAT,
        "scenario": scenario.name,
        "kernel": guest.kernel,
        "release": guest.release,
        "profile": run.sim.profile.name,
        "profile_note": note,
        "seed": run.sim.seed,
        "real_trace_check": {
            "checked": check.checked,
            "matched": check.matched,
            "mismatched": check.mismatched,
            "eras": list(check.eras),
        },
        "tolerances": {
            "sequence": SEQUENCE_TOLERANCE,
            "counters": 0.30,
            "counts": COUNT_TOLERANCE,
        },
        "verdicts": verdict_counts(comparisons),
        "comparisons": [c.as_dict() for c in comparisons],
        "sequence": [row.as_dict() for row in rows],
        "guest_seconds": {
            "boot": guest.boot_seconds,
            "timeline": guest.timeline_seconds,
            "host": guest.host_seconds,
        },
    }
    atomic_write_text(out / "calibration.json", json.dumps(calibration, indent=2) + "\n")
    atomic_write_text(out / "report.html", _render(calibration, comparisons, rows))
    return calibration


def _simulated_counters(run: ScenarioRun, path: str) -> dict[str, Any]:
    """The simulator's counters of the live memcg at ``path`` (the last one created)."""
    live = [
        inc.memcg
        for inc in run.incarnations
        if inc.spec.path == path and inc.memcg.state is not MemcgState.FREED
    ]
    if not live:
        return {}
    memcg = live[-1]
    stat = run.sim.memory_stat(memcg).as_dict()
    return {
        "memory_current": memcg.usage * PAGE_SIZE,
        "memory_stat": stat,
        "memory_events": dict(memcg.events),
    }


# -- report.html ----------------------------------------------------------------------------

_STYLE: Final = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222 }
table { border-collapse: collapse; margin: 1em 0 }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top }
td.n { text-align: right; font-variant-numeric: tabular-nums }
.agree { background: #e8f5e9 } .differ { background: #fdecea } .one { color: #777 }
code { background: #f4f4f4; padding: 0 .2em }
"""


def _cell(value: Any) -> str:
    if isinstance(value, int):
        return f'<td class="n">{value:,}</td>'
    if value is None:
        return "<td>—</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _render(
    calibration: dict[str, Any], comparisons: list[Comparison], rows: list[SequenceRow]
) -> str:
    e = html.escape
    check = calibration["real_trace_check"]
    verdicts = calibration["verdicts"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>shrinkfw calibrate: {e(calibration['scenario'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Calibration: {e(calibration['scenario'])}</h1>",
        f"<p>Real kernel: <code>{e(calibration['kernel'])}</code><br>",
        f"Simulator profile: <code>{e(calibration['profile'])}</code>, seed "
        f"{calibration['seed']}. {e(calibration['profile_note'])}</p>",
        f"<p><b>{verdicts['agree']}</b> quantities agree, <b>{verdicts['differ']}</b> differ. "
        f"The real trace, judged by <code>shrinkfw trace check</code>: {check['matched']} of "
        f"{check['checked']} lines match the model's arithmetic ({check['mismatched']} "
        f"mismatched; eras {e(', '.join(check['eras']))}).</p>",
        "<h2>Compared quantities</h2><table><tr><th>quantity</th><th>memcg</th><th>real</th>"
        "<th>simulated</th><th>tolerance</th><th>verdict</th><th>why they may differ</th></tr>",
    ]
    for c in comparisons:
        tol = "exact" if c.tolerance == 0 else f"±{c.tolerance:.0%}"
        parts.append(
            f'<tr class="{c.verdict}"><td>{e(c.quantity)}</td>{_cell(c.memcg)}'
            f"{_cell(c.real)}{_cell(c.simulated)}<td>{tol}</td><td>{c.verdict}</td>"
            f"<td>{e(c.note)}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<h2>The superblock shrinker, reclaim by reclaim, priority by priority</h2>"
        "<p>Each row is one <code>super_cache_scan</code> call: the numbers its "
        "<code>mm_shrink_slab_start</code> line prints and the objects its end line says it "
        "freed; the n-th reclaim of the kernel faces the n-th of the model. The first "
        f"reclaim's rows both sides visited must agree within ±{SEQUENCE_TOLERANCE:.0%}.</p>"
        "<table><tr><th>reclaim</th><th>priority</th><th>side</th><th>cache items</th>"
        "<th>objects to shrink</th><th>delta</th><th>total_scan</th><th>freed</th>"
        "<th>verdict</th></tr>"
    )
    for row in rows:
        css = {"agree": "agree", "differ": "differ"}.get(row.verdict, "one")
        for side, step in (("real", row.real), ("simulated", row.simulated)):
            cells = (
                "".join(
                    _cell(getattr(step, f))
                    for f in ("cache_items", "objects_to_shrink", "delta", "total_scan", "freed")
                )
                if step is not None
                else '<td colspan="5">not visited</td>'
            )
            parts.append(
                f'<tr class="{css}"><td class="n">{row.invocation}</td>'
                f'<td class="n">{row.priority}</td><td>{side}</td>{cells}'
                f"<td>{e(row.verdict)}</td></tr>"
            )
    parts.append(
        "</table><p>Files: <code>real/trace.txt</code>, <code>real/console.log</code>, "
        "<code>sim/ftrace.txt</code>, <code>sim/summary.json</code>, "
        "<code>calibration.json</code>.</p></body></html>\n"
    )
    return "\n".join(parts)
