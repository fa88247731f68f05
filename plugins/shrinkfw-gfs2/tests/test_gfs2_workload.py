"""The quota-churn workload, and whole simulations with only the gfs2 plugin."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from gfs2_helpers import build, gfs2_sim, scan, shrinker_of
from shrinkfw_gfs2 import PARAMS, QdShrinker, QuotaCache, QuotaChurn

from shrinkfw import GFP_KERNEL, ShrinkControl, Simulation, UsageError
from shrinkfw.lruvec import LruKind

if TYPE_CHECKING:
    from shrinkfw.vfs import SuperBlock


def _start(sim: Simulation, sb: SuperBlock | None, **params: Any) -> QuotaChurn:
    memcg = sim.memcgs.create(f"job{len(sim.memcgs.root.children)}")
    run = sim.workloads.get("quota-churn").start(sim, memcg, sb, **params)
    assert isinstance(run, QuotaChurn)
    return run


def _tick(shrinker: QdShrinker, nr_to_scan: int) -> None:
    """A shrinker call of ``nr_to_scan`` on node 0, as a clock event."""
    scan(shrinker, nr_to_scan)


def _settle(sim: Simulation, run: QuotaChurn, until: float) -> None:
    """Run to ``until``, stop, and let every pending release happen."""
    sim.run(until=until)
    run.stop()
    sim.run(until=until + 1.0)


def test_registered_with_its_parameters() -> None:
    kind = build().workloads.get("quota-churn")
    assert kind.needs_fs
    assert kind.plugin == "shrinkfw_gfs2.plugin"
    assert kind.params == PARAMS
    assert set(PARAMS) == {"rate", "ids", "hold_time", "nid", "lookup_window"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"speed": 3}, "'speed'"),
        ({"rate": 0}, "'rate'"),
        ({"rate": "fast"}, "'rate'"),
        ({"rate": float("nan")}, "'rate'"),
        ({"ids": 0}, "'ids'"),
        ({"ids": 2.5}, "'ids'"),
        ({"ids": True}, "'ids'"),
        ({"hold_time": -1.0}, "'hold_time'"),
        ({"nid": 2}, "'nid'"),
        ({"nid": -2}, "'nid'"),
        ({"lookup_window": 0.05, "hold_time": 0.05}, "'lookup_window'"),
        ({"lookup_window": -0.01}, "'lookup_window'"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], named: str) -> None:
    sim, _cache, sb = gfs2_sim(nr_nodes=2)
    with pytest.raises(UsageError, match=named):
        _start(sim, sb, **params)


def test_it_needs_a_gfs2_superblock() -> None:
    sim = build()
    with pytest.raises(UsageError, match="gfs2 filesystem"):
        _start(sim, None)
    with pytest.raises(UsageError, match="not a mounted gfs2 filesystem"):
        _start(sim, sim.vfs.mount("ext4", "sdb"))


def test_churn_caches_every_touched_id_once_released() -> None:
    sim, cache, sb = gfs2_sim()
    run = _start(sim, sb, rate=100.0, ids=10, hold_time=0.05, nid=0)
    sim.run(until=0.5)
    assert 45 <= run.touches <= 50
    busy = [qd for qd in cache.records() if qd.count]
    assert 1 <= len(busy) <= 5  # ~5 touches in flight
    assert all(qd.lru_link is None for qd in busy)
    _settle(sim, run, 1.005)
    assert run.touches == 100
    sbd = cache.sbd(sb)
    assert run.misses == sbd.sd_quota_count == sim.vmstat["gfs2_qd_alloc"] == 10
    assert run.touches - run.misses == sim.vmstat["gfs2_qd_lookup_hit"]
    assert all(qd.count == 0 for qd in cache.records())
    assert len(cache.lru) == cache.lru.count_one(0) == cache.cachep.active_objects == 10


def test_stop_keeps_pending_releases() -> None:
    sim, cache, sb = gfs2_sim()
    run = _start(sim, sb, rate=100.0, ids=1000, hold_time=0.2, nid=0)
    sim.run(until=0.505)
    run.stop()
    touches = run.touches
    assert touches == 50
    assert len(cache.lru) < run.misses  # the last 0.2 s of touches still hold theirs
    sim.run(until=2.0)
    assert run.touches == touches
    assert len(cache.lru) == run.misses


def test_records_spread_over_the_nodes_with_nid_minus_one() -> None:
    sim, cache, sb = gfs2_sim(nr_nodes=2)
    run = _start(sim, sb, rate=100.0, ids=1000, hold_time=0.01)
    _settle(sim, run, 1.005)
    per_node = [cache.lru.count_one(0), cache.lru.count_one(1)]
    assert sum(per_node) == run.misses
    assert min(per_node) > 20


def _trace(seed: int) -> tuple[list[int], int, int]:
    sim, cache, sb = gfs2_sim(seed=seed, nr_nodes=2)
    run = _start(sim, sb, rate=500.0, ids=300, hold_time=0.02, lookup_window=0.005)
    shrinker = shrinker_of(sim)
    sim.every(0.05, partial(_tick, shrinker, 32))
    _settle(sim, run, 2.0)
    return [qd.id for qd in cache.lru.items(0)], run.misses, shrinker.freed


def test_same_seed_same_run() -> None:
    first = _trace(7)
    assert first == _trace(7)
    assert first[2] > 0
    assert first != _trace(8)


@pytest.mark.parametrize(
    ("profile", "list_drift", "overreported"),
    [("v3.14-kmemcg-v15", True, True), ("v4.9", False, True), ("v6.7", False, False)],
)
def test_lookup_windows_show_the_era(profile: str, list_drift: bool, overreported: bool) -> None:
    """Scans that land inside lookup windows meet referenced records on the LRU: before the
    fix they are reported as freed, and in E1 the list count drifts from the list."""
    sim, cache, sb = gfs2_sim(profile, seed=1, nr_nodes=1)
    run = _start(sim, sb, rate=200.0, ids=50, hold_time=0.05, lookup_window=0.02)
    shrinker = shrinker_of(sim)
    sim.every(0.013, partial(_tick, shrinker, 16))
    _settle(sim, run, 2.0)
    assert shrinker.freed == sim.vmstat["gfs2_qd_freed"] > 0
    assert (shrinker.reported > shrinker.freed) is overreported
    assert (cache.lru.count_one(0) != len(cache.lru)) is list_drift
    # whatever the era, every record is accounted for: on the list, or freed
    assert len(cache.lru) + shrinker.freed == run.misses == sim.vmstat["gfs2_qd_alloc"]


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v6.7"])
def test_only_gfs2_drop_caches(profile: str) -> None:
    """A simulation with just this plugin (no dcache, no inode plugin) runs and reclaims."""
    sim, cache, sb = gfs2_sim(profile, nr_nodes=2)
    run = _start(sim, sb, rate=1000.0, ids=5000, hold_time=0.01)
    _settle(sim, run, 1.0)
    assert len(cache.lru) == run.misses > 500
    freed = sim.drop_caches()
    assert freed >= run.misses
    assert len(cache.lru) == cache.cachep.active_objects == 0
    assert sim.vmstat["gfs2_qd_freed"] == sim.vmstat["gfs2_qd_alloc"] == run.misses
    assert sim.shrinkers.get("gfs2-qd").freed >= run.misses


def test_only_gfs2_seed_memory_pressure_reclaims_quota_records() -> None:
    """Page cache filling a 64 MiB seed machine makes reclaim call gfs2-qd, which frees unused
    records; the ones it did not reach are still on the list."""
    sim, cache, sb = gfs2_sim("v3.14-kmemcg-v15", memory=64 << 20)
    run = _start(sim, sb, rate=5000.0, ids=20000, hold_time=0.001, nid=0)
    _settle(sim, run, 1.0)
    before = len(cache.lru)
    assert before == run.misses > 3000
    memcg = sim.memcgs.create("reader")
    for _ in range(30):
        sim.alloc_user_pages(memcg, 1000, kind=LruKind.FILE, nid=0)
    sim.quiesce(10.0)
    entry = sim.shrinkers.get("gfs2-qd")
    assert entry.invocations > 0
    shrinker = shrinker_of(sim)
    assert shrinker.freed > 0
    assert len(cache.lru) + shrinker.freed == before
    assert cache.cachep.active_objects == len(cache.lru)


def test_a_workload_on_an_unmounted_filesystem_stops() -> None:
    sim, cache, sb = gfs2_sim()
    run = _start(sim, sb, rate=100.0, ids=5, hold_time=0.05)
    sim.run(until=0.3)
    sim.vfs.umount(sb)
    touches = run.touches
    sim.run(until=1.0)
    assert run.touches == touches
    assert cache.cachep.active_objects == 0
    assert len(cache.lru) == 0
    assert isinstance(cache, QuotaCache)
    sc = ShrinkControl(gfp_mask=GFP_KERNEL)
    assert shrinker_of(sim).count_objects(sc) == 0
