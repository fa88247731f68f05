"""XFS inode reclaim: the per-AG reclaimable inodes behind ``nr_cached_objects`` /
``free_cached_objects`` and the background reclaim worker.

Models fs/xfs/xfs_icache.c (linux v3.14-v5.8 and v5.9+/v6.x) and xfs_super.c
(``xfs_fs_nr_cached_objects``, ``xfs_fs_free_cached_objects``). When the VFS is done with an
XFS inode (``destroy_inode``) the ``struct xfs_inode`` is not freed: it is tagged
``XFS_ICI_RECLAIM_TAG`` in its allocation group's inode radix tree and counted in
``pag_ici_reclaimable``. It is freed later by one of three walkers:

* the superblock shrinker: ``super_cache_scan`` calls ``free_cached_objects`` with the fs
  objects' share of the scan; ``xfs_reclaim_inodes_nr`` kicks the background worker, pushes
  the AIL and walks the tagged AGs from each AG's cursor in batches of
  ``XFS_LOOKUP_BATCH = 32``, taking 32 off the budget per batch and stopping an AG when the
  budget is spent; it returns 0 (``last_error`` up to v5.8, a literal 0 later), never a freed
  count, so ``super_cache_scan`` reports no XFS inodes as freed;
* the background worker ``xfs_reclaim_worker``, queued 5 s (``xfs_syncd_centisecs / 6 * 10``
  ms) after an inode is tagged or the shrinker kicks it, and re-queued every 5 s while any
  inode is tagged: a non-blocking pass over every reclaimable inode;
* unmount, which frees everything.

What a pass does with an inode depends on the era (:class:`~shrinkfw_xfs.era.XfsBehaviour`):

* v3.12-v5.8, the shrinker passes ``SYNC_TRYLOCK | SYNC_WAIT``: an AG whose reclaim mutex is
  held elsewhere is skipped (and the walk redone with blocking locks, from AG offset 0, if
  budget is left); flush-locked inodes are skipped at grab time; pinned inodes are waited for
  (log force) and dirty ones flushed and written synchronously, then freed. The worker passes
  ``SYNC_TRYLOCK`` alone: pinned and dirty inodes are left for the AIL.
* v5.9+: no reclaim mutex; every pass is non-blocking: an inode whose ILOCK is contended, that
  is being flushed, pinned or dirty is skipped; the shrinker only pushes the AIL.

Model choices
-------------
* The synchronous flush and the unpin wait of the v3.x path are modelled as immediate; they
  are counted in :attr:`XfsInodeCache.sync_writes` and :attr:`XfsInodeCache.unpin_waits`
  (and ``vmstat`` ``xfs_inode_sync_writes``), which is what they cost the reclaimer.
* Waiting for a busy AG reclaim mutex in the blocking second pass is modelled as getting it.
* The AIL (:class:`~shrinkfw_xfs.mount.XfsAil`) writes back every logged inode and dquot a
  fixed delay after a push.
* XFS inode numbers encode the AG: ``ino = agno << AGINO_LOG | agino``.

Notes against the spec
----------------------
* §7.6 says the walk stops "at nr ≤ 0". The budget check is only the per-AG loop condition:
  the walk over AGs goes on, and every further tagged AG still gets one batch of up to 32
  before its own check (v3.14 ``xfs_reclaim_inodes_ag``; v6.x ``xfs_icwalk_ag`` checks after
  the batch too). One ``free_cached_objects(1)`` on a filesystem with four AGs of
  reclaimable inodes can free 128 inodes.
* §7.6 and §7.1 say XFS ignores ``sc->memcg``; it ignores ``sc->nid`` as well
  (``xfs_reclaim_inodes_count`` sums every AG whatever the node), so each node's
  ``super_cache_count`` includes all of the filesystem's reclaimable inodes.
* §7.6 gives the per-AG cursor for every walk. Up to v5.8 only ``SYNC_TRYLOCK`` walks start
  at the cursor (the blocking second pass starts at 0), and the cursor is reset to 0 when an
  AG's walk ends without finding more. From v5.9 every reclaim walk uses it.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Final, Protocol

from shrinkfw.errors import UsageError

from .caches import XFS_INODE_SIZE, kmem_cache

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.slab import SlabRef

    from .era import XfsBehaviour

__all__ = [
    "AGINO_LOG",
    "RECLAIM_WORK_INTERVAL",
    "SYNC_TRYLOCK",
    "SYNC_WAIT",
    "XFS_LOOKUP_BATCH",
    "XfsInode",
    "XfsInodeCache",
    "XfsPerAG",
]

#: Inodes per radix-tree gang lookup in a reclaim walk (``XFS_LOOKUP_BATCH``).
XFS_LOOKUP_BATCH: Final = 32
#: ``xfs_syncd_centisecs / 6 * 10`` ms with the default 3000 centisecs: 5 s.
RECLAIM_WORK_INTERVAL: Final = 5.0
#: Bits of an inode number that are the inode's number within its AG.
AGINO_LOG: Final = 24
#: ``SYNC_WAIT``: wait for locks and I/O, flush dirty inodes.
SYNC_WAIT: Final = 0x1
#: ``SYNC_TRYLOCK``: trylock the AG reclaim mutexes, skip flush-locked inodes.
SYNC_TRYLOCK: Final = 0x2
_FIRST_AGINO: Final = 128
_INT_MAX: Final = (1 << 31) - 1


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class XfsInode:
    """One in-core XFS inode (``struct xfs_inode``, the VFS inode embedded).

    :ivar ino: the inode number.
    :ivar agno: its allocation group.
    :ivar agino: its number within the AG (the radix-tree index).
    :ivar memcg: the memcg its memory is charged to (the one that created it).
    :ivar nid: the node of its memory.
    :ivar ref: its ``"xfs_inode"`` slab object.
    :ivar reclaimable: ``XFS_IRECLAIMABLE``: tagged for reclaim.
    :ivar dirty: has changes not yet written to its cluster buffer (``!xfs_inode_clean``).
    :ivar pinned: ``xfs_ipincount > 0``: in the log, not yet committed.
    :ivar flush_locked: a write of it is in flight (``XFS_IFLOCK``, ``XFS_IFLUSHING`` v5.9+).
    :ivar lock_contended: the ILOCK is held elsewhere (v5.9+ reclaim trylocks it).
    """

    __slots__ = (
        "agino",
        "agno",
        "dirty",
        "flush_locked",
        "ino",
        "lock_contended",
        "memcg",
        "nid",
        "pinned",
        "reclaimable",
        "ref",
    )

    def __init__(
        self, ino: int, agno: int, agino: int, memcg: MemCgroup | None, nid: int, ref: SlabRef
    ) -> None:
        self.ino = ino
        self.agno = agno
        self.agino = agino
        self.memcg = memcg
        self.nid = nid
        self.ref = ref
        self.reclaimable = False
        self.dirty = False
        self.pinned = False
        self.flush_locked = False
        self.lock_contended = False

    def __repr__(self) -> str:
        flags = "".join(
            f" {name}"
            for name, on in (
                ("reclaimable", self.reclaimable),
                ("dirty", self.dirty),
                ("pinned", self.pinned),
                ("flush_locked", self.flush_locked),
            )
            if on
        )
        return f"<XfsInode {self.ino:#x} ag={self.agno}{flags}>"


class XfsPerAG:
    """The inode-cache side of one allocation group (``struct xfs_perag``).

    Holds the reclaim-tagged inodes of the AG by ``agino``; a gang lookup returns them in
    ``agino`` order from an index, as ``radix_tree_gang_lookup_tag`` does.

    :ivar agno: the AG number.
    :ivar cursor: ``pag_ici_reclaim_cursor``: where the next reclaim walk starts.
    :ivar reclaim_mutex_busy: ``pag_ici_reclaim_lock`` is held by another reclaimer
        (v3.12-v5.8): a trylock walk skips the AG.
    """

    __slots__ = ("_keys", "_sorted", "_stale", "_tagged", "agno", "cursor", "reclaim_mutex_busy")

    def __init__(self, agno: int) -> None:
        self.agno = agno
        self.cursor = 0
        self.reclaim_mutex_busy = False
        self._tagged: dict[int, XfsInode] = {}
        #: sorted aginos, possibly with stale entries of untagged inodes
        self._keys: list[int] = []
        self._sorted = True
        self._stale = 0

    @property
    def reclaimable(self) -> int:
        """``pag_ici_reclaimable``."""
        return len(self._tagged)

    def tag(self, ip: XfsInode) -> None:
        """``xfs_perag_set_reclaim_tag`` for ``ip``."""
        self._tagged[ip.agino] = ip
        keys = self._keys
        if self._sorted and (not keys or ip.agino > keys[-1]):
            keys.append(ip.agino)
        else:
            self._sorted = False

    def untag(self, ip: XfsInode) -> None:
        """``xfs_perag_clear_reclaim_tag`` / radix-tree delete for ``ip``."""
        if self._tagged.get(ip.agino) is ip:
            del self._tagged[ip.agino]
            self._stale += 1
            if self._stale > 64 and self._stale > len(self._tagged):
                self._sorted = False

    def gang_lookup(self, first_index: int, nr: int) -> list[XfsInode]:
        """``radix_tree_gang_lookup_tag(..., first_index, nr, XFS_ICI_RECLAIM_TAG)``: up to
        ``nr`` tagged inodes with ``agino >= first_index``, in ``agino`` order."""
        tagged = self._tagged
        if not self._sorted:
            self._keys = sorted(tagged)
            self._sorted = True
            self._stale = 0
        keys = self._keys
        found: list[XfsInode] = []
        i = bisect_left(keys, first_index)
        end = len(keys)
        prev = -1
        while i < end and len(found) < nr:
            agino = keys[i]
            i += 1
            ip = tagged.get(agino)
            if ip is not None and agino != prev:
                found.append(ip)
                prev = agino
        return found

    def inodes(self) -> list[XfsInode]:
        """The tagged inodes in ``agino`` order."""
        return [self._tagged[k] for k in sorted(self._tagged)]

    def __repr__(self) -> str:
        return f"<XfsPerAG {self.agno} reclaimable={self.reclaimable} cursor={self.cursor}>"


class XfsInodeCache:
    """A mount's in-core inodes, their reclaim and the background reclaim worker.

    :param sim: the simulation.
    :param behaviour: the kernel's XFS rules.
    :param agcount: allocation groups of the filesystem.
    :param push_ail: starts an AIL push (``xfs_ail_push_all``); a no-op by default.

    :ivar inodes: every in-core inode by number (in use and reclaimable).
    :ivar reclaimed: inodes freed by reclaim.
    :ivar sync_writes: dirty inodes the shrinker flushed and waited for (v3.12-v5.8).
    :ivar unpin_waits: pinned inodes the shrinker waited for (v3.12-v5.8).
    :ivar mutex_waits: AG reclaim mutexes the blocking second pass waited for.
    :ivar worker_runs: background worker passes.
    :ivar nr_calls: ``free_cached_objects`` calls.
    """

    __slots__ = (
        "_next_agino",
        "_work",
        "ags",
        "behaviour",
        "cache",
        "inodes",
        "logged",
        "mutex_waits",
        "nr_calls",
        "push_ail",
        "reclaimed",
        "sim",
        "sync_writes",
        "unpin_waits",
        "worker_runs",
    )

    def __init__(
        self,
        sim: Simulation,
        behaviour: XfsBehaviour,
        *,
        agcount: int = 4,
        push_ail: Callable[[], None] | None = None,
    ) -> None:
        if agcount < 1:
            raise UsageError(f"an XFS filesystem needs at least one AG, got agcount={agcount}")
        self.sim = sim
        self.behaviour = behaviour
        self.cache = kmem_cache(sim, "xfs_inode", XFS_INODE_SIZE, reclaimable=True, account=True)
        self.ags = [XfsPerAG(agno) for agno in range(agcount)]
        self.inodes: dict[int, XfsInode] = {}
        #: inodes logged since the last AIL writeback (the AIL's inode items)
        self.logged: dict[XfsInode, None] = {}
        self.push_ail: Callable[[], None] = push_ail if push_ail is not None else _nothing
        self._next_agino = [_FIRST_AGINO] * agcount
        self._work: _Cancellable | None = None
        self.reclaimed = 0
        self.sync_writes = 0
        self.unpin_waits = 0
        self.mutex_waits = 0
        self.worker_runs = 0
        self.nr_calls = 0

    # -- inode numbers and lifetime ----------------------------------------------------------

    @property
    def agcount(self) -> int:
        return len(self.ags)

    def split_ino(self, ino: int) -> tuple[int, int]:
        """``XFS_INO_TO_AGNO`` / ``XFS_INO_TO_AGINO`` (AG numbers wrap at ``agcount``)."""
        return (ino >> AGINO_LOG) % len(self.ags), ino & ((1 << AGINO_LOG) - 1)

    def new_ino(self, agno: int) -> int:
        """The next free inode number in AG ``agno`` (``xfs_dialloc``)."""
        agino = self._next_agino[agno]
        self._next_agino[agno] = agino + 1
        return agno << AGINO_LOG | agino

    def alloc_inode(self, ino: int, memcg: MemCgroup | None, nid: int = 0) -> XfsInode | None:
        """``xfs_inode_alloc`` on an inode-cache miss: a new in-core inode charged to
        ``memcg``. ``None`` on ENOMEM. The inode is in use (not reclaimable)."""
        if ino in self.inodes:
            raise UsageError(f"inode {ino:#x} is already in core")
        ref = self.sim.slab.alloc(self.cache, memcg, nid)
        if ref is None:
            self.sim.vmstat["xfs_inode_enomem"] += 1
            return None
        agno, agino = self.split_ino(ino)
        ip = XfsInode(ino, agno, agino, memcg, ref.nid, ref)
        self.inodes[ino] = ip
        return ip

    def log_inode(self, ip: XfsInode) -> None:
        """``xfs_trans_log_inode`` + commit: dirty and pinned until the AIL writes it."""
        ip.dirty = True
        ip.pinned = True
        self.logged[ip] = None

    def ail_written(self) -> int:
        """The AIL wrote back every logged inode (after a log force): clean and unpinned.
        Returns how many were cleaned."""
        n = 0
        for ip in self.logged:
            if ip.dirty or ip.pinned:
                ip.dirty = False
                ip.pinned = False
                n += 1
        self.logged.clear()
        return n

    def mark_reclaimable(self, ip: XfsInode) -> None:
        """``xfs_fs_destroy_inode`` → ``xfs_inode_set_reclaim_tag``: the VFS is done with the
        inode; tag it in its AG and queue the background worker."""
        if ip.reclaimable:
            return
        if self.inodes.get(ip.ino) is not ip:
            raise UsageError(f"{ip!r} is not in core in this filesystem")
        ip.reclaimable = True
        self.ags[ip.agno].tag(ip)
        self.reclaim_work_queue()

    def count(self) -> int:
        """``xfs_reclaim_inodes_count``: Σ over the AGs of ``pag_ici_reclaimable``."""
        total = 0
        for pag in self.ags:
            total += len(pag._tagged)
        return total

    def _reclaim(self, ip: XfsInode, pag: XfsPerAG) -> None:
        """The ``reclaim:`` tail of ``xfs_reclaim_inode``: out of the radix tree, freed."""
        pag.untag(ip)
        ip.reclaimable = False
        del self.inodes[ip.ino]
        self.logged.pop(ip, None)
        self.sim.slab.free(self.cache, ip.ref)
        self.reclaimed += 1
        self.sim.vmstat["xfs_inode_reclaimed"] += 1

    # -- the shrinker path -------------------------------------------------------------------

    def reclaim_inodes_nr(self, nr_to_scan: int) -> int:
        """``xfs_reclaim_inodes_nr``: kick the worker, push the AIL, walk the tagged AGs with
        a budget of ``nr_to_scan``. Returns 0: the kernel returns ``last_error`` (v3.12-v5.8)
        or 0 (v5.9+), never the number freed."""
        self.nr_calls += 1
        self.reclaim_work_queue()
        self.push_ail()
        if self.behaviour.inode_reclaim_sync_wait:
            self.reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT, nr_to_scan)
        else:
            self.icwalk_reclaim(nr_to_scan)
        return 0

    def reclaim_inodes_ag(self, flags: int, nr_to_scan: int) -> int:
        """``xfs_reclaim_inodes_ag`` (v3.12-v5.8); returns the budget left.

        Per tagged AG, in AG order: trylock its reclaim mutex and start at its cursor
        (``SYNC_TRYLOCK``), else start at 0; look up batches of up to 32 from there, grab each
        (not flush-locked, under ``SYNC_TRYLOCK``), reclaim the grabbed ones, take 32 off the
        budget, go on while the lookup found some and budget is left. The cursor is saved
        after a trylock walk that did not reach the AG's end, else reset to 0. If an AG was
        skipped, ``SYNC_WAIT`` is set and budget is left, walk again with blocking locks.
        """
        nr = nr_to_scan
        trylock = bool(flags & SYNC_TRYLOCK)
        while True:
            skipped = 0
            for pag in self.ags:
                if not pag._tagged:
                    continue
                if trylock:
                    if pag.reclaim_mutex_busy:
                        skipped += 1
                        continue
                    first = pag.cursor
                else:
                    if pag.reclaim_mutex_busy:
                        self.mutex_waits += 1
                    first = 0
                done = False
                while True:
                    batch = pag.gang_lookup(first, XFS_LOOKUP_BATCH)
                    if not batch:
                        done = True
                        break
                    first = batch[-1].agino + 1
                    for ip in batch:
                        if flags & SYNC_TRYLOCK and ip.flush_locked:
                            continue  # xfs_reclaim_inode_grab: being flushed
                        self._reclaim_inode_sync(ip, pag, flags)
                    nr -= XFS_LOOKUP_BATCH
                    if nr <= 0:
                        break
                pag.cursor = first if trylock and not done else 0
            if skipped and flags & SYNC_WAIT and nr > 0:
                trylock = False
                continue
            return nr

    def _reclaim_inode_sync(self, ip: XfsInode, pag: XfsPerAG, flags: int) -> None:
        """``xfs_reclaim_inode`` (v3.12-v5.8): without ``SYNC_WAIT`` requeue a flush-locked,
        pinned or dirty inode; with it wait for the flush, the unpin, flush and write a dirty
        inode, then reclaim."""
        sync = flags & SYNC_WAIT
        if ip.flush_locked:
            if not sync:
                return
            ip.flush_locked = False  # xfs_iflock: the write in flight completes
        if ip.pinned:
            if not sync:
                return
            ip.pinned = False  # xfs_iunpin_wait: log force
            self.unpin_waits += 1
        if ip.dirty:
            if not sync:
                return
            ip.dirty = False  # xfs_iflush + xfs_bwrite, waited for
            self.sync_writes += 1
            self.sim.vmstat["xfs_inode_sync_writes"] += 1
        self._reclaim(ip, pag)

    def icwalk_reclaim(self, scan_limit: int | None) -> None:
        """``xfs_icwalk(mp, XFS_ICWALK_RECLAIM, icw)`` (v5.9+; ``xfs_reclaim_inodes_ag``
        without sync flags in v5.9-v5.13): every tagged AG from its cursor in batches of 32;
        with a scan limit, 32 comes off it after each batch and the AG's walk stops at 0 or
        below. The cursor is reset to 0 when the AG's walk ran out of inodes."""
        limit = scan_limit
        for pag in self.ags:
            if not pag._tagged:
                continue
            first = pag.cursor
            done = False
            while True:
                batch = pag.gang_lookup(first, XFS_LOOKUP_BATCH)
                if not batch:
                    done = True
                    break
                first = batch[-1].agino + 1
                for ip in batch:
                    if ip.lock_contended or ip.flush_locked or ip.pinned or ip.dirty:
                        continue  # xfs_reclaim_inode: non-blocking, requeue
                    self._reclaim(ip, pag)
                if limit is not None:
                    limit -= XFS_LOOKUP_BATCH
                    if limit <= 0:
                        break
            pag.cursor = 0 if done else first

    # -- the background worker ---------------------------------------------------------------

    def reclaim_work_queue(self) -> None:
        """``xfs_reclaim_work_queue``: queue the worker 5 s out if any inode is tagged and it
        is not already queued (``queue_delayed_work``)."""
        if self._work is None and self.count():
            self._work = self.sim.schedule(
                RECLAIM_WORK_INTERVAL, self.reclaim_worker, name="xfs_reclaim_worker"
            )

    def reclaim_worker(self) -> None:
        """``xfs_reclaim_worker``: a non-blocking pass over every reclaimable inode
        (``SYNC_TRYLOCK`` up to v5.8), then re-queue while inodes stay tagged."""
        self._work = None
        self.worker_runs += 1
        if self.behaviour.inode_reclaim_sync_wait:
            self.reclaim_inodes_ag(SYNC_TRYLOCK, _INT_MAX)
        else:
            self.icwalk_reclaim(None)
        self.reclaim_work_queue()

    @property
    def worker_queued(self) -> bool:
        return self._work is not None

    # -- unmount -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Unmount: ``evict_inodes`` then ``xfs_reclaim_inodes(SYNC_WAIT)`` free every in-core
        inode; the worker is cancelled."""
        if self._work is not None:
            self._work.cancel()
            self._work = None
        slab, cache = self.sim.slab, self.cache
        for ip in list(self.inodes.values()):
            if ip.reclaimable:
                self.ags[ip.agno].untag(ip)
                ip.reclaimable = False
            slab.free(cache, ip.ref)
        self.inodes.clear()
        self.logged.clear()

    def __repr__(self) -> str:
        return f"<XfsInodeCache inodes={len(self.inodes)} reclaimable={self.count()}>"


def _nothing() -> None:
    return None
