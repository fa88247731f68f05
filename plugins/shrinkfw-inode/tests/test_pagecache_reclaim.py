"""Page cache read through inodes under memcg and global pressure: page reclaim takes the
pages from the LRU, the superblock shrinker takes the inodes; inodesteal accounting."""

from __future__ import annotations

import pytest
from inode_helpers import (
    FULL,
    MiB,
    check_books,
    icache_of,
    kmem_memcg,
    mounted,
    released,
    sb_shrinker,
)
from shrinkfw_inode import READ_INTO_PAGE_CACHE, ReadIntoPageCache

from shrinkfw import MemCgroup, Pressure, Simulation


def _limit(sim: Simulation, memcg: MemCgroup, pages: int) -> None:
    if sim.profile.name == "v6.7":
        sim.set_max(memcg, pages)
    else:
        sim.memcgs.set_limit(memcg, pages)


@pytest.mark.parametrize("profile", FULL)
def test_reading_under_a_memcg_limit_reclaims_page_cache_and_shrinks_the_icache(
    profile: str,
) -> None:
    """20000 one-page files read in a memcg limited to 1024 pages (4 MiB): their inodes
    alone (20000 x 600 bytes, about 2900 pages) do not fit, so limit reclaim must both take
    page cache off the LRU and free inodes through the superblock shrinker."""
    sim, sb = mounted(profile, memory=256 * MiB)
    _icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    _limit(sim, box, 1024)
    run = sim.workloads.get(READ_INTO_PAGE_CACHE).start(
        sim, box, sb, files=20000, pages_per_file=1, rate=5000
    )
    assert isinstance(run, ReadIntoPageCache)
    sim.run(until=4.0)
    run.stop()

    assert run.opens == 20000
    assert run.failed == 0
    assert run.pages_read == 20000
    assert box.usage <= 1024
    limit_reclaims = [r for r in sim.reclaims if r.reason == "memcg_limit"]
    assert limit_reclaims
    assert all(r.target is box for r in limit_reclaims)
    # the LRU took page cache ...
    lru_taken = sim.vmstat["inode_pagecache_reclaimed"]
    cached = sim.lruvec(box, 0).file_pages
    assert lru_taken > 15000
    assert cached + lru_taken + sim.vmstat["pginodesteal"] == run.pages_read
    # ... and the superblock shrinker freed inodes, credited as whole slab pages
    freed = sb_shrinker(sb)[0].freed
    assert freed == sim.vmstat["inode_evicted"]
    assert freed > 10000
    assert supers.nr_inodes == 20000 - freed
    assert sum(r.slab_objects for r in limit_reclaims) == freed
    assert sum(r.slab_pages for r in limit_reclaims) > 0
    with_pages = [i for i in supers.hash.values() if i.nrpages]
    assert len(with_pages) == cached  # one page each
    if profile == "v6.7":
        # v5.15+: the inodes that still have their page are the ones off the LRU
        assert supers.nr_unused == supers.nr_inodes - len(with_pages)
        assert not any(i.on_lru for i in with_pages)
    else:
        assert supers.nr_unused == supers.nr_inodes
    check_books(sim)


def test_seed_kswapd_steals_are_kswapd_inodesteal_and_a_direct_pass_is_not() -> None:
    """Global pressure on a 32 MiB machine from 4000 four-page files read three times over:
    kswapd's superblock shrinker finds inodes whose page cache is still there and invalidates
    it (v3.14 ``inode_lru_isolate``). A ``shrink_slab`` pass outside reclaim that steals 8
    pages first stays ``pginodesteal``."""
    sim, sb = mounted("v3.14-kmemcg-v15", memory=32 * MiB)
    _icache, _ = icache_of(sb)
    early = released(sb, pages=8)
    others = [released(sb), released(sb)]
    for inode in [early, *others]:
        inode.state = 0  # as after one rotation
    # ratio 1000/1000 on 3 inodes: delta 5, one scan_objects(5), the inodes' share 3 (E1:
    # 5 * 3 / (3 + 1)): visits early (RETRY: 8 pages stolen), early again (ROTATE: its
    # unpinning iput had marked it), then frees the next inode
    assert sim.shrink_slab(pressure=Pressure.drop_caches(), nodes_to_scan=(0,)) == 1
    assert early.nrpages == 0
    assert others[0].ref is None
    assert sim.vmstat["pginodesteal"] == 8

    box = kmem_memcg(sim, "box")
    run = sim.workloads.get(READ_INTO_PAGE_CACHE).start(
        sim, box, sb, files=4000, pages_per_file=4, rate=2000
    )
    assert isinstance(run, ReadIntoPageCache)
    sim.run(until=6.0)
    run.stop()
    assert sim.vmstat["reclaim_kswapd"] > 0
    assert sim.vmstat["pginodesteal"] == 8
    stolen = sim.vmstat["kswapd_inodesteal"]
    assert stolen > 0
    assert (
        sim.lruvec(box, 0).file_pages + sim.vmstat["inode_pagecache_reclaimed"] + stolen
        == run.pages_read
    )
    check_books(sim)


def test_seed_offline_moves_page_owners_with_the_pages() -> None:
    """v3.14 moves a removed memcg's pages to its parent at offline; the inodes' books
    follow, so a later invalidation frees the parent's pages."""
    sim, sb = mounted("v3.14-kmemcg-v15")
    icache, _ = icache_of(sb)
    parent = kmem_memcg(sim, "parent")
    child = kmem_memcg(sim, "child", parent)
    inode = released(sb, child, pages=6)
    sim.memcgs.offline(child)
    assert sim.lruvec(parent, 0).file_pages == 6
    assert inode.mapping == {(parent, 0): 6}
    assert icache.pages.owned(parent, 0) == 6
    assert icache.pages.owned(child, 0) == 0
    assert icache.truncate(inode) == 6
    assert sim.lruvec(parent, 0).file_pages == 0
    check_books(sim)


def test_v6_7_offline_keeps_pages_with_the_dying_memcg_until_it_is_freed() -> None:
    sim, sb = mounted("v6.7")
    icache, _ = icache_of(sb)
    parent = sim.memcgs.create("parent")
    child = sim.memcgs.create("child", parent)
    inode = released(sb, child, pages=6)
    sim.memcgs.offline(child)
    assert inode.mapping == {(child, 0): 6}  # page cache pins the dying memcg (v6.x)
    assert sim.memcgs.nr_dying_descendants(parent) == 1
    assert icache.truncate(inode) == 6  # the last charge goes: the memcg is freed
    assert sim.memcgs.nr_dying_descendants(parent) == 0
    check_books(sim)
