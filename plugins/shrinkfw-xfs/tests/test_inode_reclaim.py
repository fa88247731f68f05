"""XFS inode reclaim through the superblock shrinker (spec §7.6, §7.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from shrinkfw_xfs import XFS_LOOKUP_BATCH, XfsInode, XfsInodeCache

from shrinkfw import GFP_KERNEL, Pressure, ShrinkControl
from shrinkfw.vfs import Inode, mult_frac

if TYPE_CHECKING:
    from shrinkfw_xfs import XfsMount

    from conftest import Mounted
    from shrinkfw import MemCgroup

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"
BOTH = [SEED, MODERN]


def reclaimable(
    icache: XfsInodeCache,
    n: int,
    agno: int = 0,
    *,
    memcg: MemCgroup | None = None,
    dirty: bool = False,
) -> list[XfsInode]:
    """``n`` inodes of AG ``agno`` evicted by the VFS (tagged reclaimable)."""
    made = []
    for _ in range(n):
        ip = icache.alloc_inode(icache.new_ino(agno), memcg)
        assert ip is not None
        if dirty:
            icache.log_inode(ip)
        icache.mark_reclaimable(ip)
        made.append(ip)
    return made


def free_cached(mount: XfsMount, nr: int) -> int:
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, nr_to_scan=nr, nr_scanned=nr)
    return mount.sb.s_op.free_cached_objects(mount.sb, sc)  # type: ignore[union-attr]


def test_xfs_is_a_disk_filesystem_with_fs_objects(mounted: Mounted) -> None:
    _sim, sb, mount = mounted(MODERN)
    assert sb.fs_type.name == "xfs"
    assert sb.shrinker is not None
    assert sb.shrinker.seeks == 2
    assert sb.s_op is not None
    assert mount.icache.agcount == 4


@pytest.mark.parametrize("profile", BOTH)
def test_count_sums_the_ags_and_ignores_memcg_and_node(mounted: Mounted, profile: str) -> None:
    sim, sb, mount = mounted(profile, nr_nodes=2)
    a = sim.memcgs.create("a")
    for agno, n in enumerate((10, 20, 30)):
        reclaimable(mount.icache, n, agno, memcg=a)
    assert [pag.reclaimable for pag in mount.icache.ags] == [10, 20, 30, 0]
    assert sb.s_op is not None
    for sc in (
        ShrinkControl(nid=0, memcg=a),
        ShrinkControl(nid=1, memcg=a),
        ShrinkControl(nid=0, memcg=None),
        ShrinkControl(nid=1, memcg=sim.memcgs.root),
    ):
        assert sb.s_op.nr_cached_objects(sb, sc) == 60


@pytest.mark.parametrize("profile", BOTH)
def test_batches_of_32_and_the_ag_cursor(mounted: Mounted, profile: str) -> None:
    """100 clean inodes in one AG, budget 40: two batches (40 → 8 → -24), 64 freed, the
    cursor after the 64th; the next call resumes there."""
    _sim, _sb, mount = mounted(profile)
    icache = mount.icache
    ips = reclaimable(icache, 100)
    assert free_cached(mount, 40) == 0
    assert icache.reclaimed == 2 * XFS_LOOKUP_BATCH
    assert icache.count() == 36
    assert icache.ags[0].cursor == ips[63].agino + 1
    assert all(ip.ino not in icache.inodes for ip in ips[:64])
    assert free_cached(mount, 1) == 0
    assert icache.reclaimed == 96
    assert all(ip.ino in icache.inodes for ip in ips[96:])
    assert free_cached(mount, 40) == 0  # 4 left, then the lookup finds none: cursor reset
    assert icache.count() == 0
    assert icache.ags[0].cursor == 0


@pytest.mark.parametrize("profile", BOTH)
def test_every_tagged_ag_gets_a_batch(mounted: Mounted, profile: str) -> None:
    """The budget check ends an AG's walk, not the walk over AGs: a budget of 1 with four
    AGs of 40 reclaimable inodes frees 4 x 32."""
    _sim, _sb, mount = mounted(profile)
    for agno in range(4):
        reclaimable(mount.icache, 40, agno)
    assert free_cached(mount, 1) == 0
    assert mount.icache.reclaimed == 128
    assert [pag.reclaimable for pag in mount.icache.ags] == [8, 8, 8, 8]


@pytest.mark.parametrize(("profile", "split"), [(SEED, (0, 0, 1021)), (MODERN, (1, 1, 1022))])
def test_super_cache_scan_does_not_count_xfs_inodes(
    mounted: Mounted, profile: str, split: tuple[int, int, int]
) -> None:
    """500 reclaimable inodes, no dentries or VFS inodes: super_cache_scan(1024) gives the fs
    objects mult_frac(1024, 500, 501) = 1021 (+1 from v4.0), XFS reclaims all 500, and the
    shrinker reports 0 freed because xfs_reclaim_inodes_nr returns 0."""
    sim, sb, mount = mounted(profile)
    reclaimable(mount.icache, 500)
    assert sb.shrinker is not None
    assert sb.shrinker.shrinker.count_objects(ShrinkControl(nid=0)) == 500
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, nr_to_scan=1024, nr_scanned=1024)
    assert sb.shrinker.shrinker.scan_objects(sc) == 0
    assert mult_frac(1024, 500, 501) == 1021
    assert sb.last_split == split
    assert mount.icache.count() == 0
    assert sim.vmstat["xfs_inode_reclaimed"] == 500


def test_freed_count_through_do_shrink_slab(mounted: Mounted) -> None:
    """v6.7 at priority 0: the superblock shrinker is invoked, XFS frees every inode, and
    the shrinker's freed total and slab_objects stay 0."""
    sim, sb, mount = mounted(MODERN)
    reclaimable(mount.icache, 300)
    entry = sb.shrinker
    assert entry is not None
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=sim.memcgs.root)
    assert sim.hooks.do_shrink_slab(sc, entry, Pressure(priority=0), sim) == 0
    assert entry.freed == 0
    assert entry.scanned == 600  # min(2·300, delta 600): one call of 600 (batch 1024)
    assert mount.icache.count() == 0
    assert mount.icache.nr_calls == 1


@pytest.mark.parametrize(("profile", "freed", "sync_writes"), [(SEED, 20, 10), (MODERN, 10, 0)])
def test_dirty_inodes(mounted: Mounted, profile: str, freed: int, sync_writes: int) -> None:
    """Up to v5.8 the shrinker flushes dirty (and unpins pinned) inodes and waits; from v5.9
    it skips them and only pushes the AIL, which cleans them for the next pass."""
    sim, _sb, mount = mounted(profile)
    icache = mount.icache
    reclaimable(icache, 10)
    dirty = reclaimable(icache, 10, dirty=True)
    assert free_cached(mount, 100) == 0
    assert icache.reclaimed == freed
    assert icache.sync_writes == sync_writes
    assert icache.unpin_waits == sync_writes
    assert mount.ail.pushing
    sim.run(until=0.05)
    if profile == MODERN:
        assert all(not ip.dirty and not ip.pinned for ip in dirty)
        assert free_cached(mount, 100) == 0
    assert icache.count() == 0


@pytest.mark.parametrize("profile", BOTH)
def test_flush_locked_inodes_are_skipped(mounted: Mounted, profile: str) -> None:
    _sim, _sb, mount = mounted(profile)
    ips = reclaimable(mount.icache, 3)
    ips[1].flush_locked = True
    assert free_cached(mount, 10) == 0
    assert list(mount.icache.inodes.values()) == [ips[1]]


@pytest.mark.parametrize(("profile", "freed"), [(SEED, 40), (MODERN, 72)])
def test_busy_ag_reclaim_mutex(mounted: Mounted, profile: str, freed: int) -> None:
    """AG 0's reclaim mutex is held elsewhere. v3.14: the trylock walk skips AG 0, frees AG
    1's 40 (32 + 8, budget 40 → -24) and, the budget spent, no blocking pass follows. v6.7
    has no such mutex: AG 0 gives 32 + 8 and AG 1 one more batch of 32."""
    _sim, _sb, mount = mounted(profile)
    icache = mount.icache
    reclaimable(icache, 40, 0)
    reclaimable(icache, 40, 1)
    icache.ags[0].reclaim_mutex_busy = True
    assert free_cached(mount, 40) == 0
    assert icache.reclaimed == freed


def test_busy_ag_gets_a_blocking_pass_while_budget_is_left(mounted: Mounted) -> None:
    """v3.14 with budget 100: AG 1's 40 use 64 of it (36 left), so the walk is redone with
    blocking locks from offset 0: AG 0's 40 go too."""
    _sim, _sb, mount = mounted(SEED)
    icache = mount.icache
    reclaimable(icache, 40, 0)
    reclaimable(icache, 40, 1)
    icache.ags[0].reclaim_mutex_busy = True
    icache.ags[0].cursor = 10_000  # ignored by the blocking pass
    assert free_cached(mount, 100) == 0
    assert icache.reclaimed == 80
    assert icache.mutex_waits == 1


def test_contended_ilock(mounted: Mounted) -> None:
    """v5.9+ trylocks the ILOCK and skips; v3.14 waits for it (reclaims)."""
    _sim, _sb, seed = mounted(SEED)
    _sim2, _sb2, modern = mounted(MODERN)
    for mount, left in ((seed, 0), (modern, 1)):
        (ip,) = reclaimable(mount.icache, 1)
        ip.lock_contended = True
        free_cached(mount, 1)
        assert mount.icache.count() == left


@pytest.mark.parametrize("profile", BOTH)
def test_evicted_vfs_inode_becomes_reclaimable_and_charged(mounted: Mounted, profile: str) -> None:
    """An inode the VFS evicts (the inode plugin's dispose_list → sb.vfs.evict_inode) gets an
    xfs_inode object charged to its memcg and is tagged for reclaim."""
    sim, sb, mount = mounted(profile)
    a = sim.memcgs.create("a")
    if not a.kmem_active:  # a v1 kernel accounts kmem once a kmem limit is written
        sim.memcgs.set_kmem_limit(a, 1 << 30)
    before = a.usage_kmem
    sb.vfs.evict_inode(Inode(sb, 77, a, 0))
    ip = mount.icache.inodes[77]
    assert ip.reclaimable
    assert ip.memcg is a
    assert a.usage_kmem > before
    assert mount.icache.count() == 1
    assert mount.icache.worker_queued


def test_evicting_an_in_core_inode_tags_it(mounted: Mounted) -> None:
    _sim, sb, mount = mounted(MODERN)
    ip = mount.icache.alloc_inode(mount.icache.new_ino(2), None)
    assert ip is not None
    sb.vfs.evict_inode(Inode(sb, ip.ino, None, 0))
    assert ip.reclaimable
    assert mount.icache.ags[2].reclaimable == 1
    assert len(mount.icache.inodes) == 1


def test_other_filesystems_are_left_alone(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(MODERN)
    ext4 = sim.vfs.mount("ext4", "vdb")
    ext4.vfs.evict_inode(Inode(ext4, 5, None, 0))
    assert mount.icache.inodes == {}
    assert "xfs" not in ext4.private
    assert ext4.s_op is None
