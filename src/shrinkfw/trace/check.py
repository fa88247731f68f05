"""Check real ``mm_shrink_slab_start`` / ``_end`` lines against each era's arithmetic.

For every start line the checker recomputes ``delta`` and ``total_scan`` with
:func:`~shrinkfw.shrink_arith.plan_scan` for each candidate arithmetic variant and each
candidate ``seeks`` of the shrinker (:mod:`shrinkfw.trace.known`); the line matches an era
when some variant of it reproduces both numbers exactly. The line's layout narrows the
candidates: ``pgs_scanned``/``lru_pgs`` lines can only come from the ratio eras (E1, E2), a
line without ``nid`` only from v3.12-v3.15 (E1), ``priority`` lines from E3-E5.

Every end line is paired with the latest unpaired start line of the same task, scan function
and nid (the pointer may be hashed or ``(____ptrval____)``, so it cannot pair lines). Two
kernel facts shape the pairing:

- from v3.19 to v5.12 ``do_shrink_slab`` printed the end line with the *deferral slot's* nid,
  0 for shrinkers that are not NUMA-aware, while the start line printed ``sc->nid`` (fixed by
  "mm: vmscan: use nid from shrink_control for tracepoint", Y. Shi, v5.13). An end line with
  nid 0 and no nid-0 start therefore pairs with the latest unpaired start of the same task
  and function on any node, and only E2 and E3 can explain that pair;
- a start line whose end line never comes (ring-buffer overrun, trace cut) stays unpaired;
  a newer start of the same task, function and nid replaces it, so a later end line cannot
  pair with a stale start.

An end line without a start line (the trace began inside the call, or the start was lost)
cannot be checked: it is *ignored*, counted in ``summary.ignored`` and listed with its reason
under ``"ignored_lines"`` in the JSON, never in ``"lines"`` (whose entries are all checked).

For a paired end line and each variant that explained its start line, the checker verifies:

(a) ``unused scan count`` equals the start's ``objects to shrink`` (both print ``nr``);
(b) ``total_scan`` is what the batch loop can leave of the start's ``total_scan``: the
    remainder after the complete loop, or after any number of whole calls when a call
    returned ``SHRINK_STOP`` (see :func:`is_loop_remainder`); for a scan function that lowers
    ``sc->nr_scanned`` (v4.14+), or a shrinker whose batch changes at run time, any value
    from 0 to the start's ``total_scan``. v3.0-v3.15
    end lines print ``new - unused`` there instead, which is checked as such;
(c) ``new scan count`` is at least the put-back the era predicts
    (:func:`~shrinkfw.shrink_arith.next_deferred` with ``scanned = total_scan - left``), as
    other CPUs may add to the slot concurrently; where the era adds nothing it is only read
    (``>= 0``).

The end line matches the eras whose start verdict matched and whose end rules hold.

Notes against the spec
----------------------

- Section 9.1 says the end line prints the start's ``nid``; from v3.19 to v5.12 it printed the
  deferral slot's nid, 0 for shrinkers that are not NUMA-aware (Y. Shi's 2021 patch message
  says so and changes it).
- ``sc->nr_scanned`` (section 1.1, "~v4.14 unverified"): shrinkers lowering it make any
  remainder possible; the checker knows which ones do from :mod:`shrinkfw.trace.known`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

import attrs

from ..errors import ProfileError
from ..shrink_arith import (
    ARITH_VARIANTS,
    ERA_VARIANTS,
    DeferralRule,
    DeltaRule,
    ScanPlan,
    SlabArith,
    c_long,
    next_deferred,
    plan_scan,
)
from .known import ShrinkerFacts, ShrinkerTable
from .parse import LineFormat, ParseStats, ShrinkEnd, ShrinkEvent, ShrinkStart, parse_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "ERAS",
    "PROFILE_ALIASES",
    "CheckReport",
    "Checker",
    "LineResult",
    "Profile",
    "Summary",
    "check_events",
    "check_file",
    "is_loop_remainder",
    "loop_remainder",
    "profile_names",
    "resolve_profile",
]

#: Era tags in order.
ERAS: Final = ("E1", "E2", "E3", "E4", "E5")
#: Profile names accepted besides the era tags and the variant names.
PROFILE_ALIASES: Final[Mapping[str, str]] = {"v3.14-kmemcg-v15": "v3.14"}
#: Eras that printed the end line with the deferral slot's nid (v3.19-v5.12).
_SLOT_NID_ERAS: Final = frozenset({"E2", "E3"})
_VARIANT_ORDER: Final = {name: i for i, name in enumerate(ARITH_VARIANTS)}


@attrs.frozen(kw_only=True)
class Profile:
    """The arithmetic variants a check may use.

    :ivar name: as given on the command line.
    :ivar variants: candidate variants, oldest first.
    :ivar auto: report every era that explains a line (``--profile auto``).
    """

    name: str
    variants: tuple[SlabArith, ...]
    auto: bool = False


def _static_profiles() -> dict[str, tuple[SlabArith, ...]]:
    table: dict[str, tuple[SlabArith, ...]] = {"auto": tuple(ARITH_VARIANTS.values())}
    table.update({era: ERA_VARIANTS[era] for era in ERAS})
    table.update({name: (arith,) for name, arith in ARITH_VARIANTS.items()})
    table.update({alias: (ARITH_VARIANTS[name],) for alias, name in PROFILE_ALIASES.items()})
    return table


def _simulator_profiles() -> dict[str, tuple[SlabArith, ...]]:
    from ..profiles import PROFILES  # imported late: the checker works without the simulator

    return {name: (profile.arith,) for name, profile in PROFILES.items()}


def profile_names() -> tuple[str, ...]:
    """Every name ``--profile`` accepts: ``auto``, era tags, variants, kernel profiles."""
    table = _static_profiles()
    for name, variants in _simulator_profiles().items():
        table.setdefault(name, variants)
    return tuple(table)


def resolve_profile(name: str) -> Profile:
    """The variants behind ``auto``, an era tag, a variant name or a kernel profile name.

    A kernel profile of :mod:`shrinkfw.profiles` (``v4.9``, ...) stands for its arithmetic
    variant.

    :raises ProfileError: for an unknown name; the message lists the valid ones.
    """
    variants = _static_profiles().get(name)
    if variants is None:
        variants = _simulator_profiles().get(name)
    if variants is None:
        raise ProfileError(
            f"unknown profile {name!r}; valid profiles: {', '.join(profile_names())}"
        )
    return Profile(name=name, variants=variants, auto=name == "auto")


def loop_remainder(total_scan: int, freeable: int, batch: int, *, tight: bool) -> int:
    """``total_scan`` left when the batch loop runs to completion.

    The closed form of running :func:`~shrinkfw.shrink_arith.batch_calls` to the end (the tests
    check both agree), so a huge ``total_scan`` costs no more than a small one.
    """
    if total_scan <= 0:
        return total_scan
    rest = total_scan % batch
    if tight and rest > 0 and rest >= freeable:
        return 0
    return rest


def is_loop_remainder(
    left: int, total_scan: int, freeable: int, batch: int, *, tight: bool
) -> bool:
    """Whether the batch loop can leave ``left`` of ``total_scan``.

    True for the remainder after any number of whole calls of
    :func:`~shrinkfw.shrink_arith.batch_calls` (a call may return ``SHRINK_STOP`` and end the
    loop early), including none and the complete loop.
    """
    if left == total_scan:
        return True
    if left < 0 or left > total_scan:
        return False
    if (total_scan - left) % batch == 0:
        return True
    return left == 0 and loop_remainder(total_scan, freeable, batch, tight=tight) == 0


def _remainders_text(total: int, full: int, batch: int) -> str:
    """The remainders the loop can leave, for a message: ``1344 or 320``."""
    steps = range(total, max(full, 0), -batch) if batch > 0 and total > 0 else range(0)
    if len(steps) > 3:
        return f"{steps[0]}, {steps[1]}, ... {full}"
    values = [*steps]
    if not values or values[-1] != full:
        values.append(full)
    return " or ".join(map(str, values))


def _plan_key(arith: SlabArith) -> tuple[object, ...]:
    """The fields :func:`plan_scan` reads; variants with equal keys plan alike."""
    simplified = arith.deferral is DeferralRule.SIMPLIFIED
    return (arith.delta_rule, simplified, arith.zero_seeks, arith.small_cache_floor)


def _group(variants: Iterable[SlabArith]) -> tuple[tuple[SlabArith, ...], ...]:
    groups: dict[tuple[object, ...], list[SlabArith]] = {}
    for arith in variants:
        groups.setdefault(_plan_key(arith), []).append(arith)
    return tuple(tuple(g) for g in groups.values())


def _eras(variants: Iterable[SlabArith]) -> list[str]:
    found = {a.era for a in variants}
    return [era for era in ERAS if era in found]


def _names(variants: Iterable[SlabArith]) -> list[str]:
    return sorted({a.name for a in variants}, key=_VARIANT_ORDER.__getitem__)


def _label(arith: SlabArith, seeks: int | None = None) -> str:
    text = f"{arith.era} {arith.name}"
    return text if seeks is None else f"{text}, seeks {seeks}"


def _nid_text(nid: int | None) -> str:
    return "-" if nid is None else str(nid)


_FORMAT_TEXT: Final = {
    LineFormat.START_RATIO_NO_NID: "ratio layout without nid (v3.12-v3.15)",
    LineFormat.START_RATIO: "ratio layout, pgs_scanned/lru_pgs (v3.16-v4.15)",
    LineFormat.START_PRIORITY: "priority layout (v4.16+)",
}


@attrs.define(kw_only=True)
class LineResult:
    """The verdict on one line.

    :ivar status: ``"match"``, ``"mismatch"``, or ``"ignored"`` (an end line without its start).
    :ivar eras: eras that explain the line (for ``auto``: all of them).
    :ivar variants: the arithmetic variants that explain it.
    :ivar seeks: the ``seeks`` values that explain a start line.
    :ivar expected: what the era predicts (for a mismatch: the closest variant).
    :ivar observed: what the line says.
    :ivar reason: why it is a mismatch or ignored; notes on a match.
    :ivar pair: for an end line, the line number of its start line.
    """

    lineno: int
    event: Literal["start", "end"]
    shrinker: str
    nid: int | None
    task: str | None
    status: Literal["match", "mismatch", "ignored"]
    eras: list[str] = attrs.field(factory=list)
    variants: list[str] = attrs.field(factory=list)
    seeks: list[int] = attrs.field(factory=list)
    expected: dict[str, object] = attrs.field(factory=dict)
    observed: dict[str, object] = attrs.field(factory=dict)
    reason: str = ""
    pair: int | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON object of this line (the contract's keys first)."""
        data: dict[str, object] = {
            "lineno": self.lineno,
            "event": self.event,
            "shrinker": self.shrinker,
            "nid": self.nid,
            "status": self.status,
            "eras": self.eras,
            "expected": self.expected,
            "observed": self.observed,
            "variants": self.variants,
            "task": self.task,
        }
        if self.event == "start":
            data["seeks"] = self.seeks
        else:
            data["pair"] = self.pair
        if self.reason:
            data["reason"] = self.reason
        return data

    def describe(self) -> str:
        """One human-readable line."""
        head = f"{self.lineno:>7}  {self.event:<5}  {self.shrinker}  nid {_nid_text(self.nid)}  "
        if self.status == "match":
            text = f"{head}match     {' '.join(self.eras)}  [{' '.join(self.variants)}]"
            return f"{text}  ({self.reason})" if self.reason else text
        if self.status == "ignored":
            return f"{head}ignored   {self.reason}"
        return f"{head}MISMATCH  {self.reason}"


@attrs.define(kw_only=True)
class Summary:
    """Counts of a check.

    :ivar checked: start and end lines checked (``matched + mismatched``).
    :ivar ignored: non-empty lines not checked: comments, other events, and end lines
        without a start line.
    :ivar eras: eras that explain every checked line.
    """

    profile: str
    checked: int = 0
    matched: int = 0
    mismatched: int = 0
    ignored: int = 0
    lines_read: int = 0
    other_lines: int = 0
    unpaired_ends: int = 0
    eras: list[str] = attrs.field(factory=list)

    def to_json(self) -> dict[str, object]:
        """The JSON object of the summary (the contract's keys first)."""
        return {
            "checked": self.checked,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "ignored": self.ignored,
            "lines_read": self.lines_read,
            "other_lines": self.other_lines,
            "unpaired_ends": self.unpaired_ends,
            "eras": self.eras,
            "profile": self.profile,
        }

    def describe(self) -> str:
        """The human-readable summary line."""
        text = (
            f"{self.checked} checked: {self.matched} match, {self.mismatched} mismatch; "
            f"{self.ignored} ignored ({self.other_lines} comments or other events, "
            f"{self.unpaired_ends} end lines without a start)"
        )
        if self.checked:
            eras = " ".join(self.eras) if self.eras else "none"
            text += f"; eras explaining every line: {eras}"
        return text


@attrs.define
class _Candidate:
    arith: SlabArith
    seeks: int
    plan: ScanPlan


@attrs.define
class _Pending:
    start: ShrinkStart
    facts: ShrinkerFacts
    matches: list[_Candidate]
    closest: list[_Candidate]
    paired: bool = False


class Checker:
    """Checks events one at a time, in file order.

    :param profile: the variants to check against.
    :param table: known shrinkers and the command line's overrides.
    """

    def __init__(self, profile: Profile, table: ShrinkerTable | None = None) -> None:
        self.profile = profile
        self.table = table if table is not None else ShrinkerTable()
        variants = profile.variants
        ratio = [a for a in variants if a.delta_rule is DeltaRule.RATIO]
        self._groups: dict[LineFormat, tuple[tuple[SlabArith, ...], ...]] = {
            LineFormat.START_RATIO_NO_NID: _group(a for a in ratio if a.era == "E1"),
            LineFormat.START_RATIO: _group(ratio),
            LineFormat.START_PRIORITY: _group(
                a for a in variants if a.delta_rule is DeltaRule.PRIORITY
            ),
        }
        self._pending: dict[tuple[object, str, int | None], _Pending] = {}
        self._pending_any: dict[tuple[object, str], _Pending] = {}
        self.unpaired_ends = 0
        self.checked = 0
        self.matched = 0
        self._common: set[str] | None = None

    # -- start lines -----------------------------------------------------------------------

    def _plans(
        self, start: ShrinkStart, facts: ShrinkerFacts
    ) -> list[tuple[int, tuple[SlabArith, ...], int, ScanPlan]]:
        """Per (group of alike variants, seeks): the distance to the line, and the plan."""
        found: list[tuple[int, tuple[SlabArith, ...], int, ScanPlan]] = []
        for group in self._groups[start.line_format]:
            for seeks in facts.seeks:
                if not seeks and not group[0].zero_seeks:
                    continue  # plan_scan divides by seeks: only v4.20+ special-cases 0
                try:
                    plan = plan_scan(
                        group[0],
                        freeable=start.cache_items,
                        nr=start.objects_to_shrink,
                        seeks=seeks,
                        batch=facts.batch,
                        nr_scanned=start.pgs_scanned or 0,
                        nr_eligible=start.lru_pgs or 0,
                        priority=start.priority or 0,
                    )
                except (ZeroDivisionError, ValueError):  # seeks 0 before v4.20; bad priority
                    continue
                delta, total = plan.delta, plan.total_scan
                if delta >> 63 or total >> 63:  # printed as signed 64-bit values
                    delta, total = c_long(delta), c_long(total)
                error = abs(delta - start.delta) + abs(total - start.total_scan)
                found.append((error, group, seeks, plan))
        return found

    def _start(self, start: ShrinkStart) -> LineResult:
        facts = self.table.lookup(start.shrinker)
        observed: dict[str, object] = {
            "objects_to_shrink": start.objects_to_shrink,
            "gfp_flags": start.gfp_flags,
            "cache_items": start.cache_items,
            "delta": start.delta,
            "total_scan": start.total_scan,
        }
        if start.priority is not None:
            observed["priority"] = start.priority
        else:
            observed["pgs_scanned"] = start.pgs_scanned
            observed["lru_pgs"] = start.lru_pgs
        result = LineResult(
            lineno=start.lineno,
            event="start",
            shrinker=start.shrinker,
            nid=start.nid,
            task=start.task,
            status="mismatch",
            observed=observed,
        )
        plans = self._plans(start, facts)
        matches = [
            _Candidate(a, seeks, plan)
            for error, group, seeks, plan in plans
            if not error
            for a in group
        ]
        closest: list[_Candidate] = []
        if plans and not matches:
            _error, group, seeks, plan = min(plans, key=lambda item: item[0])
            closest = [_Candidate(a, seeks, plan) for a in group]
        pending = _Pending(start=start, facts=facts, matches=matches, closest=closest)
        task = start.pid if start.pid is not None else start.task
        self._pending[(task, start.shrinker, start.nid)] = pending
        self._pending_any[(task, start.shrinker)] = pending

        if matches:
            first = matches[0]
            result.status = "match"
            result.eras = _eras(c.arith for c in matches)
            result.variants = _names(c.arith for c in matches)
            result.seeks = sorted({c.seeks for c in matches})
            result.expected = {
                "delta": c_long(first.plan.delta),
                "total_scan": c_long(first.plan.total_scan),
            }
            return result
        if not self._groups[start.line_format]:
            names = ", ".join(a.name for a in self.profile.variants)
            result.reason = (
                f"a {_FORMAT_TEXT[start.line_format]} line cannot come from profile "
                f"{self.profile.name} ({names})"
            )
            result.expected = {"format": "priority" if start.priority is None else "ratio"}
            return result
        if not closest:
            result.reason = (
                f"seeks {', '.join(map(str, facts.seeks))} cannot compute delta in profile "
                f"{self.profile.name} (seeks 0 divides by zero before v4.20)"
            )
            return result
        best = closest[0]
        delta, total = c_long(best.plan.delta), c_long(best.plan.total_scan)
        result.expected = {
            "delta": delta,
            "total_scan": total,
            "variant": best.arith.name,
            "era": best.arith.era,
            "seeks": best.seeks,
            "batch": best.plan.batch,
        }
        wrong = []
        if delta != start.delta:
            wrong.append(f"delta {start.delta} expected {delta}")
        if total != start.total_scan:
            wrong.append(f"total_scan {start.total_scan} expected {total}")
        result.reason = f"{', '.join(wrong)} ({_label(best.arith, best.seeks)})"
        return result

    # -- end lines -------------------------------------------------------------------------

    def _find_start(self, end: ShrinkEnd) -> tuple[_Pending | None, bool]:
        task = end.pid if end.pid is not None else end.task
        pending = self._pending.pop((task, end.shrinker, end.nid), None)
        other_node = False
        if pending is None and end.nid == 0:
            candidate = self._pending_any.get((task, end.shrinker))
            if candidate is not None and not candidate.paired:
                pending, other_node = candidate, True
                self._pending.pop((task, end.shrinker, candidate.start.nid), None)
        if pending is not None:
            pending.paired = True
            if self._pending_any.get((task, end.shrinker)) is pending:
                del self._pending_any[(task, end.shrinker)]
        return pending, other_node

    def _end_rules(
        self, cand: _Candidate, pending: _Pending, end: ShrinkEnd
    ) -> tuple[list[str], dict[str, object]]:
        arith, plan, facts = cand.arith, cand.plan, pending.facts
        start = pending.start
        batch = facts.batch_size
        total = plan.total_scan
        any_left = facts.batch_varies or (facts.lowers_nr_scanned and arith.nr_scanned_feedback)
        tight = arith.tight_mem_loop
        full = loop_remainder(total, plan.freeable, batch, tight=tight)
        failures: list[str] = []
        if c_long(end.unused_scan_count) != c_long(start.objects_to_shrink):
            failures.append(
                f"unused scan count {end.unused_scan_count} expected "
                f"{start.objects_to_shrink} (objects to shrink at line {start.lineno})"
            )
        if end.line_format is LineFormat.END_NO_NID:
            left = 0 if any_left else full
            printed = c_long(end.new_scan_count - end.unused_scan_count)
            if end.total_scan != printed:
                failures.append(
                    f"total_scan {end.total_scan} expected {printed} "
                    "(v3.12-v3.15 print new - unused)"
                )
        else:
            left = end.total_scan
            if any_left:
                left_ok = 0 <= left <= total
            else:
                left_ok = is_loop_remainder(left, total, plan.freeable, batch, tight=tight)
            if not left_ok:
                how = f"0..{total}" if any_left else _remainders_text(total, full, batch)
                failures.append(
                    f"total_scan {left} is not a batch-loop remainder of {total} "
                    f"(batch {batch}: {how})"
                )
                left = full
        put = next_deferred(arith, plan, scanned=total - left, left=left)
        need = 0 if put is None else put
        if end.new_scan_count < need:
            failures.append(f"new scan count {end.new_scan_count} below the put-back {need}")
        expected: dict[str, object] = {
            "unused_scan_count": start.objects_to_shrink,
            "total_scan": full,
            "total_scan_start": total,
            "batch": batch,
            "new_scan_count_min": need,
            "variant": arith.name,
            "era": arith.era,
        }
        if any_left:
            expected["any_remainder"] = True
        return failures, expected

    def _end(self, end: ShrinkEnd) -> LineResult:
        observed: dict[str, object] = {
            "unused_scan_count": end.unused_scan_count,
            "new_scan_count": end.new_scan_count,
            "total_scan": end.total_scan,
            "last_shrinker_return_val": end.retval,
        }
        result = LineResult(
            lineno=end.lineno,
            event="end",
            shrinker=end.shrinker,
            nid=end.nid,
            task=end.task,
            status="mismatch",
            observed=observed,
        )
        pending, other_node = self._find_start(end)
        if pending is None:
            result.status = "ignored"
            result.reason = (
                "no unpaired start line of this task, function and nid before it "
                "(the trace began inside the call, or events were lost): not checked"
            )
            return result
        result.pair = pending.start.lineno
        candidates = pending.matches or pending.closest
        # one candidate per variant: every seeks that matched gives the same plan
        per_variant: dict[str, _Candidate] = {}
        for cand in candidates:
            per_variant.setdefault(cand.arith.name, cand)
        passing: list[_Candidate] = []
        verdicts: list[tuple[int, list[str], dict[str, object], _Candidate]] = []
        for cand in per_variant.values():
            if other_node and cand.arith.era not in _SLOT_NID_ERAS:
                failures = [
                    f"nid 0 after a nid {pending.start.nid} start: only E2-E3 print the slot's nid"
                ]
                expected: dict[str, object] = {"nid": pending.start.nid}
            else:
                failures, expected = self._end_rules(cand, pending, end)
            verdicts.append((len(failures), failures, expected, cand))
            if not failures and pending.matches:
                passing.append(cand)
        if passing:
            result.status = "match"
            result.eras = _eras(c.arith for c in passing)
            result.variants = _names(c.arith for c in passing)
            result.expected = next(v[2] for v in verdicts if v[3] is passing[0])
            if other_node:
                result.reason = f"start on nid {pending.start.nid}: slot nid printed"
            return result
        if not verdicts:
            result.reason = f"its start line {pending.start.lineno} could not be computed"
            return result
        _count, failures, expected, best = min(verdicts, key=lambda v: v[0])
        result.expected = expected
        reasons = list(failures)
        if not pending.matches:
            reasons.insert(0, f"its start line {pending.start.lineno} matched no era")
        result.reason = f"{'; '.join(reasons)} ({_label(best.arith)})"
        return result

    # -- driver ----------------------------------------------------------------------------

    def check(self, event: ShrinkEvent) -> LineResult:
        """The verdict on one event; events must come in file order."""
        result = self._start(event) if isinstance(event, ShrinkStart) else self._end(event)
        if result.status == "ignored":
            self.unpaired_ends += 1
            return result
        self.checked += 1
        if result.status == "match":
            self.matched += 1
        eras = set(result.eras)
        self._common = eras if self._common is None else self._common & eras
        return result

    def summary(self, stats: ParseStats) -> Summary:
        """The summary after the last event."""
        common = self._common or set()
        return Summary(
            profile=self.profile.name,
            checked=self.checked,
            matched=self.matched,
            mismatched=self.checked - self.matched,
            ignored=stats.ignored + self.unpaired_ends,
            lines_read=stats.lines,
            other_lines=stats.ignored,
            unpaired_ends=self.unpaired_ends,
            eras=[era for era in ERAS if era in common],
        )


def check_events(events: Iterable[ShrinkEvent], checker: Checker) -> Iterator[LineResult]:
    """Yield the verdict on each event (ignored end lines included)."""
    for event in events:
        yield checker.check(event)


@attrs.define(kw_only=True)
class CheckReport:
    """All verdicts of a file, for library users and tests (the CLI streams instead).

    :ivar lines: verdicts on checked lines.
    :ivar ignored_lines: end lines without a start line.
    """

    summary: Summary
    lines: list[LineResult]
    ignored_lines: list[LineResult]

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "summary": self.summary.to_json(),
            "lines": [r.to_json() for r in self.lines],
            "ignored_lines": [r.to_json() for r in self.ignored_lines],
        }


def check_file(
    path: str,
    *,
    profile: str = "auto",
    batch: Mapping[str, int] | None = None,
    seeks: Mapping[str, int] | None = None,
) -> CheckReport:
    """Check the trace at ``path`` and collect every verdict.

    :raises TraceError: the file cannot be read or an event line is malformed.
    :raises ProfileError: unknown profile.
    """
    checker = Checker(
        resolve_profile(profile), ShrinkerTable(batch=dict(batch or {}), seeks=dict(seeks or {}))
    )
    stats = ParseStats()
    lines: list[LineResult] = []
    ignored: list[LineResult] = []
    for result in check_events(parse_file(path, stats=stats), checker):
        (ignored if result.status == "ignored" else lines).append(result)
    return CheckReport(summary=checker.summary(stats), lines=lines, ignored_lines=ignored)
