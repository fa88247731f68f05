"""The per-shrinker scan arithmetic of every kernel era, as pure integer functions.

One :class:`SlabArith` value describes how an era's ``do_shrink_slab`` (``shrink_slab_node`` in
v3.12-v3.18) turns a shrinker's count, its deferred work and the reclaim pressure into a scan
target, how the batch loop runs, and how much unfinished work is put back into ``nr_deferred``.
The reclaim driver (:mod:`shrinkfw.vmscan`) and the trace checker (:mod:`shrinkfw.trace`) both
use these functions, so a simulated trace and a real one are judged by the same numbers.

Integers follow the kernel's C types on a 64-bit machine: ``total_scan``, ``nr`` and
``freeable`` are ``long``; the ratio-era ``delta`` is ``unsigned long long`` and is divided with
``do_div``, whose divisor is 32 bits wide; ``>>`` is applied to non-negative values.

Eras and the variants inside them (see the spec, sections 2 and 10):

=========  =====================================================================================
variant    what changes
=========  =====================================================================================
v3.12      ratio delta, leftover put-back, loop ``while total_scan >= batch``
v3.14      + "shrink all slab objects if tight on memory": loop also while
           ``total_scan >= freeable``, one short call of ``min(batch, total_scan)``
v4.10      put-back keeps the unclamped work (``next_deferred``), not only the leftover
v4.14      the loop subtracts ``sc.nr_scanned``, which the callee may lower
v4.16      priority delta ``((freeable >> priority) * 4) / seeks``
v4.19      ``SHRINK_EMPTY``; "slowly shrink slabs with a small number of objects" floor
           ``delta = max(delta, min(freeable, batch))`` (reverted for v5.0)
v4.20      zero-seek shrinkers: ``seeks == 0`` gives ``delta = freeable / 2``
v5.0       the small-cache floor reverted
v5.13      simplified deferral: ``total_scan = (nr >> priority) + delta`` capped at
           ``2 * freeable``; ``next_deferred = min(max(nr + delta - scanned, 0), 2 * freeable)``
=========  =====================================================================================

The release versions of v4.14, v4.19 (floor), v4.20 and v5.13 are marked unverified in the spec;
the arithmetic of each variant is what the kernel sources of those eras show.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

import attrs

from .shrinker import SHRINK_BATCH

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ARITH_VARIANTS",
    "DEF_PRIORITY",
    "ERA_VARIANTS",
    "DeferralRule",
    "DeltaRule",
    "Pressure",
    "ScanPlan",
    "SlabArith",
    "batch_calls",
    "c_long",
    "do_div",
    "next_deferred",
    "plan_scan",
]

_MASK64: Final = (1 << 64) - 1
_MASK32: Final = (1 << 32) - 1


def c_long(value: int) -> int:
    """Wrap ``value`` to a signed 64-bit ``long`` as two's complement arithmetic does."""
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


def do_div(dividend: int, divisor: int) -> int:
    """The kernel's ``do_div``: a 64-bit dividend divided by a 32-bit divisor.

    :raises ZeroDivisionError: when the divisor truncates to zero, where the kernel would trap.
    """
    base = divisor & _MASK32
    return (dividend & _MASK64) // base


class DeltaRule(enum.Enum):
    """How new work (``delta``) is derived from reclaim pressure."""

    #: v3.12-v4.15: ``(4 * nr_scanned / seeks) * freeable / (nr_eligible + 1)``.
    RATIO = "ratio"
    #: v4.16+: ``((freeable >> priority) * 4) / seeks``.
    PRIORITY = "priority"


class DeferralRule(enum.Enum):
    """What goes back into ``nr_deferred`` after the batch loop."""

    #: up to v4.9: only the clamped ``total_scan`` left over by the loop (deferred work above
    #: the clamps is lost).
    LEFTOVER = "leftover"
    #: v4.10-v5.12: ``max(nr + delta - scanned, 0)`` before the clamps ("set correct defer
    #: count for shrinker"); ``nr`` alone if the overflow guard fired.
    UNCLAMPED = "unclamped"
    #: v5.13+: ``min(max(nr + delta - scanned, 0), 2 * freeable)``, always added.
    SIMPLIFIED = "simplified"


@attrs.frozen(kw_only=True)
class SlabArith:
    """The ``do_shrink_slab`` arithmetic of one kernel variant.

    :ivar name: the variant, named after the first release that has it (``"v4.10"``).
    :ivar era: the spec's era tag (``"E1"`` … ``"E5"``).
    :ivar delta_rule: ratio or priority pressure.
    :ivar deferral: the put-back rule.
    :ivar tight_mem_loop: the batch loop also runs while ``total_scan >= freeable``.
    :ivar nr_scanned_feedback: the loop subtracts ``sc.nr_scanned`` rather than ``nr_to_scan``.
    :ivar shrink_empty: ``count_objects`` may return ``SHRINK_EMPTY``.
    :ivar zero_seeks: ``seeks == 0`` is special-cased to ``delta = freeable / 2``.
    :ivar small_cache_floor: ``delta = max(delta, min(freeable, batch))`` (v4.19-v4.20).
    """

    name: str
    era: str
    delta_rule: DeltaRule
    deferral: DeferralRule
    tight_mem_loop: bool = True
    nr_scanned_feedback: bool = False
    shrink_empty: bool = False
    zero_seeks: bool = False
    small_cache_floor: bool = False


@attrs.frozen(kw_only=True)
class ScanPlan:
    """The scan target of one ``do_shrink_slab`` call, as ``mm_shrink_slab_start`` reports it.

    :ivar freeable: the shrinker's count ("cache items").
    :ivar nr: work taken from ``nr_deferred`` ("objects to shrink").
    :ivar delta: new work from this call's pressure.
    :ivar total_scan: objects the batch loop will scan, after the clamps.
    :ivar unclamped: ``nr + delta`` before the clamps (``nr`` if the overflow guard fired);
        the base of the v4.10+ put-back rules.
    :ivar batch: objects per ``scan_objects`` call.
    """

    freeable: int
    nr: int
    delta: int
    total_scan: int
    unclamped: int
    batch: int


def plan_scan(
    arith: SlabArith,
    *,
    freeable: int,
    nr: int,
    seeks: int,
    batch: int = 0,
    nr_scanned: int = 0,
    nr_eligible: int = 0,
    priority: int = 0,
) -> ScanPlan:
    """Compute ``delta`` and ``total_scan`` with the era's clamps.

    Models the arithmetic before the batch loop in ``shrink_slab_node`` (linux v3.12-v3.18
    mm/vmscan.c) and ``do_shrink_slab`` (linux v3.19+ mm/vmscan.c, v6.7+ mm/shrinker.c).

    :param freeable: ``count_objects`` result, already known to be positive.
    :param nr: the value taken from ``nr_deferred`` (``xchg`` with 0).
    :param seeks: the shrinker's ``seeks``.
    :param batch: the shrinker's ``batch``; 0 means :data:`~shrinkfw.shrinker.SHRINK_BATCH`.
    :param nr_scanned: ratio eras: pages scanned (``nr_pages_scanned`` / ``nr_scanned``).
    :param nr_eligible: ratio eras: the denominator (``lru_pages`` / ``nr_eligible``).
    :param priority: priority eras: the reclaim priority, 12 (``DEF_PRIORITY``) down to 0.
    :raises ZeroDivisionError: ``seeks == 0`` where the era does not special-case it.
    """
    batch_size = batch or SHRINK_BATCH
    if arith.delta_rule is DeltaRule.RATIO:
        delta = ((4 * nr_scanned) & _MASK64) // seeks
        delta = do_div(delta * freeable, nr_eligible + 1)
    elif seeks or not arith.zero_seeks:
        delta = (((freeable >> priority) * 4) & _MASK64) // seeks
    else:
        delta = freeable // 2
    if arith.small_cache_floor:
        delta = max(delta, min(freeable, batch_size))

    if arith.deferral is DeferralRule.SIMPLIFIED:
        total_scan = min((nr >> priority) + delta, 2 * freeable)
        return ScanPlan(
            freeable=freeable,
            nr=nr,
            delta=delta,
            total_scan=total_scan,
            unclamped=nr + delta,
            batch=batch_size,
        )

    total_scan = c_long(nr + delta)
    unclamped = total_scan
    if total_scan < 0:  # the kernel logs "negative objects to delete" here
        total_scan = freeable
        unclamped = nr
    if delta < freeable // 4:
        total_scan = min(total_scan, freeable // 2)
    total_scan = min(total_scan, freeable * 2)
    return ScanPlan(
        freeable=freeable,
        nr=nr,
        delta=delta,
        total_scan=total_scan,
        unclamped=unclamped,
        batch=batch_size,
    )


def batch_calls(total_scan: int, freeable: int, batch: int, *, tight: bool) -> Iterator[int]:
    """Yield ``nr_to_scan`` of each ``scan_objects`` call the batch loop makes.

    Assumes every call scans what it was asked (``nr_scanned`` not lowered) and none returns
    ``SHRINK_STOP``; the driver runs the real loop, this is the shape the checker expects.
    """
    while total_scan >= batch or (tight and total_scan >= freeable):
        n = min(batch, total_scan)
        yield n
        total_scan -= n


def next_deferred(arith: SlabArith, plan: ScanPlan, *, scanned: int, left: int) -> int | None:
    """Work put back into ``nr_deferred`` after the loop, or ``None`` when nothing is added.

    :param scanned: objects the loop scanned (sum of ``nr_to_scan``, or of ``nr_scanned``).
    :param left: ``total_scan`` after the loop.
    :returns: the amount added with ``atomic_long_add_return``; ``None`` when the era only
        reads the slot (the end tracepoint then shows the unchanged value).
    """
    if arith.deferral is DeferralRule.LEFTOVER:
        return left if left > 0 else None
    if arith.deferral is DeferralRule.UNCLAMPED:
        put = plan.unclamped - scanned if plan.unclamped >= scanned else 0
        return put if put > 0 else None
    return min(max(plan.nr + plan.delta - scanned, 0), 2 * plan.freeable)


def _variant(
    name: str, era: str, delta: DeltaRule, deferral: DeferralRule, **kw: bool
) -> SlabArith:
    return SlabArith(name=name, era=era, delta_rule=delta, deferral=deferral, **kw)


_R, _P = DeltaRule.RATIO, DeltaRule.PRIORITY
_LEFT, _UNCL, _SIMP = DeferralRule.LEFTOVER, DeferralRule.UNCLAMPED, DeferralRule.SIMPLIFIED

#: Every arithmetic variant, oldest first, by name.
ARITH_VARIANTS: Final[dict[str, SlabArith]] = {
    a.name: a
    for a in (
        _variant("v3.12", "E1", _R, _LEFT, tight_mem_loop=False),
        _variant("v3.14", "E1", _R, _LEFT),
        _variant("v3.19", "E2", _R, _LEFT),
        _variant("v4.10", "E2", _R, _UNCL),
        _variant("v4.14", "E2", _R, _UNCL, nr_scanned_feedback=True),
        _variant("v4.16", "E3", _P, _UNCL, nr_scanned_feedback=True),
        _variant(
            "v4.19",
            "E3",
            _P,
            _UNCL,
            nr_scanned_feedback=True,
            shrink_empty=True,
            small_cache_floor=True,
        ),
        _variant(
            "v4.20",
            "E3",
            _P,
            _UNCL,
            nr_scanned_feedback=True,
            shrink_empty=True,
            zero_seeks=True,
            small_cache_floor=True,
        ),
        _variant(
            "v5.0",
            "E3",
            _P,
            _UNCL,
            nr_scanned_feedback=True,
            shrink_empty=True,
            zero_seeks=True,
        ),
        _variant(
            "v5.13",
            "E4",
            _P,
            _SIMP,
            nr_scanned_feedback=True,
            shrink_empty=True,
            zero_seeks=True,
        ),
        _variant(
            "v6.7",
            "E5",
            _P,
            _SIMP,
            nr_scanned_feedback=True,
            shrink_empty=True,
            zero_seeks=True,
        ),
    )
}

#: The variants each era tag covers.
ERA_VARIANTS: Final[dict[str, tuple[SlabArith, ...]]] = {
    era: tuple(a for a in ARITH_VARIANTS.values() if a.era == era)
    for era in ("E1", "E2", "E3", "E4", "E5")
}


#: The reclaim priority reclaim starts at (``DEF_PRIORITY``).
DEF_PRIORITY: Final = 12


@attrs.frozen(kw_only=True)
class Pressure:
    """The reclaim pressure one ``shrink_slab`` pass applies.

    Priority eras (v4.16+) read ``priority``; ratio eras read ``nr_scanned`` over
    ``nr_eligible`` (``nr_pages_scanned`` / ``lru_pages`` in v3.x). A pass carries both so
    one driver serves every profile.

    :ivar priority: 12 (``DEF_PRIORITY``) down to 0; drop_caches uses 0.
    :ivar nr_scanned: LRU pages scanned by the pass that triggered shrinking.
    :ivar nr_eligible: LRU pages eligible for reclaim (the ratio's denominator).
    """

    priority: int = DEF_PRIORITY
    nr_scanned: int = 0
    nr_eligible: int = 0

    @classmethod
    def drop_caches(cls) -> Pressure:
        """Full pressure: priority 0, ratio 1000/1000 (``drop_slab``)."""
        return cls(priority=0, nr_scanned=1000, nr_eligible=1000)
