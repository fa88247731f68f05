"""Unmounting evicts every inode of the superblock and announces each eviction."""

from __future__ import annotations

import pytest
import shrinkfw_inode.plugin
from inode_helpers import FULL, EvictRecorder, check_books, icache_of, kmem_memcg, mounted, released


@pytest.mark.parametrize("profile", FULL)
def test_umount_evicts_every_inode_and_frees_its_memory(profile: str) -> None:
    recorder = EvictRecorder()
    sim, sb = mounted(profile, plugins=[shrinkfw_inode.plugin, recorder])
    other = sim.vfs.mount("ext4", "sdb1")
    icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    unused = released(sb, box)
    with_pages = released(sb, box, pages=5)
    dirty = icache.iget(sb, supers.alloc_ino(), box, 0)
    assert dirty is not None
    icache.mark_dirty(dirty)
    icache.iput(dirty)
    busy = icache.iget(sb, supers.alloc_ino(), box, 0)
    assert busy is not None
    keep = released(other, box)

    sim.vfs.umount(sb)

    assert [e[1] for e in recorder.evicted] == [unused.ino, with_pages.ino, dirty.ino, busy.ino]
    assert all(e[0] == "ext4:sda1" for e in recorder.evicted)
    assert all(e[2] == 0 for e in recorder.evicted)  # truncated before the announcement
    assert supers.nr_inodes == 0
    assert supers.nr_unused == 0
    assert sim.vmstat["inode_busy_at_umount"] == 1
    assert sim.lruvec(box, 0).file_pages == 0
    assert all(i.ref is None for i in (unused, with_pages, dirty, busy))
    assert keep.ref is not None
    assert icache.supers(other).nr_inodes == 1
    check_books(sim)


def test_iput_on_an_unmounting_superblock_evicts() -> None:
    """``iput_final`` on a superblock that is no longer active writes the inode and evicts it
    (``I_WILL_FREE``) instead of caching it."""
    _sim, sb = mounted("v6.7")
    icache, supers = icache_of(sb)
    inode = icache.iget(sb, 1, None, 0)
    assert inode is not None
    icache.mark_dirty(inode)
    sb.dying = True  # as during generic_shutdown_super
    icache.iput(inode)
    assert inode.ref is None
    assert supers.nr_inodes == 0
    sb.dying = False
