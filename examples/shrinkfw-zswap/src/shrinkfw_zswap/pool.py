"""The zswap pool: compressed pages indexed by swap slot, their memory, and their lifetime.

Models the data side of ``mm/zswap.c`` (v6.12+). When reclaim swaps a page out,
``zswap_store`` compresses it and keeps it in RAM instead of writing it to the swap device. A
:class:`ZswapEntry` is one ``struct zswap_entry``. It is found by its swap slot in
``zswap_trees`` (:attr:`ZswapPool.tree`) and sits on ``zswap_list_lru`` (:attr:`ZswapPool.lru`),
a memcg-aware list_lru that the zswap shrinker walks. The entry leaves the pool in one of three
ways:

* ``zswap_load``: the page is swapped back in. Loads are exclusive, so the entry is freed.
* ``zswap_invalidate``: the swap slot is freed.
* ``zswap_writeback_entry``: the shrinker decompresses the page into the swap cache, starts
  the write to the swap device, and frees the entry.

Memory. Each entry holds two allocations, both modelled as slab objects through ``sim.slab``:

* The entry itself, from the ``zswap_entry`` cache (:data:`ZSWAP_ENTRY_SIZE` bytes,
  ``KMEM_CACHE(zswap_entry, 0)``: not ``SLAB_ACCOUNT``).
* The compressed data, a zsmalloc object (``zs_malloc``). It comes from one slab cache per
  zsmalloc size class, ``zsmalloc-<size>`` (:func:`zs_size_class`). The caches are
  accounted, so on v5.9+ profiles the object is charged to the page's memcg through its
  object cgroup. That models ``obj_cgroup_charge_zswap``, which charges the compressed
  bytes to the memcg (cgroup v2).

Simplifications
    * zsmalloc is not slab. Its pages are modelled as slab pages with ``min_partial = 0``, so
      a slab is freed as soon as it empties, as zsmalloc frees an empty zspage
      (``free_zspage``). Only the active slab of each node stays, which zsmalloc would not
      keep. The memcg is charged the class size plus the 8-byte objcg pointer the core adds
      to every accounted object, not ``entry->length``. The statistics the shrinker reads
      (:class:`~shrinkfw_zswap.memcg.MemcgZswapStat`) hold the exact ``length``.
    * The charge is made when the object is allocated, so limit reclaim can run at that
      point. The kernel's ``zswap_store`` runs inside reclaim (``PF_MEMALLOC``) and forces
      the charge. In the kernel, limit reclaim runs at the page fault that led to the
      swap-out.
    * Compression is a length: the caller says how many bytes the page compresses to.
      Same-filled pages are not modelled (older kernels store them without a zsmalloc
      object; current ones keep zero-filled pages out of zswap; release unverified).
    * The swap device has no size, and writes to it complete at once. ``max_pool_percent``
      and its ``shrink_worker`` are not modelled, nor is ``memory.zswap.max``.
"""

from __future__ import annotations

import errno
import math
from typing import TYPE_CHECKING, Final

from shrinkfw import LRUItem, UsageError
from shrinkfw.memcg import PAGE_SIZE

from .era import zswap_era
from .memcg import ZswapCgroups
from .shrinker import ZswapShrinker

if TYPE_CHECKING:
    from shrinkfw import ListLRU, MemCgroup, ShrinkerEntry, ShrinkerRegistry, Simulation
    from shrinkfw.slab import KmemCache, SlabRef

__all__ = [
    "LRU_NAME",
    "ZSWAP_ENTRY_SIZE",
    "ZS_MIN_ALLOC_SIZE",
    "ZS_SIZE_CLASS_DELTA",
    "ZswapEntry",
    "ZswapPool",
    "compressed_length",
    "zs_size_class",
]

#: ``sizeof(struct zswap_entry)`` on x86-64 in current kernels (the xarray tree, no rbnode nor
#: refcount): swpentry, length + referenced, pool, handle, objcg, lru.
ZSWAP_ENTRY_SIZE: Final = 56
#: zsmalloc's smallest size class (``ZS_MIN_ALLOC_SIZE`` with 4 KiB pages).
ZS_MIN_ALLOC_SIZE: Final = 32
#: Bytes between two zsmalloc size classes (``ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> 8``).
ZS_SIZE_CLASS_DELTA: Final = PAGE_SIZE >> 8
#: The list_lru's name (``zswap_list_lru``).
LRU_NAME: Final = "zswap_list_lru"


def compressed_length(ratio: float) -> int:
    """Bytes a page compresses to at ``ratio`` (``PAGE_SIZE / ratio``, rounded up). Ratio 1
    gives ``PAGE_SIZE``: an incompressible page, which current kernels store as it is
    (``zswap_stored_incompressible_pages``).

    :raises UsageError: ``ratio`` is below 1 or not finite.
    """
    if not (math.isfinite(ratio) and ratio >= 1.0):
        raise UsageError(f"a compression ratio must be a finite number >= 1, got {ratio!r}")
    return min(PAGE_SIZE, math.ceil(PAGE_SIZE / ratio))


def zs_size_class(length: int) -> int:
    """The zsmalloc size class of a ``length``-byte object: ``length`` rounded up to a
    multiple of :data:`ZS_SIZE_CLASS_DELTA`, at least :data:`ZS_MIN_ALLOC_SIZE`
    (``get_size_class_index``, mm/zsmalloc.c)."""
    return max(ZS_MIN_ALLOC_SIZE, -(-length // ZS_SIZE_CLASS_DELTA) * ZS_SIZE_CLASS_DELTA)


class ZswapEntry(LRUItem):
    """One compressed page (``struct zswap_entry``).

    :ivar offset: its swap slot (``swp_offset(entry->swpentry)``).
    :ivar length: compressed bytes (``entry->length``).
    :ivar referenced: the second-chance bit. ``zswap_store`` sets it, the shrinker clears it
        and rotates the entry once before it may write it back (v6.12+).
    :ivar in_swapcache: the page is already in the swap cache, because a swap-in is reading
        it. ``zswap_writeback_entry`` then fails with ``-EEXIST``. Nothing in the model sets
        this; tests set it to stand for a concurrent swap-in.
    :ivar entry_ref: the ``zswap_entry`` slab object.
    :ivar handle: the zsmalloc object (``entry->handle``). Its object cgroup is
        ``entry->objcg``.
    """

    __slots__ = ("entry_ref", "handle", "in_swapcache", "length", "offset", "referenced")

    def __init__(self, offset: int, length: int, entry_ref: SlabRef, handle: SlabRef) -> None:
        super().__init__()
        self.offset = offset
        self.length = length
        self.entry_ref = entry_ref
        self.handle = handle
        self.referenced = True
        self.in_swapcache = False

    @property
    def nid(self) -> int:
        """``entry_to_nid``: the node of the ``zswap_entry`` object, hence of its LRU list."""
        return self.entry_ref.nid

    @property
    def memcg(self) -> MemCgroup | None:
        """``mem_cgroup_from_entry``: the memcg the compressed data is charged to *now*, the
        parent once the charging memcg went offline. None: charged to nobody (the root)."""
        return self.handle.memcg

    def __repr__(self) -> str:
        ref = " referenced" if self.referenced else ""
        return f"<ZswapEntry offset={self.offset} length={self.length} nid={self.nid}{ref}>"


class ZswapPool:
    """zswap for one simulation. Creating it registers the ``mm-zswap`` shrinker.

    Models what ``zswap_setup`` creates (v6.12+ mm/zswap.c): the ``zswap_entry`` cache, the
    shrinker (``zswap_alloc_shrinker``), ``zswap_list_lru`` (``list_lru_init_memcg``), and
    ``shrinker_register``. The v6.12+ kernel keeps the list_lru and the shrinker global; they
    belonged to each ``zswap_pool`` in v6.8-v6.9.

    :param sim: the simulation.
    :param registry: the registry to add the shrinker to, ``sim.shrinkers`` or the one passed
        to ``shrinkfw_register_shrinkers``.
    :ivar era: what the profile means for zswap (:func:`~shrinkfw_zswap.era.zswap_era`).
    :ivar cgroups: per-memcg statistics, ``memory.zswap.writeback`` and swap-in counters.
    :ivar tree: entries by swap slot (``zswap_trees``, an xarray per 64 MiB of swap).
    :ivar lru: ``zswap_list_lru``.
    :ivar shrinker_enabled: ``zswap.shrinker_enabled``. The kernel's default is
        ``CONFIG_ZSWAP_SHRINKER_DEFAULT_ON``, which is off; the model's default is on.
    :ivar total_size: compressed bytes stored. Pool-wide counts read it where the kernel reads
        ``zswap_total_pages()``, the zsmalloc pages in use (see :meth:`total_pages`).
    """

    __slots__ = (
        "_next_offset",
        "_zpools",
        "cgroups",
        "entry_cache",
        "era",
        "lru",
        "shrinker",
        "shrinker_enabled",
        "shrinker_entry",
        "sim",
        "total_size",
        "tree",
    )

    def __init__(self, sim: Simulation, registry: ShrinkerRegistry) -> None:
        self.sim = sim
        self.era = zswap_era(sim.profile)
        self.cgroups = ZswapCgroups(memcg_lists_per_node=self.era.memcg_lists_per_node)
        self.entry_cache: KmemCache = sim.slab.create_cache(
            "zswap_entry", ZSWAP_ENTRY_SIZE, reclaimable=False, account=False
        )
        self._zpools: dict[int, KmemCache] = {}
        self.tree: dict[int, ZswapEntry] = {}
        self.total_size = 0
        self.shrinker_enabled = True
        self._next_offset = 0
        self.shrinker = ZswapShrinker(self)
        self.shrinker_entry: ShrinkerEntry = registry.add(self.shrinker)
        self.lru: ListLRU = sim.new_list_lru(
            memcg_aware=True, shrinker=self.shrinker_entry, name=LRU_NAME
        )

    def __repr__(self) -> str:
        return f"<ZswapPool stored={len(self.tree)} bytes={self.total_size}>"

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def stored_pages(self) -> int:
        """``zswap_stored_pages``: entries in the pool."""
        return len(self.tree)

    def total_pages(self) -> int:
        """Pool size in pages, as the pool-wide count reads it: the compressed bytes
        ``>> PAGE_SHIFT``.

        The kernel's ``zswap_total_pages()`` counts the zsmalloc pages in use. Here those are
        the pages of the ``zsmalloc-*`` slab caches, which include one retained active slab
        per node and class. The byte count is closer to what zsmalloc would hold, and it
        matches the memcg branch, which reads ``MEMCG_ZSWAP_B >> PAGE_SHIFT``.
        """
        return self.total_size // PAGE_SIZE

    def zpool_cache(self, length: int) -> KmemCache:
        """The slab cache standing for the zsmalloc size class of ``length``-byte objects.

        Created on first use, accounted, and with ``min_partial = 0`` (see the module's
        simplifications)."""
        size = zs_size_class(length)
        cache = self._zpools.get(size)
        if cache is None:
            cache = self.sim.slab.create_cache(
                f"zsmalloc-{size}", size, reclaimable=False, account=True
            )
            cache.min_partial = 0
            self._zpools[size] = cache
        return cache

    # -- swap slots ----------------------------------------------------------------------------

    def alloc_swap_slot(self) -> int | None:
        """A new swap slot on the (unbounded) swap device (``folio_alloc_swap``); None when
        the machine has no swap, so nothing can be swapped out."""
        if not self.sim.swap_enabled:
            return None
        self._next_offset += 1
        return self._next_offset

    def swap_writepage(self) -> None:
        """``__swap_writepage``: one page written to the swap device (``pswpout``). The write
        completes at once."""
        self.sim.vmstat["pswpout"] += 1

    def folio_swapin(self, memcg: MemCgroup | None, nid: int) -> None:
        """A page that is not in zswap is read from the swap device (``swap_read_folio`` after
        ``zswap_load`` returns ``-ENOENT``). This counts ``pswpin`` and calls
        ``zswap_folio_swapin``."""
        self.sim.vmstat["pswpin"] += 1
        self.cgroups.folio_swapin(memcg, nid)

    # -- the main API --------------------------------------------------------------------------

    def store(self, offset: int, memcg: MemCgroup, nid: int, length: int) -> ZswapEntry | None:
        """Compress one page of ``memcg`` on node ``nid`` into ``length`` bytes at swap slot
        ``offset``. Return the entry, or None if zswap rejected the page.

        Models ``zswap_store`` / ``zswap_store_page`` (v6.12+):

        1. ``zswap_entry_cache_alloc`` on the page's node. Failure counts
           ``zswap_reject_kmemcache_fail``.
        2. ``zs_malloc`` of the compressed bytes, charged to ``memcg``. Failure (ENOMEM, or
           the memcg's limit that reclaim could not make room under) counts
           ``zswap_reject_alloc_fail``.
        3. ``xa_store`` into the tree, which frees a stale entry left at the same slot.
        4. ``obj_cgroup_charge_zswap`` (statistics), ``entry->referenced = true``,
           ``zswap_lru_add`` (``list_lru_add(lru, item, entry_to_nid(entry),
           mem_cgroup_from_entry(entry))``), and ``ZSWPOUT``.

        :raises UsageError: ``length`` is not in ``1..PAGE_SIZE``.
        """
        if not 0 < length <= PAGE_SIZE:
            raise UsageError(f"a compressed page is 1..{PAGE_SIZE} bytes, got {length}")
        sim = self.sim
        vmstat = sim.vmstat
        entry_ref = sim.slab.alloc(self.entry_cache, memcg, nid)
        if entry_ref is None:
            vmstat["zswap_reject_kmemcache_fail"] += 1
            return None
        handle = sim.slab.alloc(self.zpool_cache(length), memcg, nid)
        if handle is None:
            sim.slab.free(self.entry_cache, entry_ref)
            vmstat["zswap_reject_alloc_fail"] += 1
            return None
        old = self.tree.pop(offset, None)
        if old is not None:
            self._entry_free(old)
        entry = ZswapEntry(offset, length, entry_ref, handle)
        self.tree[offset] = entry
        charged = entry.memcg
        self.cgroups.charge_zswap(charged, length)
        self.total_size += length
        self.lru.add(entry, entry.nid, charged)
        vmstat["zswpout"] += 1
        self.cgroups.count_event(charged, "zswpout")
        return entry

    def load(self, offset: int) -> bool:
        """Swap in the page at ``offset``. Return True if zswap held it.

        Models ``zswap_load`` (v6.9+: loads are exclusive). A hit decompresses the page,
        counts ``ZSWPIN``, erases the entry from the tree, and frees it. A miss (``-ENOENT``)
        changes nothing: the caller reads the page from the swap device
        (:meth:`folio_swapin`).
        """
        entry = self.tree.pop(offset, None)
        if entry is None:
            return False
        self.sim.vmstat["zswpin"] += 1
        self.cgroups.count_event(entry.memcg, "zswpin")
        self._entry_free(entry)
        return True

    def invalidate(self, offset: int) -> bool:
        """``zswap_invalidate``: the swap slot was freed, so its entry (if any) is freed too.
        Return True if there was one."""
        entry = self.tree.pop(offset, None)
        if entry is None:
            return False
        self._entry_free(entry)
        return True

    def writeback(self, entry: ZswapEntry) -> int:
        """Write ``entry``'s page to the swap device and free the entry. Return 0, or
        ``-errno.EEXIST``.

        Models ``zswap_writeback_entry`` (v6.12+). It first allocates a swap cache folio
        (``__read_swap_cache_async``). If one already exists, a swap-in is racing with it,
        and it returns ``-EEXIST`` without touching the entry. Otherwise it erases the entry
        from the tree, decompresses it into the folio, counts ``ZSWPWB`` (globally and for the
        memcg), calls ``zswap_entry_free``, which takes the entry off ``zswap_list_lru``, and
        starts the write (``__swap_writepage``).
        """
        if entry.in_swapcache:
            return -errno.EEXIST
        del self.tree[entry.offset]
        self.sim.vmstat["zswpwb"] += 1
        self.cgroups.count_event(entry.memcg, "zswpwb")
        self._entry_free(entry)
        self.swap_writepage()
        return 0

    def _entry_free(self, entry: ZswapEntry) -> None:
        """``zswap_entry_free``: off ``zswap_list_lru`` (``zswap_lru_del``), ``zs_free``,
        ``obj_cgroup_uncharge_zswap``, ``zswap_entry_cache_free``.

        The statistics go first: freeing the slab objects may uncharge the last page of a
        dying memcg and free it. The kernel keeps that memcg alive with the objcg reference.
        """
        self.lru.del_(entry)
        self.cgroups.uncharge_zswap(entry.memcg, entry.length)
        self.total_size -= entry.length
        slab = self.sim.slab
        slab.free(self.zpool_cache(entry.length), entry.handle)
        slab.free(self.entry_cache, entry.entry_ref)
