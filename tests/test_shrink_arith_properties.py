"""Properties of the do_shrink_slab arithmetic that hold for every input of every era."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkfw.shrink_arith import (
    ARITH_VARIANTS,
    DeferralRule,
    DeltaRule,
    ScanPlan,
    SlabArith,
    batch_calls,
    next_deferred,
    plan_scan,
)

variants = st.sampled_from(list(ARITH_VARIANTS.values()))
freeables = st.integers(min_value=1, max_value=10**9)
#: caches small enough that the batch loop itself can be replayed quickly
loop_freeables = st.integers(min_value=1, max_value=10**5)
deferred = st.integers(min_value=0, max_value=10**12)
batches = st.sampled_from([0, 32, 128, 1024, 4096])
priorities = st.integers(min_value=0, max_value=12)
pages = st.integers(min_value=0, max_value=10**9)


def plan_for(
    arith: SlabArith,
    freeable: int,
    nr: int,
    seeks: int,
    batch: int,
    priority: int,
    scanned: int,
    eligible: int,
) -> ScanPlan:
    return plan_scan(
        arith,
        freeable=freeable,
        nr=nr,
        seeks=seeks,
        batch=batch,
        priority=priority,
        nr_scanned=scanned,
        nr_eligible=eligible,
    )


@settings(max_examples=300, deadline=None)
@given(variants, loop_freeables, deferred, st.integers(1, 8), batches, priorities, pages, pages)
def test_total_scan_is_bounded_and_loop_consistent(
    arith: SlabArith,
    freeable: int,
    nr: int,
    seeks: int,
    batch: int,
    priority: int,
    scanned: int,
    eligible: int,
) -> None:
    plan = plan_for(arith, freeable, nr, seeks, batch, priority, scanned, eligible)
    assert 0 <= plan.total_scan <= 2 * freeable
    assert plan.delta >= 0
    calls = list(batch_calls(plan.total_scan, freeable, plan.batch, tight=arith.tight_mem_loop))
    assert all(0 < n <= plan.batch for n in calls)
    left = plan.total_scan - sum(calls)
    assert left >= 0
    assert left < plan.batch
    if arith.tight_mem_loop:
        assert left < freeable
    put = next_deferred(arith, plan, scanned=sum(calls), left=left)
    assert put is None or put >= 0


@settings(max_examples=300, deadline=None)
@given(variants, loop_freeables, deferred, st.integers(1, 8), priorities, pages, pages)
def test_each_eras_put_back_rule(
    arith: SlabArith,
    freeable: int,
    nr: int,
    seeks: int,
    priority: int,
    scanned: int,
    eligible: int,
) -> None:
    plan = plan_for(arith, freeable, nr, seeks, 0, priority, scanned, eligible)
    calls = list(batch_calls(plan.total_scan, freeable, plan.batch, tight=arith.tight_mem_loop))
    done = sum(calls)
    left = plan.total_scan - done
    put = next_deferred(arith, plan, scanned=done, left=left) or 0
    if arith.deferral is DeferralRule.LEFTOVER:
        # work above the clamps is lost: at most what the clamped scan left over
        assert put == left
        assert put <= 2 * freeable
    elif arith.deferral is DeferralRule.UNCLAMPED:
        assert put == max(nr + plan.delta - done, 0)
    else:
        assert put == min(max(nr + plan.delta - done, 0), 2 * freeable)
        assert plan.total_scan == min((nr >> priority) + plan.delta, 2 * freeable)


@settings(max_examples=300, deadline=None)
@given(variants, freeables, st.integers(1, 8), st.integers(min_value=1, max_value=12))
def test_priority_delta_grows_as_priority_falls(
    arith: SlabArith, freeable: int, seeks: int, priority: int
) -> None:
    if arith.delta_rule is not DeltaRule.PRIORITY:
        return
    hi = plan_scan(arith, freeable=freeable, nr=0, seeks=seeks, priority=priority)
    lo = plan_scan(arith, freeable=freeable, nr=0, seeks=seeks, priority=priority - 1)
    assert lo.delta >= hi.delta
    if not arith.small_cache_floor:
        assert hi.delta == ((freeable >> priority) * 4) // seeks


@settings(max_examples=200, deadline=None)
@given(freeables, priorities)
def test_zero_seek_shrinkers_trim_half_the_cache_from_v4_20(freeable: int, priority: int) -> None:
    plan = plan_scan(ARITH_VARIANTS["v6.7"], freeable=freeable, nr=0, seeks=0, priority=priority)
    assert plan.delta == freeable // 2


@settings(max_examples=200, deadline=None)
@given(freeables, pages, pages)
def test_ratio_delta_matches_the_c_expression(freeable: int, scanned: int, eligible: int) -> None:
    arith = ARITH_VARIANTS["v3.14"]
    plan = plan_scan(
        arith, freeable=freeable, nr=0, seeks=2, nr_scanned=scanned, nr_eligible=eligible
    )
    expected = ((4 * scanned // 2) * freeable) % (1 << 64) // ((eligible + 1) % (1 << 32))
    assert plan.delta == expected
