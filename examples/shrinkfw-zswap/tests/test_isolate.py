"""``zswap_shrinker_scan`` and ``shrink_memcg_cb``: second chances, writeback, stops."""

from __future__ import annotations

import pytest
from zswap_helpers import FULL_PROFILES, memcg, on_list, scan, store, zswap_sim

from shrinkfw import SHRINK_STOP, Pressure


def test_new_entries_only_spend_their_second_chance() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    entries = store(pool, box, 10)
    ret, sc = scan(pool, box, 10)
    assert ret == SHRINK_STOP  # nothing written back: the batch loop stops
    assert sc.nr_to_scan == 0  # the whole budget was spent
    assert [e.referenced for e in entries] == [False] * 10
    assert on_list(pool, box) == entries  # ten rotations give the same order back
    assert sim.vmstat["zswpwb"] == 0
    assert pool.cgroups.stat(box).zswapped == 10


def test_entries_without_a_second_chance_are_written_back() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    store(pool, box, 10, referenced=False)
    ret, sc = scan(pool, box, 10)
    assert (ret, sc.nr_to_scan) == (10, 0)
    assert pool.tree == {}
    assert on_list(pool, box) == []
    stat = pool.cgroups.stat(box)
    assert (stat.zswap_b, stat.zswapped, stat.zswpwb) == (0, 0, 10)
    assert (sim.vmstat["zswpwb"], sim.vmstat["pswpout"]) == (10, 10)
    assert sim.vmstat["zswap_written_back_pages"] == 10
    assert pool.zpool_cache(2048).inuse == 0
    assert pool.entry_cache.inuse == 0
    sim.slab.drain_stock()
    assert box.usage_kmem == 0  # every compressed byte was uncharged


def test_the_walk_interleaves_rotations_and_writebacks() -> None:
    """[e0, e1*, e2, e3*, e4] (* referenced) with a budget of 5: e0 written back, restart;
    e1 rotated; e2 written back, restart; e3 rotated; e4 written back."""
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    e = store(pool, box, 5, referenced=False)
    e[1].referenced = e[3].referenced = True
    ret, sc = scan(pool, box, 5)
    assert (ret, sc.nr_to_scan) == (3, 0)
    assert on_list(pool, box) == [e[1], e[3]]
    assert sorted(pool.tree) == sorted([e[1].offset, e[3].offset])


def test_the_budget_bounds_the_writeback() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    e = store(pool, box, 5, referenced=False)
    ret, sc = scan(pool, box, 2)
    assert (ret, sc.nr_to_scan) == (2, 0)
    assert on_list(pool, box) == e[2:]


def test_a_page_in_the_swap_cache_stops_the_scan() -> None:
    """e2's page is being swapped in: its writeback fails with -EEXIST, the walk stops, e2
    goes to the tail, and the scan returns SHRINK_STOP although e0 and e1 were written
    back."""
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    e = store(pool, box, 5, referenced=False)
    e[2].in_swapcache = True
    ret, sc = scan(pool, box, 5)
    assert ret == SHRINK_STOP
    assert sc.nr_to_scan == 2  # e0, e1, e2 visited
    assert on_list(pool, box) == [e[3], e[4], e[2]]
    assert (sim.vmstat["zswpwb"], sim.vmstat["zswap_reject_reclaim_fail"]) == (2, 1)
    assert e[2].offset in pool.tree


@pytest.mark.parametrize("block", ["shrinker_disabled", "writeback_off"])
def test_no_scan_without_writeback(block: str) -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    e = store(pool, box, 4)
    if block == "shrinker_disabled":
        pool.shrinker_enabled = False
    else:
        pool.cgroups.set_writeback(box, False)
    ret, sc = scan(pool, box, 4)
    assert (ret, sc.nr_scanned) == (SHRINK_STOP, 0)
    assert [x.referenced for x in e] == [True] * 4  # nothing was visited
    assert on_list(pool, box) == e


def test_scanning_one_memcg_leaves_another() -> None:
    sim, pool = zswap_sim()
    a, b = memcg(sim, "a"), memcg(sim, "b")
    store(pool, a, 3, referenced=False)
    kept = store(pool, b, 3, referenced=False)
    assert scan(pool, a, 10)[0] == 3
    assert on_list(pool, b) == kept


def test_drop_caches_on_a_fresh_pool_writes_nothing_back() -> None:
    """``drop_slab`` loops while its passes free something. Over fresh entries the first
    batch (128) only spends second chances, so the scan answers SHRINK_STOP, the pass frees
    0, and the loop ends. The next drop_caches starts with the 72 still-referenced entries
    and the 128 rotated ones behind them: its first batch rotates 72 and writes back 56, so
    the scans go on and the loop drains the pool."""
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    e = store(pool, box, 200)
    sim.drop_caches()
    assert sim.vmstat["zswpwb"] == 0
    assert [x.referenced for x in e] == [False] * 128 + [True] * 72
    assert on_list(pool, box) == e[128:] + e[:128]
    sim.drop_caches()
    assert sim.vmstat["zswpwb"] == 200
    assert pool.tree == {}


@pytest.mark.parametrize("profile", FULL_PROFILES)
def test_memcg_reclaim_reaches_the_shrinker(profile: str) -> None:
    """A shrink_slab pass for the memcg, as limit reclaim runs it, writes back its
    second-chance-spent entries through the profile's do_shrink_slab arithmetic."""
    sim, pool = zswap_sim(profile)
    box = memcg(sim, "box")
    store(pool, box, 400, referenced=False)
    freed = sim.shrink_slab(memcg=box, pressure=Pressure(priority=0), target_mem_cgroup=box)
    assert freed > 0
    assert sim.vmstat["zswpwb"] == freed == pool.shrinker_entry.freed
    assert len(pool.tree) == 400 - freed
