"""The XFS buffer cache of one mount and its shrinker (``xfs_buftarg``).

Models fs/xfs/xfs_buf.c (linux v3.14, v4.x, v6.x): metadata buffers are found by block number
in a per-mount hash (``_xfs_buf_find``), held while in use (``b_hold``), and put on the
buftarg's node-aware, non-memcg ``list_lru`` when the last hold goes, where the LRU keeps a
hold of its own (``xfs_buf_rele``). Each buffer carries ``b_lru_ref``, how many shrinker passes
it survives, set by type through ``xfs_buf_set_ref``. The shrinker ``xfs-buf:<dev>``
(``xfs_buftarg_shrink_count`` / ``xfs_buftarg_shrink_scan``) walks the LRU with
``xfs_buftarg_isolate`` and then releases every isolated buffer with ``xfs_buf_rele``, which
frees it or, in the v3.12-v4.15 kernels with the inverted isolate test, puts it straight back
on the LRU tail. The scan reports the walk's isolated count, whatever ``xfs_buf_rele`` did.

Only the ``struct xfs_buf`` header is modelled as memory (``"xfs_buf"`` slab objects, charged
to nobody); the buffer's data pages are not (see the README, "Left undone").

Notes against the spec
----------------------
* §7.4 / §11 leave the initial ``b_lru_ref`` of a new buffer unverified: ``_xfs_buf_alloc``
  sets it to 1 (linux v4.x fs/xfs/xfs_buf.c), before any ``xfs_buf_set_ref``.
* §7.4 "INO 2 (1 in older trees)": ``XFS_INO_REF`` is 1 only in 2.6-era trees; every kernel
  the profiles model (v3.14+) has 2 (``xfs_trans.h`` in v3.x, ``xfs_shared.h`` later).
* Kernels after v6.7 (release unverified; the check predates the 2025 lockref conversion) take
  a buffer that still has holds off the LRU in the isolate callback (``LRU_REMOVED`` without
  disposing); no profile models that.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

from shrinkfw.errors import UsageError
from shrinkfw.list_lru import LRU_REMOVED, LRU_ROTATE, LRU_SKIP, LRUItem, LRUList, LRUStatus
from shrinkfw.shrinker import DEFAULT_SEEKS, ShrinkControl, ShrinkerFlags

from .caches import XFS_BUF_SIZE, kmem_cache

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import Simulation
    from shrinkfw.list_lru import ListLRU
    from shrinkfw.registry import ShrinkerEntry
    from shrinkfw.slab import SlabRef

    from .era import XfsBehaviour

__all__ = [
    "XBF_STATE_DISPOSE",
    "XFS_BUF_REF",
    "XfsBuf",
    "XfsBufType",
    "XfsBuftarg",
]

#: ``XFS_BSTATE_DISPOSE``: the buffer's last list was a shrinker's dispose list.
XBF_STATE_DISPOSE: Final = 1 << 0


class XfsBufType(enum.Enum):
    """What a metadata buffer holds; decides its ``b_lru_ref`` (:data:`XFS_BUF_REF`)."""

    AGF = "agf"
    AGI = "agi"
    AGFL = "agfl"
    INO_BTREE = "inobt"
    ALLOC_BTREE = "allocbt"
    BMAP_BTREE = "bmbt"
    DIR_BTREE = "dir"
    INO = "inode"
    ATTR_BTREE = "attr"
    DQUOT = "dquot"


#: ``XFS_*_REF``: the ``b_lru_ref`` each buffer type gets from ``xfs_buf_set_ref`` (linux
#: v3.14 fs/xfs/xfs_trans.h; v4.x+ fs/xfs/libxfs/xfs_shared.h).
XFS_BUF_REF: Final[dict[XfsBufType, int]] = {
    XfsBufType.AGF: 4,
    XfsBufType.AGI: 4,
    XfsBufType.AGFL: 3,
    XfsBufType.INO_BTREE: 3,
    XfsBufType.ALLOC_BTREE: 2,
    XfsBufType.BMAP_BTREE: 2,
    XfsBufType.DIR_BTREE: 2,
    XfsBufType.INO: 2,
    XfsBufType.ATTR_BTREE: 1,
    XfsBufType.DQUOT: 1,
}


class XfsBuf(LRUItem):
    """One cached metadata buffer (``struct xfs_buf``).

    :ivar bno: the disk address it caches (``b_bn``), the hash key.
    :ivar hold: ``b_hold``: users plus one while it is on the LRU.
    :ivar lru_ref: ``b_lru_ref``: shrinker passes left before it may be freed.
    :ivar state: ``b_state`` bits (:data:`XBF_STATE_DISPOSE`).
    :ivar stale: ``XBF_STALE``: its blocks were freed; it is dropped on the last release.
    :ivar lock_contended: ``b_lock`` is held elsewhere, so the isolate trylock fails.
    :ivar nid: the node its memory is on (the list_lru list it joins).
    :ivar type: what it holds.
    :ivar ref: its ``"xfs_buf"`` slab object.
    :ivar target: the buftarg it belongs to.
    """

    __slots__ = (
        "bno",
        "hold",
        "lock_contended",
        "lru_ref",
        "nid",
        "ref",
        "stale",
        "state",
        "target",
        "type",
    )

    def __init__(
        self, target: XfsBuftarg, bno: int, btype: XfsBufType, nid: int, ref: SlabRef
    ) -> None:
        super().__init__()
        self.target = target
        self.bno = bno
        self.type = btype
        self.nid = nid
        self.ref = ref
        self.hold = 1
        self.lru_ref = 1
        self.state = 0
        self.stale = False
        self.lock_contended = False

    def __repr__(self) -> str:
        return (
            f"<XfsBuf {self.type.name} bno={self.bno} hold={self.hold} lru_ref={self.lru_ref}"
            f"{' stale' if self.stale else ''}>"
        )


class XfsBuftarg:
    """A mount's buffer cache and its shrinker ``xfs-buf:<dev>`` (``struct xfs_buftarg``).

    Create it with :meth:`register`. The shrinker is NUMA-aware, ``DEFAULT_SEEKS``, default
    batch, and not memcg-aware: its ``list_lru`` has one list per node (``xfs_alloc_buftarg``,
    linux v3.14-v6.x fs/xfs/xfs_buf.c).

    :ivar freed: buffers this buftarg has freed (``xfs_buf_free``), shrinker or not.
    :ivar reported: what its ``scan_objects`` calls have returned in total.
    """

    #: the kernel function trace lines name
    scan_fn = "xfs_buftarg_shrink_scan"

    __slots__ = (
        "_dispose",
        "_isolate",
        "_spare_bno",
        "batch",
        "behaviour",
        "cache",
        "entry",
        "flags",
        "freed",
        "hash",
        "lru",
        "name",
        "reported",
        "seeks",
        "sim",
    )

    def __init__(self, sim: Simulation, dev: str, behaviour: XfsBehaviour) -> None:
        self.name = f"xfs-buf:{dev}"
        self.flags = ShrinkerFlags.NUMA_AWARE
        self.seeks = DEFAULT_SEEKS
        self.batch = 0
        self.sim = sim
        self.behaviour = behaviour
        self.cache = kmem_cache(sim, "xfs_buf", XFS_BUF_SIZE, reclaimable=True, account=False)
        #: ``pag_buf_hash``: every buffer of the mount that is not freed, by ``bno``.
        self.hash: dict[int, XfsBuf] = {}
        self._dispose: list[XfsBuf] = []
        self._isolate: Callable[[XfsBuf, LRUList], LRUStatus] = (
            self._isolate_inverted if behaviour.buf_isolate_inverted else self._isolate_fixed
        )
        self._spare_bno = 1 << 62  # above every block number the workloads use
        self.freed = 0
        self.reported = 0
        self.entry: ShrinkerEntry | None = None
        self.lru: ListLRU | None = None

    @classmethod
    def register(
        cls, sim: Simulation, dev: str, behaviour: XfsBehaviour, *, plugin: str
    ) -> XfsBuftarg:
        """``xfs_alloc_buftarg``: the buftarg with its shrinker registered and its list_lru."""
        btp = cls(sim, dev, behaviour)
        btp.entry = sim.shrinkers.add(btp, plugin=plugin)
        btp.lru = sim.new_list_lru(memcg_aware=False, shrinker=btp.entry, name=btp.name)
        return btp

    def _lru(self) -> ListLRU:
        lru = self.lru
        assert lru is not None, "XfsBuftarg.register sets up the list_lru"
        return lru

    # -- the shrinker ------------------------------------------------------------------------

    def count_objects(self, sc: ShrinkControl) -> int:
        """``xfs_buftarg_shrink_count``: buffers on the LRU list of ``sc.nid``."""
        return self._lru().shrink_count(sc)

    def scan_objects(self, sc: ShrinkControl) -> int:
        """``xfs_buftarg_shrink_scan``: walk, then ``xfs_buf_rele`` every isolated buffer.

        Returns the walk's isolated count. The dispose list is released head first; the
        kernel's ``list_lru_isolate_move`` puts each buffer at its head, so the buffer
        isolated last is released first.
        """
        dispose = self._dispose
        freed = self._lru().shrink_walk(sc, self._isolate)
        for bp in reversed(dispose):
            self.rele(bp)
        dispose.clear()
        self.reported += freed
        return freed

    def _isolate_fixed(self, bp: XfsBuf, lst: LRUList) -> LRUStatus:
        """``xfs_buftarg_isolate`` (v4.16+): decrement ``b_lru_ref`` unless 0 and rotate;
        a buffer already at 0 is disposed of."""
        if bp.lock_contended:
            return LRU_SKIP
        if bp.lru_ref > 0:
            bp.lru_ref -= 1
            return LRU_ROTATE
        bp.state |= XBF_STATE_DISPOSE
        lst.isolate_move(bp, self._dispose)
        return LRU_REMOVED

    def _isolate_inverted(self, bp: XfsBuf, lst: LRUList) -> LRUStatus:
        """``xfs_buftarg_isolate`` (v3.12-v4.15): a buffer at ``b_lru_ref`` 0 rotates; one
        above 0 is decremented and disposed of (the ``!atomic_add_unless`` test)."""
        if bp.lock_contended:
            return LRU_SKIP
        if bp.lru_ref == 0:
            return LRU_ROTATE
        bp.lru_ref -= 1
        bp.state |= XBF_STATE_DISPOSE
        lst.isolate_move(bp, self._dispose)
        return LRU_REMOVED

    # -- buffer lifetime ---------------------------------------------------------------------

    def get(self, bno: int, btype: XfsBufType, nid: int = 0) -> XfsBuf | None:
        """``xfs_buf_get_map``: the buffer for ``bno`` with one more hold, allocated on a miss
        (``_xfs_buf_alloc``: ``b_hold`` 1, ``b_lru_ref`` 1). ``None`` on ENOMEM.

        A stale buffer found again is reused with its state cleared (``_xfs_buf_find``); its
        ``b_lru_ref`` stays 0 until the caller sets one.
        """
        bp = self.hash.get(bno)
        if bp is not None:
            bp.hold += 1
            if bp.stale:
                bp.stale = False
            bp.type = btype
            return bp
        ref = self.sim.slab.alloc(self.cache, None, nid)
        if ref is None:
            self.sim.vmstat["xfs_buf_enomem"] += 1
            return None
        bp = XfsBuf(self, bno, btype, ref.nid, ref)
        self.hash[bno] = bp
        self.sim.vmstat["xfs_buf_allocated"] += 1
        return bp

    def read(self, bno: int, btype: XfsBufType, nid: int = 0) -> XfsBuf | None:
        """``xfs_trans_read_buf`` + ``xfs_buf_set_ref``: the held buffer with the ``b_lru_ref``
        of its type. ``None`` on ENOMEM."""
        bp = self.get(bno, btype, nid)
        if bp is not None:
            bp.lru_ref = XFS_BUF_REF[btype]
        return bp

    def touch(self, bno: int, btype: XfsBufType, nid: int = 0) -> bool:
        """Read and release a buffer, as a transaction that logs it does at commit
        (``xfs_trans_read_buf`` ... ``xfs_buf_relse``). ``False`` on ENOMEM."""
        bp = self.read(bno, btype, nid)
        if bp is None:
            return False
        self.rele(bp)
        return True

    def hold_buf(self, bp: XfsBuf) -> None:
        """``xfs_buf_hold``."""
        bp.hold += 1

    def rele(self, bp: XfsBuf) -> None:
        """``xfs_buf_rele``: drop a hold; the last one puts the buffer on the LRU (taking a
        hold for the LRU) while it is not stale and ``b_lru_ref > 0``, else frees it, taking
        it off the LRU first unless its last list was a dispose list."""
        if bp.hold <= 0:
            raise UsageError(f"xfs_buf_rele of {bp!r}, which has no hold")
        bp.hold -= 1
        if bp.hold:
            return
        lru = self._lru()
        if not bp.stale and bp.lru_ref > 0:
            if lru.add(bp, bp.nid, None):
                bp.state &= ~XBF_STATE_DISPOSE
                bp.hold += 1
            return
        if not bp.state & XBF_STATE_DISPOSE:
            lru.del_(bp)
        self._free(bp)

    def stale_buf(self, bp: XfsBuf) -> None:
        """``xfs_buf_stale`` (caller holds the buffer): mark it stale, zero ``b_lru_ref`` and
        take it off the LRU, dropping the LRU's hold, unless it is on a dispose list."""
        lru = self._lru()
        on_lru = not bp.state & XBF_STATE_DISPOSE and bp in lru
        if bp.hold - on_lru < 1:
            raise UsageError(f"xfs_buf_stale of {bp!r}: the caller must hold the buffer")
        bp.stale = True
        bp.lru_ref = 0
        if on_lru and lru.del_(bp):
            bp.hold -= 1

    def _free(self, bp: XfsBuf) -> None:
        """``xfs_buf_free`` after the hash removal in ``xfs_buf_rele``."""
        if self.hash.get(bp.bno) is bp:
            del self.hash[bp.bno]
        self.sim.slab.free(self.cache, bp.ref)
        self.freed += 1
        self.sim.vmstat["xfs_buf_freed"] += 1

    def populate(self, n: int, nid: int = 0, *, btype: XfsBufType = XfsBufType.DIR_BTREE) -> int:
        """Create ``n`` unused buffers of ``btype`` on ``nid`` with fresh block numbers and
        release them to the LRU; returns how many were made (stops at ENOMEM)."""
        made = 0
        for _ in range(n):
            bno = self._spare_bno
            self._spare_bno += 1
            if not self.touch(bno, btype, nid):
                break
            made += 1
        return made

    # -- unmount -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """``xfs_wait_buftarg`` + ``xfs_free_buftarg``: free every buffer, unregister the
        shrinker and destroy the list_lru."""
        sim = self.sim
        lru = self._lru()
        for bp in list(self.hash.values()):
            if lru.del_(bp):
                bp.hold -= 1
            self._free(bp)
        if self.entry is not None and self.entry.name in sim.shrinkers:
            sim.shrinkers.remove(self.entry)
        if lru in sim.lrus:
            sim.lrus.remove(lru)

    def __repr__(self) -> str:
        return f"<XfsBuftarg {self.name!r} buffers={len(self.hash)}>"
