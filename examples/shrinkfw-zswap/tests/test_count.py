"""``zswap_shrinker_count``: the list length, less disk swap-ins, scaled by compression."""

from __future__ import annotations

import pytest
from zswap_helpers import count, memcg, store, zswap_sim

from shrinkfw import GFP_KERNEL, GFP_NOFS, Gfp
from shrinkfw.shrinker import GFP_NOIO


@pytest.mark.parametrize(
    ("length", "n", "expected"),
    [
        (4096, 10, 10),  # incompressible: 10 pages back 10 entries, everything is offered
        (2048, 10, 5),  # 2:1 -> 20480 B = 5 pages: 10 * 5 // 10
        (1366, 10, 3),  # 3:1 -> 13660 B = 3 pages (13660 >> 12): 10 * 3 // 10
        (1024, 10, 2),  # 4:1 -> 10240 B = 2 pages
        (1366, 2, 0),  # a small pool: 2732 B is 0 pages, nothing is offered
    ],
)
def test_count_scales_the_list_by_the_compression(length: int, n: int, expected: int) -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    store(pool, box, n, length=length)
    assert count(pool, box) == expected


def test_the_list_is_the_memcgs_own_but_the_scale_is_its_subtrees() -> None:
    sim, pool = zswap_sim()
    parent = memcg(sim, "parent")
    child = memcg(sim, "child", parent)
    store(pool, child, 10, length=2048)
    store(pool, parent, 4, length=1024)
    # child: 10 entries, 20480 B = 5 pages -> 10 * 5 // 10
    assert count(pool, child) == 5
    # parent: its own 4 entries, scaled by its subtree: 24576 B = 6 pages over 14 entries
    assert count(pool, parent) == 4 * 6 // 14 == 1
    # the root's list (the global lists) is empty
    assert count(pool, sim.memcgs.root) == 0


def test_entries_charged_to_nobody_are_offered_at_the_memcgs_ratio() -> None:
    """Pages of the root memcg have no object cgroup: no statistics, and their entries sit
    on the global lists, which the root's shrinker call counts, scaled by the root's
    statistics, i.e. those of every other memcg."""
    sim, pool = zswap_sim()
    root = sim.memcgs.root
    store(pool, root, 7, length=2048)
    assert [e.memcg for e in pool.tree.values()] == [None] * 7
    assert count(pool, root) == 0  # MEMCG_ZSWAPPED of the root is 0: nothing is offered
    box = memcg(sim, "box")
    store(pool, box, 14, length=1755)  # 24570 B = 5 pages over 14 entries
    assert count(pool, root) == 7 * 5 // 14 == 2


def test_disk_swapins_are_subtracted_once() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    store(pool, box, 10, length=2048)
    for _ in range(4):
        pool.folio_swapin(box, 0)
    assert count(pool, box) == (10 - 4) * 5 // 10 == 3
    assert pool.cgroups.disk_swapins(box, 0) == 0  # consumed
    assert count(pool, box) == 5


def test_swapins_beyond_the_list_wait_for_the_next_count() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    store(pool, box, 10, length=2048)
    for _ in range(15):
        pool.folio_swapin(box, 0)
    assert count(pool, box) == 0  # 10 of the 15 absorbed
    assert pool.cgroups.disk_swapins(box, 0) == 5
    assert count(pool, box) == (10 - 5) * 5 // 10 == 2
    assert count(pool, box) == 5


def test_swapins_are_per_node() -> None:
    sim, pool = zswap_sim(nr_nodes=2)
    box = memcg(sim, "box")
    store(pool, box, 10, nid=0, length=2048)
    store(pool, box, 10, nid=1, length=2048)
    for _ in range(6):
        pool.folio_swapin(box, 1)
    # 20 entries, 40960 B = 10 pages: the scale is 1/2 on both nodes
    assert count(pool, box, nid=0) == 5
    assert count(pool, box, nid=1) == (10 - 6) * 10 // 20 == 2


@pytest.mark.parametrize(
    "block",
    ["shrinker_disabled", "writeback_off", "writeback_off_above", "nofs", "noio"],
)
def test_nothing_is_offered_when_writeback_cannot_happen(block: str) -> None:
    sim, pool = zswap_sim()
    parent = memcg(sim, "parent")
    box = memcg(sim, "box", parent)
    store(pool, box, 10, length=2048)
    pool.folio_swapin(box, 0)
    gfp: Gfp = GFP_KERNEL
    if block == "shrinker_disabled":
        pool.shrinker_enabled = False
    elif block == "writeback_off":
        pool.cgroups.set_writeback(box, False)
    elif block == "writeback_off_above":
        pool.cgroups.set_writeback(parent, False)
    else:
        gfp = GFP_NOFS if block == "nofs" else GFP_NOIO
    assert count(pool, box, gfp=gfp) == 0
    # the gates come first: the pending swap-in was not consumed
    assert pool.cgroups.disk_swapins(box, 0) == 1


def test_the_seed_counts_its_global_lists_with_the_pool_wide_figures() -> None:
    """On the seed a memcg without kmem accounting charges nothing, so its entries go to the
    global lists; the global pass (no memcg) scales them by the whole pool."""
    sim, pool = zswap_sim("v3.14-kmemcg-v15")
    plain = sim.memcgs.create("plain")
    assert not plain.kmem_active
    store(pool, plain, 10, length=1366)
    assert {e.memcg for e in pool.tree.values()} == {None}
    assert pool.total_pages() == 13660 // 4096 == 3
    assert count(pool, None) == 10 * 3 // 10 == 3


def test_the_seed_keeps_a_memcgs_swapins_on_node_0() -> None:
    """A seed memcg has one list for all nodes, counted on node 0: swap-ins on any node go
    to the counter that count reads."""
    sim, pool = zswap_sim("v3.14-kmemcg-v15", nr_nodes=2)
    box = memcg(sim, "box")
    store(pool, box, 10, nid=1, length=2048)
    pool.folio_swapin(box, 1)
    assert pool.cgroups.disk_swapins(box, 0) == 1
    assert count(pool, box, nid=0) == 9 * 5 // 10 == 4
