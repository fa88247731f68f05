"""GFS2 quota data: the in-core records, their lookup and release, and the global unused list.

Models the quota-data half of ``fs/gfs2/quota.c``. A :class:`QuotaData` is one
``struct gfs2_quota_data``: the in-core state of one quota id of one filesystem, a slab object
of the ``gfs2_quotad`` cache (:data:`QD_SIZE` bytes). Its ``qd_lockref`` count says how many
users hold it. While it is referenced it is on no list; when the last reference goes
(``qd_put``) it is put on the tail of ``gfs2_qd_lru``, the one list_lru for every mounted GFS2
filesystem, and stays cached there until a lookup takes it again (``lockref_get_not_dead`` +
``list_lru_del``) or the quota shrinker disposes of it.

:class:`QuotaCache` holds what the kernel keeps as globals of the gfs2 module: the list_lru
(not memcg-aware), the slab cache, and the hash of records by (filesystem, id), which the model
keeps per superblock (:class:`Gfs2Sbd`, also the ``sd_quota_list``).

Simplifications
    * The quota id is one integer per record. The kernel's ``kqid`` has a type (user or group)
      and an id; ``qd2index`` folds them into ``2·id + (group)``, and a caller that wants both
      kinds can use that index as the model's id.
    * ``gfs2_glock_put`` is counted (``vmstat["gfs2_qd_glock_put"]``), glocks are not modelled.
    * ``call_rcu(gfs2_qd_dealloc)`` frees the slab object at once: the grace period is not
      modelled, so reclaim is credited in the pass that disposed of the record.
    * Quota changes (``QDF_CHANGE``, which holds a reference for the change), slots and
      buffer heads are not modelled: a reference is a reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw import LRUItem, UsageError

from .era import quotad_reclaim_account

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shrinkfw import ListLRU, MemCgroup, Simulation
    from shrinkfw.slab import KmemCache, SlabRef
    from shrinkfw.vfs import SuperBlock

__all__ = ["PRIVATE_KEY", "QD_CACHE_NAME", "QD_SIZE", "Gfs2Sbd", "QuotaCache", "QuotaData"]

#: ``sizeof(struct gfs2_quota_data)`` on x86-64, the ``gfs2_quotad`` object size.
QD_SIZE: Final = 288
#: The slab cache's name (``kmem_cache_create("gfs2_quotad", ...)``).
QD_CACHE_NAME: Final = "gfs2_quotad"
#: The key of this plugin's state in ``SuperBlock.private``.
PRIVATE_KEY: Final = "gfs2"


class QuotaData(LRUItem):
    """One ``struct gfs2_quota_data``.

    :ivar sb: the filesystem the record belongs to (``qd_sbd``).
    :ivar id: the quota id (``qd_id``, see the module's simplifications).
    :ivar count: ``qd_lockref.count``: references held. 0 while the record sits on the LRU.
    :ivar dead: ``lockref_mark_dead`` was called: the shrinker or the unmount took it, no
        lookup may reference it again.
    :ivar lock_contended: someone holds ``qd_lockref.lock``, so the shrinker's ``spin_trylock``
        fails. Tests and workloads set it to model a concurrent lock holder.
    :ivar nid: the node of the object's slab page, hence of its list on the LRU.
    :ivar ref: the slab object; ``None`` once freed.
    """

    __slots__ = ("count", "dead", "id", "lock_contended", "nid", "ref", "sb")

    def __init__(self, sb: SuperBlock, qid: int, ref: SlabRef, nid: int) -> None:
        super().__init__()
        self.sb = sb
        self.id = qid
        self.count = 1
        self.dead = False
        self.lock_contended = False
        self.nid = nid
        self.ref: SlabRef | None = ref

    @property
    def freed(self) -> bool:
        """The slab object was given back (``gfs2_qd_dealloc`` ran)."""
        return self.ref is None

    def __repr__(self) -> str:
        state = " dead" if self.dead else ""
        return f"<QuotaData {self.sb.s_id} id={self.id} count={self.count} nid={self.nid}{state}>"


class Gfs2Sbd:
    """The quota part of one mounted filesystem's ``struct gfs2_sbd``.

    :ivar sb: the superblock.
    :ivar quota: records by id, oldest first: ``sd_quota_list`` together with this
        filesystem's entries of ``qd_hash_table``.
    """

    __slots__ = ("quota", "sb")

    def __init__(self, sb: SuperBlock) -> None:
        self.sb = sb
        self.quota: dict[int, QuotaData] = {}

    @property
    def sd_quota_count(self) -> int:
        """Records allocated and not yet disposed of (``sd_quota_count``)."""
        return len(self.quota)

    def __repr__(self) -> str:
        return f"<Gfs2Sbd {self.sb.s_id} quota={len(self.quota)}>"


class QuotaCache:
    """The gfs2 module's quota-data globals for one simulation.

    Models ``gfs2_qd_lru`` (``list_lru_init``: not memcg-aware, one list per node),
    ``gfs2_quotad_cachep`` and ``qd_hash_table`` as ``init_gfs2_fs`` sets them up (linux v3.14
    and v6.x fs/gfs2/main.c, fs/gfs2/quota.c).

    :param sim: the simulation.
    :ivar lru: ``gfs2_qd_lru``.
    :ivar cachep: ``gfs2_quotad_cachep``: never ``SLAB_ACCOUNT``, so objects are charged to a
        memcg only where the era's slab policy accounts every cache (the seed, v3.8-v4.4).
    """

    __slots__ = ("cachep", "lru", "sim")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.lru: ListLRU = sim.new_list_lru(memcg_aware=False, name="gfs2_qd_lru")
        self.cachep: KmemCache = sim.slab.create_cache(
            QD_CACHE_NAME,
            QD_SIZE,
            reclaimable=quotad_reclaim_account(sim.profile),
            account=False,
        )

    def __repr__(self) -> str:
        return f"<QuotaCache unused={len(self.lru)}>"

    # -- superblocks ---------------------------------------------------------------------------

    def mount(self, sb: SuperBlock) -> Gfs2Sbd:
        """Set up the quota state of a newly mounted GFS2 filesystem (``gfs2_quota_init``)."""
        sbd = Gfs2Sbd(sb)
        sb.private[PRIVATE_KEY] = sbd
        return sbd

    def sbd(self, sb: SuperBlock) -> Gfs2Sbd:
        """The quota state of ``sb``.

        :raises UsageError: ``sb`` is not a mounted GFS2 filesystem.
        """
        sbd = sb.private.get(PRIVATE_KEY)
        if not isinstance(sbd, Gfs2Sbd) or sb.dying:
            raise UsageError(
                f"{sb!r} is not a mounted gfs2 filesystem; mount one with "
                "sim.vfs.mount('gfs2', device)"
            )
        return sbd

    def cleanup(self, sb: SuperBlock) -> int:
        """Dispose of every record of ``sb``, referenced or not; return how many.

        Models ``gfs2_quota_cleanup`` (linux v3.14 fs/gfs2/quota.c, from ``gfs2_put_super``):
        oldest first, each is taken off ``gfs2_qd_lru`` (``list_lru_del``) and freed. A
        reference still held (a workload's pending release) is dropped later by
        :meth:`qd_put` as a no-op.
        """
        sbd = sb.private.get(PRIVATE_KEY)
        if not isinstance(sbd, Gfs2Sbd):
            return 0
        records = list(sbd.quota.values())
        lru = self.lru
        for qd in records:
            lru.del_(qd)
            qd.dead = True
            self.dispose(qd)
        del sb.private[PRIVATE_KEY]
        return len(records)

    # -- lookup and release --------------------------------------------------------------------

    def qd_get(
        self,
        sb: SuperBlock,
        qid: int,
        *,
        memcg: MemCgroup | None = None,
        nid: int = 0,
        lru_del: bool = True,
    ) -> QuotaData | None:
        """Find quota id ``qid`` of ``sb`` with a reference taken, or allocate it.

        Models ``qd_get`` (linux v3.14+ fs/gfs2/quota.c): ``gfs2_qd_search_bucket`` takes a
        reference with ``lockref_get_not_dead`` and takes the record off ``gfs2_qd_lru``
        (``list_lru_del``); a dead or missing record means ``qd_alloc``: a new object from
        ``gfs2_quotad`` on ``nid`` for the caller's ``memcg`` (``kmem_cache_zalloc``), with
        one reference, on no list.

        :param lru_del: take the record off the LRU now. ``False`` leaves the window between
            ``lockref_get_not_dead`` and ``list_lru_del`` open: the caller must call
            :meth:`lru_del` later, and a shrinker running meanwhile finds a referenced record
            on the LRU.
        :returns: the record, or ``None`` when the allocation failed (ENOMEM).
        """
        sbd = self.sbd(sb)
        vmstat = self.sim.vmstat
        qd = sbd.quota.get(qid)
        if qd is not None and not qd.dead:
            qd.count += 1
            if lru_del:
                self.lru.del_(qd)
            vmstat["gfs2_qd_lookup_hit"] += 1
            return qd
        ref = self.sim.slab.alloc(self.cachep, memcg, nid)
        if ref is None:
            vmstat["gfs2_qd_enomem"] += 1
            return None
        qd = QuotaData(sb, qid, ref, ref.nid)
        sbd.quota[qid] = qd
        vmstat["gfs2_qd_alloc"] += 1
        return qd

    def lru_del(self, qd: QuotaData) -> bool:
        """``list_lru_del(&gfs2_qd_lru, &qd->qd_lru)``: the second half of a lookup."""
        return self.lru.del_(qd)

    def qd_put(self, qd: QuotaData) -> None:
        """Drop a reference; the last one puts the record on the tail of ``gfs2_qd_lru``.

        Models ``qd_put`` (linux v3.14+ fs/gfs2/quota.c): ``lockref_put_or_lock`` drops a
        reference that is not the last one; for the last, the count becomes 0 and
        ``list_lru_add`` links the record on its node's list (a no-op if it still is, as in a
        lookup window). A record the unmount already freed is left alone.

        :raises UsageError: the record holds no reference.
        """
        if qd.ref is None:
            return
        if qd.count <= 0:
            raise UsageError(f"qd_put of {qd!r}, which holds no reference")
        if qd.count > 1:
            qd.count -= 1
            return
        qd.count = 0
        self.lru.add(qd, qd.nid, None)

    # -- disposal --------------------------------------------------------------------------

    def dispose(self, qd: QuotaData) -> None:
        """Free one record that is dead and on no list.

        Models ``gfs2_qd_dispose`` (linux v6.6+; the loop body of v3.14's
        ``gfs2_qd_dispose``): off ``sd_quota_list`` and the hash, ``gfs2_glock_put``, then
        ``call_rcu(gfs2_qd_dealloc)``, which gives the object back to ``gfs2_quotad``.
        """
        ref = qd.ref
        if ref is None:
            return
        sbd = qd.sb.private.get(PRIVATE_KEY)
        if isinstance(sbd, Gfs2Sbd) and sbd.quota.get(qd.id) is qd:
            del sbd.quota[qd.id]
        vmstat = self.sim.vmstat
        vmstat["gfs2_qd_glock_put"] += 1
        qd.ref = None
        self.sim.slab.free(self.cachep, ref)
        vmstat["gfs2_qd_freed"] += 1

    def dispose_list(self, dispose: list[QuotaData]) -> int:
        """Free a shrinker's dispose list and empty it; return how many were freed.

        Models ``gfs2_qd_list_dispose`` (v6.6+; ``gfs2_qd_dispose`` in v3.14): it takes the
        list's first entry each time, and ``list_lru_isolate_move`` (``list_move`` in v3.14)
        put each isolated record at the head, so the last isolated is freed first. The
        isolate callback appends, so the list is walked from its end.
        """
        n = len(dispose)
        for qd in reversed(dispose):
            self.dispose(qd)
        dispose.clear()
        return n

    # -- counting --------------------------------------------------------------------------

    def incore_dquots(self) -> int:
        """``list_lru_count(&gfs2_qd_lru)``, which GFS2 reports as the number of in-core
        quota records (``s_incoredqs`` of ``gfs2_quota_get_state``; ``qs_incoredqs`` of
        ``gfs2_quota_get_xstate`` in v3.14). It counts the unused records only, and with the
        kernel's counts, drift included."""
        return self.lru.count()

    def records(self) -> Iterator[QuotaData]:
        """Every allocated record of every mounted GFS2 filesystem, by mount then age."""
        for sb in self.sim.vfs.supers:
            sbd = sb.private.get(PRIVATE_KEY)
            if isinstance(sbd, Gfs2Sbd):
                yield from tuple(sbd.quota.values())
