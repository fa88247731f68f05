"""The zswap shrinker: ``zswap_shrinker_count``, ``zswap_shrinker_scan``, ``shrink_memcg_cb``.

Models the dynamic shrinker of ``mm/zswap.c`` as of v6.12+. It was added in v6.8 and got its
second-chance rules in v6.12. It writes cold compressed pages back to the swap device when
the kernel reclaims memory: from kswapd and direct reclaim for every memcg, and from a
memcg's limit reclaim for that memcg's subtree. The shrinker is registered once, with
``shrinker_alloc(SHRINKER_NUMA_AWARE | SHRINKER_MEMCG_AWARE, "mm-zswap")``, batch 0 and
``DEFAULT_SEEKS``. Each call looks at one (memcg, node) list of ``zswap_list_lru``.

How much it offers (:meth:`ZswapShrinker.count_objects`) is the list's length, less the
pages recently read back from disk (``nr_disk_swapins``). That result is scaled by the memcg's
compressed-to-stored ratio: the better the pool compresses, the less a writeback frees, so
the less it offers.

What it does with an entry (:meth:`ZswapShrinker.shrink_memcg_cb`):

* ``referenced`` (stored since the shrinker last saw it): the bit is cleared and the entry
  rotated, ``LRU_ROTATE``: its second chance.
* not referenced: ``zswap_writeback_entry`` writes the page to the swap device and frees the
  entry, ``LRU_REMOVED_RETRY``.
* its page is already in the swap cache (a swap-in is reading it): the writeback fails with
  ``-EEXIST``, ``LRU_STOP``, and the scan returns ``SHRINK_STOP``.

Notes against the kernel
    * ``shrink_memcg_cb`` moves the entry to the list tail *before* it drops the lru lock to
      write it back (v6.9+). The model's walker cannot both move an item and stop the walk.
      So for ``-EEXIST``, :meth:`ZswapShrinker.scan_objects` makes that move once the walk
      has stopped, which leaves the list in the same order. For a successful writeback the
      move does not matter, because the entry is freed.
    * ``-ENOMEM`` from the swap cache allocation, and the kernel's ``LRU_RETRY`` for it, are
      not modelled.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Final

from shrinkfw import (
    DEFAULT_SEEKS,
    LRU_REMOVED_RETRY,
    LRU_ROTATE,
    LRU_STOP,
    SHRINK_STOP,
    Gfp,
    ShrinkerFlags,
    UsageError,
)
from shrinkfw.memcg import PAGE_SIZE
from shrinkfw.vfs import mult_frac

if TYPE_CHECKING:
    from shrinkfw import LRUList, LRUStatus, ShrinkControl, Simulation

    from .pool import ZswapEntry, ZswapPool

__all__ = ["PAGE_SHIFT", "SHRINKER_NAME", "ZswapShrinker", "gfp_has_io_fs", "zswap_pool"]

#: The shrinker's name (``shrinker_alloc(..., "mm-zswap")``).
SHRINKER_NAME: Final = "mm-zswap"
#: ``PAGE_SHIFT``.
PAGE_SHIFT: Final = PAGE_SIZE.bit_length() - 1

_IO_FS: Final = Gfp.IO | Gfp.FS


def gfp_has_io_fs(gfp: Gfp) -> bool:
    """``gfp_has_io_fs``: the context may both start I/O and enter the filesystem."""
    return gfp & _IO_FS == _IO_FS


class ZswapShrinker:
    """``zswap_shrinker``: writes cold zswap entries back to the swap device under reclaim.

    :param pool: the zswap pool whose ``zswap_list_lru`` it shrinks.
    """

    __slots__ = ("batch", "flags", "name", "pool", "seeks")

    #: the kernel function trace lines name (``%pS`` of ``scan_objects``)
    scan_fn = "zswap_shrinker_scan"

    def __init__(self, pool: ZswapPool) -> None:
        self.pool = pool
        self.name = SHRINKER_NAME
        self.flags = ShrinkerFlags.NUMA_AWARE | ShrinkerFlags.MEMCG_AWARE
        self.seeks = DEFAULT_SEEKS
        self.batch = 0

    def __repr__(self) -> str:
        return f"<ZswapShrinker {self.name!r} {self.pool!r}>"

    def count_objects(self, sc: ShrinkControl) -> int:
        """``zswap_shrinker_count`` (v6.12+): how many entries of ``(sc.nid, sc.memcg)`` to
        offer.

        0 in any of these cases: the shrinker is disabled; ``memory.zswap.writeback`` is 0
        somewhere above the memcg; the context lacks ``__GFP_IO`` or ``__GFP_FS``; the memcg's
        subtree stores nothing; the list is empty. Otherwise::

            nr_backing  = MEMCG_ZSWAP_B >> PAGE_SHIFT   (compressed pages, subtree)
            nr_stored   = MEMCG_ZSWAPPED                (entries, subtree)
            nr_freeable = list_lru_shrink_count(...)    (this list only)
                          - nr_disk_swapins             (consumed, see below)
            count       = mult_frac(nr_freeable, nr_backing, nr_stored)

        ``nr_disk_swapins`` counts pages read back from disk since the last count; the count
        takes as much of it as ``nr_freeable`` can absorb and leaves the rest. That makes the
        count a consuming read, like the kernel's: two counts in a row differ while swap-ins
        are pending. Without a memcg (the global lists of the kmemcg v15 seed) the pool-wide
        figures are used, as in the kernel's ``mem_cgroup_disabled()`` branch.

        It never returns ``SHRINK_EMPTY``, so the memcg's shrinker bit stays set.
        """
        pool = self.pool
        memcg = sc.memcg
        cgroups = pool.cgroups
        if not pool.shrinker_enabled or not cgroups.writeback_enabled(memcg):
            return 0
        if not gfp_has_io_fs(sc.gfp_mask):
            return 0
        if memcg is None:
            nr_backing, nr_stored = pool.total_pages(), pool.stored_pages
        else:
            stat = cgroups.stat(memcg)
            nr_backing, nr_stored = stat.zswap_b >> PAGE_SHIFT, stat.zswapped
        if not nr_stored:
            return 0
        nr_freeable = pool.lru.shrink_count(sc)
        if not nr_freeable:
            return 0
        nr_freeable -= cgroups.consume_disk_swapins(memcg, sc.nid, nr_freeable)
        if not nr_freeable:
            return 0
        return mult_frac(nr_freeable, nr_backing, nr_stored)

    def scan_objects(self, sc: ShrinkControl) -> int:
        """``zswap_shrinker_scan``: walk ``(sc.nid, sc.memcg)`` with :meth:`shrink_memcg_cb`
        and return the entries written back.

        Returns ``SHRINK_STOP`` in three cases. When the shrinker is disabled or writeback is
        off for the memcg, it also sets ``sc.nr_scanned = 0``. When a writeback met a page
        already in the swap cache, the walk was shrinking into the warm part of the list;
        entries written back before that are not reported. When nothing was written back
        (every entry visited had its second chance), the batch loop stops.
        """
        pool = self.pool
        if not pool.shrinker_enabled or not pool.cgroups.writeback_enabled(sc.memcg):
            sc.nr_scanned = 0
            return SHRINK_STOP
        # the kernel passes &encountered_page_in_swapcache as the walk's cb_arg; the model
        # passes a list, which receives the entry so that it can be moved afterwards
        encountered_page_in_swapcache: list[ZswapEntry] = []
        isolate = partial(
            self.shrink_memcg_cb, encountered_page_in_swapcache=encountered_page_in_swapcache
        )
        written_back = pool.lru.shrink_walk(sc, isolate)
        if encountered_page_in_swapcache:
            self._move_tail(encountered_page_in_swapcache[0])
            return SHRINK_STOP
        return written_back if written_back else SHRINK_STOP

    def shrink_memcg_cb(
        self,
        entry: ZswapEntry,
        lst: LRUList,
        *,
        encountered_page_in_swapcache: list[ZswapEntry],
    ) -> LRUStatus:
        """``shrink_memcg_cb``, the isolate callback (v6.12+; see the module's list).

        A writeback frees the entry, and the free path takes it off ``lst``
        (``zswap_entry_free`` → ``list_lru_del``). The walker restarts from the list head
        after it (``LRU_REMOVED_RETRY``: the callback dropped the lru lock). A writeback that
        meets the page in the swap cache appends the entry to
        ``encountered_page_in_swapcache`` and stops the walk.
        """
        if entry.referenced:
            entry.referenced = False
            return LRU_ROTATE
        vmstat = self.pool.sim.vmstat
        if self.pool.writeback(entry):
            # -EEXIST is the only failure the model has: a swap-in holds the page
            vmstat["zswap_reject_reclaim_fail"] += 1
            encountered_page_in_swapcache.append(entry)
            return LRU_STOP
        vmstat["zswap_written_back_pages"] += 1
        return LRU_REMOVED_RETRY

    def _move_tail(self, entry: ZswapEntry) -> None:
        """``list_move_tail`` of ``entry`` on its list (see the module's notes)."""
        lru = self.pool.lru
        lru.del_(entry)
        lru.add(entry, entry.nid, entry.memcg)


def zswap_pool(sim: Simulation) -> ZswapPool:
    """The zswap pool of ``sim``, found through its registered ``mm-zswap`` shrinker.

    :raises UsageError: the zswap plugin is not part of ``sim``.
    """
    if SHRINKER_NAME in sim.shrinkers:
        shrinker = sim.shrinkers.get(SHRINKER_NAME).shrinker
        if isinstance(shrinker, ZswapShrinker):
            return shrinker.pool
    raise UsageError(
        "the zswap plugin is not registered in this simulation: build it with "
        "plugins=[shrinkfw_zswap.plugin] or install shrinkfw-zswap"
    )
