"""``inode_lru_isolate`` and ``prune_icache_sb``: spec 7.3 and scenario 11."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import shrinkfw_inode.plugin
from inode_helpers import (
    E1,
    FULL,
    MODERN,
    EvictRecorder,
    check_books,
    icache_of,
    kmem_memcg,
    lru_order,
    mounted,
    released,
    sb_shrinker,
    visit,
)
from shrinkfw_inode import I_CLEAR, I_DIRTY_SYNC, I_FREEING, I_REFERENCED, VfsInode

from shrinkfw import GFP_NOFS, SHRINK_STOP, MemCgroup, ShrinkControl

if TYPE_CHECKING:
    from shrinkfw.vfs import SuperBlock


def _clear_referenced_by_one_rotation(
    sb: SuperBlock, inodes: list[VfsInode], memcg: MemCgroup | None = None
) -> None:
    """v3.14 marks every released inode REFERENCED; one visit each rotates them and clears
    the bit, which is where scenario 11 starts."""
    assert all(i.state == I_REFERENCED for i in inodes)
    assert visit(sb, memcg, nr=len(inodes)) == 0
    assert all(i.state == 0 for i in inodes)
    assert all(i.on_lru for i in inodes)


# -- scenario 11 -------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", E1)
@pytest.mark.parametrize("in_memcg", [False, True])
def test_scenario_11_inode_with_page_cache_e1(profile: str, in_memcg: bool) -> None:
    sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    memcg = kmem_memcg(sim, "box") if in_memcg else None
    owner = memcg or sim.memcgs.root
    inode = released(sb, memcg, pages=8)
    assert inode.on_lru
    assert inode.nrpages == 8
    assert sim.lruvec(owner, 0).file_pages == 8
    _clear_referenced_by_one_rotation(sb, [inode], memcg)
    reclaimed0 = sim.slab.reclaimed_slab
    slab_objects = icache.cache.inuse + sum(c.inuse for c in icache.cache.children.values())

    # visit 1: the page cache is invalidated, the walk is told to restart (LRU_RETRY), and the
    # unpinning iput marks the inode REFERENCED again
    assert visit(sb, memcg) == 0
    assert inode.nrpages == 0
    assert inode.mapping is None
    assert sim.lruvec(owner, 0).file_pages == 0
    assert sim.slab.reclaimed_slab - reclaimed0 == 8
    assert sim.vmstat["pginodesteal"] == 8
    assert sim.vmstat["kswapd_inodesteal"] == 0
    assert inode.state == I_REFERENCED
    assert inode.i_count == 0
    assert inode.on_lru
    assert supers.nr_unused == 1

    # visit 2: rotated, REFERENCED cleared
    assert visit(sb, memcg) == 0
    assert inode.state == 0
    assert inode.on_lru

    # visit 3: isolated and evicted
    assert visit(sb, memcg) == 1
    assert not inode.on_lru
    assert inode.state == I_FREEING | I_CLEAR
    assert inode.ref is None
    assert supers.hash == {}
    assert supers.nr_unused == 0
    assert icache.cache.inuse + sum(c.inuse for c in icache.cache.children.values()) == (
        slab_objects - 1
    )
    assert sim.slab.reclaimed_slab - reclaimed0 == 8  # one object leaves its slab page in use
    check_books(sim)


@pytest.mark.parametrize("profile", E1)
def test_scenario_11_retry_restarts_the_walk_from_the_head(profile: str) -> None:
    """[A (8 pages), B (clean)], budget 2: A is visited twice (RETRY, then ROTATE after the
    restart) and B not at all. Had the walk gone on after RETRY, B would have been freed."""
    _sim, sb = mounted(profile)
    a = released(sb, pages=8)
    b = released(sb)
    _clear_referenced_by_one_rotation(sb, [a, b])
    assert lru_order(sb) == [a.ino, b.ino]

    assert visit(sb, nr=2) == 0
    assert a.nrpages == 0
    assert a.state == 0  # REFERENCED from the RETRY's iput, cleared by the second visit
    assert b.state == 0
    assert b.on_lru
    assert lru_order(sb) == [b.ino, a.ino]

    assert visit(sb, nr=1) == 1  # now B, at the head, goes
    assert b.ref is None
    assert lru_order(sb) == [a.ino]


@pytest.mark.parametrize("profile", FULL)
def test_scenario_11_busy_inode_is_taken_off_counted_not_freed(profile: str) -> None:
    sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    inode = released(sb)
    assert inode.on_lru
    again = icache.iget(sb, inode.ino, None, 0)
    assert again is inode  # a hash hit: i_count 1, left on the LRU (lazy removal)
    assert inode.i_count == 1
    assert inode.on_lru
    assert supers.nr_unused == 1

    assert visit(sb) == 1  # counted in the return value ...
    assert not inode.on_lru
    assert supers.nr_unused == 0
    assert inode.ref is not None  # ... but not freed
    assert supers.hash[inode.ino] is inode
    assert sim.vmstat["inode_evicted"] == 0

    icache.iput(inode)  # the last put queues it again
    assert inode.on_lru
    assert supers.nr_unused == 1
    check_books(sim)


@pytest.mark.parametrize(
    ("profile", "state_after_put"), [(p, I_REFERENCED) for p in E1] + [("v6.7", 0)]
)
def test_iput_after_busy_removal_requeues_with_the_eras_referenced_rule(
    profile: str, state_after_put: int
) -> None:
    _sim, sb = mounted(profile)
    icache, _ = icache_of(sb)
    inode = released(sb)
    icache.iget(sb, inode.ino, None, 0)
    visit(sb)
    icache.iput(inode)
    assert inode.state == state_after_put


@pytest.mark.parametrize("profile", MODERN)
def test_iput_of_an_inode_still_on_the_lru_marks_it_referenced(profile: str) -> None:
    """v4.x+: ``list_lru_add`` fails for an inode that never left the LRU, so it is marked."""
    _sim, sb = mounted(profile)
    icache, _ = icache_of(sb)
    inode = released(sb)
    assert inode.state == 0
    icache.iget(sb, inode.ino, None, 0)
    icache.iput(inode)
    assert inode.state == I_REFERENCED
    assert visit(sb) == 0  # rotated
    assert visit(sb) == 1


# -- the rest of the decision table -----------------------------------------------------------


@pytest.mark.parametrize("profile", FULL)
def test_contended_i_lock_is_skipped(profile: str) -> None:
    _sim, sb = mounted(profile)
    _icache, supers = icache_of(sb)
    a = released(sb)
    b = released(sb)
    a.state = b.state = 0
    a.lock_contended = True
    assert visit(sb, nr=2) == 1  # A skipped in place, B freed
    assert a.on_lru
    assert b.ref is None
    assert lru_order(sb) == [a.ino]
    assert supers.nr_unused == 1


@pytest.mark.parametrize("profile", FULL)
def test_dirty_inode_left_on_the_lru_is_removed_as_busy(profile: str) -> None:
    _sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    inode = released(sb)
    icache.mark_dirty(inode)  # dirtied while on the LRU: stays there until the shrinker looks
    assert inode.on_lru
    assert visit(sb) == 1
    assert not inode.on_lru
    assert inode.ref is not None
    assert inode.state & I_DIRTY_SYNC
    icache.writeback(inode)  # inode_sync_complete puts the clean, unused inode back
    assert inode.on_lru
    assert supers.nr_unused == 1


@pytest.mark.parametrize("profile", FULL)
def test_buffers_without_pages_take_the_retry_branch(profile: str) -> None:
    sim, sb = mounted(profile)
    inode = released(sb)
    inode.state = 0
    inode.has_buffers = True
    assert visit(sb) == 0  # remove_inode_buffers, nothing to invalidate, RETRY
    assert not inode.has_buffers
    assert inode.state == I_REFERENCED
    assert sim.vmstat["pginodesteal"] == 0
    assert visit(sb) == 0  # rotated
    assert visit(sb) == 1


@pytest.mark.parametrize("profile", FULL)
def test_prune_returns_isolated_and_evicts_newest_isolated_first(profile: str) -> None:
    recorder = EvictRecorder()
    sim, sb = mounted(profile, plugins=[shrinkfw_inode.plugin, recorder])
    inodes = [released(sb) for _ in range(5)]
    for inode in inodes:
        inode.state = 0
    assert visit(sb, nr=3) == 3
    # dispose_list takes the head of the private list: the last one isolated goes first
    assert [e[1] for e in recorder.evicted] == [inodes[2].ino, inodes[1].ino, inodes[0].ino]
    assert lru_order(sb) == [inodes[3].ino, inodes[4].ino]
    check_books(sim)


@pytest.mark.parametrize("profile", FULL)
def test_superblock_shrinker_prunes_inodes_and_stops_without_gfp_fs(profile: str) -> None:
    sim, sb = mounted(profile)
    _icache, supers = icache_of(sb)
    for _ in range(10):
        released(sb).state = 0
    _, shrinker = sb_shrinker(sb)
    assert shrinker.scan_objects(ShrinkControl(gfp_mask=GFP_NOFS, nr_to_scan=10)) == SHRINK_STOP
    assert supers.nr_unused == 10
    # dentries 0, inodes 10: total 11, the inodes' share of 11 is 10 (+1 from v4.0)
    sc = ShrinkControl(nr_to_scan=11, nr_scanned=11)
    assert shrinker.count_objects(sc) == 10
    assert shrinker.scan_objects(sc) == 10
    assert sb.last_split[1] == (10 if profile.startswith("v3") else 11)
    assert supers.nr_inodes == 0
    check_books(sim)
