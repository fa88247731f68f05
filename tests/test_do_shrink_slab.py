"""Acceptance scenarios 1-7 of the spec: the per-shrinker arithmetic of every era, end to end
through the simulation's ``do_shrink_slab`` protocol hook."""

from __future__ import annotations

import pytest

from conftest import CountingShrinker, TraceRecorder, make_sim
from shrinkfw import (
    GFP_KERNEL,
    GFP_NOFS,
    SHRINK_EMPTY,
    ContractViolation,
    KernelProfile,
    Pressure,
    ShrinkControl,
    ShrinkerEntry,
    Simulation,
    get_profile,
)

RATIO_32_100000 = Pressure(nr_scanned=32, nr_eligible=100000)


def setup(
    profile: str | KernelProfile, recorder: TraceRecorder | None = None, **shrinker_kw: object
) -> tuple[Simulation, CountingShrinker, ShrinkerEntry]:
    sim = make_sim(profile, plugins=[recorder] if recorder else [])
    shrinker = CountingShrinker(**shrinker_kw)  # type: ignore[arg-type]
    entry = sim.shrinkers.add(shrinker, plugin="test")
    return sim, shrinker, entry


def call(
    sim: Simulation, entry: ShrinkerEntry, pressure: Pressure, gfp: object = GFP_KERNEL
) -> int:
    sc = ShrinkControl(gfp_mask=gfp, nid=0)  # type: ignore[arg-type]
    return sim.hooks.do_shrink_slab(sc, entry, pressure, sim)


def test_scenario_1_e1_deferral_to_first_batch(recorder: TraceRecorder) -> None:
    sim, shrinker, entry = setup("v3.14-kmemcg-v15", recorder, freeable=10000)
    for k in range(1, 22):
        assert call(sim, entry, RATIO_32_100000) == 0
        assert entry.nr_deferred[0] == 6 * k
    assert shrinker.scans == []
    assert entry.nr_deferred[0] == 126

    freed = call(sim, entry, RATIO_32_100000)
    assert shrinker.scans == [128]
    assert freed == 128
    assert entry.nr_deferred[0] == 4
    start, end = recorder.starts[-1], recorder.ends[-1]
    assert (start.nr_objects_to_shrink, start.delta, start.total_scan) == (126, 6, 132)
    assert (start.pgs_scanned, start.lru_pgs, start.cache_items) == (32, 100000, 10000)
    assert (end.unused_scan_cnt, end.new_scan_cnt, end.total_scan, end.retval) == (126, 4, 4, 128)


@pytest.mark.parametrize(("profile", "deferred"), [("v3.14", 116), ("v4.9", 116), ("v4.14", 4626)])
def test_scenario_2_windup_discard_vs_keep(profile: str, deferred: int) -> None:
    sim, shrinker, entry = setup(profile, freeable=1000)
    entry.nr_deferred[0] = 5000
    call(sim, entry, Pressure(nr_scanned=32, nr_eligible=6399))
    assert shrinker.scans == [128, 128, 128]
    assert entry.nr_deferred[0] == deferred


def test_scenario_3_zero_pages_scanned_reads_as_swap_cluster_max() -> None:
    sim, shrinker, entry = setup("v3.14-kmemcg-v15", freeable=10000)
    for _ in range(22):
        sim.shrink_slab(pressure=Pressure(nr_scanned=0, nr_eligible=100000))
    assert shrinker.scans == [128]
    assert entry.nr_deferred[0] == 4


def test_scenario_4_e4_priority_gate() -> None:
    sim, shrinker, entry = setup("v6.7", freeable=100000)
    expected = 0
    for _ in range(4200):
        call(sim, entry, Pressure(priority=12))
        expected = min(expected + 48, 200000)
        assert entry.nr_deferred[0] == expected
    assert shrinker.scans == []
    assert entry.nr_deferred[0] == 200000

    call(sim, entry, Pressure(priority=11))
    assert shrinker.scans == [128]
    assert entry.nr_deferred[0] == 199968


@pytest.mark.parametrize(("batch", "scans", "deferred"), [(0, [128] * 15, 80), (1024, [1024], 976)])
def test_scenario_5_e4_drop_caches_pass(batch: int, scans: list[int], deferred: int) -> None:
    sim, shrinker, entry = setup("v6.7", freeable=1000, batch=batch)
    call(sim, entry, Pressure(priority=0))
    assert shrinker.scans == scans
    assert entry.nr_deferred[0] == deferred
    assert sim.vmstat["slabs_scanned"] == sum(scans)


def test_scenario_6_small_cache_tight_memory_e4() -> None:
    sim, shrinker, entry = setup("v6.7", freeable=50)
    call(sim, entry, Pressure(priority=0))
    assert shrinker.scans == [100]
    call(sim, entry, Pressure(priority=1))
    assert shrinker.scans == [100, 50]
    call(sim, entry, Pressure(priority=2))
    assert shrinker.scans == [100, 50]
    assert entry.nr_deferred[0] == 24


@pytest.mark.parametrize(("tight", "scans", "deferred"), [(True, [99], 0), (False, [], 99)])
def test_scenario_6_small_cache_e1_tight_mem_loop_switch(
    tight: bool, scans: list[int], deferred: int
) -> None:
    profile = get_profile("v3.14").with_options(tight_mem_loop=tight)
    sim, shrinker, entry = setup(profile, freeable=50)
    # delta = floor(2000 * 50 / 1001) = 99 >= 50: one short call with the switch on
    call(sim, entry, Pressure.drop_caches())
    assert shrinker.scans == scans
    assert entry.nr_deferred[0] == deferred


def test_scenario_6_e1_without_tight_loop_never_scans_below_a_batch() -> None:
    profile = get_profile("v3.14").with_options(tight_mem_loop=False)
    sim, shrinker, entry = setup(profile, freeable=50)
    for _ in range(50):
        call(sim, entry, RATIO_32_100000)
    assert shrinker.scans == []


def test_scenario_7_shrink_stop_e4(recorder: TraceRecorder) -> None:
    sim, shrinker, entry = setup("v6.7", recorder, freeable=1000, batch=1024, needs_fs=True)
    assert call(sim, entry, Pressure(priority=0), gfp=GFP_NOFS) == 0
    assert shrinker.scans == []
    assert entry.nr_deferred[0] == 2000
    end = recorder.ends[-1]
    assert (end.total_scan, end.retval, end.new_scan_cnt) == (2000, 0, 2000)


def test_scenario_7_shrink_stop_e1() -> None:
    sim, shrinker, entry = setup("v3.14-kmemcg-v15", freeable=1000, batch=1024, needs_fs=True)
    assert call(sim, entry, Pressure.drop_caches(), gfp=GFP_NOFS) == 0
    assert shrinker.scans == []
    assert entry.nr_deferred[0] == 1998


def test_shrink_empty_passes_up_from_v4_19_only() -> None:
    sim, _, entry = setup("v6.7", freeable=SHRINK_EMPTY)
    assert call(sim, entry, Pressure(priority=0)) == SHRINK_EMPTY
    sim, _, entry = setup("v3.14-kmemcg-v15", freeable=SHRINK_EMPTY)
    assert call(sim, entry, Pressure.drop_caches()) == 0


@pytest.mark.parametrize("count", [-1, 2.5, "10"])
def test_bad_count_is_a_contract_violation(count: object) -> None:
    sim, _, entry = setup("v6.7", freeable=count)
    with pytest.raises(ContractViolation, match=r"shrinker 'fake'.*count_objects"):
        call(sim, entry, Pressure(priority=0))


def test_nr_scanned_raised_to_zero_is_a_contract_violation() -> None:
    class Stuck(CountingShrinker):
        def scan_objects(self, sc: ShrinkControl) -> int:
            sc.nr_scanned = 0
            return 0

    sim = make_sim("v6.7")
    entry = sim.shrinkers.add(Stuck(name="stuck", freeable=1000), plugin="test")
    with pytest.raises(ContractViolation, match="could not make progress"):
        call(sim, entry, Pressure(priority=0))


def test_nr_scanned_feedback_from_v4_14() -> None:
    class Lowering(CountingShrinker):
        def scan_objects(self, sc: ShrinkControl) -> int:
            self.scans.append(sc.nr_to_scan)
            sc.nr_scanned = 64
            return 10

    sim = make_sim("v6.7")
    shrinker = Lowering(name="low", freeable=1000)
    entry = sim.shrinkers.add(shrinker, plugin="test")
    call(sim, entry, Pressure(priority=0))
    # total_scan 2000 drains 64 at a time: 30 calls leave 80 (< 128 and < 1000)
    assert shrinker.scans == [128] * 30
    assert sim.vmstat["slabs_scanned"] == 30 * 64
    assert entry.nr_deferred[0] == 80
