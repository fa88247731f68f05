"""The inode cache: ``iget`` / ``iput``, the inode LRU, the shrinker's isolate callback, evict.

Models fs/inode.c (linux v3.14, v4.x and v6.x; era differences in :mod:`shrinkfw_inode.era`):

* :class:`Icache` is the cache of one simulation: the ``inode_cache`` slab cache (600-byte
  objects, reclaimable, memcg-accounted), the page-cache books (:class:`~shrinkfw_inode.
  pagecache.PageCache`) and the reference counting that moves inodes on and off the LRU
  (``iget``, ``iput`` / ``iput_final``, ``inode_add_lru``, ``evict``), writeback and unlink.
* :class:`SuperInodes` is one superblock's part, kept in ``sb.private["inode"]``: the inode
  hash (``ino -> inode``), the counts (``nr_inodes``, ``nr_unused``), the isolate callback
  (``inode_lru_isolate``) and the shrinker's entry point (``prune_icache_sb`` +
  ``dispose_list``).

Lazy LRU removal
    ``iget`` of a cached inode only takes a reference (``find_inode_fast`` → ``__iget``, linux
    v3.14 and v6.7 alike): an inode on the LRU stays there. The shrinker removes it when it
    finds it busy ("Remove them lazily here; iput, sync, or the last page cache deletion will
    requeue them", v6.x comment). A 2025 series by Josef Bacik ("fs: remove inode from LRU on
    iget" and the ``I_LRU`` / ``i_obj_count`` work) deletes it from the LRU in ``find_inode``;
    it is not in any kernel the profiles model. A re-referenced inode that is still on the LRU
    gets ``I_REFERENCED`` at its next ``iput`` in every era (v3.14: ``iput_final`` sets it
    always; later: ``list_lru_add`` fails because it is on the list).

Notes against the spec
    * §7.3 says "v3.14: a page-cache inode re-referenced by the RETRY ``iput`` is rotated once
      more before it can be freed" as if it were v3.14's alone. Every kernel up to v6.10 pins
      the inode with ``__iget`` and unpins with ``iput``; the ``iput`` finds the inode still on
      the LRU, and from v4.x ``inode_lru_list_add`` (v5.15+ ``__inode_add_lru(inode, true)``)
      sets ``I_REFERENCED`` when ``list_lru_add`` fails. So the extra rotation happens in v4.x
      too, and in v5.15+ whenever the branch is reached (highmem, or buffers without pages).
      v6.11's ``I_LRU_ISOLATING`` pin (no ``iput``) ends it. The model derives the bit from the
      code path, not from the era.
    * §7.3 v5.15+: an inode whose pages were reclaimed goes back on the LRU when its mapping is
      ``mapping_shrinkable``: empty, or a single shadow entry in the xarray head. A file of
      more than one page keeps shadow entries in xarray nodes after reclaim; the inode returns
      to the LRU only when the workingset shadow-node shrinker frees those nodes
      (``shadow_lru_isolate`` → ``inode_add_lru``). The model has no shadow entries: an inode
      returns to the LRU with its last page.
    * §7.3's dispose step evicts; ``evict`` also truncates what page cache is left
      (``truncate_inode_pages``; ``truncate_inode_pages_final`` from v3.15). Isolated inodes
      have none (the RETRY branch emptied them); inodes evicted by ``iput_final`` (unlink) or
      at umount have theirs freed there.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Final

from shrinkfw import LRU_REMOVED, LRU_RETRY, LRU_ROTATE, LRU_SKIP, UsageError
from shrinkfw.lruvec import LruKind

from .era import icache_rules
from .inode import VfsInode
from .pagecache import PageCache
from .state import (
    I_CLEAR,
    I_DIRTY,
    I_DIRTY_SYNC,
    I_FREEING,
    I_NEW,
    I_REFERENCED,
    I_SYNC,
    I_WILL_FREE,
)

if TYPE_CHECKING:
    from shrinkfw import LRUList, LRUStatus, MemCgroup, ShrinkControl, Simulation
    from shrinkfw.slab import KmemCache
    from shrinkfw.vfs import SuperBlock

__all__ = [
    "FIRST_WORKLOAD_INO",
    "INODE_CACHE",
    "INODE_SIZE",
    "PRIVATE_KEY",
    "Icache",
    "SuperInodes",
]

#: Key of the per-superblock state in ``sb.private``.
PRIVATE_KEY: Final = "inode"
#: Name of the slab cache (``inode_cachep``, ``inode_init``).
INODE_CACHE: Final = "inode_cache"
#: Bytes per object: ``sizeof(struct inode)`` on x86-64 v3.14, rounded to SLUB's size.
INODE_SIZE: Final = 600
#: First inode number :meth:`SuperInodes.alloc_ino` hands out: far above the small numbers
#: other plugins give their on-disk names (the dcache plugin counts up from 11), so files of
#: this plugin's workloads never share an inode with theirs.
FIRST_WORKLOAD_INO: Final = 1 << 32

_FILE: Final = LruKind.FILE
#: Bits that keep an inode off the LRU (``inode_add_lru``; v4.x+ ``I_DIRTY_ALL``).
_NO_LRU: Final = I_DIRTY | I_SYNC | I_FREEING | I_WILL_FREE
#: Every bit but I_REFERENCED: any of them makes the isolate callback call the inode busy.
_BUSY_BITS: Final = ~I_REFERENCED
#: Steal records kept for kswapd attribution (see :meth:`Icache.reclaim_done`).
_STEAL_HISTORY: Final = 4096


class Icache:
    """The inode cache of one simulation; get it with :func:`shrinkfw_inode.get_icache`.

    :ivar sim: the simulation.
    :ivar rules: the era's LRU rules.
    :ivar cache: the ``inode_cache`` slab cache.
    :ivar pages: who owns which page cache pages.
    """

    __slots__ = ("_cur_steal", "_nesting", "_passes", "_steals", "cache", "pages", "rules", "sim")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.rules = icache_rules(sim.profile)
        self.cache: KmemCache = sim.slab.create_cache(
            INODE_CACHE, INODE_SIZE, reclaimable=True, account=True
        )
        self.pages = PageCache(sim, self._pages_emptied)
        self._passes = 0
        self._nesting = 0
        self._cur_steal = 0
        self._steals: deque[tuple[int, int]] = deque(maxlen=_STEAL_HISTORY)

    def supers(self, sb: SuperBlock) -> SuperInodes:
        """``sb``'s inode state (``sb.private["inode"]``), created on first use."""
        state = sb.private.get(PRIVATE_KEY)
        if state is None:
            state = sb.private[PRIVATE_KEY] = SuperInodes(sb, self)
        assert isinstance(state, SuperInodes)
        return state

    # -- references ------------------------------------------------------------------------

    def iget(
        self, sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int = 0
    ) -> VfsInode | None:
        """The inode ``ino`` of ``sb`` with one more reference; ``None`` on ENOMEM.

        Models ``iget_locked`` (linux v3.14 / v6.x fs/inode.c): a hash hit takes a reference
        (``find_inode_fast`` → ``__iget``) and leaves the inode where it is, on the LRU or not;
        a miss allocates from ``inode_cache`` for ``memcg`` on ``nid``, hashes the inode
        ``I_NEW`` and, as the filesystem fills it at once, clears the bit
        (``unlock_new_inode``). An inode being freed is not found (``find_inode_fast`` waits
        for it to go, then allocates).
        """
        supers = self.supers(sb)
        inode = supers.hash.get(ino)
        if inode is not None and not inode.state & (I_FREEING | I_WILL_FREE):
            inode.i_count += 1
            return inode
        sim = self.sim
        ref = sim.slab.alloc(self.cache, memcg, nid)
        if ref is None:
            sim.vmstat["inode_alloc_fail"] += 1
            return None
        inode = VfsInode(sb, ino, memcg, ref.nid, ref)
        inode.state = I_NEW
        inode.i_count = 1
        supers.hash[ino] = inode
        inode.state = 0
        sim.vmstat["inode_alloc"] += 1
        return inode

    def iput(self, inode: VfsInode) -> None:
        """Drop a reference; the last one runs :meth:`iput_final` (``iput``)."""
        if inode.i_count <= 0:
            raise UsageError(f"iput of {inode!r}, which holds no reference")
        inode.i_count -= 1
        if not inode.i_count:
            self.iput_final(inode)

    def iput_final(self, inode: VfsInode) -> None:
        """The last reference is gone: keep the inode cached or evict it (``iput_final``).

        Kept (still linked, superblock active): v3.14 sets ``I_REFERENCED`` and calls
        ``inode_add_lru``; later kernels only call it (linux v3.14 / v4.14+ fs/inode.c).
        Unlinked (``generic_drop_inode``): ``I_FREEING``, off the LRU, evicted. On an
        unmounting superblock a linked inode is written first (``I_WILL_FREE``).
        """
        sb = inode.sb
        active = sb.born and not sb.dying
        if inode.nlink and active:
            if self.rules.first_put_referenced:
                inode.state |= I_REFERENCED
            self.inode_add_lru(inode, rotate=True)
            return
        if inode.nlink:
            inode.state |= I_WILL_FREE
            inode.state &= ~(I_DIRTY | I_WILL_FREE)  # write_inode_now
        inode.state |= I_FREEING
        self.lru_del(inode)
        self.evict(inode)

    def inode_add_lru(self, inode: VfsInode, *, rotate: bool) -> bool:
        """Put an unused, clean inode on its superblock's LRU; ``True`` if it was added.

        Models ``inode_add_lru`` / ``inode_lru_list_add`` (linux v3.14; v4.14; v6.x
        ``__inode_add_lru(inode, rotate)``): nothing for a dirty, syncing, dying or referenced
        inode or an inactive superblock; v5.15+ nothing for an inode with page cache
        (``mapping_shrinkable``). ``list_lru_add`` failing (already on the LRU) sets
        ``I_REFERENCED`` from v4.x (v5.15+: only for ``rotate``, the ``iput_final`` caller).
        The inode goes to the list of the node and memcg its slab object is charged to now.
        """
        if inode.state & _NO_LRU or inode.i_count:
            return False
        sb = inode.sb
        if not sb.born or sb.dying:
            return False
        rules = self.rules
        if rules.page_cache_off_lru and inode.nrpages:
            return False
        ref = inode.ref
        assert ref is not None
        if sb.inode_lru.add(inode, ref.nid, ref.memcg):
            self.supers(sb).nr_unused += 1
            return True
        if not rules.first_put_referenced and (rotate or not rules.page_cache_off_lru):
            inode.state |= I_REFERENCED
        return False

    def lru_del(self, inode: VfsInode) -> bool:
        """Take the inode off the LRU if it is there (``inode_lru_list_del``)."""
        if inode.lru_link is not None and inode.sb.inode_lru.del_(inode):
            self.supers(inode.sb).nr_unused -= 1
            return True
        return False

    def evict(self, inode: VfsInode) -> None:
        """Tear down an ``I_FREEING`` inode that is off the LRU (``evict`` + ``destroy_inode``).

        Frees its remaining page cache (``truncate_inode_pages``, v3.15+
        ``truncate_inode_pages_final``), drops its buffers,
        marks it ``I_CLEAR`` (``clear_inode``), unhashes it (``remove_inode_hash``), announces
        it with ``sb.vfs.evict_inode`` (a filesystem such as XFS takes the inode over there),
        then frees its ``inode_cache`` object.
        """
        sim = self.sim
        self._drop_pages(inode)
        inode.has_buffers = False
        inode.state = I_FREEING | I_CLEAR
        supers = self.supers(inode.sb)
        if supers.hash.get(inode.ino) is inode:
            del supers.hash[inode.ino]
        inode.sb.vfs.evict_inode(inode)
        ref = inode.ref
        inode.ref = None
        if ref is not None:
            sim.slab.free(self.cache, ref)
        sim.vmstat["inode_evicted"] += 1

    # -- state changes from the outside ------------------------------------------------------

    def mark_dirty(self, inode: VfsInode) -> None:
        """``__mark_inode_dirty(inode, I_DIRTY_SYNC)``: an inode on the LRU stays there until the
        shrinker finds it busy."""
        self._check_live(inode)
        inode.state |= I_DIRTY_SYNC

    def writeback(self, inode: VfsInode) -> bool:
        """Write a dirty inode back; ``True`` if it was dirty.

        Models ``__writeback_single_inode`` + ``inode_sync_complete`` (linux v3.14+
        fs/fs-writeback.c): ``I_SYNC`` while writing, the dirty bits cleared, then
        ``inode_add_lru``: a clean unused inode joins the LRU now.
        """
        if inode.ref is None or inode.state & (I_FREEING | I_CLEAR):
            return False
        if not inode.state & I_DIRTY:
            return False
        inode.state = (inode.state | I_SYNC) & ~I_DIRTY
        inode.state &= ~I_SYNC
        self.inode_add_lru(inode, rotate=False)
        self.sim.vmstat["inode_writeback"] += 1
        return True

    def unlink(self, inode: VfsInode) -> None:
        """The last link went (``drop_nlink`` to 0): the last ``iput`` evicts the inode."""
        self._check_live(inode)
        inode.nlink = 0

    # -- page cache ------------------------------------------------------------------------

    def read_pages(
        self,
        inode: VfsInode,
        memcg: MemCgroup | None,
        nr_pages: int,
        *,
        nid: int = 0,
        dirty: bool = False,
    ) -> int | None:
        """Read the first ``nr_pages`` pages of a referenced inode's file.

        Cached pages are hits (``mark_page_accessed``); the rest are allocated as page cache
        charged to ``memcg`` (the root for ``None``) preferring ``nid`` (``sim.alloc_user_pages``,
        which may reclaim) and added to the mapping, dirty when ``dirty`` (a write). Returns
        the pages read from disk (or newly written), or ``None`` when the allocation failed
        (ENOMEM: nothing was added).
        """
        self._check_live(inode)
        if nr_pages < 0:
            raise UsageError(f"nr_pages must be >= 0, got {nr_pages}")
        pages = self.pages
        mapping = inode.mapping
        if mapping is not None:
            for key in list(mapping):
                pages.reconcile(*key)
        hits = pages.touch(inode, min(inode.nrpages, nr_pages))
        misses = nr_pages - hits
        if misses <= 0:
            return 0
        sim = self.sim
        owner = memcg if memcg is not None else sim.memcgs.root
        got = sim.alloc_user_pages(owner, misses, kind=_FILE, nid=nid, dirty=dirty)
        if got is None:
            sim.vmstat["inode_read_enomem"] += 1
            return None
        pages.add(inode, owner, got, misses)
        return misses

    def truncate(self, inode: VfsInode) -> int:
        """Drop all of the inode's page cache (``truncate_inode_pages``); returns the pages freed.

        v5.15+: the now empty mapping makes the inode shrinkable and it joins the LRU if it is
        unused and clean (``delete_from_page_cache_batch`` → ``inode_add_lru``).
        """
        freed = self._drop_pages(inode)
        if self.rules.page_cache_off_lru and inode.ref is not None:
            self.inode_add_lru(inode, rotate=False)
        return freed

    def _drop_pages(self, inode: VfsInode) -> int:
        """Free every page of the inode's mapping from the lruvecs; returns the pages freed."""
        mapping = inode.mapping
        if mapping is None:
            return 0
        pages = self.pages
        for key in list(mapping):
            pages.reconcile(*key)
        freed = 0
        free = self.sim.free_user_pages
        for memcg, nid, n in pages.release(inode):
            freed += free(memcg, nid, n, _FILE)
        return freed

    def _pages_emptied(self, inode: VfsInode) -> None:
        """Page reclaim took the inode's last page: v5.15+ ``__remove_mapping`` puts it on the
        LRU if it is unused and clean (``inode_add_lru``, no rotation)."""
        if self.rules.page_cache_off_lru and inode.ref is not None:
            self.inode_add_lru(inode, rotate=False)

    def steal_pages(self, inode: VfsInode) -> int:
        """The isolate callback's slow branch for an inode with buffers or page cache.

        Models the unlocked part of ``inode_lru_isolate`` (linux v3.14-v6.10): pin
        (``__iget``), ``remove_inode_buffers`` (the model's buffers are clean, so it always
        succeeds), ``invalidate_mapping_pages`` on the whole file (the model's page cache is
        clean and unmapped, so every page goes), count the reaped pages as ``PGINODESTEAL``
        (``KSWAPD_INODESTEAL`` for kswapd) and into ``reclaim_state->reclaimed_slab``, unpin
        (``iput``: the inode is still on the LRU, so it comes back ``I_REFERENCED``). Returns
        the pages reaped.
        """
        inode.i_count += 1
        inode.has_buffers = False
        reap = self._drop_pages(inode)
        if reap:
            self.count_steal(reap)
        self.iput(inode)
        return reap

    # -- inodesteal accounting -------------------------------------------------------------

    def count_steal(self, reap: int) -> None:
        """Book ``reap`` pages the isolate callback invalidated: ``reclaimed_slab`` and
        ``pginodesteal`` now; :meth:`reclaim_done` moves kswapd's share to
        ``kswapd_inodesteal``."""
        sim = self.sim
        sim.slab.reclaimed_slab += reap
        sim.vmstat["pginodesteal"] += reap
        if self._nesting:
            self._cur_steal += reap

    def shrink_slab_enter(self, sc: ShrinkControl) -> None:
        """A ``shrink_slab`` pass starts: account what page reclaim took from inode pages.

        A pass for one memcg reconciles that memcg's lruvecs; a pass with no memcg (the
        global lists, v3.14 and the seed) reconciles every lruvec in the reclaim target's
        subtree (everywhere under global pressure).
        """
        self._passes += 1
        self._nesting += 1
        if sc.memcg is not None:
            self.pages.reconcile_memcg(sc.memcg)
        else:
            self.pages.reconcile_subtree(sc.target_mem_cgroup)

    def shrink_slab_exit(self) -> None:
        self._nesting -= 1
        if not self._nesting and self._cur_steal:
            self._steals.append((self._passes, self._cur_steal))
            self._cur_steal = 0

    def reclaim_done(self, reason: str, shrink_slab_calls: int) -> int:
        """A reclaim finished after ``shrink_slab_calls`` passes; returns the pages stolen.

        The kernel counts ``KSWAPD_INODESTEAL`` when ``current_is_kswapd()``. Shrinkers do not
        see who is reclaiming, so steals are booked as ``pginodesteal`` and, when the
        reclaim turns out to be kswapd's, the steals of its last ``shrink_slab_calls``
        passes move to ``kswapd_inodesteal``. Passes outside any reclaim (a direct
        ``sim.shrink_slab``, the seed's offline flush) are never moved.
        """
        first = self._passes - shrink_slab_calls
        stolen = sum(reap for seq, reap in self._steals if seq > first)
        self._steals.clear()
        if stolen and reason == "kswapd":
            vmstat = self.sim.vmstat
            vmstat["pginodesteal"] -= stolen
            vmstat["kswapd_inodesteal"] += stolen
        return stolen

    # -- helpers ---------------------------------------------------------------------------

    def _check_live(self, inode: VfsInode) -> None:
        if inode.ref is None or inode.state & I_FREEING:
            raise UsageError(f"{inode!r} is being freed or was evicted")

    def nr_inodes(self) -> int:
        """Inodes in the hash of every mounted superblock (``inodes_stat.nr_inodes``)."""
        return sum(self.supers(sb).nr_inodes for sb in self.sim.vfs.supers)

    def nr_unused(self) -> int:
        """Inodes on the LRUs of every mounted superblock (``inodes_stat.nr_unused``)."""
        return sum(self.supers(sb).nr_unused for sb in self.sim.vfs.supers)


class SuperInodes:
    """One superblock's inodes: hash, counts, the isolate callback and ``prune_icache_sb``.

    :ivar sb: the superblock.
    :ivar hash: ``ino -> inode`` of every in-core inode (the inode hash table's share of the
        superblock), in the order the inodes were created.
    :ivar nr_unused: inodes on ``sb.inode_lru`` (the kernel's ``nr_unused`` for this sb).
    :ivar next_ino: the next inode number :meth:`alloc_ino` hands out (from
        :data:`FIRST_WORKLOAD_INO`).
    """

    __slots__ = (
        "_dispose",
        "_icache",
        "_isolate_cb",
        "_off_lru",
        "hash",
        "next_ino",
        "nr_unused",
        "sb",
    )

    def __init__(self, sb: SuperBlock, icache: Icache) -> None:
        self.sb = sb
        self._icache = icache
        self._off_lru = icache.rules.page_cache_off_lru
        self.hash: dict[int, VfsInode] = {}
        self.nr_unused = 0
        self.next_ino = FIRST_WORKLOAD_INO
        self._dispose: list[VfsInode] = []
        self._isolate_cb = self.isolate

    @property
    def nr_inodes(self) -> int:
        """In-core inodes of the superblock (its share of ``inodes_stat.nr_inodes``)."""
        return len(self.hash)

    def alloc_ino(self, n: int = 1) -> int:
        """Reserve ``n`` consecutive inode numbers no in-core inode uses; returns the first
        (the model of a filesystem's inode allocator for new or existing files)."""
        first = self.next_ino
        while any(ino in self.hash for ino in range(first, first + n)):
            first += 1
        self.next_ino = first + n
        return first

    def isolate(self, inode: VfsInode, lst: LRUList) -> LRUStatus:
        """``inode_lru_isolate`` (linux v3.14 and v4.x fs/inode.c; v5.15+ busy test).

        * ``i_lock`` trylock fails → ``LRU_SKIP``;
        * in use (``i_count``), any state bit but ``I_REFERENCED``, or (v5.15+) page cache →
          off the LRU, ``nr_unused`` drops → ``LRU_REMOVED`` (counted, not freed);
        * ``I_REFERENCED`` → cleared → ``LRU_ROTATE``;
        * buffers or page cache → :meth:`Icache.steal_pages` → ``LRU_RETRY`` (the walk starts
          again from the list head);
        * else ``I_FREEING``, onto the dispose list → ``LRU_REMOVED``.
        """
        if inode.lock_contended:
            return LRU_SKIP
        state = inode.state
        if inode.i_count or state & _BUSY_BITS or (self._off_lru and inode.nrpages):
            lst.isolate(inode)
            self.nr_unused -= 1
            return LRU_REMOVED
        if state:
            inode.state = 0
            return LRU_ROTATE
        if inode.has_buffers or inode.nrpages:
            self._icache.steal_pages(inode)
            return LRU_RETRY
        inode.state = I_FREEING
        lst.isolate_move(inode, self._dispose)
        self.nr_unused -= 1
        return LRU_REMOVED

    def prune(self, sc: ShrinkControl) -> int:
        """``prune_icache_sb``: walk the (``sc.nid``, ``sc.memcg``) list with ``sc.nr_to_scan``
        as budget, then ``dispose_list``; returns the inodes isolated (busy ones taken off the
        LRU included, as the kernel counts them).

        A memcg's lruvecs are reconciled with its inodes' pages first, so the walk sees the
        page cache page reclaim left (the ``shrinkfw_shrink_slab`` wrapper already does it
        for passes that come through reclaim).
        """
        if sc.memcg is not None:
            self._icache.pages.reconcile_memcg(sc.memcg)
        dispose: list[VfsInode] = []
        outer = self._dispose
        self._dispose = dispose
        try:
            isolated = self.sb.inode_lru.shrink_walk(sc, self._isolate_cb)
        finally:
            self._dispose = outer
        if dispose:
            self.dispose_list(dispose)
        return isolated

    def dispose_list(self, dispose: list[VfsInode]) -> None:
        """Evict each isolated inode, head of the kernel's list first (``dispose_list``).

        ``list_lru_isolate_move`` puts an inode at the head of the dispose list, so the kernel
        evicts the last isolated inode first; the Python list holds them in isolation order.
        """
        evict = self._icache.evict
        for inode in reversed(dispose):
            evict(inode)

    def evict_all(self) -> int:
        """Evict every inode of the superblock, busy or not (umount); returns how many.

        Models ``evict_inodes`` in ``generic_shutdown_super``. The kernel skips inodes still in
        use and then warns "VFS: Busy inodes after unmount"; the model evicts them too, so
        nothing of an unmounted superblock stays charged, and counts them in
        ``vmstat["inode_busy_at_umount"]``.
        """
        icache = self._icache
        n = 0
        for inode in list(self.hash.values()):
            if inode.state & I_FREEING:
                continue
            if inode.i_count:
                icache.sim.vmstat["inode_busy_at_umount"] += 1
            inode.state |= I_FREEING
            icache.lru_del(inode)
            icache.evict(inode)
            n += 1
        return n

    def __repr__(self) -> str:
        return f"<SuperInodes {self.sb.s_id} nr_inodes={self.nr_inodes} nr_unused={self.nr_unused}>"
