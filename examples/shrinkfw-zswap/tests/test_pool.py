"""The pool: sizes, store / load / invalidate, charges, offline, eras and registration."""

from __future__ import annotations

import math
from importlib.metadata import entry_points

import pytest
import shrinkfw_zswap.plugin
from shrinkfw_zswap import (
    LRU_NAME,
    SHRINKER_NAME,
    ZSWAP_ENTRY_SIZE,
    compressed_length,
    zs_size_class,
    zswap_era,
    zswap_pool,
)
from zswap_helpers import FULL_PROFILES, build, count, memcg, on_list, slot, store, zswap_sim

from shrinkfw import DEFAULT_SEEKS, PROFILES, ShrinkerFlags, Simulation, UsageError, get_profile

# -- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "length"), [(1.0, 4096), (2.0, 2048), (3.0, 1366), (4.5, 911), (4096.0, 1)]
)
def test_compressed_length(ratio: float, length: int) -> None:
    assert compressed_length(ratio) == length


@pytest.mark.parametrize("ratio", [0.5, 0.0, -2.0, math.nan, math.inf])
def test_a_ratio_below_one_or_not_finite_is_refused(ratio: float) -> None:
    with pytest.raises(UsageError, match="compression ratio"):
        compressed_length(ratio)


@pytest.mark.parametrize(
    ("length", "size"), [(1, 32), (32, 32), (33, 48), (1366, 1376), (2048, 2048), (4096, 4096)]
)
def test_zsmalloc_size_classes(length: int, size: int) -> None:
    assert zs_size_class(length) == size


# -- store, load, invalidate ----------------------------------------------------------------


def test_a_store_holds_an_entry_and_a_zsmalloc_object() -> None:
    sim, pool = zswap_sim(nr_nodes=2)
    box = memcg(sim, "box")
    entry = pool.store(slot(pool), box, 1, 1366)
    assert entry is not None
    assert (entry.offset, entry.length, entry.nid, entry.referenced) == (1, 1366, 1, True)
    assert pool.tree == {1: entry}
    assert on_list(pool, box, nid=1) == [entry]
    assert entry.entry_ref.cache.object_size == ZSWAP_ENTRY_SIZE
    assert entry.handle.cache.name == "zsmalloc-1376"
    # v6.7: the compressed object is charged to the memcg, the entry to nobody
    assert (entry.memcg, entry.entry_ref.memcg) == (box, None)
    stat = pool.cgroups.stat(box)
    assert (stat.zswap_b, stat.zswapped, stat.zswpout) == (1366, 1, 1)
    assert pool.cgroups.stat(sim.memcgs.root).zswapped == 1  # the statistics are hierarchical
    assert (pool.stored_pages, pool.total_size, sim.vmstat["zswpout"]) == (1, 1366, 1)
    assert box.usage_kmem == 1  # 1376 + 8 bytes, charged a page at a time through the stock


def test_the_seed_charges_the_entry_too() -> None:
    """Before v4.5 every slab allocation of a kmem-active memcg was charged, ``zswap_entry``
    included, and the charge is whole pages of the memcg's own caches."""
    sim, pool = zswap_sim("v3.14-kmemcg-v15")
    box = memcg(sim, "box")
    (entry,) = store(pool, box, 1)
    assert (entry.memcg, entry.entry_ref.memcg) == (box, box)
    zs = pool.zpool_cache(2048)
    assert box.usage_kmem == zs.pages_per_slab + pool.entry_cache.pages_per_slab


def test_load_frees_the_entry_and_a_miss_changes_nothing() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    (entry,) = store(pool, box, 1)
    assert not pool.load(entry.offset + 1)
    assert pool.load(entry.offset)
    assert not pool.load(entry.offset)
    assert (pool.tree, on_list(pool, box)) == ({}, [])
    stat = pool.cgroups.stat(box)
    assert (stat.zswapped, stat.zswap_b, stat.zswpin) == (0, 0, 1)
    assert sim.vmstat["zswpin"] == 1


def test_invalidate_and_a_stale_entry_at_the_same_slot() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    old = pool.store(7, box, 0, 2048)
    new = pool.store(7, box, 0, 1024)  # the page was redirtied and swapped out again
    assert old is not None
    assert new is not None
    assert pool.tree == {7: new}
    assert on_list(pool, box) == [new]
    assert pool.cgroups.stat(box).zswap_b == 1024
    assert pool.invalidate(7)
    assert not pool.invalidate(7)
    assert pool.total_size == 0


def test_a_store_over_the_limit_reclaims_and_a_hopeless_one_is_rejected() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    sim.set_max(box, 4)  # 16 KiB
    store(pool, box, 7, referenced=False)  # 7 * 2056 B of charges fit in 4 pages
    assert pool.store(slot(pool), box, 0, 2048) is not None
    assert sim.vmstat["zswpwb"] > 0  # limit reclaim wrote entries back to make room
    pool.cgroups.set_writeback(box, False)
    for _ in range(8):
        pool.store(slot(pool), box, 0, 2048)
    assert sim.vmstat["zswap_reject_alloc_fail"] > 0
    assert box.events["oom"] > 0
    assert box.usage <= 4


def test_a_length_out_of_range_is_refused() -> None:
    sim, pool = zswap_sim()
    with pytest.raises(UsageError, match=r"1\.\.4096 bytes"):
        pool.store(1, sim.memcgs.root, 0, 4097)


# -- offline and free -----------------------------------------------------------------------


def test_an_offline_memcgs_entries_are_the_parents() -> None:
    """v6.7: the child's list is spliced into the parent's and its object cgroup points to
    the parent, so writeback and loads uncharge the parent; the parent's statistics (which
    held the child's all along) go to 0."""
    sim, pool = zswap_sim()
    parent = memcg(sim, "parent")
    child = memcg(sim, "child", parent)
    entries = store(pool, child, 5, referenced=False)
    sim.memcgs.offline(child)
    assert on_list(pool, parent) == entries
    assert {e.memcg for e in entries} == {parent}
    for e in entries[:2]:
        assert pool.load(e.offset)
    assert count(pool, parent) == 3 * 1 // 3  # 6144 B = 1 page over 3 entries
    for e in entries[2:]:
        assert pool.invalidate(e.offset)
    stat = pool.cgroups.stat(parent)
    assert (stat.zswapped, stat.zswap_b, stat.zswpin) == (0, 0, 2)


def test_a_freed_memcg_is_forgotten() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    pool.cgroups.set_writeback(box, False)
    pool.folio_swapin(box, 0)
    (entry,) = store(pool, box, 1)
    assert pool.load(entry.offset)
    sim.slab.drain_stock()
    sim.memcgs.offline(box)
    assert box.state.name == "FREED"
    assert pool.cgroups.stat(box).zswpout == 0
    assert pool.cgroups.disk_swapins(box, 0) == 0
    assert pool.cgroups.writeback_enabled(box)


# -- eras and registration ------------------------------------------------------------------


def test_v6_7_is_not_a_what_if() -> None:
    era = zswap_era(get_profile("v6.7"))
    assert era.what_if == ()
    assert era.memcg_lists_per_node


def test_the_seed_is_a_what_if_for_two_reasons() -> None:
    era = zswap_era(get_profile("v3.14-kmemcg-v15"))
    assert len(era.what_if) == 2
    assert "no shrinker" in era.what_if[0]
    assert "cgroup v1" in era.what_if[1]
    assert not era.memcg_lists_per_node


@pytest.mark.parametrize(("profile", "reasons"), [("v4.9", 2), ("v5.4", 2), ("v6.1", 1)])
def test_older_profiles_are_what_ifs(profile: str, reasons: int) -> None:
    """v4.9 and v5.4 model the v1 two-counter kmem charging; v6.1 is cgroup v2."""
    era = zswap_era(get_profile(profile))
    assert len(era.what_if) == reasons
    assert "v6.8" in era.what_if[0]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_registers_the_shrinker(profile: str) -> None:
    """Installing the plugin must never break a simulation: shrinkfw autoloads it."""
    sim = build(profile, nr_nodes=2)
    entry = sim.shrinkers.get(SHRINKER_NAME)
    shrinker = entry.shrinker
    assert entry.plugin == "shrinkfw_zswap.plugin"
    assert shrinker.flags == ShrinkerFlags.NUMA_AWARE | ShrinkerFlags.MEMCG_AWARE
    assert (shrinker.seeks, shrinker.batch) == (DEFAULT_SEEKS, 0)
    pool = zswap_pool(sim)
    assert pool.lru.memcg_aware
    assert pool.lru.name == LRU_NAME
    assert sim.lru_owner[pool.lru] is entry


def test_the_pool_needs_the_plugin() -> None:
    sim = Simulation.build(profile="v6.7", autoload=False)
    with pytest.raises(UsageError, match="zswap plugin is not registered"):
        zswap_pool(sim)


@pytest.mark.parametrize("profile", FULL_PROFILES)
def test_two_simulations_share_nothing(profile: str) -> None:
    a, b = build(profile), build(profile)
    assert zswap_pool(a) is not zswap_pool(b)
    store(zswap_pool(a), memcg(a, "box"), 3)
    assert zswap_pool(b).tree == {}


def test_the_entry_point_names_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="shrinkfw") if ep.name == "zswap"]
    if not found:
        pytest.skip("shrinkfw-zswap is not installed; run pip install -e examples/shrinkfw-zswap")
    assert found[0].value == "shrinkfw_zswap.plugin"
    assert found[0].load() is shrinkfw_zswap.plugin
