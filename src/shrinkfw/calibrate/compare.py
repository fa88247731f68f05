"""Compare a real kernel's run of a scenario with the simulator's, quantity by quantity.

Both sides leave the same kinds of evidence: ``mm_shrink_slab_start`` / ``_end`` lines in the
kernel's text format (the guest's ``trace.txt``, the simulator's ``ftrace.txt``) and, per
memcg, ``memory.current``, ``memory.stat`` and ``memory.events``. This module lines them up.

The shrinker sequence is compared per *reclaim invocation* of the superblock shrinker of the
scenario's filesystem: the kernel restarts every invocation at ``DEF_PRIORITY`` (12) and goes
down, so a start line whose priority is not below the previous one opens a new invocation.
The first invocation of each side is aligned priority by priority: the quantities the kernel
prints at each priority (``cache items``, ``objects to shrink`` i.e. the deferred work taken,
``delta``, ``total_scan``) must agree within :data:`SEQUENCE_TOLERANCE` where both sides
visited that priority. Where they stopped, how many invocations there were and how much they
freed are separate quantities with their own tolerances: they measure what the model gets
right about *when* reclaim stops, which is harder than the arithmetic.

Tolerances (relative, with a small absolute floor for counts near zero) are part of the
output, so a reader sees what "agree" meant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ..trace.parse import ShrinkEnd, ShrinkStart, parse_file

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "COUNTER_TOLERANCE",
    "SEQUENCE_TOLERANCE",
    "Comparison",
    "Invocation",
    "SequenceRow",
    "compare_counters",
    "compare_sequences",
    "invocations",
]

#: Relative tolerance of the per-priority shrinker arithmetic of the first reclaim.
SEQUENCE_TOLERANCE: Final = 0.05
#: Relative tolerance of end-of-run memcg counters (usage, slab).
COUNTER_TOLERANCE: Final = 0.30
#: Relative tolerance of counts of things (invocations, objects freed, events).
COUNT_TOLERANCE: Final = 0.50
#: Counts this close agree whatever their ratio (2 vs 3 events).
ABSOLUTE_SLACK: Final = 2


@attrs.frozen(kw_only=True)
class Comparison:
    """One compared quantity.

    :ivar quantity: what was compared, in words a kernel developer reads.
    :ivar memcg: the memcg it belongs to, ``None`` for the machine or the shrinker.
    :ivar real: the real kernel's value.
    :ivar simulated: the simulator's value.
    :ivar tolerance: how far apart they may be: a relative bound (``0.05``, with
        :data:`ABSOLUTE_SLACK` in counts besides), or ``0`` for exactly equal.
    :ivar verdict: ``"agree"`` or ``"differ"``.
    :ivar note: why they may differ, when the model is known to leave something out.
    """

    quantity: str
    memcg: str | None
    real: Any
    simulated: Any
    tolerance: float
    verdict: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _close(real: float, simulated: float, tolerance: float) -> bool:
    if tolerance == 0:
        return real == simulated
    if abs(real - simulated) <= ABSOLUTE_SLACK:
        return True
    return abs(real - simulated) <= tolerance * max(abs(real), abs(simulated))


def compare_value(
    quantity: str,
    real: float | None,
    simulated: float | None,
    tolerance: float,
    *,
    memcg: str | None = None,
    note: str = "",
) -> Comparison:
    """A :class:`Comparison` of two numbers; a side without a value makes it differ."""
    agree = real is not None and simulated is not None and _close(real, simulated, tolerance)
    return Comparison(
        quantity=quantity,
        memcg=memcg,
        real=real,
        simulated=simulated,
        tolerance=tolerance,
        verdict="agree" if agree else "differ",
        note=note,
    )


# -- the shrinker sequence ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Step:
    """One shrinker call: its start line's numbers and its end line's return value."""

    priority: int
    cache_items: int
    objects_to_shrink: int
    delta: int
    total_scan: int
    freed: int


@attrs.frozen(kw_only=True)
class Invocation:
    """The calls of one shrinker during one reclaim invocation, priority 12 downwards."""

    steps: tuple[Step, ...]

    @property
    def lowest_priority(self) -> int:
        return min(step.priority for step in self.steps)

    @property
    def freed(self) -> int:
        return sum(step.freed for step in self.steps)


def invocations(trace: Path, function: str) -> list[Invocation]:
    """The reclaim invocations of the shrinker whose scan function is ``function`` in the
    trace file ``trace`` (ends are paired with the latest start of the same task)."""
    groups: list[list[Step]] = []
    open_starts: dict[str | None, ShrinkStart] = {}
    last_priority: dict[str | None, int] = {}
    current: dict[str | None, list[Step]] = {}
    for event in parse_file(str(trace)):
        if event.shrinker != function:
            continue
        if isinstance(event, ShrinkStart):
            open_starts[event.task] = event
            continue
        assert isinstance(event, ShrinkEnd)
        start = open_starts.pop(event.task, None)
        if start is None or start.priority is None:
            continue
        task = event.task
        if task not in last_priority or start.priority >= last_priority[task]:
            current[task] = []
            groups.append(current[task])
        last_priority[task] = start.priority
        current[task].append(
            Step(
                priority=start.priority,
                cache_items=start.cache_items,
                objects_to_shrink=start.objects_to_shrink,
                delta=start.delta,
                total_scan=start.total_scan,
                freed=event.retval,
            )
        )
    return [Invocation(steps=tuple(g)) for g in groups if g]


@attrs.frozen(kw_only=True)
class SequenceRow:
    """One priority of one reclaim invocation, both sides side by side (``None``: not
    visited by that side, or that side had fewer invocations).

    :ivar invocation: 1 for the first reclaim of each side, 2 for the second, ...
    """

    invocation: int
    priority: int
    real: Step | None
    simulated: Step | None
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocation": self.invocation,
            "priority": self.priority,
            "real": None if self.real is None else attrs.asdict(self.real),
            "simulated": None if self.simulated is None else attrs.asdict(self.simulated),
            "verdict": self.verdict,
        }


_STEP_FIELDS: Final = ("cache_items", "objects_to_shrink", "delta", "total_scan")


def compare_sequences(
    real: list[Invocation], simulated: list[Invocation], *, shrinker: str
) -> tuple[list[SequenceRow], list[Comparison]]:
    """Align the invocations, the n-th real one with the n-th simulated one, priority by
    priority (every row is kept for the reader); judge the first invocation on what both
    visited, then where each stopped and the run totals."""
    rows: list[SequenceRow] = []
    comparisons: list[Comparison] = []
    if not real or not simulated:
        comparisons.append(
            Comparison(
                quantity=f"{shrinker}: reclaim invocations",
                memcg=None,
                real=len(real),
                simulated=len(simulated),
                tolerance=0,
                verdict="agree" if len(real) == len(simulated) else "differ",
                note="one side never called the shrinker",
            )
        )
        return rows, comparisons
    first_real = {s.priority: s for s in real[0].steps}
    first_sim = {s.priority: s for s in simulated[0].steps}
    common_agree = True
    for n in range(max(len(real), len(simulated))):
        by_real = {s.priority: s for s in real[n].steps} if n < len(real) else {}
        by_sim = {s.priority: s for s in simulated[n].steps} if n < len(simulated) else {}
        for priority in sorted(set(by_real) | set(by_sim), reverse=True):
            r, s = by_real.get(priority), by_sim.get(priority)
            if r is None or s is None:
                verdict = "one side only"
            else:
                ok = all(
                    _close(getattr(r, f), getattr(s, f), SEQUENCE_TOLERANCE) for f in _STEP_FIELDS
                )
                verdict = "agree" if ok else "differ"
                if n == 0:
                    common_agree = common_agree and ok
            rows.append(
                SequenceRow(
                    invocation=n + 1, priority=priority, real=r, simulated=s, verdict=verdict
                )
            )
    common = sorted(set(first_real) & set(first_sim), reverse=True)
    comparisons.append(
        Comparison(
            quantity=(
                f"{shrinker}: first reclaim, cache items / objects to shrink / delta / "
                f"total_scan at each priority both visited ({len(common)})"
            ),
            memcg=None,
            real=[[first_real[p].priority, first_real[p].delta] for p in common],
            simulated=[[first_sim[p].priority, first_sim[p].delta] for p in common],
            tolerance=SEQUENCE_TOLERANCE,
            verdict="agree" if common and common_agree else "differ",
        )
    )
    comparisons.append(
        compare_value(
            f"{shrinker}: first reclaim, lowest priority reached",
            real[0].lowest_priority,
            simulated[0].lowest_priority,
            0,
            note=_STOP_NOTE,
        )
    )
    comparisons.append(
        compare_value(
            f"{shrinker}: first reclaim, objects freed",
            real[0].freed,
            simulated[0].freed,
            COUNT_TOLERANCE,
            note=_STOP_NOTE,
        )
    )
    comparisons.append(
        compare_value(
            f"{shrinker}: reclaim invocations", len(real), len(simulated), COUNT_TOLERANCE
        )
    )
    comparisons.append(
        compare_value(
            f"{shrinker}: objects freed in all",
            sum(i.freed for i in real),
            sum(i.freed for i in simulated),
            COUNT_TOLERANCE,
        )
    )
    return rows, comparisons


_STOP_NOTE: Final = (
    "the model credits freed slab pages to reclaim at once; the kernel frees dentries after "
    "an RCU grace period and a slab page only when all its objects are gone, so its reclaim "
    "goes on to lower priorities"
)


# -- memcg counters -----------------------------------------------------------------------


def compare_counters(
    path: str,
    real: dict[str, Any],
    simulated: dict[str, Any],
) -> list[Comparison]:
    """End-of-run counters of one memcg: ``memory.current``, ``memory.stat`` slab and its
    reclaimable part, and ``memory.events`` high and max.

    :param real: ``memory_current``, ``memory_stat`` (dict) and ``memory_events`` (dict)
        of the guest's last snapshot.
    :param simulated: the same keys from the simulator.
    """
    out = [
        compare_value(
            "memory.current (bytes, end)",
            real.get("memory_current"),
            simulated.get("memory_current"),
            COUNTER_TOLERANCE,
            memcg=path,
            note="the kernel also charges page tables, the helper's stack and page cache",
        )
    ]
    for key in ("slab", "slab_reclaimable"):
        out.append(
            compare_value(
                f"memory.stat {key} (bytes, end)",
                _get(real.get("memory_stat"), key),
                _get(simulated.get("memory_stat"), key),
                COUNTER_TOLERANCE,
                memcg=path,
            )
        )
    for key in ("high", "max"):
        out.append(
            compare_value(
                f"memory.events {key}",
                _get(real.get("memory_events"), key),
                _get(simulated.get("memory_events"), key),
                COUNT_TOLERANCE,
                memcg=path,
                note=(
                    "the kernel charges in batches of 64 pages (memcg stock) and reclaims "
                    "the whole excess on return to user space"
                    if key == "high"
                    else ""
                ),
            )
        )
    return out


def _get(values: object, key: str) -> int | None:
    if isinstance(values, dict):
        value = values.get(key)
        return value if isinstance(value, int) else None
    return None


def verdict_counts(comparisons: Iterable[Comparison]) -> dict[str, int]:
    """How many quantities agree and differ."""
    out = {"agree": 0, "differ": 0}
    for c in comparisons:
        out[c.verdict] += 1
    return out
