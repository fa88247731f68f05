"""The XFS dquot cache of one mount and its shrinker (``xfs-qm:<dev>``).

Models fs/xfs/xfs_qm.c and xfs_dquot.c (linux v3.14 through v6.x): in-core dquots are found by
id (``xfs_qm_dqget``), referenced while attached to inodes or transactions (``q_nrefs``), and
put on the quota ``list_lru`` (``qi_lru``, NUMA-aware, not memcg-aware) when the last
reference goes (``xfs_qm_dqput``). Lookups of a dquot on the LRU only take a reference; the
isolate callback takes referenced dquots off the LRU later. The shrinker
(``xfs_qm_shrink_count`` / ``xfs_qm_shrink_scan``) does nothing (returns 0, not
``SHRINK_STOP``) unless the reclaim context may both enter the filesystem and wait
(``__GFP_FS`` and ``__GFP_WAIT``, later ``__GFP_DIRECT_RECLAIM``); it walks the LRU with
``xfs_qm_dquot_isolate``, writes the buffers the callback queued (``xfs_buf_delwri_submit``)
and frees the disposed dquots (``xfs_qm_dqfree_one``). It returns the walk's isolated count,
which includes referenced dquots merely taken off the LRU.

Model choices
-------------
* A dirty dquot is flushed by the isolate callback in the kernel (``xfs_qm_dqflush`` reads
  its cluster buffer with the LRU lock dropped, then the callback answers ``LRU_RETRY``). The
  callback here makes the same state change (clean, flush-locked, unpinned after the log-force
  wait) and queues the dquot; the buffer lookup, which may allocate, runs after the walk with
  the delayed-write submission, so the isolate callback allocates nothing. The write is
  waited for, so every flush lock is released before the scan returns.
* Dquot cluster buffers (``XFS_DQUOT_REF`` 1) live in the mount's buftarg, 30 dquots per 4 KiB
  block (``qi_dqperchunk`` = 4096 / sizeof(xfs_dqblk_t) 136).

Notes against the spec
----------------------
* §7.5 dates the ``XFS_DQFLAG_FREEING`` skip to "v5.x+". It is 52f31ed22821 "xfs: dquot
  shrinker doesn't check for XFS_DQFLAG_FREEING", merged for v6.2 (Dec 2022), backported to
  5.15.y and 6.1.y stable; mainline v5.x and v6.0-v6.1 do not have it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw.errors import UsageError
from shrinkfw.list_lru import (
    LRU_REMOVED,
    LRU_RETRY,
    LRU_ROTATE,
    LRU_SKIP,
    LRUItem,
    LRUList,
    LRUStatus,
)
from shrinkfw.shrinker import DEFAULT_SEEKS, Gfp, ShrinkControl, ShrinkerFlags

from .buf import XfsBufType
from .caches import XFS_DQUOT_SIZE, kmem_cache

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import Simulation
    from shrinkfw.list_lru import ListLRU
    from shrinkfw.registry import ShrinkerEntry
    from shrinkfw.slab import SlabRef

    from .buf import XfsBuftarg
    from .era import XfsBehaviour

__all__ = ["XFS_DQUOTS_PER_CHUNK", "Dquot", "XfsQuotaInfo"]

#: ``qi_dqperchunk`` for 4 KiB blocks: 4096 // sizeof(xfs_dqblk_t) (136).
XFS_DQUOTS_PER_CHUNK: Final = 30
#: Block numbers of dquot cluster buffers start here (the quota inode's blocks), above the
#: block numbers the workloads use for the AGs' metadata.
DQUOT_BNO_BASE: Final = 1 << 60
_FS_WAIT: Final = Gfp.FS | Gfp.DIRECT_RECLAIM


class Dquot(LRUItem):
    """One in-core dquot (``struct xfs_dquot``).

    :ivar id: the quota id (uid, gid or project id).
    :ivar nrefs: ``q_nrefs``.
    :ivar dirty: ``XFS_DQFLAG_DIRTY``: logged changes not yet written.
    :ivar freeing: ``XFS_DQFLAG_FREEING``: being torn down.
    :ivar pinned: ``q_pincount > 0``: in the log, not yet committed.
    :ivar lock_contended: ``q_qlock`` is held elsewhere, so the isolate trylock fails.
    :ivar flush_locked: the flush lock is held: a write of the dquot is in flight.
    :ivar nid: the node of its memory (its list_lru list).
    :ivar ref: its ``"xfs_dquot"`` slab object.
    """

    __slots__ = (
        "dirty",
        "flush_locked",
        "freeing",
        "id",
        "lock_contended",
        "nid",
        "nrefs",
        "pinned",
        "ref",
    )

    def __init__(self, dq_id: int, nid: int, ref: SlabRef) -> None:
        super().__init__()
        self.id = dq_id
        self.nid = nid
        self.ref = ref
        self.nrefs = 0
        self.dirty = False
        self.freeing = False
        self.pinned = False
        self.lock_contended = False
        self.flush_locked = False

    def __repr__(self) -> str:
        flags = "".join(
            f" {name}"
            for name, on in (
                ("dirty", self.dirty),
                ("pinned", self.pinned),
                ("freeing", self.freeing),
                ("flush_locked", self.flush_locked),
            )
            if on
        )
        return f"<Dquot {self.id} nrefs={self.nrefs}{flags}>"


class XfsQuotaInfo:
    """A mount's quota manager and its shrinker ``xfs-qm:<dev>`` (``struct xfs_quotainfo``).

    Create it with :meth:`register` (``xfs_qm_init_quotainfo``). The shrinker is NUMA-aware,
    ``DEFAULT_SEEKS``, default batch, not memcg-aware.

    :ivar freed: dquots freed by the shrinker.
    :ivar misses: isolate visits that left the dquot in place (``xs_qm_dqreclaim_misses``).
    :ivar wants: referenced dquots taken off the LRU (``xs_qm_dqwants``).
    :ivar flushed: dquots the shrinker wrote back.
    """

    #: the kernel function trace lines name
    scan_fn = "xfs_qm_shrink_scan"

    __slots__ = (
        "_delwri",
        "_dispose",
        "_isolate",
        "_skip_freeing",
        "batch",
        "behaviour",
        "buftarg",
        "cache",
        "entry",
        "flags",
        "flushed",
        "freed",
        "logged",
        "lru",
        "misses",
        "name",
        "seeks",
        "sim",
        "tree",
        "wants",
    )

    def __init__(
        self, sim: Simulation, dev: str, behaviour: XfsBehaviour, buftarg: XfsBuftarg
    ) -> None:
        self.name = f"xfs-qm:{dev}"
        self.flags = ShrinkerFlags.NUMA_AWARE
        self.seeks = DEFAULT_SEEKS
        self.batch = 0
        self.sim = sim
        self.behaviour = behaviour
        self.buftarg = buftarg
        self.cache = kmem_cache(sim, "xfs_dquot", XFS_DQUOT_SIZE, reclaimable=True, account=False)
        #: ``qi_uquota_tree``: in-core dquots by id.
        self.tree: dict[int, Dquot] = {}
        #: dquots logged since the last AIL writeback (the AIL's dquot items)
        self.logged: dict[Dquot, None] = {}
        self._dispose: list[Dquot] = []
        self._delwri: list[Dquot] = []
        self._skip_freeing = behaviour.dquot_skip_freeing
        self._isolate: Callable[[Dquot, LRUList], LRUStatus] = (
            self._isolate_rotate_dirty if behaviour.dquot_dirty_rotates else self._isolate_flush
        )
        self.freed = 0
        self.misses = 0
        self.wants = 0
        self.flushed = 0
        self.entry: ShrinkerEntry | None = None
        self.lru: ListLRU | None = None

    @classmethod
    def register(
        cls,
        sim: Simulation,
        dev: str,
        behaviour: XfsBehaviour,
        buftarg: XfsBuftarg,
        *,
        plugin: str,
    ) -> XfsQuotaInfo:
        """``xfs_qm_init_quotainfo``: the quota info with its shrinker and list_lru."""
        qi = cls(sim, dev, behaviour, buftarg)
        qi.entry = sim.shrinkers.add(qi, plugin=plugin)
        qi.lru = sim.new_list_lru(memcg_aware=False, shrinker=qi.entry, name=qi.name)
        return qi

    def _lru(self) -> ListLRU:
        lru = self.lru
        assert lru is not None, "XfsQuotaInfo.register sets up the list_lru"
        return lru

    # -- the shrinker ------------------------------------------------------------------------

    def count_objects(self, sc: ShrinkControl) -> int:
        """``xfs_qm_shrink_count``: dquots on the LRU list of ``sc.nid``."""
        return self._lru().shrink_count(sc)

    def scan_objects(self, sc: ShrinkControl) -> int:
        """``xfs_qm_shrink_scan``: 0 without ``__GFP_FS`` and ``__GFP_DIRECT_RECLAIM``; else
        walk, write the queued buffers, free the disposed dquots; return the isolated count."""
        if (sc.gfp_mask & _FS_WAIT) != _FS_WAIT:
            return 0
        freed = self._lru().shrink_walk(sc, self._isolate)
        self._delwri_submit()
        dispose = self._dispose
        for dq in reversed(dispose):
            self._free(dq)
        dispose.clear()
        return freed

    def _isolate_flush(self, dq: Dquot, lst: LRUList) -> LRUStatus:
        """``xfs_qm_dquot_isolate`` (v3.14-v6.x): trylock; (v6.2+) skip a dquot being freed;
        referenced: off the LRU; flush-locked: skip; dirty: flush and ``LRU_RETRY``; else
        mark it freeing and dispose of it."""
        if dq.lock_contended or (dq.freeing and self._skip_freeing):
            self.misses += 1
            return LRU_SKIP
        if dq.nrefs:
            self.wants += 1
            lst.isolate(dq)
            return LRU_REMOVED
        if dq.flush_locked:
            self.misses += 1
            return LRU_SKIP
        if dq.dirty:
            # xfs_qm_dqflush: wait for the unpin, copy to the buffer, clear the dirty flag;
            # the flush lock stays held until the delayed write completes
            dq.pinned = False
            dq.dirty = False
            dq.flush_locked = True
            self._delwri.append(dq)
            self.misses += 1
            return LRU_RETRY
        dq.freeing = True
        lst.isolate_move(dq, self._dispose)
        return LRU_REMOVED

    def _isolate_rotate_dirty(self, dq: Dquot, lst: LRUList) -> LRUStatus:
        """``xfs_qm_dquot_isolate`` (2024+): dirty or pinned dquots rotate to the LRU tail
        for the AIL to clean; no I/O from the shrinker."""
        if dq.lock_contended or dq.freeing:
            self.misses += 1
            return LRU_SKIP
        if dq.dirty or dq.pinned:
            self.misses += 1
            return LRU_ROTATE
        if dq.nrefs:
            self.wants += 1
            lst.isolate(dq)
            return LRU_REMOVED
        if dq.flush_locked:
            self.misses += 1
            return LRU_SKIP
        dq.freeing = True
        lst.isolate_move(dq, self._dispose)
        return LRU_REMOVED

    def _delwri_submit(self) -> None:
        """``xfs_buf_delwri_submit`` of the buffers the walk queued, waiting for the writes:
        one cluster buffer per 30 dquots, in block order; the flush locks are released at I/O
        completion (``xfs_qm_dqflush_done``). A buffer that cannot be allocated fails the
        flush and leaves its dquots dirty."""
        queued = self._delwri
        if not queued:
            return
        buftarg = self.buftarg
        written: dict[int, bool] = {}
        for dq in sorted(queued, key=_dquot_bno):
            bno = _dquot_bno(dq)
            ok = written.get(bno)
            if ok is None:
                ok = written[bno] = buftarg.touch(bno, XfsBufType.DQUOT, dq.nid)
            dq.flush_locked = False
            if ok:
                self.flushed += 1
            else:
                dq.dirty = True
        queued.clear()

    # -- dquot lifetime ----------------------------------------------------------------------

    def dqget(self, dq_id: int, nid: int = 0) -> Dquot | None:
        """``xfs_qm_dqget``: the dquot of ``dq_id`` with a reference; read in on a miss (its
        cluster buffer is touched). A dquot found on the LRU stays there until the shrinker
        sees its reference. ``None`` on ENOMEM."""
        dq = self.tree.get(dq_id)
        if dq is not None and not dq.freeing:
            dq.nrefs += 1
            return dq
        ref = self.sim.slab.alloc(self.cache, None, nid)
        if ref is None:
            self.sim.vmstat["xfs_dquot_enomem"] += 1
            return None
        dq = Dquot(dq_id, ref.nid, ref)
        if not self.buftarg.touch(_dquot_bno(dq), XfsBufType.DQUOT, ref.nid):
            self.sim.slab.free(self.cache, ref)
            return None
        dq.nrefs = 1
        self.tree[dq_id] = dq
        return dq

    def dqput(self, dq: Dquot) -> None:
        """``xfs_qm_dqput``: drop a reference; the last one puts the dquot on the LRU."""
        if dq.nrefs <= 0:
            raise UsageError(f"xfs_qm_dqput of {dq!r}, which has no reference")
        dq.nrefs -= 1
        if not dq.nrefs:
            self._lru().add(dq, dq.nid, None)

    def log_dquot(self, dq: Dquot) -> None:
        """``xfs_trans_log_dquot`` + commit: the dquot is dirty and pinned in the log until
        the AIL writes it back (:meth:`ail_written`)."""
        dq.dirty = True
        dq.pinned = True
        self.logged[dq] = None

    def ail_written(self) -> int:
        """The AIL pushed every logged dquot to disk (log force, then writeback): they are
        clean and unpinned. Returns how many were cleaned."""
        n = 0
        for dq in self.logged:
            if dq.dirty or dq.pinned:
                dq.dirty = False
                dq.pinned = False
                n += 1
        self.logged.clear()
        return n

    def populate(self, n: int, nid: int = 0, *, dirty: bool = False) -> list[Dquot]:
        """Read in ``n`` new dquots (fresh ids) on ``nid`` and release them to the LRU;
        ``dirty``: each was changed in a transaction first (:meth:`log_dquot`)."""
        made: list[Dquot] = []
        base = max(self.tree, default=-1) + 1
        for i in range(n):
            dq = self.dqget(base + i, nid)
            if dq is None:
                break
            if dirty:
                self.log_dquot(dq)
            self.dqput(dq)
            made.append(dq)
        return made

    def _free(self, dq: Dquot) -> None:
        """``xfs_qm_dqfree_one``: out of the tree, back to the slab."""
        if self.tree.get(dq.id) is dq:
            del self.tree[dq.id]
        self.logged.pop(dq, None)
        self.sim.slab.free(self.cache, dq.ref)
        self.freed += 1
        self.sim.vmstat["xfs_dquot_freed"] += 1

    def shutdown(self) -> None:
        """``xfs_qm_dqpurge_all`` + ``xfs_qm_destroy_quotainfo``: free every dquot,
        unregister the shrinker, destroy the list_lru."""
        sim = self.sim
        lru = self._lru()
        for dq in list(self.tree.values()):
            lru.del_(dq)
            del self.tree[dq.id]
            sim.slab.free(self.cache, dq.ref)
        self.logged.clear()
        if self.entry is not None and self.entry.name in sim.shrinkers:
            sim.shrinkers.remove(self.entry)
        if lru in sim.lrus:
            sim.lrus.remove(lru)

    def __repr__(self) -> str:
        return f"<XfsQuotaInfo {self.name!r} dquots={len(self.tree)}>"


def _dquot_bno(dq: Dquot) -> int:
    return DQUOT_BNO_BASE + dq.id // XFS_DQUOTS_PER_CHUNK
