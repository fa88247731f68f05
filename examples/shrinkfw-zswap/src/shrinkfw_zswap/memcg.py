"""The memcg side of zswap: statistics, ``memory.zswap.writeback``, and the swap-in counter.

The zswap shrinker reads three things that live with the memory cgroup, not with the pool:

* the memcg's zswap statistics, ``MEMCG_ZSWAP_B`` (compressed bytes) and ``MEMCG_ZSWAPPED``
  (pages stored), which ``obj_cgroup_charge_zswap`` / ``obj_cgroup_uncharge_zswap`` keep
  (mm/memcontrol.c). ``zswap_shrinker_count`` reads them with ``memcg_page_state`` after a
  stats flush, i.e. for the memcg's whole subtree;
* ``memory.zswap.writeback`` (v6.8+), checked up the hierarchy by
  ``mem_cgroup_zswap_writeback_enabled`` (v6.11+; the memcg's own flag before);
* ``lruvec->zswap_lruvec_state.nr_disk_swapins`` (v6.12+), one per (memcg, node), raised by
  ``zswap_folio_swapin`` when a page must be read back from the swap device and consumed by
  ``zswap_shrinker_count``.

:class:`ZswapCgroups` keeps them per :class:`~shrinkfw.MemCgroup`. The byte charge itself is
not here: the compressed object is a slab object charged through its object cgroup (see
:mod:`shrinkfw_zswap.pool`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from shrinkfw import MemCgroup

__all__ = ["EVENTS", "LruvecKey", "MemcgZswapStat", "ZswapCgroups"]

#: The zswap events counted per memcg (``count_objcg_events``), as memory.stat names them.
EVENTS: Final = ("zswpout", "zswpin", "zswpwb")

#: A lruvec as the shrinker addresses it: ``(memcg or None for the global lists, nid)``.
LruvecKey: TypeAlias = "tuple[MemCgroup | None, int]"


class MemcgZswapStat:
    """A memcg's zswap lines of ``memory.stat``, for its whole subtree.

    :ivar zswap_b: ``zswap``: compressed bytes stored (``MEMCG_ZSWAP_B``).
    :ivar zswapped: ``zswapped``: pages stored (``MEMCG_ZSWAPPED``).
    :ivar zswpout: pages stored into zswap (``ZSWPOUT``).
    :ivar zswpin: pages loaded back from zswap (``ZSWPIN``).
    :ivar zswpwb: pages written back from zswap to the swap device (``ZSWPWB``).
    """

    __slots__ = ("zswap_b", "zswapped", "zswpin", "zswpout", "zswpwb")

    def __init__(self) -> None:
        self.zswap_b = 0
        self.zswapped = 0
        self.zswpout = 0
        self.zswpin = 0
        self.zswpwb = 0

    def __repr__(self) -> str:
        return (
            f"<MemcgZswapStat zswap={self.zswap_b} zswapped={self.zswapped} "
            f"zswpout={self.zswpout} zswpin={self.zswpin} zswpwb={self.zswpwb}>"
        )


class ZswapCgroups:
    """zswap's per-memcg state for one simulation.

    :param memcg_lists_per_node: see :attr:`shrinkfw_zswap.era.ZswapEra.memcg_lists_per_node`.
    """

    __slots__ = ("_disk_swapins", "_lists_per_node", "_stat", "_writeback")

    def __init__(self, *, memcg_lists_per_node: bool) -> None:
        self._lists_per_node = memcg_lists_per_node
        self._stat: dict[MemCgroup, MemcgZswapStat] = {}
        self._writeback: dict[MemCgroup, bool] = {}
        self._disk_swapins: dict[LruvecKey, int] = {}

    def __repr__(self) -> str:
        return f"<ZswapCgroups memcgs={len(self._stat)}>"

    # -- statistics ----------------------------------------------------------------------------

    def stat(self, memcg: MemCgroup) -> MemcgZswapStat:
        """``memory.stat`` of ``memcg`` after ``mem_cgroup_flush_stats``: its subtree's totals.
        A memcg that never stored anything reads all zeros."""
        return self._stat.get(memcg) or MemcgZswapStat()

    def _subtree_stats(self, memcg: MemCgroup) -> list[MemcgZswapStat]:
        """The statistics ``memcg``'s changes show up in: its own and every ancestor's."""
        stats = []
        m: MemCgroup | None = memcg
        while m is not None:
            stat = self._stat.get(m)
            if stat is None:
                stat = self._stat[m] = MemcgZswapStat()
            stats.append(stat)
            m = m.parent
        return stats

    def charge_zswap(self, memcg: MemCgroup | None, size: int) -> None:
        """The statistics half of ``obj_cgroup_charge_zswap``: ``MEMCG_ZSWAP_B += size``,
        ``MEMCG_ZSWAPPED += 1``. ``memcg`` None: no object cgroup (the root), no statistics."""
        if memcg is None:
            return
        for stat in self._subtree_stats(memcg):
            stat.zswap_b += size
            stat.zswapped += 1

    def uncharge_zswap(self, memcg: MemCgroup | None, size: int) -> None:
        """The statistics half of ``obj_cgroup_uncharge_zswap``, on the memcg the object
        cgroup points to *now* (its parent once the charging memcg went offline)."""
        if memcg is None:
            return
        for stat in self._subtree_stats(memcg):
            stat.zswap_b -= size
            stat.zswapped -= 1

    def count_event(self, memcg: MemCgroup | None, event: str) -> None:
        """``count_objcg_events(objcg, event, 1)``; ``event`` is one of :data:`EVENTS`."""
        if memcg is None:
            return
        for stat in self._subtree_stats(memcg):
            setattr(stat, event, getattr(stat, event) + 1)

    # -- memory.zswap.writeback ----------------------------------------------------------------

    def set_writeback(self, memcg: MemCgroup, enabled: bool) -> None:
        """Write ``memory.zswap.writeback`` of ``memcg`` (every memcg starts with 1)."""
        self._writeback[memcg] = enabled

    def writeback_enabled(self, memcg: MemCgroup | None) -> bool:
        """``mem_cgroup_zswap_writeback_enabled``: no memcg on the way to the root has
        ``memory.zswap.writeback`` = 0 (v6.11+; v6.8-v6.10 read the memcg's own flag, which
        it inherited from its parent at creation)."""
        m = memcg
        while m is not None:
            if not self._writeback.get(m, True):
                return False
            m = m.parent
        return True

    # -- lruvec->zswap_lruvec_state.nr_disk_swapins --------------------------------------------

    def lruvec(self, memcg: MemCgroup | None, nid: int) -> LruvecKey:
        """The lruvec the shrinker's ``mem_cgroup_lruvec(sc->memcg, NODE_DATA(sc->nid))``
        finds for pages of ``memcg`` on ``nid``: a memcg without lists of its own (no
        kmemcg_id: the root, or no kmem accounting) shares the global lists' lruvec."""
        if memcg is None or memcg.kmemcg_id < 0:
            return (None, nid)
        return (memcg, nid if self._lists_per_node else 0)

    def folio_swapin(self, memcg: MemCgroup | None, nid: int) -> None:
        """``zswap_folio_swapin``: a page of ``memcg`` on ``nid`` was read from the swap device
        (it was not in zswap), so ``nr_disk_swapins`` of its lruvec goes up by one."""
        key = self.lruvec(memcg, nid)
        self._disk_swapins[key] = self._disk_swapins.get(key, 0) + 1

    def disk_swapins(self, memcg: MemCgroup | None, nid: int) -> int:
        """``nr_disk_swapins`` of the lruvec of (``memcg``, ``nid``), without consuming it."""
        return self._disk_swapins.get(self.lruvec(memcg, nid), 0)

    def consume_disk_swapins(self, memcg: MemCgroup | None, nid: int, nr_freeable: int) -> int:
        """Take up to ``nr_freeable`` from ``nr_disk_swapins``; return how many were taken.

        The cmpxchg loop of ``zswap_shrinker_count`` (v6.12+): the counter keeps what
        ``nr_freeable`` could not absorb, ``nr_remain = max(cur - nr_freeable, 0)``.
        """
        key = self.lruvec(memcg, nid)
        cur = self._disk_swapins.get(key, 0)
        if not cur:
            return 0
        remain = cur - nr_freeable if cur > nr_freeable else 0
        if remain:
            self._disk_swapins[key] = remain
        else:
            del self._disk_swapins[key]
        return cur - remain

    # -- lifecycle -----------------------------------------------------------------------------

    def forget(self, memcg: MemCgroup) -> None:
        """Drop what is kept for a freed memcg (``css_free``): its statistics, its writeback
        flag, its lruvecs' counters. Its ancestors' totals keep what its entries left."""
        self._stat.pop(memcg, None)
        self._writeback.pop(memcg, None)
        for key in [k for k in self._disk_swapins if k[0] is memcg]:
            del self._disk_swapins[key]
