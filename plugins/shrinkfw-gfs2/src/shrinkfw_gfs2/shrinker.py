"""The GFS2 quota shrinker: ``gfs2_qd_shrinker`` and its isolate callback.

Models ``gfs2_qd_shrink_count``, ``gfs2_qd_shrink_scan`` and ``gfs2_qd_isolate`` (linux v3.14
and v6.x fs/gfs2/quota.c; the kmemcg v15 05/13 diff moved them to ``list_lru_shrink_count`` /
``list_lru_shrink_walk``). One shrinker serves every mounted GFS2 filesystem: it is registered
when the module loads, NUMA-aware, ``DEFAULT_SEEKS``, batch 0, and not memcg-aware (v6.7:
``shrinker_alloc(SHRINKER_NUMA_AWARE, "gfs2-qd")``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw import DEFAULT_SEEKS, LRU_REMOVED, LRU_SKIP, SHRINK_STOP, ShrinkerFlags, UsageError
from shrinkfw.shrinker import ULONG_MAX
from shrinkfw.vfs import mult_frac

from .era import busy_status

if TYPE_CHECKING:
    from shrinkfw import LRUList, LRUStatus, ShrinkControl, Simulation

    from .quota import QuotaCache, QuotaData

__all__ = ["SHRINKER_NAME", "QdShrinker", "gfs2_quota", "vfs_pressure_ratio"]

#: The shrinker's name (``"gfs2-qd"`` in v6.7's ``shrinker_alloc``; debugfs ``gfs2-qd-<id>``).
SHRINKER_NAME: Final = "gfs2-qd"


def vfs_pressure_ratio(val: int, vfs_cache_pressure: int) -> int:
    """``vfs_pressure_ratio``: ``mult_frac(val, sysctl_vfs_cache_pressure, 100)`` as an
    ``unsigned long`` (include/linux/dcache.h, v3.11+)."""
    return mult_frac(val, vfs_cache_pressure, 100) & ULONG_MAX


class QdShrinker:
    """``gfs2_qd_shrinker``: counts and frees unused quota records on ``gfs2_qd_lru``.

    :param cache: the quota-data globals whose LRU it shrinks.
    :ivar freed: records this shrinker has freed.
    :ivar reported: what its scans returned in total; more than ``freed`` when the era's
        isolate callback reports busy records as removed.
    """

    __slots__ = (
        "_busy",
        "_dispose",
        "batch",
        "cache",
        "flags",
        "freed",
        "name",
        "reported",
        "seeks",
    )

    #: the kernel function trace lines name (``%pS`` of ``scan_objects``)
    scan_fn = "gfs2_qd_shrink_scan"

    def __init__(self, cache: QuotaCache) -> None:
        self.cache = cache
        self.name = SHRINKER_NAME
        self.flags = ShrinkerFlags.NUMA_AWARE
        self.seeks = DEFAULT_SEEKS
        self.batch = 0
        self.freed = 0
        self.reported = 0
        self._busy: LRUStatus = busy_status(cache.sim.profile)
        self._dispose: list[QuotaData] = []

    def __repr__(self) -> str:
        return f"<QdShrinker {self.name!r} unused={len(self.cache.lru)}>"

    def count_objects(self, sc: ShrinkControl) -> int:
        """``gfs2_qd_shrink_count``: ``vfs_pressure_ratio(list_lru_shrink_count(...))``.

        The kernel's list count of ``sc.nid``, scaled by ``vm.vfs_cache_pressure``; 0 when
        empty (it never answers ``SHRINK_EMPTY``). Where an era lets the count drift below the
        list's length and past 0, it reads as a huge ``unsigned long``, as in the kernel.
        """
        count = self.cache.lru.shrink_count(sc)
        return vfs_pressure_ratio(count, self.cache.sim.vfs.vfs_cache_pressure)

    def scan_objects(self, sc: ShrinkControl) -> int:
        """``gfs2_qd_shrink_scan``: ``SHRINK_STOP`` without ``__GFP_FS``; otherwise walk the
        ``sc.nid`` list with :meth:`isolate`, free the dispose list, and return what the walk
        counted as isolated (which, before the v6.6 fix, includes busy records left on the
        list)."""
        if not sc.gfp_fs:
            return SHRINK_STOP
        isolated = self.cache.lru.shrink_walk(sc, self.isolate)
        self.freed += self.cache.dispose_list(self._dispose)
        self.reported += isolated
        return isolated

    def isolate(self, qd: QuotaData, lst: LRUList) -> LRUStatus:
        """``gfs2_qd_isolate``: the per-record decision of a walk.

        ``spin_trylock(&qd->qd_lockref.lock)`` fails → ``LRU_SKIP``. Count 0 →
        ``lockref_mark_dead``, ``list_lru_isolate_move`` to the dispose list, ``LRU_REMOVED``.
        Count not 0: ``LRU_REMOVED`` with the record left on the list before the v6.6 fix
        (the walker's count drifts, by era: see the README), ``LRU_SKIP`` after it.
        """
        if qd.lock_contended:
            return LRU_SKIP
        if qd.count == 0:
            qd.dead = True
            lst.isolate(qd)
            self._dispose.append(qd)
            return LRU_REMOVED
        return self._busy


def gfs2_quota(sim: Simulation) -> QuotaCache:
    """The gfs2 quota-data globals of ``sim``, found through its registered ``gfs2-qd``.

    :raises UsageError: the gfs2 plugin is not part of ``sim``.
    """
    if SHRINKER_NAME in sim.shrinkers:
        shrinker = sim.shrinkers.get(SHRINKER_NAME).shrinker
        if isinstance(shrinker, QdShrinker):
            return shrinker.cache
    raise UsageError(
        "the gfs2 plugin is not registered in this simulation: build it with "
        "plugins=[shrinkfw_gfs2.plugin] or install shrinkfw-gfs2"
    )
