"""The page side of reclaim: scan targets, page fates, early stop, eras, conservation."""

from __future__ import annotations

import time

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkfw.errors import UsageError
from shrinkfw.lruvec import (
    LRU_POLICIES,
    LRU_V3_14,
    LRU_V6_7,
    SWAP_CLUSTER_MAX,
    EarlyStop,
    LruKind,
    LruList,
    LruPolicy,
    LruScanControl,
    Lruvec,
    PageState,
    ScanBalance,
    _proportional,
    get_scan_count,
    inactive_is_low,
    shrink_lruvec,
)

IA, AA, IF, AF = LruList
POLICIES = (LRU_V3_14, LRU_V6_7)
BIG = 10**12
GB = 1 << 18  # pages


def file_lruvec(policy: LruPolicy, n: int) -> Lruvec:
    v = Lruvec(policy)
    v.add(LruKind.FILE, n)
    return v


# -- lists and placement ------------------------------------------------------------------------


def test_lru_list_order_is_the_kernels() -> None:
    assert [int(x) for x in (IA, AA, IF, AF)] == [0, 1, 2, 3]
    assert [x.is_file for x in LruList] == [False, False, True, True]
    assert [x.is_active for x in LruList] == [False, True, False, True]
    assert LruKind.FILE.inactive is IF
    assert LruKind.ANON.active is AA
    assert set(LRU_POLICIES) == {"v3.14", "v6.7"}


@pytest.mark.parametrize(("policy", "anon_list"), [(LRU_V3_14, AA), (LRU_V6_7, IA)])
def test_new_pages_go_where_the_era_puts_them(policy: LruPolicy, anon_list: LruList) -> None:
    v = Lruvec(policy)
    assert v.add(LruKind.ANON, 10) is anon_list
    assert v.add(LruKind.FILE, 20) is IF
    assert v.add(AF, 5) is AF
    assert v.size(anon_list) == 10
    assert v.size(IF) == 20
    assert v.size(AF) == 5
    assert v.nr_pages == 35
    assert v.anon_pages == 10
    assert v.file_pages == 25


def test_dirty_anon_and_negative_counts_are_refused() -> None:
    v = Lruvec()
    with pytest.raises(UsageError):
        v.add(LruKind.ANON, 1, dirty=True)
    with pytest.raises(UsageError):
        v.add(LruKind.FILE, -1)
    with pytest.raises(UsageError):
        LruScanControl(priority=13)
    with pytest.raises(UsageError):
        LruScanControl(swappiness=201)


def test_reclaimable_counts_anon_only_with_swap() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(LruKind.ANON, 300)
    v.add(LruKind.FILE, 700)
    assert v.reclaimable(True) == 1000
    assert v.reclaimable(False) == 700


def test_remove_takes_inactive_first_then_active() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IF, 10)
    v.add(AF, 10)
    assert v.remove(LruKind.FILE, 15) == {IF: 10, AF: 5}
    assert v.remove(LruKind.FILE, 100) == {IF: 0, AF: 5}
    assert v.nr_pages == 0
    assert v.nr_removed == 20


# -- mark_page_accessed ---------------------------------------------------------------------


def test_second_touch_activates_inactive_file_pages() -> None:
    v = file_lruvec(LRU_V6_7, 1000)
    assert v.touch(LruKind.FILE, 1000) == 0
    assert v.nr_referenced(IF) == 1000
    assert v.touch(LruKind.FILE, 1000) == 1000
    assert v.size(IF) == 0
    assert v.size(AF) == 1000
    assert v.nr_referenced(AF) == 0
    assert v.pgactivate == 1000
    v.touch(LruKind.FILE, 1000)
    assert v.size(AF) == 1000
    assert v.nr_referenced(AF) == 1000


def test_touching_anon_sets_the_young_bit_only() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(LruKind.ANON, 100)
    assert v.touch(LruKind.ANON, 100) == 0
    assert v.touch(LruKind.ANON, 100) == 0
    assert v.nr_referenced(IA) == 100
    assert v.size(AA) == 0


# -- get_scan_count -----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_priority_12_scans_size_shifted_and_reclaims_it(policy: LruPolicy) -> None:
    v = file_lruvec(policy, 100_000)
    r = shrink_lruvec(v, LruScanControl(priority=12))
    assert r.targets == (0, 0, 100_000 >> 12, 0) == (0, 0, 24, 0)
    assert r.nr_scanned == 24
    assert r.nr_reclaimed == r.reclaimed_file == 24
    assert r.balance is ScanBalance.FILE
    assert r.lru_pages == 100_000
    assert v.size(IF) == 100_000 - 24


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("priority", range(13))
def test_scan_target_is_size_shifted_by_priority(policy: LruPolicy, priority: int) -> None:
    v = file_lruvec(policy, 1_000_003)
    sc = LruScanControl(priority=priority, nr_to_reclaim=BIG, is_kswapd=True)
    assert get_scan_count(v, sc).nr[IF] == 1_000_003 >> priority
    assert shrink_lruvec(v, sc).nr_reclaimed == 1_000_003 >> priority


@pytest.mark.parametrize("policy", POLICIES)
def test_priority_0_scans_everything(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IF, 50_000)
    v.add(IA, 30_000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.balance is ScanBalance.EQUAL
    assert r.scanned[IF] == 50_000
    assert r.scanned[IA] == 30_000
    assert r.reclaimed_file == 50_000
    assert r.reclaimed_anon == 30_000
    assert v.nr_pages == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_no_swap_means_anon_is_never_scanned(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IA, 500_000)
    v.add(AA, 500_000)
    v.add(IF, 1000)
    for priority in range(12, -1, -1):
        sc = LruScanControl(priority=priority, may_swap=False, nr_to_reclaim=BIG)
        r = shrink_lruvec(v, sc)
        assert r.balance is ScanBalance.FILE
        assert r.targets[IA] == r.targets[AA] == 0
        assert r.scanned[IA] == r.scanned[AA] == 0
        assert r.reclaimed_anon == 0
        assert r.lru_pages == v.file_pages + r.reclaimed_file
    assert v.anon_pages == 1_000_000
    assert v.file_pages == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_limit_reclaim_with_swappiness_0_is_file_only(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IA, 100_000)
    v.add(IF, 100_000)
    sc = LruScanControl(priority=3, swappiness=0, cgroup_reclaim=True)
    assert get_scan_count(v, sc).balance is ScanBalance.FILE


def test_tiny_targets_v3_14_limit_reclaim_forces_a_batch() -> None:
    v = file_lruvec(LRU_V3_14, 100)
    sc = LruScanControl(priority=12, cgroup_reclaim=True)
    assert get_scan_count(v, sc).nr[IF] == SWAP_CLUSTER_MAX
    assert get_scan_count(v, LruScanControl(priority=12)).nr[IF] == 0
    assert shrink_lruvec(v, sc).nr_reclaimed == 32


def test_tiny_targets_modern_forces_only_offline_memcgs() -> None:
    v = file_lruvec(LRU_V6_7, 100)
    online = LruScanControl(priority=12, cgroup_reclaim=True, may_swap=False)
    assert get_scan_count(v, online).nr[IF] == 0
    offline = attrs.evolve(online, memcg_online=False)
    assert get_scan_count(v, offline).nr[IF] == 32
    # under SCAN_FRACT the forced batch is scaled, rounding up for offline memcgs
    fract = attrs.evolve(offline, may_swap=True)
    plan = get_scan_count(v, fract)
    assert plan.balance is ScanBalance.FRACT
    assert plan.nr[IF] == -(-32 * 140 // 200) == 23
    small = file_lruvec(LRU_V6_7, 5)
    assert get_scan_count(small, offline).nr[IF] == 5


def test_fract_balance_by_swappiness_and_cost() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IA, 1 << 20)
    v.add(IF, 1 << 20)
    sc = LruScanControl(priority=4, swappiness=100, force_deactivate=True)
    plan = get_scan_count(v, sc)
    assert plan.balance is ScanBalance.FRACT
    # no cost history: ap = fp = 100, denominator 200 (v5.8+ has no +1)
    assert plan.nr == (1 << 15, 0, 1 << 15, 0)
    assert plan.lru_pages == 1 << 21
    v.file_cost = 1000
    plan = get_scan_count(v, sc)
    # total 1000: anon' = 1000, file' = 2000, total' = 3000 -> ap 299, fp 149
    assert plan.nr[IA] == (1 << 16) * 299 // 448
    assert plan.nr[IF] == (1 << 16) * 149 // 448


def test_v3_14_fract_uses_recent_rotated() -> None:
    v = Lruvec(LRU_V3_14)
    v.add(IA, 1 << 20)
    v.add(IF, 1000)
    v.add(AF, 2000)  # inactive file is low: no SCAN_FILE shortcut
    v.recent_scanned[:] = [100, 100]
    v.recent_rotated[:] = [99, 0]
    plan = get_scan_count(v, LruScanControl(priority=2))
    # ap = 60 * 101 // 100 = 60, fp = 140 * 101 // 1 = 14140, denominator 14201
    assert plan.balance is ScanBalance.FRACT
    assert plan.nr[IA] == (1 << 18) * 60 // 14201
    assert plan.nr[IF] == 250 * 14140 // 14201
    # the file history exceeds a quarter of the file pages: halved first
    v.recent_scanned[:] = [100, 1000]
    v.recent_rotated[:] = [0, 10]
    get_scan_count(v, LruScanControl(priority=2))
    assert v.recent_scanned == [100, 500]
    assert v.recent_rotated == [0, 5]


# -- inactive_is_low -----------------------------------------------------------------------------


def test_inactive_ratio_rules() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IF, 100)
    v.add(AF, 101)
    assert inactive_is_low(v, True)
    v.add(IF, 1)
    assert not inactive_is_low(v, True)
    big = Lruvec(LRU_V6_7)
    big.add(IF, GB)
    big.add(AF, 10 * GB)  # 11 GB: ratio int_sqrt(110) = 10
    assert not inactive_is_low(big, True)
    big.add(AF, 1)
    assert inactive_is_low(big, True)
    old = Lruvec(LRU_V3_14)
    old.add(IF, GB)
    old.add(AF, GB + 1)
    assert inactive_is_low(old, True)
    old.add(IA, GB)
    old.add(AA, 3 * GB)  # 4 GB of anon: ratio int_sqrt(40) = 6
    assert not inactive_is_low(old, False)
    small = Lruvec(LRU_V3_14)
    small.add(IA, 1000)
    small.add(AA, 1001)  # under 1 GB: ratio 1
    assert inactive_is_low(small, False)
    assert not inactive_is_low(small, True)


def test_active_list_deactivated_only_when_inactive_is_low() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IF, 10_000)
    v.add(AF, 10_000)
    v.touch(LruKind.FILE, 20_000)  # active pages referenced: still deactivated (no VM_EXEC)
    sc = LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True)
    r = shrink_lruvec(v, sc)
    assert r.nr_deactivated == 0
    assert v.size(AF) == 10_000 + r.nr_activated
    v2 = Lruvec(LRU_V6_7)
    v2.add(IF, 1000)
    v2.add(AF, 9000)
    v2.touch(LruKind.FILE, 10_000)
    sc2 = LruScanControl(priority=3, is_kswapd=True, nr_to_reclaim=BIG, may_swap=False)
    r2 = shrink_lruvec(v2, sc2)
    assert r2.nr_deactivated == 9000 >> 3 == r2.pgrefill == v2.pgdeactivate
    assert r2.reclaimed_file == 1000 >> 3  # referenced once, clean: reclaimed
    # PG_referenced survives deactivation (shrink_active_list only clears PTE young bits)
    assert v2.nr_referenced(IF) == 1000 - 125 + 1125


# -- page fates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_dirty_pages_are_not_reclaimed_without_may_writepage(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IF, 4096, dirty=True)
    sc = LruScanControl(priority=0, may_writepage=False, nr_to_reclaim=BIG, is_kswapd=True)
    r = shrink_lruvec(v, sc)
    assert r.nr_reclaimed == 0
    assert r.nr_writeback_started == 0
    assert v.nr_dirty == 4096
    assert v.file_pages == 4096
    assert r.pgscan == 4096
    if policy is LRU_V3_14:  # ISOLATE_CLEAN: skipped, not taken, not counted
        assert r.nr_scanned == 0
        assert v.size(IF) == 4096
    else:  # taken, marked PG_reclaim and moved out of the way
        assert r.nr_scanned == 4096
        assert r.nr_activated == 4096
        assert r.nr_dirty == 4096
        assert v.count(AF, PageState.DIRTY_RECLAIM) == 4096


@pytest.mark.parametrize("policy", POLICIES)
def test_writeback_then_reclaimable_after_completion(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IF, 1000, dirty=True)
    v.add(IF, 99_000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.nr_writeback_started == 1000
    assert r.reclaimed_file == 99_000
    assert v.nr_writeback == 1000
    assert v.size(IF) == 1000
    # a second pass meets them under writeback and cannot free them
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.nr_reclaimed == 0
    assert r.nr_writeback == 1000
    assert v.nr_writeback == 1000
    v.add(IF, 1_000_000)
    assert v.complete_writeback() == 1000
    assert v.count(IF, PageState.RECLAIM_READY) == 1000
    assert v.pgrotated == 1000
    # rotated to the tail: the next small scan takes exactly those first
    r = shrink_lruvec(v, LruScanControl(priority=12, is_kswapd=True, nr_to_reclaim=BIG))
    assert r.scanned[IF] == 1_001_000 >> 12 == 244
    assert v.count(IF, PageState.RECLAIM_READY) == 1000 - 244


def test_flusher_writeback_of_pages_reclaim_saw() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IF, 100, dirty=True)
    shrink_lruvec(v, LruScanControl(priority=0, may_writepage=False, nr_to_reclaim=BIG))
    assert v.count(AF, PageState.DIRTY_RECLAIM) == 100
    assert v.start_writeback(100) == 100
    assert v.count(AF, PageState.WRITEBACK_RECLAIM) == 100
    v.complete_writeback(40)
    assert v.count(IF, PageState.RECLAIM_READY) == 40
    assert v.size(AF) == 60
    old = Lruvec(LRU_V3_14)
    old.add(AF, 10, dirty=True)
    old.start_writeback(10)
    old.complete_writeback()
    assert old.count(AF, PageState.CLEAN) == 10


@pytest.mark.parametrize("policy", POLICIES)
def test_referenced_anon_is_activated_not_reclaimed(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IA, 1000)
    v.add(IA, 3000)
    v.touch(LruKind.ANON, 4000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.scanned[IA] == 4000
    assert r.nr_reclaimed == 0
    assert r.nr_activated == 4000 == v.pgactivate
    # the final anon aging sends 32 back, young bit cleared
    assert v.size(AA) == 4000 - 32
    assert v.count(IA, PageState.CLEAN) == 32


def test_referenced_file_pages_kernel_rules() -> None:
    # touched twice: on the active list, out of reclaim's way while the inactive list is not
    # low
    v = file_lruvec(LRU_V6_7, 1000)
    v.touch(LruKind.FILE, 1000)
    v.touch(LruKind.FILE, 1000)
    v.add(IF, 5000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.reclaimed_file == 5000
    assert v.size(AF) == 1000
    # at priority 0 with the inactive list low, all of them are deactivated
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.nr_deactivated == 1000
    assert r.nr_reclaimed == 0
    # touched once and clean: PAGEREF_RECLAIM_CLEAN frees it
    v = file_lruvec(LRU_V6_7, 1000)
    v.touch(LruKind.FILE, 1000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.reclaimed_file == 1000
    # touched once and dirty: kept, not written, reference cleared
    v = Lruvec(LRU_V6_7)
    v.add(IF, 1000, dirty=True)
    v.touch(LruKind.FILE, 1000)
    r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
    assert r.nr_writeback_started == 0
    assert r.nr_reclaimed == 0
    assert v.count(IF, PageState.DIRTY) == 1000


@pytest.mark.parametrize("policy", POLICIES)
def test_swap_out_needs_may_writepage(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    v.add(IA, 1000)
    sc = LruScanControl(priority=0, may_writepage=False, nr_to_reclaim=BIG, is_kswapd=True)
    assert shrink_lruvec(v, sc).reclaimed_anon == 0
    sc = attrs.evolve(sc, may_writepage=True)
    assert shrink_lruvec(v, sc).reclaimed_anon == 1000


def test_v3_14_counts_mapped_anon_twice_in_nr_scanned() -> None:
    for policy, factor in ((LRU_V3_14, 2), (LRU_V6_7, 1)):
        v = Lruvec(policy)
        v.add(IA, 1000)
        r = shrink_lruvec(v, LruScanControl(priority=0, nr_to_reclaim=BIG, is_kswapd=True))
        assert r.nr_scanned == factor * 1000
        assert r.pgscan == 1000


# -- nr_to_reclaim -----------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "scanned"), [(LRU_V3_14, 31_250), (LRU_V6_7, 32)])
def test_limit_reclaim_early_stop_without_swap(policy: LruPolicy, scanned: int) -> None:
    # v3.14 rescales the file target to the (empty) anon one's progress: 0 %, so it scans the
    # whole target; from v3.16 a type with nothing left ends the pass.
    v = file_lruvec(policy, 1_000_000)
    sc = LruScanControl(priority=5, cgroup_reclaim=True, may_swap=False)
    r = shrink_lruvec(v, sc)
    assert r.targets[IF] == 31_250
    assert r.scanned[IF] == scanned == r.nr_reclaimed


def test_global_direct_reclaim_stops_in_batches() -> None:
    v = file_lruvec(LRU_V3_14, 1_000_000)
    r = shrink_lruvec(v, LruScanControl(priority=12, nr_to_reclaim=100))
    assert r.nr_scanned == 4 * SWAP_CLUSTER_MAX  # the first round reaching 100
    # v3.16+: no stop for global direct reclaim at DEF_PRIORITY, stop below it
    v = file_lruvec(LRU_V6_7, 1_000_000)
    assert shrink_lruvec(v, LruScanControl(priority=12)).nr_scanned == 1_000_000 >> 12
    assert shrink_lruvec(v, LruScanControl(priority=11)).nr_scanned == 32


def test_stop_counts_reclaimed_not_scanned() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IF, 500_000)
    v.add(IF, 500_000, dirty=True)
    r = shrink_lruvec(v, LruScanControl(priority=4, cgroup_reclaim=True, may_writepage=False))
    assert r.nr_reclaimed == 32
    assert r.scanned[IF] == 64


@pytest.mark.parametrize(
    ("early_stop", "anon_scanned"),
    [(EarlyStop.ONE_ROUND, 64), (EarlyStop.PROPORTIONAL, 312), (EarlyStop.DIRECT_BREAK, 312)],
)
def test_proportional_rescale_after_nr_to_reclaim(early_stop: EarlyStop, anon_scanned: int) -> None:
    policy = attrs.evolve(LRU_V6_7, early_stop=early_stop)
    v = Lruvec(policy)
    v.add(IA, 1_000_000)
    v.add(IF, 1_000_000)
    sc = LruScanControl(
        priority=4, swappiness=100, force_deactivate=True, is_kswapd=True, nr_to_reclaim=64
    )
    r = shrink_lruvec(v, sc)
    # targets 31250 each; 64 reclaimed after one round; file stopped (not larger), anon
    # rescaled to 100 - 99 % of its target = 312, minus the 32 done
    assert r.targets == (31_250, 0, 31_250, 0)
    assert r.scanned[IF] == 32
    assert r.scanned[IA] == anon_scanned


# -- statistics and the slab-only memcg ----------------------------------------------------------


def test_pgscan_pgsteal_split_kswapd_and_direct() -> None:
    v = file_lruvec(LRU_V6_7, 1_000_000)
    shrink_lruvec(v, LruScanControl(priority=6, is_kswapd=True, nr_to_reclaim=BIG))
    shrink_lruvec(v, LruScanControl(priority=12, cgroup_reclaim=True))
    assert v.pgscan_kswapd == v.pgsteal_kswapd == 1_000_000 >> 6
    assert v.pgscan_direct == v.pgsteal_direct == 32
    assert v.nr_reclaimed == v.pgsteal_kswapd + v.pgsteal_direct


@pytest.mark.parametrize("policy", POLICIES)
def test_slab_only_memcg_gives_limit_reclaim_nothing(policy: LruPolicy) -> None:
    v = Lruvec(policy)
    for priority in range(12, -1, -1):
        r = shrink_lruvec(v, LruScanControl(priority=priority, cgroup_reclaim=True))
        assert (r.nr_scanned, r.nr_reclaimed, r.lru_pages) == (0, 0, 0)
    assert v.reclaimable(True) == 0


def test_huge_lists_are_closed_form() -> None:
    v = Lruvec(LRU_V6_7)
    v.add(IA, 1 << 40)
    v.add(IF, 1 << 40)
    v.add(AF, 1 << 39)
    start = time.perf_counter()
    sc = LruScanControl(priority=0, is_kswapd=True, nr_to_reclaim=1 << 38)
    r = shrink_lruvec(v, sc)
    assert time.perf_counter() - start < 0.5
    assert r.nr_reclaimed >= 1 << 38


# -- invariants -----------------------------------------------------------------------------


@given(
    counts=st.lists(st.integers(0, 1000), min_size=1, max_size=9),
    k=st.integers(0, 9000),
)
def test_proportional_split_is_exact_and_monotone(counts: list[int], k: int) -> None:
    k = min(k, sum(counts))
    a = _proportional(counts, k)
    assert sum(a) == k
    assert all(0 <= x <= c for x, c in zip(a, counts, strict=True))
    if k < sum(counts):
        b = _proportional(counts, k + 1)
        assert all(x <= y for x, y in zip(a, b, strict=True))


OPS = st.one_of(
    st.tuples(
        st.just("add"), st.sampled_from([*LruList, *LruKind]), st.integers(0, 3000), st.booleans()
    ),
    st.tuples(st.just("touch"), st.sampled_from(list(LruKind)), st.integers(0, 3000)),
    st.tuples(st.just("remove"), st.sampled_from(list(LruKind)), st.integers(0, 3000)),
    st.tuples(st.just("dirty"), st.integers(0, 3000)),
    st.tuples(st.just("start_writeback"), st.integers(0, 3000)),
    st.tuples(st.just("complete_writeback"), st.integers(0, 3000)),
    st.tuples(
        st.just("shrink"),
        st.integers(0, 12),
        st.integers(0, 5000),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.integers(0, 200),
        st.booleans(),
    ),
)


def check_invariants(v: Lruvec) -> None:
    for lru in LruList:
        states = v.states(lru)
        assert all(c >= 0 for c in states.values())
        assert v.size(lru) == sum(states.values())
        assert 0 <= v.nr_referenced(lru) <= v.size(lru)
        if not lru.is_file:
            assert states[PageState.CLEAN] + states[PageState.CLEAN_REF] == v.size(lru)
        if lru.is_active:
            assert states[PageState.RECLAIM_READY] == 0
    assert v.nr_pages + v.nr_reclaimed == v.nr_added - v.nr_removed


@settings(max_examples=300, deadline=None)
@given(policy=st.sampled_from(POLICIES), ops=st.lists(OPS, max_size=40))
def test_pages_are_conserved(policy: LruPolicy, ops: list[tuple[object, ...]]) -> None:
    v = Lruvec(policy)
    added = removed = reclaimed = 0
    for op in ops:
        name = op[0]
        if name == "add":
            _, where, n, dirty = op
            assert isinstance(where, LruList | LruKind)
            assert isinstance(n, int)
            lru = where if isinstance(where, LruList) else None
            file = lru.is_file if lru is not None else where is LruKind.FILE
            v.add(where, n, dirty=bool(dirty) and file)
            added += n
        elif name == "touch":
            kind, n = op[1], op[2]
            assert isinstance(kind, LruKind)
            assert isinstance(n, int)
            before = v.pgactivate
            assert v.touch(kind, n) == v.pgactivate - before
        elif name == "remove":
            kind, n = op[1], op[2]
            assert isinstance(kind, LruKind)
            assert isinstance(n, int)
            size = v.size(kind.inactive) + v.size(kind.active)
            got = v.remove(kind, n)
            assert sum(got.values()) == min(n, size)
            removed += sum(got.values())
        elif name == "dirty":
            assert isinstance(op[1], int)
            v.dirty(op[1])
        elif name == "start_writeback":
            assert isinstance(op[1], int)
            v.start_writeback(op[1])
        elif name == "complete_writeback":
            assert isinstance(op[1], int)
            v.complete_writeback(op[1])
        else:
            _, prio, goal, kswapd, cgroup, swap, wp, swappiness, online = op
            assert isinstance(prio, int)
            assert isinstance(goal, int)
            assert isinstance(swappiness, int)
            sc = LruScanControl(
                priority=prio,
                nr_to_reclaim=goal,
                is_kswapd=bool(kswapd),
                cgroup_reclaim=bool(cgroup),
                may_swap=bool(swap),
                may_writepage=bool(wp),
                swappiness=swappiness,
                memcg_online=bool(online),
            )
            before = v.nr_pages
            r = shrink_lruvec(v, sc)
            assert r.nr_reclaimed == r.reclaimed_anon + r.reclaimed_file
            assert v.nr_pages == before - r.nr_reclaimed
            assert all(
                s <= t or lru is AA for lru, s, t in zip(LruList, r.scanned, r.targets, strict=True)
            )
            assert r.nr_reclaimed <= r.pgscan <= r.scanned[IA] + r.scanned[IF]
            if not swap:
                assert r.reclaimed_anon == 0
                assert r.scanned[IA] == 0
            if not wp:
                assert r.reclaimed_anon == 0
                assert r.nr_writeback_started == 0
            reclaimed += r.nr_reclaimed
        check_invariants(v)
    assert v.nr_pages == added - removed - reclaimed
