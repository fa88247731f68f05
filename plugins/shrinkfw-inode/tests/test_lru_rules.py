"""When inodes go on and off the LRU, by era: scenario 10 for inodes, ``iget`` / ``iput`` /
``iput_final``, writeback, unlink, and the v5.15 page-cache rule."""

from __future__ import annotations

import pytest
import shrinkfw_inode.plugin
from inode_helpers import (
    E1,
    FULL,
    MODERN,
    build,
    check_books,
    icache_of,
    kmem_memcg,
    mounted,
    released,
    sb_shrinker,
    visit,
)
from shrinkfw_inode import (
    I_DIRTY_SYNC,
    I_REFERENCED,
    Icache,
    InodeAllocError,
    SuperInodes,
    get_icache,
    icache_rules,
)

from shrinkfw import SHRINK_EMPTY, ShrinkControl, UsageError
from shrinkfw.lruvec import LruKind

# -- scenario 10: first use --------------------------------------------------------------------


@pytest.mark.parametrize("profile", E1)
def test_scenario_10_inode_released_once_needs_two_visits_in_v3_14(profile: str) -> None:
    _sim, sb = mounted(profile)
    _, supers = icache_of(sb)
    inode = released(sb)
    assert inode.state == I_REFERENCED  # iput_final marks every kept inode
    assert visit(sb) == 0  # visit 1: ROTATE
    assert inode.state == 0
    assert inode.on_lru
    assert visit(sb) == 1  # visit 2: REMOVED, evicted
    assert inode.ref is None
    assert supers.nr_inodes == 0


@pytest.mark.parametrize("profile", MODERN)
def test_scenario_10_inode_released_once_needs_one_visit_in_modern_kernels(profile: str) -> None:
    _sim, sb = mounted(profile)
    _, supers = icache_of(sb)
    inode = released(sb)
    assert inode.state == 0  # added to the LRU without I_REFERENCED
    assert visit(sb) == 1
    assert inode.ref is None
    assert supers.nr_inodes == 0


@pytest.mark.parametrize(("profile", "scans"), [("v3.14-kmemcg-v15", 2), ("v6.7", 1)])
def test_scenario_10_through_the_superblock_shrinker(profile: str, scans: int) -> None:
    sim, sb = mounted(profile)
    memcg = kmem_memcg(sim, "box")
    released(sb, memcg)
    _, shrinker = sb_shrinker(sb)
    freed = []
    for _ in range(scans):
        # dentries 0, inodes 1: total 2; the inodes' share of 2 is 1 (+1 from v4.0)
        freed.append(shrinker.scan_objects(ShrinkControl(nr_to_scan=2, memcg=memcg)))
    assert freed == [0] * (scans - 1) + [1]


def test_profiles_give_the_expected_rules() -> None:
    from shrinkfw import PROFILES

    rules = {name: icache_rules(p) for name, p in PROFILES.items()}
    assert [n for n, r in rules.items() if r.first_put_referenced] == [
        "v3.14",
        "v3.14-kmemcg-v15",
        "v4.9",
    ]
    assert [n for n, r in rules.items() if r.page_cache_off_lru] == ["v6.1", "v6.7"]


# -- iget / iput ---------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", FULL)
def test_iget_allocates_once_and_counts_references(profile: str) -> None:
    sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    a = icache.iget(sb, 7, box, 0)
    b = icache.iget(sb, 7, None, 0)
    assert a is b
    assert a is not None
    assert a.i_count == 2
    assert a.memcg is box
    assert a.ref is not None
    assert a.ref.memcg is box  # the inode_cache object is charged to the allocating memcg
    assert supers.nr_inodes == 1
    assert sim.vmstat["inode_alloc"] == 1
    icache.iput(a)
    assert not a.on_lru  # still referenced
    icache.iput(a)
    assert a.on_lru
    assert sb.inode_lru.count_one(0, box) == 1  # on the memcg's list
    with pytest.raises(UsageError, match="holds no reference"):
        icache.iput(a)


@pytest.mark.parametrize("profile", FULL)
def test_hooks_reach_the_plugin_through_the_vfs(profile: str) -> None:
    _sim, sb = mounted(profile)
    inode = sb.vfs.iget(sb, 3, None, 0)
    _, supers = icache_of(sb)
    assert supers.hash[3] is inode
    sb.vfs.iput(inode)
    assert inode.i_count == 0
    assert supers.nr_unused == 1


def test_iget_enomem_raises_from_the_hook_and_returns_none_from_the_api() -> None:
    sim, sb = mounted("v3.14-kmemcg-v15")
    icache, supers = icache_of(sb)
    tiny = sim.memcgs.create("tiny")
    cache = icache.cache
    sim.memcgs.set_kmem_limit(tiny, cache.pages_per_slab)  # room for one slab, no reclaim
    n = cache.objs_per_slab
    assert n == cache.pages_per_slab * 4096 // 600
    made = [icache.iget(sb, supers.alloc_ino(), tiny, 0) for _ in range(n + 1)]
    assert [m is not None for m in made] == [True] * n + [False]
    assert sim.vmstat["inode_alloc_fail"] == 1
    with pytest.raises(InodeAllocError, match="ENOMEM"):
        sb.vfs.iget(sb, 1000, tiny, 0)
    assert supers.nr_inodes == n


def test_get_icache_without_the_plugin_says_what_to_do() -> None:
    from shrinkfw import PluginError, Simulation

    sim = Simulation.build(autoload=False)
    with pytest.raises(PluginError, match=r"plugins=\[shrinkfw_inode.plugin\]"):
        get_icache(sim)


def test_each_simulation_has_its_own_cache() -> None:
    a, b = build(), build()
    ia, ib = get_icache(a), get_icache(b)
    assert ia is not ib
    assert ia.sim is a
    assert ib.sim is b
    assert get_icache(a) is ia
    assert ia.cache in a.slab.caches
    assert isinstance(ia, Icache)
    assert shrinkfw_inode.plugin.get_icache is get_icache


# -- dirty inodes, writeback, unlink -----------------------------------------------------------


@pytest.mark.parametrize(("profile", "state"), [("v3.14-kmemcg-v15", I_REFERENCED), ("v6.7", 0)])
def test_dirty_inode_joins_the_lru_at_writeback(profile: str, state: int) -> None:
    _sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    inode = icache.iget(sb, 1, None, 0)
    assert inode is not None
    icache.mark_dirty(inode)
    icache.iput(inode)
    assert not inode.on_lru  # inode_add_lru refuses dirty inodes
    assert inode.state & I_DIRTY_SYNC
    assert icache.writeback(inode)
    assert inode.on_lru
    assert inode.state == state  # v3.14: iput_final had marked it; writeback adds no mark
    assert supers.nr_unused == 1
    assert not icache.writeback(inode)  # clean now


@pytest.mark.parametrize("profile", FULL)
def test_unlinked_inode_is_evicted_by_its_last_iput(profile: str) -> None:
    sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    inode = released(sb, box, pages=5)
    again = icache.iget(sb, inode.ino, box, 0)
    assert again is inode
    icache.unlink(inode)
    icache.iput(inode)
    assert inode.ref is None
    assert not inode.on_lru
    assert supers.nr_inodes == 0
    assert supers.nr_unused == 0
    assert sim.lruvec(box, 0).file_pages == 0  # truncate_inode_pages_final
    assert box.usage_user == 0
    assert sim.vmstat["pginodesteal"] == 0  # truncation is not a steal
    check_books(sim)


@pytest.mark.parametrize("profile", FULL)
def test_evicted_or_freeing_inodes_refuse_changes(profile: str) -> None:
    _sim, sb = mounted(profile)
    icache, _ = icache_of(sb)
    inode = released(sb)
    inode.state = 0
    visit(sb)
    with pytest.raises(UsageError, match="evicted"):
        icache.mark_dirty(inode)
    with pytest.raises(UsageError, match="evicted"):
        icache.read_pages(inode, None, 1)
    assert not icache.writeback(inode)


# -- page cache and the LRU (v5.15+) --------------------------------------------------------------


def test_v3_14_inode_with_page_cache_goes_on_the_lru() -> None:
    _sim, sb = mounted("v3.14-kmemcg-v15")
    inode = released(sb, pages=4)
    assert inode.on_lru
    assert inode.state == I_REFERENCED


def test_v6_7_inode_with_page_cache_stays_off_the_lru() -> None:
    sim, sb = mounted("v6.7")
    icache, supers = icache_of(sb)
    inode = released(sb, pages=4)
    assert not inode.on_lru
    assert inode.state == 0  # no add was tried, so no mark either
    assert supers.nr_unused == 0
    _, shrinker = sb_shrinker(sb)
    root = sim.memcgs.root
    assert shrinker.count_objects(ShrinkControl(memcg=root)) == SHRINK_EMPTY
    assert icache.truncate(inode) == 4  # the mapping empties: now it is shrinkable
    assert inode.on_lru
    assert inode.state == 0
    assert visit(sb, root) == 1


def test_v6_7_inode_repopulated_on_the_lru_is_removed_as_busy() -> None:
    """Repopulated while referenced and still on the LRU: ``__inode_add_lru`` returns before
    ``list_lru_add`` (not shrinkable), so it stays, unmarked, until the shrinker removes it."""
    sim, sb = mounted("v6.7")
    icache, supers = icache_of(sb)
    inode = released(sb)
    assert inode.on_lru
    assert icache.iget(sb, inode.ino, None, 0) is inode
    assert icache.read_pages(inode, None, 3) == 3
    icache.iput(inode)
    assert inode.on_lru
    assert inode.state == 0
    assert visit(sb, sim.memcgs.root) == 1  # busy: taken off, counted, not freed
    assert not inode.on_lru
    assert inode.ref is not None
    assert inode.nrpages == 3
    assert supers.nr_unused == 0


def test_v6_7_page_reclaim_of_the_last_page_puts_the_inode_on_the_lru() -> None:
    """memory.reclaim takes the inode's 8 pages; the shrink_slab pass that follows finds the
    inode on the LRU (``__remove_mapping`` → ``inode_add_lru``) and, at the low priority the
    small memcg needs, frees it in the same reclaim."""
    sim, sb = mounted("v6.7")
    _, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    inode = released(sb, box, pages=8)
    assert not inode.on_lru
    assert sim.memory_reclaim(box, 8) == 8
    assert sim.vmstat["inode_pagecache_reclaimed"] == 8
    assert sim.lruvec(box, 0).file_pages == 0
    assert inode.ref is None  # evicted by the superblock shrinker
    assert sim.reclaims[-1].slab_objects == 1
    assert supers.nr_inodes == 0
    check_books(sim)


def test_v6_7_reconcile_puts_an_unused_inode_back_without_a_mark() -> None:
    sim, sb = mounted("v6.7")
    icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    cold = released(sb, box, pages=2)
    hot = released(sb, box, pages=2)
    # something other than reclaim frees 3 of the memcg's 4 file pages: the model charges
    # them to the least recently read inode first
    assert sim.free_user_pages(box, 0, 3, LruKind.FILE) == 3
    assert icache.pages.reconcile(box, 0) == 3
    assert cold.nrpages == 0
    assert hot.nrpages == 1
    assert cold.on_lru
    assert cold.state == 0
    assert not hot.on_lru
    assert supers.nr_unused == 1
    check_books(sim)


def test_rereading_moves_an_inode_to_the_hot_end() -> None:
    sim, sb = mounted("v6.7")
    icache, _ = icache_of(sb)
    box = kmem_memcg(sim, "box")
    first = released(sb, box, pages=2)
    second = released(sb, box, pages=2)
    assert icache.pages.owners(box, 0) == [first, second]
    assert icache.iget(sb, first.ino, box, 0) is first
    assert icache.read_pages(first, box, 2) == 0  # both pages are hits
    icache.iput(first)
    assert icache.pages.owners(box, 0) == [second, first]
    assert sim.lruvec(box, 0).file_pages == 4


def test_supers_is_kept_in_sb_private() -> None:
    sim, sb = mounted()
    assert isinstance(sb.private["inode"], SuperInodes)
    assert get_icache(sim).supers(sb) is sb.private["inode"]
