"""A SLUB-like slab allocator that turns object allocations and frees into page-level charges.

The model has one job: given "allocate one object of cache C for memcg M on node N" and "free
this object", decide when whole slab pages are taken from and given back to the node, which
memcg the kmem counter charges, and when reclaim gets credit for freed slab memory. Objects
have no identity here. :meth:`SlabAllocator.alloc` returns a :class:`SlabRef` (the slab page the
object lives on, plus the object cgroup it is charged to); the caller stores it on its own
object (``dentry.slab``) and hands it back to :meth:`SlabAllocator.free`.

Slab lifecycle (linux mm/slub.c, one CPU)
    Each cache has one :class:`_CacheNode` per NUMA node (``struct kmem_cache_node``) with an
    *active* slab (the CPU slab, ``c->page``), a *partial* list and a *full* set (the
    ``SLUB_DEBUG`` full list; the model keeps it for statistics). Allocation takes a free slot
    from the active slab. When the active slab is full, the most recently added partial slab
    becomes active (``get_partial_node``); if there is none, a new slab of ``2**order`` pages
    is allocated (``new_slab`` → the ``alloc_page`` callable). A free into a full slab moves it
    to the partial list (most recently used end). A free that empties a partial slab discards
    the slab when the node already has ``min_partial`` partial slabs, counting the slab itself
    (``__slab_free``: ``!new.inuse && n->nr_partial >= s->min_partial``). Otherwise the empty
    slab stays on the partial list and keeps its pages until :meth:`SlabAllocator.shrink`
    (``kmem_cache_shrink``) or until it is reused. The active slab is never discarded by a
    free. Freeing objects oldest first with ``min_partial = 5`` keeps 4 empty slabs (plus the
    active one) and discards every later one as it empties.

Memcg accounting, by era (:class:`SlabPolicy`)
    * ``per_memcg_caches=True`` (v3.8-v5.8; the seed): the first accounted allocation of a
      kmem-active memcg creates its child cache (``memcg_kmem_get_cache`` /
      ``memcg_create_kmem_cache``, named ``"dentry(2:a)"``), and the child cache's slab pages
      are charged whole to that memcg through ``alloc_page(memcg, nid, pages)``.
      While slab pins dying memcgs (the memcg model's ``slab_pins_dying``, up to v5.2), a dead
      memcg's child cache keeps its slabs charged to the dead memcg. Later frees uncharge it
      through ``free_page(dead_memcg, ...)``, and the memcg model frees the memcg with its last
      kmem page. From v5.3 (``slab_pins_dying`` false) the child cache's charges move to the
      parent at offline, as the kernel swaps ``memcg_params.memcg``.
    * ``per_memcg_caches=False`` (v5.9+, objcg): one shared cache. Slab pages are taken with
      ``alloc_page(None, nid, pages)`` and charged to nobody (``account_slab_page`` only moves
      node statistics). Each object is charged ``object_size + 8`` bytes (``obj_full_size``)
      to its memcg's object cgroup (:class:`ObjCgroup`) by ``obj_cgroup_charge`` with the
      byte stock. The kmem counter therefore moves by whole pages through the separate
      ``charge_kmem`` / ``uncharge_kmem`` callables. See :meth:`SlabAllocator.alloc` for the
      exact stock rules. At offline the memcg's object cgroups point to the parent
      (``memcg_reparent_objcgs``). Their byte balances stay on the object cgroups, so later
      frees and drains uncharge the parent, which the memcg model gave the pages at offline.

Reclaim credit
    :attr:`SlabAllocator.reclaimed_slab` grows by the pages of every discarded slab, as
    ``__free_slab`` adds to ``current->reclaim_state->reclaimed_slab``. It never grows on an
    object free that leaves its slab in use. The simulation resets and reads it around a
    reclaim pass. Nothing here models RCU: callers that free through ``call_rcu`` (dentries)
    must delay the :meth:`~SlabAllocator.free` call themselves.

Re-entrancy
    ``alloc_page`` and ``charge_kmem`` may run reclaim, which frees objects of any cache and
    may shrink caches. The allocator takes no state it relies on across those calls: it re-reads
    the node after ``alloc_page`` and installs the new slab whatever happened meanwhile.
    ``free_page`` and ``uncharge_kmem`` are always called last, after the bookkeeping, so an
    uncharge that frees a dying memcg (and runs :meth:`SlabAllocator.memcg_free`) is safe.

Simplifications (documented, deliberate)
    * One CPU. The CPU slab is per (cache, node), and the objcg byte stock is a single stock.
      The per-CPU partial lists (``CONFIG_SLUB_CPU_PARTIAL``) are not modelled, so fewer empty
      slabs are retained than on an SMP kernel (see "Left undone" in the report).
    * Child caches are created synchronously. v3.14 creates them from a work item and serves
      the allocation that triggered creation from the root cache, uncharged.
    * ``object_size`` is SLUB's ``s->size`` (object plus alignment and metadata).
    * Allocation by a dead memcg goes to its nearest online ancestor, as
      ``get_obj_cgroup_from_current`` does when the objcg reference cannot be taken. Objects of
      a memcg without kmem accounting, of the root, or of an unaccounted cache go to the root
      cache and are charged to nobody.
    * ``obj_cgroup_charge`` runs before the slab is taken (kernel order). When ``alloc_page``
      then fails, the bytes go back through the stock as ``memcg_slab_post_alloc_hook`` does, so
      the memcg may keep up to a page of precharge. Nothing else changes.

Notes against the spec
    * §10 dates "objcg slab reparenting (dying memcgs no longer pinned by slab)" to v5.9. Slab
      stopped pinning dying memcgs in v5.3: fb2f2b0adb98 "mm: memcg/slab: reparent memcg
      kmem_caches on cgroup removal" (Roman Gushchin, June 2019; fixed by "mm: memcontrol:
      flush percpu slab vmstats on kmem offlining", Aug 2019) splices a dead memcg's
      per-memcg caches onto the parent and swaps their memcg pointer. v5.9 ("the new slab
      memory controller") only replaced per-memcg caches by per-object objcg charging. The
      memcg model's ``KMEM_V4_7`` (v4.7-v5.8, ``slab_pins_dying=True``) is therefore right only
      up to v5.2. Use ``slab_pins_dying=False`` with :data:`SLAB_V4_0` for v5.3-v5.8.
    * §5 "Dead memcgs (E1/E2)" treats the two eras alike; they differ. In v3.14 the offline
      work shrinks each dead cache once (``mem_cgroup_destroy_all_caches`` →
      ``kmem_cache_destroy_work_func`` → ``kmem_cache_shrink``). Slabs emptied by later frees
      stay while the node has fewer than ``min_partial`` partial slabs, and they pin the memcg
      until v15 13/13's reaper shrinks the cache again. From v4.0, d6e0b7fa1186 "slub: make
      dead caches discard free slabs immediately" sets a dead cache's ``min_partial`` (and
      ``cpu_partial``) to 0 after that shrink. Every slab that empties later is freed at once,
      so in E2 only live objects pin a dead memcg (:attr:`SlabPolicy.dead_caches_discard`).
    * §5, the 6.1 observation (601,888 B of reparented dentries). This is byte-level objcg
      accounting: each dentry is charged ``192 + 8 = 200`` bytes (``obj_full_size`` adds the
      objcg pointer). 30 × 100 dentries make 600,000 B; the other 1,888 B were not identified.
      Whole-page accounting would give 30 × ⌈100/21⌉ pages = 614,400 B.
    * §3.5, the 6.1 ``nr_reclaimed=0`` observation. The "inferred" mechanism matches the code:
      only ``__free_slab`` credits reclaim, and an emptied slab is kept while the node has
      fewer than ``min_partial`` partial slabs (5 for dentries: ``ilog2(192)/2 = 3``, clamped to
      ``MIN_PARTIAL``). Per-CPU partial lists keep more. The memcg charge behaves differently
      from v5.9: ``obj_cgroup_uncharge`` returns an object's bytes at ``kmem_cache_free`` time
      (after the RCU grace period for dentries), so ``memory.current`` falls per object, in
      page steps through the stock, even when no slab page is freed and nothing is credited.
      Before v5.9 the charge falls only with whole slab pages.
    * §8 ``test_kmem_basic``: the 64+-character names do not fit ``DNAME_INLINE_LEN``, so every
      negative dentry also allocates an external name with ``kmalloc(..., GFP_KERNEL_ACCOUNT)``
      (later ``| __GFP_RECLAIMABLE``) in ``__d_alloc``. A faithful mirror allocates two accounted
      objects per lookup. Before v4.5 every slab allocation of a kmem-active memcg was charged
      (opt-out; a9bb7e620efd "memcg: only account kmem allocations marked as __GFP_ACCOUNT"
      made it opt-in), so in v3.14 the external name was charged too
      (:attr:`SlabPolicy.account_all`).
    * The brief's invariant "Σ memcg kmem pages == pages the allocator holds" holds for per-memcg
      caches only. With objcg the kernel charges object bytes, not pages: the free space of
      partially used slabs, and slabs kept empty, are charged to nobody. What is conserved is
      ``charged pages × PAGE_SIZE == live object bytes + precharge``, with a precharge of
      0..PAGE_SIZE bytes per object cgroup (:meth:`SlabAllocator.check`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Final

import attrs

from .errors import UsageError
from .memcg import PAGE_SIZE, MemCgroup, MemcgState, MemcgTree

__all__ = [
    "MAX_ORDER",
    "MAX_PARTIAL",
    "MIN_PARTIAL",
    "OBJCG_POINTER_SIZE",
    "PAGE_ALLOC_COSTLY_ORDER",
    "SLAB_V4_0",
    "SLAB_V5_9",
    "SLAB_V15",
    "AllocPage",
    "ChargeKmem",
    "FreePage",
    "KmemCache",
    "ObjCgroup",
    "Slab",
    "SlabAllocator",
    "SlabInfo",
    "SlabPolicy",
    "SlabRef",
    "SlabStat",
    "UnchargeKmem",
    "calculate_order",
    "min_partial_for",
]

#: Lower clamp of a cache's ``min_partial`` (``MIN_PARTIAL``, mm/slub.c).
MIN_PARTIAL: Final = 5
#: Upper clamp of a cache's ``min_partial`` (``MAX_PARTIAL``).
MAX_PARTIAL: Final = 10
#: Default ``slub_max_order`` (``PAGE_ALLOC_COSTLY_ORDER``).
PAGE_ALLOC_COSTLY_ORDER: Final = 3
#: Buddy allocator orders are below this (``MAX_ORDER`` of x86-64 before v6.4).
MAX_ORDER: Final = 11
#: Bytes of the per-object objcg pointer that ``obj_full_size`` adds to every accounted object.
OBJCG_POINTER_SIZE: Final = 8

_PAGE_SHIFT: Final = PAGE_SIZE.bit_length() - 1

# Slab states.
_ACTIVE: Final = 0
_PARTIAL: Final = 1
_FULL: Final = 2
_FREED: Final = 3
_STATE_NAMES: Final = ("active", "partial", "full", "freed")

#: ``alloc_page(memcg, nid, nr_pages) -> ok``: take pages from node ``nid`` and charge ``memcg``'s
#: kmem counter (``None``: charge nobody). May reclaim. False means ENOMEM.
AllocPage = Callable[[MemCgroup | None, int, int], bool]
#: ``free_page(memcg, nid, nr_pages)``: give the pages back to the node and uncharge ``memcg``.
FreePage = Callable[[MemCgroup | None, int, int], None]
#: ``charge_kmem(memcg, nr_pages) -> ok``: objcg mode only; charge without taking pages.
ChargeKmem = Callable[[MemCgroup, int], bool]
#: ``uncharge_kmem(memcg, nr_pages)``: objcg mode only.
UnchargeKmem = Callable[[MemCgroup, int], None]


def min_partial_for(size: int) -> int:
    """The ``min_partial`` SLUB gives a cache of ``size``-byte objects.

    ``ilog2(size) / 2`` clamped to ``[MIN_PARTIAL, MAX_PARTIAL]`` = ``[5, 10]``
    (``kmem_cache_open`` → ``set_min_partial``, linux v3.14-v6.x mm/slub.c): 5 for every size
    below 4 KiB, 6 for 4 KiB, 10 from 1 MiB.
    """
    if size < 1:
        raise UsageError(f"object size must be at least 1 byte, got {size}")
    return min(MAX_PARTIAL, max(MIN_PARTIAL, (size.bit_length() - 1) // 2))


def _get_order(nbytes: int) -> int:
    return max(0, (nbytes - 1).bit_length() - _PAGE_SHIFT)


def _slab_order(size: int, min_objects: int, max_order: int, fract_leftover: int) -> int:
    """``slab_order``: the lowest order from ``get_order(min_objects·size)`` whose leftover is
    at most ``1/fract_leftover`` of the slab; ``max_order + 1`` when none is."""
    order = _get_order(min_objects * size)
    while order <= max_order:
        slab_size = PAGE_SIZE << order
        if slab_size % size <= slab_size // fract_leftover:
            return order
        order += 1
    return order


def calculate_order(size: int, *, min_objects: int, max_order: int) -> int:
    """The page order of a slab of ``size``-byte objects: models SLUB ``calculate_order``.

    Linux v3.14-v6.x mm/slub.c. Try ``min_objects`` objects per slab (at most what fits
    ``max_order``) with a leftover of at most 1/16, then 1/8, then 1/4 of the slab. Then try
    one object fewer, down to 2. Then one object with any leftover up to ``max_order``, and
    finally up to ``MAX_ORDER - 1``. With the default ``min_objects = 8``, objects up to
    256 B always get order 0 (192 B → 21 objects, ``PAGE_SIZE // size``). Above that the
    leftover rule decides: 512 B → order 0 (8 objects), 300 B → order 0, 344 B → order 1,
    1 KiB → order 1 (8), 4 KiB → order 3 (8).
    """
    if size < 1:
        raise UsageError(f"object size must be at least 1 byte, got {size}")
    tries = min(min_objects, (PAGE_SIZE << max_order) // size)
    while tries > 1:
        for fraction in (16, 8, 4):
            order = _slab_order(size, tries, max_order, fraction)
            if order <= max_order:
                return order
        tries -= 1
    order = _slab_order(size, 1, max_order, 1)
    if order <= max_order:
        return order
    order = _slab_order(size, 1, MAX_ORDER, 1)
    if order < MAX_ORDER:
        return order
    raise UsageError(f"a {size}-byte object does not fit a slab of order < {MAX_ORDER}")


def _non_negative(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise UsageError(f"SlabPolicy.{attr.name} must be >= 0, got {value}")


def _positive(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise UsageError(f"SlabPolicy.{attr.name} must be >= 1, got {value}")


def _optional_non_negative(
    _inst: object, attr: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 0:
        raise UsageError(f"SlabPolicy.{attr.name} must be None or >= 0, got {value}")


def _order_in_range(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value < MAX_ORDER:
        raise UsageError(f"SlabPolicy.{attr.name} must be within 0..{MAX_ORDER - 1}, got {value}")


@attrs.frozen(kw_only=True)
class SlabPolicy:
    """How an era's slab allocator accounts slab memory to memcgs and keeps empty slabs.

    :ivar name: short label for messages.
    :ivar per_memcg_caches: True: each kmem-active memcg gets its own child cache, whose slab
        pages are charged whole to it (``memcg_kmem_get_cache``, v3.8-v5.8). False: one shared
        cache, objects charged per byte through object cgroups (v5.9+). Whether a dead memcg's
        child caches pin it follows the memcg model's ``slab_pins_dying``.
    :ivar shrink_dead_at_offline: ``kmem_cache_shrink`` every child cache of a memcg when it
        goes offline (v3.14 ``mem_cgroup_destroy_all_caches``; v4.0+
        ``memcg_deactivate_kmem_caches``). Per-memcg caches only.
    :ivar dead_caches_discard: a dead memcg's child caches get ``min_partial = 0``, so each slab
        that empties is freed at once (v4.0 d6e0b7fa1186). Per-memcg caches only.
    :ivar account_all: every cache is accounted, whatever its ``account`` flag (v3.8-v4.4:
        accounting was opt-out until a9bb7e620efd made it opt-in with ``SLAB_ACCOUNT`` /
        ``__GFP_ACCOUNT`` in v4.5).
    :ivar min_partial: None: each cache gets :func:`min_partial_for` of its object size (the
        kernel). An int: every cache gets this value (as writing
        ``/sys/kernel/slab/<cache>/min_partial`` would).
    :ivar min_objects: ``slub_min_objects`` for :func:`calculate_order`. The kernel's default is
        ``4·(fls(nr_cpu_ids)+1)``: 8 for one CPU (the model's CPU count), 16 for 2-3 CPUs.
    :ivar max_order: ``slub_max_order`` (default ``PAGE_ALLOC_COSTLY_ORDER`` = 3).
    :ivar objcg_pointer_size: bytes added to each object's objcg charge (``obj_full_size``).
    """

    name: str
    per_memcg_caches: bool
    shrink_dead_at_offline: bool = False
    dead_caches_discard: bool = False
    account_all: bool = False
    min_partial: int | None = attrs.field(default=None, validator=_optional_non_negative)
    min_objects: int = attrs.field(default=8, validator=_positive)
    max_order: int = attrs.field(default=PAGE_ALLOC_COSTLY_ORDER, validator=_order_in_range)
    objcg_pointer_size: int = attrs.field(default=OBJCG_POINTER_SIZE, validator=_non_negative)


#: The seed (v3.14 + kmemcg v15): per-memcg caches charged whole; the offline work shrinks a dead
#: memcg's caches once; empties left by later frees stay (below ``min_partial``) until the v15
#: reaper (:meth:`SlabAllocator.shrink_dead`) shrinks them.
SLAB_V15: Final = SlabPolicy(
    name="v3.14-kmemcg-v15",
    per_memcg_caches=True,
    shrink_dead_at_offline=True,
    dead_caches_discard=False,
    account_all=True,
)
#: v4.0-v5.8: per-memcg caches; dead caches are shrunk at offline and discard every slab that
#: empties (from v4.0). Accounting is opt-in (``SLAB_ACCOUNT``), which is v4.5+; for v4.0-v4.4
#: use ``attrs.evolve(SLAB_V4_0, account_all=True)``. With the memcg model's
#: ``slab_pins_dying`` false this is v5.3-v5.8 (caches reparented at offline).
SLAB_V4_0: Final = SlabPolicy(
    name="v4.0",
    per_memcg_caches=True,
    shrink_dead_at_offline=True,
    dead_caches_discard=True,
)
#: v5.9+: one shared cache, per-object byte charging through object cgroups and the byte stock.
SLAB_V5_9: Final = SlabPolicy(name="v5.9", per_memcg_caches=False)


@attrs.frozen(kw_only=True)
class SlabStat:
    """A memcg's slab memory in bytes (``memory.stat`` ``slab_reclaimable`` /
    ``slab_unreclaimable``; their sum is ``slab``)."""

    reclaimable: int
    unreclaimable: int

    @property
    def total(self) -> int:
        """``memory.stat slab``."""
        return self.reclaimable + self.unreclaimable


@attrs.frozen(kw_only=True)
class SlabInfo:
    """One ``/proc/slabinfo`` line. SLUB reports every slab as active, so there is no
    separate active-slab count."""

    name: str
    active_objs: int
    num_objs: int
    objsize: int
    objperslab: int
    pagesperslab: int
    num_slabs: int

    @property
    def pages(self) -> int:
        return self.num_slabs * self.pagesperslab


class ObjCgroup:
    """An object cgroup (``struct obj_cgroup``, v5.9+): what accounted objects are charged to.

    ``memcg`` is the memcg it charges: its own memcg while that is online, then the parent
    it was reparented to at offline (``memcg_reparent_objcgs``). ``origin`` is the memcg it
    was created for. ``nr_charged_bytes`` is precharge left over when the stock was drained.
    ``charged_pages`` is the pages this objcg has charged and not uncharged.
    ``live`` is the bytes of live objects: ``[unreclaimable, reclaimable]``.
    """

    __slots__ = ("charged_pages", "live", "memcg", "nr_charged_bytes", "origin")

    def __init__(self, memcg: MemCgroup) -> None:
        self.origin = memcg
        self.memcg = memcg
        self.nr_charged_bytes = 0
        self.charged_pages = 0
        self.live = [0, 0]

    def __repr__(self) -> str:
        return (
            f"ObjCgroup(origin={self.origin.path!r}, memcg={self.memcg.path!r}, "
            f"pages={self.charged_pages}, live={sum(self.live)}, "
            f"nr_charged_bytes={self.nr_charged_bytes})"
        )


class _CacheNode:
    """One cache's slabs on one node (``struct kmem_cache_node`` plus the CPU slab).

    ``partial`` and ``full`` are dicts used as ordered sets. The partial list's *end* is
    SLUB's list head (taken first, the most recently used).
    """

    __slots__ = ("active", "full", "nid", "nr_slabs", "partial")

    def __init__(self, nid: int) -> None:
        self.nid = nid
        self.active: Slab | None = None
        self.partial: dict[Slab, None] = {}
        self.full: dict[Slab, None] = {}
        self.nr_slabs = 0

    def iter_slabs(self) -> Iterator[Slab]:
        if self.active is not None:
            yield self.active
        yield from self.partial
        yield from self.full


class Slab:
    """One slab: ``pages`` contiguous pages holding up to ``objects`` objects of one cache,
    on node ``nid``. ``inuse`` is the number of allocated objects."""

    __slots__ = ("cache", "inuse", "nid", "node", "objects", "pages", "refs", "state")

    def __init__(self, cache: KmemCache, node: _CacheNode) -> None:
        self.cache = cache
        self.node = node
        self.nid = node.nid
        self.objects = cache.objs_per_slab
        self.pages = cache.pages_per_slab
        self.inuse = 0
        self.state = _ACTIVE
        #: The handle per charge owner (object cgroup, or None), created on first use.
        self.refs: dict[ObjCgroup | None, SlabRef] = {}

    @property
    def status(self) -> str:
        """``"active"``, ``"partial"``, ``"full"`` or ``"freed"``."""
        return _STATE_NAMES[self.state]

    @property
    def free_objects(self) -> int:
        return self.objects - self.inuse

    def __repr__(self) -> str:
        return (
            f"Slab({self.cache.name!r}, nid={self.nid}, {self.status}, "
            f"inuse={self.inuse}/{self.objects})"
        )


class SlabRef:
    """What :meth:`SlabAllocator.alloc` returns for one object: the slab it lives on and the
    object cgroup it is charged to (None before v5.9 or when unaccounted). Objects of one
    owner on one slab share a handle. Store it on the object and pass it to
    :meth:`SlabAllocator.free`."""

    __slots__ = ("objcg", "slab")

    def __init__(self, slab: Slab, objcg: ObjCgroup | None) -> None:
        self.slab = slab
        self.objcg = objcg

    @property
    def memcg(self) -> MemCgroup | None:
        """The memcg the object is accounted to now: the objcg's memcg (v5.9+), else the
        charge owner of the slab's cache. Use it as ``mem_cgroup_from_slab_obj``, e.g. to
        route the object to a list_lru."""
        objcg = self.objcg
        if objcg is not None:
            return objcg.memcg
        return self.slab.cache.owner

    @property
    def cache(self) -> KmemCache:
        """The (child) cache the object lives in."""
        return self.slab.cache

    @property
    def nid(self) -> int:
        return self.slab.nid

    def __repr__(self) -> str:
        return f"SlabRef({self.slab!r}, objcg={self.objcg!r})"


class KmemCache:
    """A slab cache (``struct kmem_cache``); root caches come from
    :meth:`SlabAllocator.create_cache`, child caches (per-memcg eras) from the allocator.

    :param name: the cache name (``dentry``).
    :param object_size: SLUB's ``s->size`` in bytes.
    :param reclaimable: ``SLAB_RECLAIM_ACCOUNT``: counts as SReclaimable / slab_reclaimable.
    :param account: ``SLAB_ACCOUNT``: objects are charged to the allocating memcg (always,
        under a policy with ``account_all``).
    :param policy: gives ``min_partial``, the order computation and the objcg charge size.
    :param nr_nodes: NUMA nodes.

    ``order``, ``pages_per_slab`` and ``objs_per_slab`` follow :func:`calculate_order`.
    ``min_partial`` is writable (``/sys/kernel/slab/<cache>/min_partial``). ``memcg`` is the
    memcg a child cache was created for (None for a root cache). ``owner`` is the memcg its
    pages are charged to: ``memcg``, or the parent after a v5.3+ reparent. ``children`` maps
    creating memcg → child cache, dead memcgs included, until the memcg is freed.
    """

    __slots__ = (
        "account",
        "charge_size",
        "children",
        "dead",
        "inuse",
        "live_children",
        "memcg",
        "min_partial",
        "name",
        "nodes",
        "nr_slabs",
        "object_size",
        "objs_per_slab",
        "order",
        "owner",
        "pages_per_slab",
        "reclaimable",
        "root",
    )

    def __init__(
        self,
        name: str,
        object_size: int,
        *,
        reclaimable: bool,
        account: bool,
        policy: SlabPolicy,
        nr_nodes: int = 1,
    ) -> None:
        if not name:
            raise UsageError("a kmem cache needs a name")
        if nr_nodes < 1:
            raise UsageError(f"nr_nodes must be at least 1, got {nr_nodes}")
        self.name = name
        self.object_size = object_size
        self.reclaimable = reclaimable
        self.account = account or policy.account_all
        self.order = calculate_order(
            object_size, min_objects=policy.min_objects, max_order=policy.max_order
        )
        self.pages_per_slab = 1 << self.order
        self.objs_per_slab = (PAGE_SIZE << self.order) // object_size
        self.min_partial = (
            min_partial_for(object_size) if policy.min_partial is None else policy.min_partial
        )
        self.charge_size = object_size + policy.objcg_pointer_size
        self.root: KmemCache = self
        self.memcg: MemCgroup | None = None
        self.owner: MemCgroup | None = None
        self.dead = False
        self.children: dict[MemCgroup, KmemCache] = {}
        #: memcg → the cache its allocations use now (child caches of online memcgs, plus
        #: cached routes of memcgs that allocate from the root cache).
        self.live_children: dict[MemCgroup, KmemCache] = {}
        self.nodes = [_CacheNode(nid) for nid in range(nr_nodes)]
        self.nr_slabs = 0
        self.inuse = 0

    def _spawn(self, memcg: MemCgroup) -> KmemCache:
        """A child cache of this root cache for ``memcg`` (``memcg_create_kmem_cache``)."""
        child = object.__new__(KmemCache)
        child.name = f"{self.name}({memcg.kmemcg_id}:{memcg.name})"
        child.object_size = self.object_size
        child.reclaimable = self.reclaimable
        child.account = self.account
        child.order = self.order
        child.pages_per_slab = self.pages_per_slab
        child.objs_per_slab = self.objs_per_slab
        child.min_partial = self.min_partial
        child.charge_size = self.charge_size
        child.root = self
        child.memcg = memcg
        child.owner = memcg
        child.dead = False
        child.children = {}
        child.live_children = {}
        child.nodes = [_CacheNode(nid) for nid in range(len(self.nodes))]
        child.nr_slabs = 0
        child.inuse = 0
        return child

    @property
    def is_root(self) -> bool:
        return self.root is self

    @property
    def active_objects(self) -> int:
        """Allocated objects (slabinfo ``active_objs``)."""
        return self.inuse

    @property
    def total_objects(self) -> int:
        """Object slots in all slabs (slabinfo ``num_objs``)."""
        return self.nr_slabs * self.objs_per_slab

    @property
    def nr_pages(self) -> int:
        return self.nr_slabs * self.pages_per_slab

    def iter_slabs(self, nid: int | None = None) -> Iterator[Slab]:
        """This cache's slabs (not its children's): active, partial (oldest first), full."""
        for node in self.nodes if nid is None else (self.nodes[nid],):
            yield from node.iter_slabs()

    def empty_slabs(self) -> int:
        """Slabs with no object in use (retained on partial lists, or an empty active slab)."""
        return sum(1 for slab in self.iter_slabs() if slab.inuse == 0)

    def __repr__(self) -> str:
        return (
            f"KmemCache({self.name!r}, size={self.object_size}, order={self.order}, "
            f"objs_per_slab={self.objs_per_slab}, slabs={self.nr_slabs}, inuse={self.inuse})"
        )


def _by_inuse(slab: Slab) -> int:
    return slab.inuse


class SlabAllocator:
    """The slab allocator of one simulation: caches, slabs and their page-level charges.

    :param tree: the memcg tree. Its node count sizes every cache. Unless ``listen`` is false,
        the allocator appends :meth:`memcg_offline`, :meth:`memcg_free` and
        :meth:`memcg_kmem_activate` to the tree's ``on_offline``, ``on_free`` and
        ``on_kmem_activate`` listeners. With ``listen`` false, call them yourself.
    :param policy: the era's :class:`SlabPolicy`.
    :param alloc_page: see :data:`AllocPage`. Called with the memcg to charge (the child cache's
        owner), or None for root-cache and objcg-mode slabs.
    :param free_page: see :data:`FreePage`, with the same memcg the pages were charged to (or
        the dead memcg's nearest online ancestor after a v5.3+ reparent).
    :param charge_kmem: objcg mode (``per_memcg_caches=False``) only; required there.
    :param uncharge_kmem: objcg mode only; required there.

    The allocator never calls :meth:`MemcgTree.charge` itself.
    """

    __slots__ = (
        "_alloc_page",
        "_charge_kmem",
        "_created_by",
        "_free_page",
        "_live_objcg",
        "_names",
        "_node_pages",
        "_nr_nodes",
        "_objcg_list",
        "_owned",
        "_per_memcg",
        "_root_memcg",
        "_stock_bytes",
        "_stock_objcg",
        "_tree",
        "_uncharge_kmem",
        "caches",
        "policy",
        "reclaimed_slab",
    )

    def __init__(
        self,
        tree: MemcgTree,
        *,
        policy: SlabPolicy,
        alloc_page: AllocPage,
        free_page: FreePage,
        charge_kmem: ChargeKmem | None = None,
        uncharge_kmem: UnchargeKmem | None = None,
        listen: bool = True,
    ) -> None:
        if not policy.per_memcg_caches:
            if charge_kmem is None or uncharge_kmem is None:
                raise UsageError(
                    f"slab policy {policy.name} charges memcgs per object through objcg, not "
                    "per page: pass charge_kmem=(memcg, nr_pages) -> bool and "
                    "uncharge_kmem=(memcg, nr_pages) -> None"
                )
            if tree.policy.slab_pins_dying:
                raise UsageError(
                    f"slab policy {policy.name} reparents slab charges at offline (objcg), but "
                    f"kmem policy {tree.policy.name} keeps them on dying memcgs; use a kmem "
                    "policy with slab_pins_dying=False (KMEM_V5_9, KMEM_V5_18)"
                )

        def _no_charge(memcg: MemCgroup, nr_pages: int) -> bool:
            raise AssertionError("charge_kmem called in per-memcg-cache mode")

        def _no_uncharge(memcg: MemCgroup, nr_pages: int) -> None:
            raise AssertionError("uncharge_kmem called in per-memcg-cache mode")

        self._tree = tree
        self.policy = policy
        self._per_memcg = policy.per_memcg_caches
        self._alloc_page = alloc_page
        self._free_page = free_page
        self._charge_kmem: ChargeKmem = charge_kmem if charge_kmem is not None else _no_charge
        self._uncharge_kmem: UnchargeKmem = (
            uncharge_kmem if uncharge_kmem is not None else _no_uncharge
        )
        self._root_memcg = tree.root
        self._nr_nodes = tree.nr_nodes
        #: Pages of slab reclaim has been credited with (``reclaim_state->reclaimed_slab``).
        self.reclaimed_slab = 0
        #: Root caches in creation order.
        self.caches: list[KmemCache] = []
        self._names: set[str] = set()
        # Per node: [unreclaimable, reclaimable] slab pages.
        self._node_pages = [[0, 0] for _ in range(self._nr_nodes)]
        # Objcg mode: the byte stock (one CPU), objcgs of online memcgs, objcgs by the memcg
        # they charge now (``memcg->objcg_list`` plus the memcg's own).
        self._stock_objcg: ObjCgroup | None = None
        self._stock_bytes = 0
        self._live_objcg: dict[MemCgroup, ObjCgroup] = {}
        self._objcg_list: dict[MemCgroup, list[ObjCgroup]] = {}
        # Per-memcg mode: child caches by creating memcg, and by the memcg charged now.
        self._created_by: dict[MemCgroup, list[KmemCache]] = {}
        self._owned: dict[MemCgroup, list[KmemCache]] = {}
        if listen:
            tree.on_offline.append(self.memcg_offline)
            tree.on_free.append(self.memcg_free)
            tree.on_kmem_activate.append(self.memcg_kmem_activate)

    # -- caches ------------------------------------------------------------------------------

    def create_cache(
        self, name: str, object_size: int, *, reclaimable: bool = False, account: bool = False
    ) -> KmemCache:
        """``kmem_cache_create``: a new root cache (names are unique; no cache merging)."""
        if name in self._names:
            raise UsageError(f"a kmem cache named {name!r} already exists")
        cache = KmemCache(
            name,
            object_size,
            reclaimable=reclaimable,
            account=account,
            policy=self.policy,
            nr_nodes=self._nr_nodes,
        )
        self._names.add(name)
        self.caches.append(cache)
        return cache

    def _memcg_cache(self, cache: KmemCache, memcg: MemCgroup) -> KmemCache:
        """Slow path of the per-memcg cache lookup (``memcg_kmem_get_cache``)."""
        if cache.root is not cache:
            raise UsageError(f"alloc takes a root cache, got child cache {cache.name!r}")
        target = memcg
        if target.state is not MemcgState.ONLINE:
            target = self._tree.online_ancestor(target)
            child = cache.live_children.get(target)
            if child is not None:
                return child
        if target is self._root_memcg or not target.kmem_active:
            # memcg_can_account_kmem() fails: the root cache, uncharged.
            if target is memcg:
                cache.live_children[memcg] = cache
            return cache
        child = cache._spawn(target)
        cache.children[target] = child
        cache.live_children[target] = child
        self._created_by.setdefault(target, []).append(child)
        self._owned.setdefault(target, []).append(child)
        return child

    def _objcg_of(self, memcg: MemCgroup) -> ObjCgroup | None:
        """Slow path of ``get_obj_cgroup_from_current``: the memcg's objcg, created on first
        use; a dead memcg's allocations use its nearest online ancestor's."""
        if memcg.state is not MemcgState.ONLINE:
            memcg = self._tree.online_ancestor(memcg)
            existing = self._live_objcg.get(memcg)
            if existing is not None:
                return existing
        if memcg is self._root_memcg or not memcg.kmem_active:
            return None
        objcg = ObjCgroup(memcg)
        self._live_objcg[memcg] = objcg
        self._objcg_list.setdefault(memcg, []).append(objcg)
        return objcg

    # -- the hot path ------------------------------------------------------------------------

    def alloc(self, cache: KmemCache, memcg: MemCgroup | None, nid: int = 0) -> SlabRef | None:
        """``kmem_cache_alloc_node`` of one object of root cache ``cache`` for ``memcg`` on
        ``nid``; None is ENOMEM (nothing allocated, nothing charged).

        Per-memcg caches: the memcg's child cache is used (created on first use). A new slab's
        pages are charged by ``alloc_page(memcg, nid, pages)``, so a kmem limit or reclaim
        failure is ENOMEM.

        Objcg (``obj_cgroup_charge``, v5.9 mm/memcontrol.c): an object costs
        ``charge_size = object_size + 8`` bytes. If the stock caches this objcg and holds
        enough bytes, they are taken from the stock. Otherwise
        ``⌈charge_size / PAGE_SIZE⌉`` pages are charged (``charge_kmem``; failure is ENOMEM)
        and the unused rest of the last page goes to the stock (``refill_obj_stock``). The
        kernel does this even when the objcg's ``nr_charged_bytes`` could have paid.
        """
        if not 0 <= nid < self._nr_nodes:
            raise UsageError(f"nid {nid} is not a node (0..{self._nr_nodes - 1})")
        objcg: ObjCgroup | None = None
        size = 0
        if not cache.account or memcg is None:
            c = cache
        elif self._per_memcg:
            child = cache.live_children.get(memcg)
            c = child if child is not None else self._memcg_cache(cache, memcg)
        else:
            c = cache
            if memcg is not self._root_memcg:
                objcg = self._live_objcg.get(memcg)
                if objcg is None:
                    objcg = self._objcg_of(memcg)
                if objcg is not None:
                    size = c.charge_size
                    if objcg is self._stock_objcg and self._stock_bytes >= size:
                        self._stock_bytes -= size
                    elif not self._objcg_charge(objcg, size):
                        return None
        node = c.nodes[nid]
        slab = node.active
        if slab is None or slab.inuse == slab.objects:
            slab = self._refill(c, node)
            if slab is None:
                if objcg is not None:
                    # memcg_slab_post_alloc_hook: the bytes go back through the stock.
                    self._objcg_refill(objcg, size)
                return None
        slab.inuse += 1
        c.inuse += 1
        if objcg is not None:
            objcg.live[c.reclaimable] += size
        ref = slab.refs.get(objcg)
        if ref is None:
            ref = slab.refs[objcg] = SlabRef(slab, objcg)
        return ref

    def free(self, cache: KmemCache, ref: SlabRef) -> int:
        """``kmem_cache_free`` of one object; returns the pages given back to the system by this
        free (0 unless its slab emptied and was discarded).

        Objcg: the object's bytes go back through the stock (``obj_cgroup_uncharge``); whole
        pages are uncharged once the stock holds more than a page. Slab: see ``__slab_free``
        in the module docstring.
        """
        slab = ref.slab
        c = slab.cache
        if c.root is not cache:
            raise UsageError(f"{ref!r} is not an object of cache {cache.name!r}")
        inuse = slab.inuse - 1
        if inuse < 0:
            raise UsageError(f"double free: {slab!r} has no object in use")
        slab.inuse = inuse
        c.inuse -= 1
        objcg = ref.objcg
        if objcg is not None:
            size = c.charge_size
            objcg.live[c.reclaimable] -= size
            if objcg is self._stock_objcg:
                nbytes = self._stock_bytes + size
                self._stock_bytes = nbytes
                if nbytes > PAGE_SIZE:
                    self._drain_stock()
            else:
                self._objcg_refill(objcg, size)
        state = slab.state
        if state == _ACTIVE:
            return 0
        node = slab.node
        if state == _PARTIAL:
            if inuse or len(node.partial) < c.min_partial:
                return 0
            del node.partial[slab]
        else:
            del node.full[slab]
            if inuse or len(node.partial) < c.min_partial:
                slab.state = _PARTIAL
                node.partial[slab] = None
                return 0
        self._unlink(slab)
        return self._release(slab)

    # -- slabs -------------------------------------------------------------------------------

    def _refill(self, c: KmemCache, node: _CacheNode) -> Slab | None:
        """``___slab_alloc``: a new active slab from the partial list, else from the page
        allocator; the old active slab is deactivated."""
        partial = node.partial
        if partial:
            slab, _ = partial.popitem()
            slab.state = _ACTIVE
            old = node.active
            node.active = slab
            if old is not None:
                victim = self._deactivate(old)
                if victim is not None:
                    self._release(victim)
            return slab
        pages = c.pages_per_slab
        nid = node.nid
        if not self._alloc_page(c.owner, nid, pages):
            return None
        # alloc_page may have reclaimed: re-read the node, whatever happened to it.
        slab = Slab(c, node)
        node.nr_slabs += 1
        c.nr_slabs += 1
        self._node_pages[nid][c.reclaimable] += pages
        old = node.active
        node.active = slab
        if old is not None:
            victim = self._deactivate(old)
            if victim is not None:
                self._release(victim)
        return slab

    def _deactivate(self, slab: Slab) -> Slab | None:
        """``deactivate_slab``: a slab leaves the active slot. It goes to the full set or to
        the partial list (MRU end). An empty slab is unlinked instead and returned for
        release when the node has ``min_partial`` partial slabs."""
        node = slab.node
        inuse = slab.inuse
        if inuse == slab.objects:
            slab.state = _FULL
            node.full[slab] = None
            return None
        if inuse == 0 and len(node.partial) >= slab.cache.min_partial:
            self._unlink(slab)
            return slab
        slab.state = _PARTIAL
        node.partial[slab] = None
        return None

    def _unlink(self, slab: Slab) -> None:
        """Bookkeeping of ``discard_slab``; the slab is already off every list."""
        slab.state = _FREED
        c = slab.cache
        slab.node.nr_slabs -= 1
        c.nr_slabs -= 1
        self._node_pages[slab.nid][c.reclaimable] -= slab.pages
        slab.refs.clear()

    def _release(self, slab: Slab) -> int:
        """``__free_slab``: credit reclaim and give the pages back (callable called last)."""
        pages = slab.pages
        self.reclaimed_slab += pages
        self._free_page(slab.cache.owner, slab.nid, pages)
        return pages

    # -- objcg byte stock --------------------------------------------------------------------

    def _objcg_charge(self, objcg: ObjCgroup, size: int) -> bool:
        """``obj_cgroup_charge`` when the stock cannot pay."""
        nr_pages = -(-size // PAGE_SIZE)
        if not self._charge_kmem(objcg.memcg, nr_pages):
            return False
        objcg.charged_pages += nr_pages
        rest = nr_pages * PAGE_SIZE - size
        if rest:
            self._objcg_refill(objcg, rest)
        return True

    def _objcg_refill(self, objcg: ObjCgroup, nbytes: int) -> None:
        """``refill_obj_stock`` (v5.9): switch the stock to ``objcg`` (draining the old one and
        taking the objcg's ``nr_charged_bytes``), add the bytes, drain above a page."""
        if self._stock_objcg is not objcg:
            self._drain_stock()
            self._stock_objcg = objcg
            self._stock_bytes = objcg.nr_charged_bytes
            objcg.nr_charged_bytes = 0
        total = self._stock_bytes + nbytes
        self._stock_bytes = total
        if total > PAGE_SIZE:
            self._drain_stock()

    def _drain_stock(self) -> None:
        """``drain_obj_stock``: uncharge the stock's whole pages, leave the rest on the objcg."""
        old = self._stock_objcg
        if old is None:
            return
        nbytes = self._stock_bytes
        self._stock_objcg = None
        self._stock_bytes = 0
        pages, rest = divmod(nbytes, PAGE_SIZE)
        old.nr_charged_bytes += rest
        if pages:
            old.charged_pages -= pages
            self._uncharge_kmem(old.memcg, pages)

    def drain_stock(self) -> None:
        """``drain_all_stock`` for the byte stock: give its whole pages back (objcg mode)."""
        self._drain_stock()

    @property
    def stock(self) -> tuple[ObjCgroup | None, int]:
        """The byte stock: (cached objcg, bytes)."""
        return self._stock_objcg, self._stock_bytes

    def objcgs(self) -> Iterator[ObjCgroup]:
        """Every object cgroup, grouped by the memcg it charges now."""
        for group in self._objcg_list.values():
            yield from group

    # -- shrinking ---------------------------------------------------------------------------

    def _shrink_cache(self, c: KmemCache) -> int:
        """``kmem_cache_shrink`` of one (child) cache: flush the active slabs, discard every
        empty slab, and reorder each partial list fullest first. v3.14 ``__kmem_cache_shrink``
        sorts by objects in use; v4.0+ promotes only slabs with at most 32 free objects."""
        victims: list[Slab] = []
        for node in c.nodes:
            active = node.active
            if active is not None:
                node.active = None
                victim = self._deactivate(active)
                if victim is not None:
                    victims.append(victim)
            keep: list[Slab] = []
            for slab in node.partial:
                if slab.inuse:
                    keep.append(slab)
                else:
                    self._unlink(slab)
                    victims.append(slab)
            keep.sort(key=_by_inuse)
            node.partial = dict.fromkeys(keep)
        freed = 0
        for slab in victims:
            freed += self._release(slab)
        return freed

    def shrink(self, cache: KmemCache, memcg: MemCgroup | None = None) -> int:
        """``kmem_cache_shrink`` of the cache ``memcg``'s objects of root cache ``cache`` live
        in: with per-memcg caches the memcg's child cache (dead or alive; 0 if it has none),
        else (memcg None, or objcg mode) the root cache. Returns the pages freed; they are
        credited to :attr:`reclaimed_slab`."""
        if cache.root is not cache:
            raise UsageError(f"shrink takes a root cache, got child cache {cache.name!r}")
        if memcg is None or not self._per_memcg or memcg is self._root_memcg:
            return self._shrink_cache(cache)
        child = cache.children.get(memcg)
        return 0 if child is None else self._shrink_cache(child)

    def shrink_dead(self, memcgs: Iterable[MemCgroup] | None = None) -> int:
        """The kmemcg v15 13/13 reaper (``memcg_vmpressure_shrink_dead``): ``kmem_cache_shrink``
        on every cache of each dead (not online) memcg of ``memcgs`` (default: every dead
        memcg that created a cache). Returns the pages freed; 0 in objcg mode, which has no
        per-memcg caches."""
        if not self._per_memcg:
            return 0
        candidates = list(self._created_by) if memcgs is None else list(memcgs)
        freed = 0
        for memcg in candidates:
            if memcg.state is MemcgState.ONLINE:
                continue
            for c in list(self._created_by.get(memcg, ())):
                freed += self._shrink_cache(c)
        return freed

    # -- memcg lifecycle ---------------------------------------------------------------------

    def memcg_offline(self, memcg: MemCgroup) -> None:
        """``on_offline`` listener: stop routing the memcg's allocations to its caches/objcg.

        Per-memcg caches: its child caches are marked dead (v4.0+: ``min_partial = 0``). Their
        charges move to the parent when slab does not pin dying memcgs (v5.3+). They are shrunk
        when the policy says so. Objcg: its object cgroups (and those already reparented to it)
        now charge the parent (``memcg_reparent_objcgs``). The memcg model moved its
        ``own_kmem`` to the parent before this listener runs.
        """
        parent = memcg.parent
        if parent is None:
            return
        if not self._per_memcg:
            self._live_objcg.pop(memcg, None)
            moved = self._objcg_list.pop(memcg, None)
            if moved:
                for objcg in moved:
                    objcg.memcg = parent
                self._objcg_list.setdefault(parent, []).extend(moved)
            return
        for cache in self.caches:
            cache.live_children.pop(memcg, None)
        created = list(self._created_by.get(memcg, ()))
        for c in created:
            c.dead = True
            if self.policy.dead_caches_discard:
                c.min_partial = 0
        if not self._tree.policy.slab_pins_dying:
            owned = self._owned.pop(memcg, None)
            if owned:
                for c in owned:
                    c.owner = parent
                self._owned.setdefault(parent, []).extend(owned)
        if self.policy.shrink_dead_at_offline:
            for c in created:
                self._shrink_cache(c)

    def memcg_free(self, memcg: MemCgroup) -> None:
        """``on_free`` listener: destroy the memcg's empty child caches (``kmem_cache_destroy``).
        A child cache that still has slabs (possible only when the callables do not charge the
        memcg model) is kept."""
        created = self._created_by.pop(memcg, None)
        if not created:
            return
        kept = []
        for c in created:
            if c.nr_slabs:
                kept.append(c)
                continue
            c.root.children.pop(memcg, None)
            owner = c.owner
            if owner is not None:
                owned = self._owned.get(owner)
                if owned is not None:
                    owned.remove(c)
                    if not owned:
                        del self._owned[owner]
        if kept:
            self._created_by[memcg] = kept

    def memcg_kmem_activate(self, memcg: MemCgroup) -> None:
        """``on_kmem_activate`` listener: forget cached root-cache routes of ``memcg``."""
        for cache in self.caches:
            if cache.live_children.get(memcg) is cache:
                del cache.live_children[memcg]

    # -- statistics --------------------------------------------------------------------------

    def memcg_stat(self, memcg: MemCgroup, *, recursive: bool = True) -> SlabStat:
        """The memcg's slab memory in bytes, as ``memory.stat`` reports it (hierarchical by
        default, like cgroup v2; ``recursive=False`` for the memcg's own).

        Per-memcg caches: the slab pages of the child caches the memcg is charged for, in
        whole pages. Objcg: the charged bytes (``object_size + 8`` each) of the live objects of
        the object cgroups that charge the memcg. A dead memcg's reparented slab counts for the
        parent. The kernel leaves the local counters of the dead memcg as they were; the
        hierarchical sums agree.
        """
        if recursive and memcg.state is not MemcgState.FREED:
            walk: Iterable[MemCgroup] = self._tree.iter(memcg)
        else:
            walk = (memcg,)
        reclaimable = unreclaimable = 0
        for m in walk:
            if self._per_memcg:
                for c in self._owned.get(m, ()):
                    nbytes = c.nr_slabs * c.pages_per_slab * PAGE_SIZE
                    if c.reclaimable:
                        reclaimable += nbytes
                    else:
                        unreclaimable += nbytes
            else:
                for objcg in self._objcg_list.get(m, ()):
                    unreclaimable += objcg.live[0]
                    reclaimable += objcg.live[1]
        return SlabStat(reclaimable=reclaimable, unreclaimable=unreclaimable)

    def slabinfo(self, cache: KmemCache, *, children: bool = True) -> SlabInfo:
        """The ``/proc/slabinfo`` line of root cache ``cache``. By default it includes its child
        caches (``memcg_accumulate_slabinfo``)."""
        caches = [cache, *cache.children.values()] if children else [cache]
        return SlabInfo(
            name=cache.name,
            active_objs=sum(c.inuse for c in caches),
            num_objs=sum(c.total_objects for c in caches),
            objsize=cache.object_size,
            objperslab=cache.objs_per_slab,
            pagesperslab=cache.pages_per_slab,
            num_slabs=sum(c.nr_slabs for c in caches),
        )

    def meminfo(self, nid: int | None = None) -> tuple[int, int]:
        """``(SReclaimable, SUnreclaim)`` in pages, of one node or of all."""
        rows = self._node_pages if nid is None else (self._node_pages[nid],)
        return sum(row[1] for row in rows), sum(row[0] for row in rows)

    @property
    def sreclaimable(self) -> int:
        """/proc/meminfo ``SReclaimable`` in pages."""
        return sum(row[1] for row in self._node_pages)

    @property
    def sunreclaim(self) -> int:
        """/proc/meminfo ``SUnreclaim`` in pages."""
        return sum(row[0] for row in self._node_pages)

    @property
    def nr_pages(self) -> int:
        """Pages held by all slabs."""
        return sum(row[0] + row[1] for row in self._node_pages)

    def iter_caches(self) -> Iterator[KmemCache]:
        """Every cache: each root cache followed by its child caches."""
        for cache in self.caches:
            yield cache
            yield from cache.children.values()

    def check(self) -> None:
        """Verify the allocator's invariants; raise AssertionError naming the first broken one.

        Slab counts and states agree with the lists. Page totals agree with the slabs. In objcg
        mode, for every object cgroup
        ``charged_pages × PAGE_SIZE == live bytes + nr_charged_bytes + stock bytes if cached``,
        with ``0 <= nr_charged_bytes < PAGE_SIZE`` and the stock at most a page.
        """
        node_pages = [[0, 0] for _ in range(self._nr_nodes)]
        for c in self.iter_caches():
            nr_slabs = inuse = 0
            for node in c.nodes:
                seen = 0
                for slab in node.iter_slabs():
                    seen += 1
                    inuse += slab.inuse
                    node_pages[node.nid][c.reclaimable] += slab.pages
                    if slab.cache is not c or slab.node is not node:
                        raise AssertionError(f"{slab!r} is on the wrong list")
                    if not 0 <= slab.inuse <= slab.objects:
                        raise AssertionError(f"{slab!r} has a bad inuse count")
                for slab in node.partial:
                    if slab.state != _PARTIAL or slab.inuse == slab.objects:
                        raise AssertionError(f"{slab!r} should not be on the partial list")
                for slab in node.full:
                    if slab.state != _FULL or slab.inuse != slab.objects:
                        raise AssertionError(f"{slab!r} should not be in the full set")
                if node.active is not None and node.active.state != _ACTIVE:
                    raise AssertionError(f"{node.active!r} is active but not marked so")
                if seen != node.nr_slabs:
                    raise AssertionError(f"{c!r} node {node.nid}: {seen} != {node.nr_slabs}")
                nr_slabs += seen
            if nr_slabs != c.nr_slabs or inuse != c.inuse:
                raise AssertionError(f"{c!r}: counted {nr_slabs} slabs, {inuse} objects")
        if node_pages != self._node_pages:
            raise AssertionError(f"page totals {self._node_pages} != slabs {node_pages}")
        stock_objcg, stock_bytes = self._stock_objcg, self._stock_bytes
        if not 0 <= stock_bytes <= PAGE_SIZE or (stock_objcg is None and stock_bytes):
            raise AssertionError(f"bad stock {stock_objcg!r}, {stock_bytes}")
        for objcg in self.objcgs():
            held = objcg.live[0] + objcg.live[1] + objcg.nr_charged_bytes
            if objcg is stock_objcg:
                held += stock_bytes
            if objcg.charged_pages * PAGE_SIZE != held:
                raise AssertionError(f"{objcg!r}: charged bytes != live + precharge ({held})")
            if not 0 <= objcg.nr_charged_bytes < PAGE_SIZE:
                raise AssertionError(f"{objcg!r}: nr_charged_bytes out of range")
