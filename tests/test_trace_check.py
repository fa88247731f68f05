"""Checking trace lines against each era's do_shrink_slab arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkfw.errors import ProfileError
from shrinkfw.shrink_arith import (
    ARITH_VARIANTS,
    DeltaRule,
    SlabArith,
    batch_calls,
    c_long,
    next_deferred,
    plan_scan,
)
from shrinkfw.trace.check import (
    Checker,
    CheckReport,
    LineResult,
    check_file,
    is_loop_remainder,
    loop_remainder,
    resolve_profile,
)
from shrinkfw.trace.format import format_end, format_start
from shrinkfw.trace.known import KNOWN_SHRINKERS, ShrinkerTable
from shrinkfw.trace.parse import LineFormat, ShrinkStart, iter_events

DATA = Path(__file__).parent / "data" / "ftrace"
TRACE_49 = str(DATA / "kswapd-4.9-lru-zero.trace")
TRACE_54 = str(DATA / "kswapd-5.4-xfs-server.trace")
TRACE_61 = str(DATA / "linux-6.1-memcg-max-negative-dentries.trace")
SYNTHETIC = str(DATA / "synthetic-eras.trace")
ALTERED = str(DATA / "altered-5.4.trace")


def by_line(report: CheckReport) -> dict[int, LineResult]:
    return {r.lineno: r for r in [*report.lines, *report.ignored_lines]}


# -- the sample traces -----------------------------------------------------------------------


def test_49_matches_the_ratio_eras() -> None:
    # delta = (4 * 32 / 2) * freeable / (0 + 1): 64 * 20 = 1280 and 64 * 1 = 64; total_scan is
    # capped at 2 * freeable (40, 2) after nr + delta overflows nothing.
    report = check_file(TRACE_49)
    assert [(r.lineno, r.status, r.eras) for r in report.lines] == [
        (4, "match", ["E1", "E2"]),
        (5, "match", ["E1", "E2"]),
        (6, "match", ["E1", "E2"]),
    ]
    assert report.lines[0].variants == ["v3.12", "v3.14", "v3.19", "v4.10", "v4.14"]
    assert report.lines[0].seeks == [2]  # scan_shadow_nodes had DEFAULT_SEEKS before v4.20
    s = report.summary
    assert (s.checked, s.matched, s.mismatched, s.ignored, s.eras) == (3, 3, 0, 3, ["E1", "E2"])


def test_54_matches_e3_only() -> None:
    # start 1: delta = (1065515 >> 12) * 4 / 2 = 520; E3 total = 824 + 520 = 1344 (E4 would
    # give (824 >> 12) + 520 = 520). One batch of 1024 leaves 320; v4.10 put-back
    # 1344 - 1024 = 320 = new scan count. start 2: 726 + 1038 = 1764, left 740 = new.
    report = check_file(TRACE_54)
    assert [(r.lineno, r.event, r.status, r.eras) for r in report.lines] == [
        (5, "start", "match", ["E3"]),
        (6, "end", "match", ["E3"]),
        (7, "start", "match", ["E3"]),
        (8, "end", "match", ["E3"]),
    ]
    lines = by_line(report)
    # v4.19/v4.20 floor delta to min(freeable, batch) = 1024 at priority 12: not 520
    assert lines[5].variants == ["v4.16", "v5.0"]
    assert lines[7].variants == ["v4.16", "v4.19", "v4.20", "v5.0"]
    assert lines[6].pair == 5
    assert lines[6].expected["new_scan_count_min"] == 320
    assert lines[8].expected["total_scan"] == 740
    assert report.summary.eras == ["E3"]
    assert report.summary.ignored == 5  # 3 comments, kswapd wake and sleep


def test_61_matches_e4_and_e5() -> None:
    report = check_file(TRACE_61)
    assert report.summary.checked == 48
    assert report.summary.mismatched == 0
    assert report.summary.eras == ["E4", "E5"]
    for result in report.lines:
        if result.lineno in (9, 10):
            # nr = 0 at the first call: E3's nr + delta and E4's (nr >> 12) + delta agree
            assert result.eras == ["E3", "E4", "E5"]
        else:
            assert result.eras == ["E4", "E5"], result.lineno
    lines = by_line(report)
    # priority 1: (2110 >> 1) + 6608 = 7663; 7 calls of 1024 leave 495;
    # next_deferred = min(2110 + 6608 - 7168, 2 * 6609) = 1550
    assert lines[32].expected["new_scan_count_min"] == 1550
    assert lines[32].observed["total_scan"] == 495


# -- synthetic lines of every layout -----------------------------------------------------------


def test_synthetic_eras() -> None:
    report = check_file(SYNTHETIC)
    assert report.summary.mismatched == 0
    assert report.ignored_lines == []
    lines = by_line(report)
    # v3.12-v3.15 layout: 126 + 6 = 132, one call of 128 leaves 4, new = 4; the end line prints
    # new - unused = -122. Only E1 printed lines without nid.
    assert (lines[7].eras, lines[8].eras) == (["E1"], ["E1"])
    assert lines[10].eras == ["E1"]
    # windup: total 500, 3 calls leave 116. new 116 is the leftover put-back (<= v4.9); the
    # v4.10 rule puts back 5010 - 384 = 4626
    assert lines[14].variants == ["v3.12", "v3.14", "v3.19"]
    assert lines[14].expected["new_scan_count_min"] == 116
    assert lines[16].variants == ["v3.12", "v3.14", "v3.19", "v4.10", "v4.14"]
    # zero-seek superblock: freeable 3 -> delta 3 / 2 = 1 (v4.20's small-cache floor gives 3)
    assert lines[18].seeks == [0]
    assert lines[18].variants == ["v5.0", "v5.13", "v6.7"]
    # non-NUMA-aware shrinker: start nid 1, end nid 0 -> paired, E3 only
    assert lines[22].pair == 21
    assert lines[22].eras == ["E3"]
    assert "nid 1" in lines[22].reason
    # i915 lowers nr_scanned: 123457 is no multiple-of-4096 remainder but is accepted
    assert lines[25].status == "match"
    assert lines[25].expected["any_remainder"] is True


# -- altered lines must be flagged -------------------------------------------------------------


def test_altered_lines_are_flagged() -> None:
    report = check_file(ALTERED)
    lines = by_line(report)
    assert lines[4].status == "mismatch"
    assert lines[4].reason == "delta 521 expected 520 (E3 v4.16, seeks 2)"
    assert lines[4].expected["delta"] == 520
    assert lines[4].observed["delta"] == 521
    assert lines[5].status == "mismatch"
    assert "start line 4 matched no era" in lines[5].reason
    assert lines[7].reason == "total_scan 1765 expected 1764 (E3 v4.16, seeks 2)"
    assert lines[9].status == "match"
    assert lines[10].status == "mismatch"
    assert "total_scan 321 is not a batch-loop remainder of 1344" in lines[10].reason
    assert "1344 or 320" in lines[10].reason
    assert lines[13].status == "mismatch"
    assert "new scan count 319 below the put-back 320" in lines[13].reason
    assert lines[16].status == "mismatch"
    assert "unused scan count 825 expected 824" in lines[16].reason
    # SHRINK_STOP at the first call: nothing scanned, the whole 1344 is put back
    assert (lines[18].status, lines[19].status) == ("match", "match")
    assert lines[21].status == "ignored"
    assert lines[23].reason == "delta 1281 expected 1280 (E1 v3.12, seeks 2)"
    s = report.summary
    assert (s.checked, s.matched, s.mismatched, s.unpaired_ends) == (12, 5, 7, 1)
    assert s.ignored == 10 + 1


def test_off_by_one_in_every_checked_field() -> None:
    """Every number the rules use, moved by one, flips a good 6.1 pair to mismatch."""
    lines = Path(TRACE_61).read_text().splitlines()
    start, end = lines[30], lines[31]  # priority 1 pair (lines 31, 32)
    good = check_lines([start, end])
    assert [r.status for r in good] == ["match", "match"]
    for old, new, which in [
        ("delta 6608", "delta 6607", 0),
        ("total_scan 7663", "total_scan 7664", 0),
        ("objects to shrink 2110", "objects to shrink 2111", 0),
        ("cache items 6609", "cache items 6610", 0),
        ("priority 1", "priority 2", 0),
        ("unused scan count 2110", "unused scan count 2109", 1),
        ("new scan count 1550", "new scan count 1549", 1),
        ("total_scan 495", "total_scan 496", 1),
        ("total_scan 495", "total_scan 494", 1),
    ]:
        pair = [start, end]
        assert old in pair[which]
        pair[which] = pair[which].replace(old, new)
        results = check_lines(pair)
        assert "mismatch" in [r.status for r in results], (old, new)


def check_lines(
    lines: list[str], profile: str = "auto", **table: dict[str, int]
) -> list[LineResult]:
    checker = Checker(resolve_profile(profile), ShrinkerTable(**table))
    return [checker.check(e) for e in iter_events(lines)]


# -- profiles and overrides --------------------------------------------------------------------


def test_profile_era_checks_only_that_era() -> None:
    report = check_file(TRACE_61, profile="E3")
    statuses = {r.lineno: r.status for r in report.lines}
    assert statuses[9] == statuses[10] == "match"
    assert statuses[11] == "mismatch"
    assert report.summary.mismatched == 46
    line11 = by_line(report)[11]
    # E3 adds all of nr: 10 + 20 = 30
    assert line11.reason == "total_scan 20 expected 30 (E3 v4.16, seeks 2)"
    assert line11.expected["era"] == "E3"
    assert check_file(TRACE_54, profile="E4").summary.mismatched == 4


def test_profile_variant_and_aliases() -> None:
    report = check_file(TRACE_61, profile="v6.7")
    assert report.summary.mismatched == 0
    assert {tuple(r.variants) for r in report.lines} == {("v6.7",)}
    assert {tuple(r.eras) for r in report.lines} == {("E5",)}
    seed = check_file(TRACE_49, profile="v3.14-kmemcg-v15")
    assert seed.summary.mismatched == 0
    assert seed.lines[0].variants == ["v3.14"]


def test_ratio_lines_against_a_priority_profile() -> None:
    report = check_file(TRACE_49, profile="E3")
    assert report.summary.mismatched == 3
    assert "cannot come from profile E3" in report.lines[0].reason
    nonid = check_file(SYNTHETIC, profile="E2")
    assert "without nid (v3.12-v3.15)" in by_line(nonid)[7].reason


def test_unknown_profile_lists_the_valid_names() -> None:
    with pytest.raises(ProfileError) as info:
        resolve_profile("E9")
    message = str(info.value)
    for name in ("auto", "E1", "E5", "v3.12", "v4.16", "v6.7", "v3.14-kmemcg-v15"):
        assert name in message


def test_seeks_override_pins_one_value() -> None:
    report = check_file(TRACE_61, seeks={"super_cache_scan": 0})
    # seeks 0 gives delta = freeable / 2 = 10472, not 10
    assert report.lines[0].status == "mismatch"
    assert report.lines[0].expected["seeks"] == 0
    assert report.lines[0].expected["delta"] == 20945 // 2


def test_batch_override() -> None:
    # 1344 - 320 = 1024 = 8 * 128: batch 128 stopping early (SHRINK_STOP) can leave 320 too
    assert check_file(TRACE_54, batch={"super_cache_scan": 128}).summary.mismatched == 0
    report = check_file(TRACE_54, batch={"super_cache_scan": 100})
    assert [r.status for r in report.lines] == ["match", "mismatch", "match", "mismatch"]
    assert "batch 100" in report.lines[1].reason


def test_unknown_function_defaults() -> None:
    table = ShrinkerTable()
    facts = table.lookup("no_such_scan")
    assert (facts.batch, facts.batch_size, facts.seeks, facts.known) == (0, 128, (2,), False)
    pinned = ShrinkerTable(batch={"no_such_scan": 64}, seeks={"super_cache_scan": 2})
    assert pinned.lookup("no_such_scan").batch_size == 64
    assert pinned.lookup("super_cache_scan").seeks == (2,)
    assert pinned.lookup("super_cache_scan").batch == 1024
    assert KNOWN_SHRINKERS["super_cache_scan"].seeks == (2, 0)


# -- pairing -----------------------------------------------------------------------------------

START = (
    "{task} [000] .... 1.0: mm_shrink_slab_start: super_cache_scan+0x0/0x1f0 (____ptrval____): "
    "nid: {nid} objects to shrink 0 gfp_flags GFP_KERNEL cache items 20945 delta 10 "
    "total_scan 10 priority 12"
)
END = (
    "{task} [000] .... 1.0: mm_shrink_slab_end: super_cache_scan+0x0/0x1f0 (____ptrval____): "
    "nid: {nid} unused scan count 0 new scan count {new} total_scan 10 last shrinker return val 0"
)


def test_pairing_by_task_function_and_nid() -> None:
    lines = [
        START.format(task="a-1", nid=0),
        START.format(task="b-2", nid=0),
        START.format(task="a-1", nid=1),
        END.format(task="b-2", nid=0, new=10),
        END.format(task="a-1", nid=1, new=10),
        END.format(task="a-1", nid=0, new=10),
        END.format(task="a-1", nid=0, new=10),  # its start was already paired
    ]
    results = check_lines(lines)
    assert [(r.lineno, r.status, r.pair) for r in results if r.event == "end"] == [
        (4, "match", 2),
        (5, "match", 3),
        (6, "match", 1),
        (7, "ignored", None),
    ]


def test_a_newer_start_replaces_an_unpaired_one() -> None:
    lines = [
        START.format(task="a-1", nid=0),  # its end line was lost
        START.format(task="a-1", nid=0),
        END.format(task="a-1", nid=0, new=10),
        END.format(task="a-1", nid=0, new=10),
    ]
    results = check_lines(lines)
    assert [(r.status, r.pair) for r in results[2:]] == [("match", 2), ("ignored", None)]


def test_other_node_end_is_e2_e3_only() -> None:
    lines = [START.format(task="a-1", nid=1), END.format(task="a-1", nid=0, new=10)]
    results = check_lines(lines, profile="E4")
    assert results[1].status == "mismatch"
    assert "only E2-E3" in results[1].reason
    auto = check_lines(lines)
    assert auto[1].eras == ["E3"]


def test_end_with_nid_other_than_zero_does_not_pair_across_nodes() -> None:
    lines = [START.format(task="a-1", nid=0), END.format(task="a-1", nid=1, new=10)]
    assert check_lines(lines)[1].status == "ignored"


# -- the batch loop remainders agree with shrink_arith.batch_calls -----------------------------


@given(
    total=st.integers(min_value=0, max_value=5000),
    freeable=st.integers(min_value=1, max_value=3000),
    batch=st.integers(min_value=1, max_value=1100),
    tight=st.booleans(),
)
def test_loop_remainders_match_batch_calls(
    total: int, freeable: int, batch: int, tight: bool
) -> None:
    left = total
    reachable = {left}
    for n in batch_calls(total, freeable, batch, tight=tight):
        left -= n
        reachable.add(left)
    assert loop_remainder(total, freeable, batch, tight=tight) == left
    for candidate in range(-1, total + 2):
        assert is_loop_remainder(candidate, total, freeable, batch, tight=tight) == (
            candidate in reachable
        ), candidate


# -- the checker finds exactly the variants that reproduce a line ------------------------------

PRIORITY_VARIANTS = [a for a in ARITH_VARIANTS.values() if a.delta_rule is DeltaRule.PRIORITY]
RATIO_VARIANTS = [a for a in ARITH_VARIANTS.values() if a.delta_rule is DeltaRule.RATIO]


def brute_force(arith: SlabArith, start: ShrinkStart, seeks: tuple[int, ...], batch: int) -> bool:
    for s in seeks:
        try:
            plan = plan_scan(
                arith,
                freeable=start.cache_items,
                nr=start.objects_to_shrink,
                seeks=s,
                batch=batch,
                nr_scanned=start.pgs_scanned or 0,
                nr_eligible=start.lru_pgs or 0,
                priority=start.priority or 0,
            )
        except ZeroDivisionError:
            continue
        if (c_long(plan.delta), c_long(plan.total_scan)) == (start.delta, start.total_scan):
            return True
    return False


@settings(max_examples=300)
@given(
    source=st.sampled_from(PRIORITY_VARIANTS + RATIO_VARIANTS),
    freeable=st.integers(min_value=1, max_value=10**7),
    nr=st.integers(min_value=0, max_value=10**8),
    priority=st.integers(min_value=0, max_value=12),
    pages=st.integers(min_value=0, max_value=10**6),
    seeks=st.sampled_from([0, 2]),
    function=st.sampled_from(["super_cache_scan", "scan_shadow_nodes", "ext4_es_scan"]),
)
def test_checker_agrees_with_brute_force(
    source: SlabArith,
    freeable: int,
    nr: int,
    priority: int,
    pages: int,
    seeks: int,
    function: str,
) -> None:
    facts = ShrinkerTable().lookup(function)
    if seeks not in facts.seeks or (seeks == 0 and not source.zero_seeks):
        seeks = facts.seeks[0]
    ratio = source.delta_rule is DeltaRule.RATIO
    plan = plan_scan(
        source,
        freeable=freeable,
        nr=nr,
        seeks=seeks,
        batch=facts.batch,
        nr_scanned=32,
        nr_eligible=pages,
        priority=priority,
    )
    line = format_start(
        shrinker=function,
        nid=0,
        objects_to_shrink=nr,
        gfp_flags="GFP_KERNEL",
        cache_items=freeable,
        delta=c_long(plan.delta),
        total_scan=c_long(plan.total_scan),
        pgs_scanned=32,
        lru_pgs=pages,
        priority=priority,
        style="ratio" if ratio else "priority",
    )
    (result,) = check_lines([line])
    (start,) = iter_events([line])
    assert isinstance(start, ShrinkStart)
    family = RATIO_VARIANTS if ratio else PRIORITY_VARIANTS
    expected = [a.name for a in family if brute_force(a, start, facts.seeks, facts.batch)]
    assert source.name in expected
    assert result.variants == expected


# -- round trip: simulate with shrink_arith, format, parse, check -----------------------------


def simulate(arith: SlabArith, function: str, calls: int, *, stop_at: int | None) -> list[str]:
    """Lines of ``calls`` do_shrink_slab calls on one shrinker, in ``arith``'s layout."""
    facts = ShrinkerTable().lookup(function)
    style = {"E1": "ratio-no-nid", "E2": "ratio"}.get(arith.era, "priority")
    seeks = 0 if arith.zero_seeks and 0 in facts.seeks else facts.seeks[0]
    slot = 0
    freeable = 50_000
    lines: list[str] = []
    for i in range(calls):
        priority = 12 - i % 13
        nr, slot = slot, 0
        plan = plan_scan(
            arith,
            freeable=freeable,
            nr=nr,
            seeks=seeks,
            batch=facts.batch,
            nr_scanned=32 * (i + 1),
            nr_eligible=200_000,
            priority=priority,
        )
        left = plan.total_scan
        for k, n in enumerate(
            batch_calls(plan.total_scan, freeable, facts.batch_size, tight=arith.tight_mem_loop)
        ):
            if stop_at is not None and k == stop_at:
                break  # scan_objects returned SHRINK_STOP
            left -= n
        put = next_deferred(arith, plan, scanned=plan.total_scan - left, left=left)
        slot += put or 0
        common = {"shrinker": function, "nid": 0, "style": style, "timestamp": i / 10}
        lines.append(
            format_start(
                objects_to_shrink=nr,
                gfp_flags="GFP_KERNEL",
                cache_items=freeable,
                delta=c_long(plan.delta),
                total_scan=c_long(plan.total_scan),
                pgs_scanned=32 * (i + 1),
                lru_pgs=200_000,
                priority=priority,
                **common,  # type: ignore[arg-type]
            )
        )
        lines.append(
            format_end(
                unused_scan_count=nr,
                new_scan_count=slot,
                total_scan=left,
                retval=(plan.total_scan - left) // 2,
                **common,  # type: ignore[arg-type]
            )
        )
        freeable -= (plan.total_scan - left) // 4
    return lines


@pytest.mark.parametrize("arith", list(ARITH_VARIANTS.values()), ids=list(ARITH_VARIANTS))
@pytest.mark.parametrize("function", ["super_cache_scan", "ext4_es_scan"])
@pytest.mark.parametrize("stop_at", [None, 1])
def test_round_trip(arith: SlabArith, function: str, stop_at: int | None, tmp_path: Path) -> None:
    path = tmp_path / "ftrace.txt"
    path.write_text("\n".join(simulate(arith, function, 26, stop_at=stop_at)) + "\n")
    exact = check_file(str(path), profile=arith.name)
    assert exact.summary.mismatched == 0, [r.reason for r in exact.lines if r.reason]
    assert exact.summary.checked == 52
    auto = check_file(str(path))
    assert auto.summary.mismatched == 0
    assert all(arith.era in r.eras for r in auto.lines)
    assert arith.era in auto.summary.eras


def test_end_rules_use_each_variants_put_back() -> None:
    # the same pair, under the leftover rule and under v4.10's rule (spec scenario 2)
    lines = Path(SYNTHETIC).read_text().splitlines()
    pair = [line for line in lines if "trace-cmd-302" in line]
    leftover = check_lines(pair, profile="v3.19")
    assert [r.status for r in leftover] == ["match", "match"]
    unclamped = check_lines(pair, profile="v4.10")
    assert unclamped[1].status == "mismatch"
    assert "new scan count 116 below the put-back 4626" in unclamped[1].reason


def test_no_nid_end_checks_new_minus_unused() -> None:
    lines = Path(SYNTHETIC).read_text().splitlines()
    pair = [line for line in lines if "cc1-301" in line]
    assert [r.status for r in check_lines(pair)] == ["match", "match"]
    pair[1] = pair[1].replace("total_scan -122", "total_scan 4")
    result = check_lines(pair)[1]
    assert result.status == "mismatch"
    assert "total_scan 4 expected -122" in result.reason


def test_every_layout_is_covered() -> None:
    seen = {e.line_format for e in iter_events(Path(SYNTHETIC).read_text().splitlines())}
    assert seen == set(LineFormat)


def test_every_variant_explains_some_sample_or_synthetic_line() -> None:
    explained: set[str] = set()
    for path in (TRACE_49, TRACE_54, TRACE_61, SYNTHETIC):
        for r in check_file(path).lines:
            explained.update(r.variants)
    assert explained == set(ARITH_VARIANTS)
