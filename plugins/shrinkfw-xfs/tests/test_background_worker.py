"""The background inode reclaim worker (xfs_reclaim_worker, every 5 s) and the log worker's
AIL push (every 30 s), on the simulation clock."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from shrinkfw_xfs import RECLAIM_WORK_INTERVAL, XfsInodeCache

if TYPE_CHECKING:
    from conftest import Mounted

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"
BOTH = [SEED, MODERN]


def tag(icache: XfsInodeCache, n: int, *, dirty: bool = False) -> None:
    for i in range(n):
        ip = icache.alloc_inode(icache.new_ino(i % icache.agcount), None)
        assert ip is not None
        if dirty:
            icache.log_inode(ip)
        icache.mark_reclaimable(ip)


@pytest.mark.parametrize("profile", BOTH)
def test_worker_runs_5_s_after_the_first_tag(mounted: Mounted, profile: str) -> None:
    sim, _sb, mount = mounted(profile)
    icache = mount.icache
    assert RECLAIM_WORK_INTERVAL == 5.0
    assert not icache.worker_queued  # nothing tagged, nothing queued
    tag(icache, 100)
    assert icache.worker_queued
    sim.run(until=4.99)
    assert icache.count() == 100
    assert icache.worker_runs == 0
    sim.run(until=5.0)
    assert icache.count() == 0
    assert icache.worker_runs == 1
    assert not icache.worker_queued  # nothing left tagged: not re-queued
    sim.run(until=20.0)
    assert icache.worker_runs == 1


@pytest.mark.parametrize("profile", BOTH)
def test_worker_leaves_dirty_inodes_to_the_ail(mounted: Mounted, profile: str) -> None:
    """The worker never flushes (SYNC_TRYLOCK alone, or non-blocking): at 5 s it frees the
    clean half and re-queues every 5 s; the log worker pushes the AIL at 30 s, the push
    completes at 30.05 s, and the 35 s run frees the rest."""
    sim, _sb, mount = mounted(profile)
    icache = mount.icache
    tag(icache, 50)
    tag(icache, 50, dirty=True)
    sim.run(until=5.0)
    assert icache.count() == 50
    sim.run(until=34.99)
    assert icache.count() == 50
    assert icache.worker_runs == 6  # 5, 10, ..., 30
    assert mount.ail.pushes == 1
    assert mount.ail.written == 50
    sim.run(until=35.0)
    assert icache.count() == 0
    assert icache.worker_runs == 7
    assert icache.sync_writes == 0


@pytest.mark.parametrize("profile", BOTH)
def test_shrinker_calls_push_the_ail_and_share_one_worker(mounted: Mounted, profile: str) -> None:
    """Three xfs_reclaim_inodes_nr(0) calls at t=1 on 10 dirty inodes. Each tagged AG still
    gets one batch. v3.14 flushes and frees them at once (SYNC_WAIT). v6.7 skips them and
    leaves each AG's cursor past them; the AIL push cleans them at 1.05 s; the worker queued
    at t=0 (a kick does not re-queue pending work) runs at 5 s from the cursors, finds
    nothing and resets them; the 10 s run frees them."""
    sim, _sb, mount = mounted(profile)
    icache = mount.icache
    tag(icache, 10, dirty=True)
    sim.run(until=1.0)
    for _ in range(3):
        assert icache.reclaim_inodes_nr(0) == 0
    assert mount.ail.pushes == 1
    if profile == SEED:
        assert icache.count() == 0
        assert icache.sync_writes == 10
        return
    assert icache.count() == 10
    sim.run(until=1.05)
    assert mount.ail.written == 10
    assert all(pag.cursor for pag in icache.ags)
    sim.run(until=5.0)
    assert icache.count() == 10
    assert icache.worker_runs == 1
    assert [pag.cursor for pag in icache.ags] == [0, 0, 0, 0]
    sim.run(until=10.0)
    assert icache.count() == 0
    assert icache.worker_runs == 2


def test_umount_cancels_the_workers(mounted: Mounted) -> None:
    sim, sb, mount = mounted(MODERN)
    tag(mount.icache, 10, dirty=True)
    mount.icache.reclaim_inodes_nr(0)
    sim.vfs.umount(sb)
    assert math.isinf(sim.peek())
