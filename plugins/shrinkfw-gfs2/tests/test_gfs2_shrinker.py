"""gfs2-qd: registration, counting with vfs_cache_pressure, SHRINK_STOP, and freeing."""

from __future__ import annotations

import pytest
from gfs2_helpers import ALL_PROFILES, build, count, gfs2_sim, lru_ids, scan, shrinker_of, unused
from shrinkfw_gfs2 import QD_SIZE, QuotaCache, QuotaData, gfs2_quota, vfs_pressure_ratio

from shrinkfw import (
    DEFAULT_SEEKS,
    GFP_KERNEL,
    GFP_NOFS,
    SHRINK_STOP,
    Pressure,
    ShrinkControl,
    ShrinkerFlags,
    UsageError,
)


@pytest.mark.parametrize(("nr_nodes", "numa"), [(1, False), (2, True)])
def test_registered_once_when_the_module_loads(nr_nodes: int, numa: bool) -> None:
    sim = build(nr_nodes=nr_nodes)
    entry = sim.shrinkers.get("gfs2-qd")  # before any mount
    shrinker = entry.shrinker
    assert shrinker.flags == ShrinkerFlags.NUMA_AWARE
    assert entry.numa_aware is numa  # register_shrinker drops it on one node
    assert not entry.memcg_aware
    assert entry.id == -1
    assert (shrinker.seeks, shrinker.batch) == (DEFAULT_SEEKS, 0)
    assert len(entry.nr_deferred) == nr_nodes
    assert entry.plugin == "shrinkfw_gfs2.plugin"
    sim.vfs.mount("gfs2", "a")
    sim.vfs.mount("gfs2", "b")
    names = [e.name for e in sim.shrinkers]
    assert names == ["gfs2-qd", "sb-gfs2:a", "sb-gfs2:b"]


def test_the_lru_and_slab_cache_are_the_kernels() -> None:
    sim = build()
    cache = gfs2_quota(sim)
    assert not cache.lru.memcg_aware
    assert cache.lru in sim.lrus
    assert cache.lru.name == "gfs2_qd_lru"
    assert (cache.cachep.name, cache.cachep.object_size) == ("gfs2_quotad", QD_SIZE)
    assert cache.cachep.objs_per_slab == 4096 // 288 == 14


@pytest.mark.parametrize(
    ("profile", "reclaimable", "charged"),
    [("v3.14-kmemcg-v15", False, True), ("v5.4", False, False), ("v6.7", True, False)],
)
def test_gfs2_quotad_accounting_by_era(profile: str, reclaimable: bool, charged: bool) -> None:
    """No ``SLAB_ACCOUNT`` in any era: the seed still charges the allocating memcg (kmem
    accounting was opt-out before v4.5); ``SLAB_RECLAIM_ACCOUNT`` from v5.12."""
    sim, cache, sb = gfs2_sim(profile)
    memcg = sim.memcgs.create("job")
    if not memcg.kmem_active:
        sim.memcgs.set_kmem_limit(memcg, 1 << 30)
    qd = cache.qd_get(sb, 7, memcg=memcg)
    assert qd is not None
    assert qd.ref is not None
    assert cache.cachep.reclaimable is reclaimable
    assert (qd.ref.memcg is memcg) is charged
    assert (memcg.usage_kmem > 0) is charged


@pytest.mark.parametrize(
    ("records", "pressure", "expected"),
    [(10, 100, 10), (10, 200, 20), (10, 50, 5), (3, 50, 1), (10, 0, 0), (0, 100, 0)],
)
def test_count_scales_with_vfs_cache_pressure(records: int, pressure: int, expected: int) -> None:
    sim, cache, sb = gfs2_sim()
    unused(cache, sb, range(records))
    sim.vfs.vfs_cache_pressure = pressure
    assert count(shrinker_of(sim)) == expected
    assert cache.lru.count_one(0) == records


def test_vfs_pressure_ratio_is_unsigned_long() -> None:
    assert vfs_pressure_ratio(1001, 150) == 1501
    assert vfs_pressure_ratio((1 << 64) - 1, 100) == (1 << 64) - 1
    assert vfs_pressure_ratio((1 << 64) - 1, 200) == ((((1 << 64) - 1) * 2) & ((1 << 64) - 1))


def test_count_and_scan_are_per_node_and_ignore_the_memcg() -> None:
    sim, cache, sb = gfs2_sim(nr_nodes=2)
    a, b = sim.memcgs.create("a"), sim.memcgs.create("b")
    unused(cache, sb, range(3), nid=0, memcg=a)
    unused(cache, sb, range(3, 8), nid=1, memcg=b)
    shrinker = shrinker_of(sim)
    assert (count(shrinker, nid=0), count(shrinker, nid=1)) == (3, 5)
    assert count(shrinker, nid=0, memcg=b) == 3  # one list per node, whoever allocated
    assert scan(shrinker, 128, nid=1) == 5
    assert (count(shrinker, nid=0), count(shrinker, nid=1)) == (3, 0)


def test_shrink_stop_without_gfp_fs() -> None:
    sim, cache, sb = gfs2_sim()
    unused(cache, sb, range(20))
    shrinker = shrinker_of(sim)
    assert scan(shrinker, 20, gfp=GFP_NOFS) == SHRINK_STOP
    assert len(cache.lru) == cache.cachep.active_objects == 20
    assert shrinker.freed == 0


@pytest.mark.parametrize("profile", ["v5.4", "v6.7"])
def test_shrink_stop_ends_do_shrink_slab_without_freeing(profile: str) -> None:
    sim, cache, sb = gfs2_sim(profile)
    unused(cache, sb, range(1000))
    entry = sim.shrinkers.get("gfs2-qd")
    freed = sim.hooks.do_shrink_slab(
        ShrinkControl(gfp_mask=GFP_NOFS, nid=0), entry, Pressure(priority=0), sim
    )
    assert freed == 0
    assert len(cache.lru) == 1000
    assert entry.nr_deferred == [2000]  # the whole pass is deferred (scenario 7, E3+)


def test_scan_walks_the_lru_head_first_within_the_budget() -> None:
    sim, cache, sb = gfs2_sim()
    unused(cache, sb, range(10))
    shrinker = shrinker_of(sim)
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, nr_to_scan=4)
    assert shrinker.scan_objects(sc) == 4
    assert sc.nr_to_scan == 0  # list_lru_shrink_walk consumed the budget
    assert lru_ids(cache) == [("gfs2:sda1", i) for i in range(4, 10)]


def test_dispose_frees_the_slab_objects() -> None:
    sim, cache, sb = gfs2_sim()
    records = unused(cache, sb, range(140))  # 10 full slabs of 14
    cachep = cache.cachep
    assert (cachep.active_objects, cachep.nr_slabs) == (140, 10)
    reclaimed = sim.slab.reclaimed_slab
    shrinker = shrinker_of(sim)
    assert scan(shrinker, 128) == 128
    assert scan(shrinker, 128) == 12
    assert cachep.active_objects == 0
    assert all(qd.dead and qd.freed and qd.lru_link is None for qd in records)
    assert cache.sbd(sb).sd_quota_count == 0
    assert sim.vmstat["gfs2_qd_freed"] == sim.vmstat["gfs2_qd_glock_put"] == 140
    # whole slab pages went back (SLUB keeps up to min_partial empty ones, and the active one)
    assert cachep.nr_slabs <= cachep.min_partial + 1
    assert sim.slab.reclaimed_slab - reclaimed == (10 - cachep.nr_slabs) * cachep.pages_per_slab
    assert sim.slab.reclaimed_slab > reclaimed


def test_the_dispose_list_is_freed_newest_isolated_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``list_lru_isolate_move`` puts each record at the head of the dispose list and
    ``gfs2_qd_list_dispose`` takes the head each time."""
    sim, cache, sb = gfs2_sim()
    unused(cache, sb, range(5))
    order: list[int] = []
    dispose = QuotaCache.dispose

    def recording(self: QuotaCache, qd: QuotaData) -> None:
        order.append(qd.id)
        dispose(self, qd)

    monkeypatch.setattr(QuotaCache, "dispose", recording)
    assert scan(shrinker_of(sim), 5) == 5
    assert order == [4, 3, 2, 1, 0]


def test_a_lookup_after_the_shrinker_freed_a_record_allocates_anew() -> None:
    sim, cache, sb = gfs2_sim()
    (old,) = unused(cache, sb, [3])
    scan(shrinker_of(sim), 1)
    new = cache.qd_get(sb, 3)
    assert new is not None
    assert new is not old
    assert (new.count, new.dead, old.dead) == (1, False, True)
    assert sim.vmstat["gfs2_qd_alloc"] == 2


@pytest.mark.parametrize("profile", ["v6.7"])
def test_drop_caches_empties_the_cache(profile: str) -> None:
    sim, cache, sb = gfs2_sim(profile)
    unused(cache, sb, range(500))
    held = cache.qd_get(sb, 1000)
    assert sim.drop_caches() >= 500
    assert len(cache.lru) == 0
    assert cache.cachep.active_objects == 1  # the referenced one stays
    assert held is not None
    assert not held.freed


def test_the_plugin_must_be_there() -> None:
    sim = build(plugins=[])
    with pytest.raises(UsageError, match="gfs2 plugin is not registered"):
        gfs2_quota(sim)


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_every_profile_frees_unused_records_through_do_shrink_slab(profile: str) -> None:
    """The driver's per-shrinker call (``do_shrink_slab`` of the era) reaches gfs2-qd and
    frees unused records in every profile, never the referenced one."""
    sim, cache, sb = gfs2_sim(profile)
    unused(cache, sb, range(300))
    held = cache.qd_get(sb, 999)
    entry = sim.shrinkers.get("gfs2-qd")
    freed = sim.hooks.do_shrink_slab(
        ShrinkControl(gfp_mask=GFP_KERNEL, nid=0), entry, Pressure.drop_caches(), sim
    )
    assert freed == shrinker_of(sim).freed > 0
    assert len(cache.lru) == 300 - freed
    assert held is not None
    assert not held.freed
