"""Memory cgroups: the tree, hierarchical page counters, limits, kmem ids and lifecycle.

Models the side of ``mm/memcontrol.c`` that slab reclaim depends on: which memcgs exist and in
which order reclaim visits them (``mem_cgroup_iter``), how a charge moves the hierarchical page
counters and which limit it runs into (``try_charge``, ``page_counter_try_charge``,
``memcg_charge_kmem``), how a memcg gets its kmem cache index (``kmemcg_id``) and when the index
is given back, and how a removed memcg lingers as a *dying* memcg until the charges that pin it
are gone. Reclaim itself lives in :mod:`shrinkfw.vmscan`; this module only reports breaches.

Units are pages (:data:`PAGE_SIZE` bytes). Everything is deterministic: children are kept in
creation order and ids come from lowest-free allocators.

Counters
    ``usage_user`` and ``usage_kmem`` are **hierarchical**, like the kernel's ``page_counter``
    (a charge moves the counter of the memcg and of every ancestor, root included): they are
    what ``memory.usage_in_bytes`` / ``memory.current`` report. ``own_user`` and ``own_kmem``
    are the charges made to the memcg itself, not to its descendants; they decide whether a
    removed memcg is pinned. For every memcg ``usage_x == own_x + sum(child.usage_x)`` over
    its not-yet-freed children. The kernel does not charge the root's own page counter (it
    reports root usage from global statistics); the model charges it so the root's counters
    always hold the machine-wide totals. The root has no limits.

Lifecycle
    ``ONLINE`` → :meth:`MemcgTree.offline` (rmdir) → ``OFFLINE`` while the offline work runs
    (the ``on_offline`` listeners: the seed's slab flush, list_lru reparenting) → ``DYING`` if
    something still pins it, else ``FREED``. A dying memcg is freed by the uncharge that drops
    its last pinning charge, or when its last dying child is freed (a child holds a reference
    on its parent). Which charges pin depends on the era (:class:`KmemPolicy`); charges the era
    moves to the parent at offline (user pages in v3.14, slab through objcg from v5.9) are moved
    then, and later charges or uncharges of those kinds against the dead memcg go to its
    nearest online ancestor, as the kernel's rewritten page owner / reparented objcg does.

Notes against the spec
    Checked in kernel sources and patch mails while writing this module:

    * Root memcg id is 1. v3.14 defines the memcg id as the cgroup id + 1 because the root
      cgroup's id is 0 and memcg treats 0 as invalid (Li Zefan, "memcg: use cgroup id instead
      of css id", 2013); later kernels allocate from their own idr starting at 1
      (``mem_cgroup_alloc``, ``idr_alloc(..., 1, MEM_CGROUP_ID_MAX + 1)``). Lowest free id.
    * §5 / §11 "EBUSY rule unverified": verified. The first write of the kmem limit fails with
      ``-EBUSY`` when the cgroup has tasks or children (v3.14 ``__memcg_activate_kmem``; the
      v1 memory documentation said the same until v4.6). The model checks online children
      (there are no tasks in the model).
    * §5 "from ~v4.6 every memcg is kmem-active at online (unverified)": verified, commit
      b313aeee2509 "mm: memcontrol: enable kmem accounting for all cgroups in the legacy
      hierarchy" (Feb 2016, in the v4.6 merge).
    * §3.5 kmem charge order "(unverified detail)": verified for v3.14-v4.x early
      (``memcg_charge_kmem``: kmem counter first, failure is -ENOMEM, then ``try_charge`` on
      the memory counter, undoing the kmem charge if that fails). Later v4.x
      (``__memcg_kmem_charge_memcg``, release not checked) reversed it: ``try_charge`` first
      (reclaim possible), then the kmem counter, cancelling the memory charge on failure; v5.16
      deprecated kmem limits. The model keeps the kmem-first order whenever
      ``kmem_feeds_user`` is set. The v1 kmem counter is hierarchical too
      (``page_counter_init(&memcg->kmem, &parent->kmem)``), so an ancestor's K can fail a
      descendant's kmem charge.
    * Dying memcgs: v3.14 ``mem_cgroup_css_offline`` reparents user page charges to the parent
      (``mem_cgroup_reparent_charges``), so only kmem pins in E1. From v3.19 (b2052564e66d
      "mm: memcontrol: continue cache reclaim from offlined groups") page cache pins a dead
      memcg and its ancestors, so in E2 user pages pin as well, not only kmem.
    * Since v4.7 (73f576c04b94 "mm: memcontrol: fix cgroup creation failure after many small
      jobs") the memcg id is released at offline (unless swap entries hold it) and set to 0,
      while the memcg may live on as dying. With v5.18+ ``kmemcg_id = memcg id`` and
      ``memcg_offline_kmem`` not touching ``kmemcg_id``, a dying memcg's ``kmemcg_id`` can
      equal a newer memcg's: never route a dying memcg's objects by its ``kmemcg_id`` in E4+
      (the kernel routes them through the reparented objcg, see
      :meth:`MemcgTree.online_ancestor`).
    * v4.0-v5.17 ``memcg_offline_kmem`` clears the memcg's kmem-online state besides rewriting
      ``kmemcg_id`` to the parent's (seen as ``kmem_acct_active`` / ``kmem_state`` in v4.5-era
      code, not checked at the v4.0 tag), so ``kmemcg_id < 0`` (§3.3) does not tell a dead
      memcg apart: its id is the parent's. The model clears ``kmem_active`` there.
    * Not re-verified here: sibling order of ``mem_cgroup_iter`` (§3.6; the model uses creation
      order).
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterator
from typing import Final, Literal

import attrs

from .errors import UsageError

__all__ = [
    "KMEM_V4_0",
    "KMEM_V4_7",
    "KMEM_V5_9",
    "KMEM_V5_18",
    "KMEM_V15",
    "MEMCG_CACHES_MAX_SIZE",
    "MEMCG_CACHES_MIN_SIZE",
    "MEM_CGROUP_ID_MAX",
    "PAGE_COUNTER_MAX",
    "PAGE_SIZE",
    "ROOT_MEMCG_ID",
    "Breach",
    "ChargeKind",
    "ChargeResult",
    "KmemPolicy",
    "LimitKind",
    "MemCgroup",
    "MemcgState",
    "MemcgTree",
    "ShrinkerInfo",
    "memcg_caches_array_size",
]

PAGE_SIZE: Final = 4096
#: "No limit" of a page counter (``PAGE_COUNTER_MAX``: ``LONG_MAX / PAGE_SIZE`` on 64-bit).
PAGE_COUNTER_MAX: Final = ((1 << 63) - 1) // PAGE_SIZE
#: Largest memcg id (``MEM_CGROUP_ID_MAX``, an unsigned short).
MEM_CGROUP_ID_MAX: Final = 65535
#: Smallest per-memcg caches array (``MEMCG_CACHES_MIN_SIZE``).
MEMCG_CACHES_MIN_SIZE: Final = 4
#: Largest per-memcg caches array; kmem ids are below it (``MEMCG_CACHES_MAX_SIZE``).
MEMCG_CACHES_MAX_SIZE: Final = MEM_CGROUP_ID_MAX
#: The root memcg's id.
ROOT_MEMCG_ID: Final = 1

_EVENT_NAMES: Final = ("low", "high", "max", "oom", "oom_kill")


def memcg_caches_array_size(nr_ids: int) -> int:
    """Slots of the per-memcg arrays needed for ``nr_ids`` kmem ids: ``clamp(2·n, 4, 65535)``.

    Models ``memcg_caches_array_size`` (linux v3.14 mm/memcontrol.c) and the same clamp in
    ``memcg_alloc_cache_id`` (v4.x); 0 for ``nr_ids <= 0``.
    """
    if nr_ids <= 0:
        return 0
    return min(max(2 * nr_ids, MEMCG_CACHES_MIN_SIZE), MEMCG_CACHES_MAX_SIZE)


class MemcgState(enum.Enum):
    """Where a memcg is in its life."""

    #: Created and visible; can be charged, limited and removed.
    ONLINE = "online"
    #: ``css_offline`` in progress: the ``on_offline`` listeners are running.
    OFFLINE = "offline"
    #: Removed but still allocated: pinned by charges the era does not reparent, or by a dying
    #: child.
    DYING = "dying"
    #: Gone: detached from its parent, ids released.
    FREED = "freed"


class ChargeKind(enum.Enum):
    """What a charge is for."""

    #: Anonymous and page cache pages (the user counter).
    USER = "user"
    #: Slab and other kernel pages (the kmem counter).
    KMEM = "kmem"


class LimitKind(enum.Enum):
    """Which limit a charge ran into."""

    #: v1 ``memory.kmem.limit_in_bytes`` (K): the charge fails with no reclaim.
    KMEM_LIMIT = "kmem_limit"
    #: v1 ``memory.limit_in_bytes`` (U): the charge is not made; reclaim, then retry.
    MEMORY_LIMIT = "memory_limit"
    #: v2 ``memory.max``: the charge is not made; reclaim, then retry or OOM.
    MAX = "max"
    #: v2 ``memory.high``: the charge is made; reclaim / throttle afterwards.
    HIGH = "high"


@attrs.define(slots=True, eq=False)
class ShrinkerInfo:
    """One (memcg, node)'s shrinker bitmap and deferred work: models ``struct shrinker_info``.

    ``map`` has bit ``id`` set when shrinker ``id`` may have objects on this (memcg, node)
    (v4.19+, set by ``list_lru_add`` on a 0 → 1 transition and by reparenting). ``nr_deferred``
    holds the per-memcg deferred scan counts of memcg-aware shrinkers (v5.13+).
    """

    map: int = 0
    nr_deferred: dict[int, int] = attrs.field(factory=dict)

    def set_bit(self, shrinker_id: int) -> None:
        """Mark shrinker ``shrinker_id`` as possibly having objects here."""
        self.map |= 1 << shrinker_id

    def clear_bit(self, shrinker_id: int) -> None:
        """Clear shrinker ``shrinker_id``'s bit."""
        self.map &= ~(1 << shrinker_id)

    def test_bit(self, shrinker_id: int) -> bool:
        """Whether shrinker ``shrinker_id``'s bit is set."""
        return bool(self.map >> shrinker_id & 1)

    def iter_bits(self) -> Iterator[int]:
        """The set shrinker ids, ascending (``for_each_set_bit``).

        Iterates over a snapshot: clearing bits while iterating is safe.
        """
        bits = self.map
        while bits:
            low = bits & -bits
            yield low.bit_length() - 1
            bits ^= low


def _new_events() -> dict[str, int]:
    return dict.fromkeys(_EVENT_NAMES, 0)


@attrs.define(slots=True, eq=False, repr=False)
class MemCgroup:
    """One memory cgroup (``struct mem_cgroup``). Created only by :meth:`MemcgTree.create`.

    Identity equality and hash: memcgs are dict keys. Limits are in pages and default to
    :data:`PAGE_COUNTER_MAX` (no limit); ``low`` and ``min`` default to 0 (no protection).

    :ivar id: the memcg id (``mem_cgroup_id``): root 1, others lowest free from 2; 0 once
        released (at offline from v4.7, at free before).
    :ivar kmemcg_id: index of the memcg's kmem caches and list_lru lists; -1 when not
        kmem-active. After an E2 offline it is the parent's id.
    :ivar children: not-yet-freed children in creation order (dying ones included).
    :ivar usage_user: hierarchical user pages (this memcg and its descendants).
    :ivar usage_kmem: hierarchical kmem pages.
    :ivar own_user: user pages charged to this memcg itself.
    :ivar own_kmem: kmem pages charged to this memcg itself.
    :ivar memory_limit: v1 ``memory.limit_in_bytes`` (U).
    :ivar kmem_limit: v1 ``memory.kmem.limit_in_bytes`` (K).
    :ivar events: local ``memory.events`` counts (``low``, ``high``, ``max``, ``oom``,
        ``oom_kill``); :meth:`MemcgTree.charge` counts ``high`` and ``max``.
    :ivar kmem_failcnt: v1 ``memory.kmem.failcnt``.
    :ivar nr_dying: offline-but-not-freed descendants (``cgroup.stat nr_dying_descendants``).
    """

    id: int
    name: str
    parent: MemCgroup | None
    shrinker_info: list[ShrinkerInfo]
    _path: str
    children: list[MemCgroup] = attrs.field(factory=list)
    state: MemcgState = MemcgState.ONLINE
    kmem_active: bool = False
    kmemcg_id: int = -1
    usage_user: int = 0
    usage_kmem: int = 0
    own_user: int = 0
    own_kmem: int = 0
    memory_limit: int = PAGE_COUNTER_MAX
    kmem_limit: int = PAGE_COUNTER_MAX
    high: int = PAGE_COUNTER_MAX
    max: int = PAGE_COUNTER_MAX
    low: int = 0
    min: int = 0
    events: dict[str, int] = attrs.field(factory=_new_events)
    kmem_failcnt: int = 0
    nr_dying: int = 0
    _kmem_ever: bool = attrs.field(default=False, init=False)

    @property
    def path(self) -> str:
        """``/`` for the root, ``/a/b`` below it."""
        return self._path

    @property
    def usage(self) -> int:
        """Hierarchical pages of the memory counter: user + kmem (``memory.current``)."""
        return self.usage_user + self.usage_kmem

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def online(self) -> bool:
        """``mem_cgroup_online``."""
        return self.state is MemcgState.ONLINE

    def iter_ancestors(self, *, include_self: bool = True) -> Iterator[MemCgroup]:
        """This memcg (unless ``include_self`` is false), its parent, ..., the root."""
        memcg = self if include_self else self.parent
        while memcg is not None:
            yield memcg
            memcg = memcg.parent

    def is_descendant_of(self, root: MemCgroup) -> bool:
        """``mem_cgroup_is_descendant``: ``root`` is this memcg or one of its ancestors."""
        memcg: MemCgroup | None = self
        while memcg is not None:
            if memcg is root:
                return True
            memcg = memcg.parent
        return False

    def __repr__(self) -> str:
        return (
            f"MemCgroup(id={self.id}, path={self._path!r}, state={self.state.name}, "
            f"kmemcg_id={self.kmemcg_id})"
        )


_ACTIVATIONS: Final = ("limit_write", "online")
_ID_SOURCES: Final = ("ida", "memcg_id")
_RELEASES: Final = ("free", "offline")


@attrs.frozen
class KmemPolicy:
    """How an era activates kmem accounting, hands out ``kmemcg_id`` and keeps dead memcgs.

    :ivar name: short label for messages.
    :ivar activation: ``"limit_write"``: a memcg becomes kmem-active on the first write of its
        kmem limit, and children of a kmem-active memcg at creation (``memcg_propagate_kmem``);
        v3.14 + v15 and v4.0-v4.5. ``"online"``: every non-root memcg when it comes online
        (v4.6+).
    :ivar id_source: ``"ida"``: lowest free id in ``[0, 65535)``; ``"memcg_id"``: the memcg id
        (v5.18+, ``memcg_online_kmem``).
    :ivar id_release: for ``"ida"``: ``"free"`` returns the id when the memcg is freed
        (v3.14 ``disarm_kmem_keys``); ``"offline"`` at offline, after every not-freed memcg of
        the subtree holding it took the parent's id (v4.0 ``memcg_offline_kmem``). Ignored for
        ``"memcg_id"``.
    :ivar array_growth: per-memcg arrays indexed by kmemcg_id grow to
        :func:`memcg_caches_array_size` when a new id does not fit (``memcg_alloc_cache_id``),
        announced to ``on_array_grow``.
    :ivar slab_pins_dying: kmem charges pin a dead memcg (until v5.9; from v5.9 objcg
        reparenting moves them to the parent at offline).
    :ivar user_pins_dying: user pages pin a dead memcg (v3.19+; v3.14 moved them to the parent
        at offline).
    :ivar kmem_feeds_user: v1 two-counter kmem charging: the kmem counter (limit K, failure
        means ENOMEM without reclaim) and then the memory counter (U, reclaim possible).
        False: one counter (cgroup v2, or v1 after kmem limits were deprecated); kmem limits
        cannot be set. Kmem is part of ``usage`` either way.
    :ivar memcg_id_release: when the memcg id returns to the idr: ``"free"`` (v3.14: cgroup ids
        are not recycled before the css is freed) or ``"offline"`` (v4.7+).
    """

    name: str
    activation: Literal["limit_write", "online"] = attrs.field(
        validator=attrs.validators.in_(_ACTIVATIONS)
    )
    id_source: Literal["ida", "memcg_id"] = attrs.field(validator=attrs.validators.in_(_ID_SOURCES))
    id_release: Literal["free", "offline"] = attrs.field(validator=attrs.validators.in_(_RELEASES))
    array_growth: bool
    slab_pins_dying: bool
    user_pins_dying: bool
    kmem_feeds_user: bool
    memcg_id_release: Literal["free", "offline"] = attrs.field(
        validator=attrs.validators.in_(_RELEASES)
    )

    def __attrs_post_init__(self) -> None:
        if self.id_source == "memcg_id" and self.array_growth:
            raise UsageError(f"kmem policy {self.name}: memcg-id kmem ids need no array growth")


#: The seed: v3.14-rc1 + kmemcg v15 (E1+v15). Kmem activated by the kmem limit write, ids
#: from an ida released when the dead memcg is freed, arrays grow, slab pins dead memcgs, user
#: pages are reparented at offline.
KMEM_V15: Final = KmemPolicy(
    name="v3.14-kmemcg-v15",
    activation="limit_write",
    id_source="ida",
    id_release="free",
    array_growth=True,
    slab_pins_dying=True,
    user_pins_dying=False,
    kmem_feeds_user=True,
    memcg_id_release="free",
)
#: v4.0-v4.5 (E2, v1): as the seed for activation and growth, but the kmemcg_id is reparented
#: and freed at offline (commit 2788cf0c401c); page cache pins dead memcgs since v3.19.
KMEM_V4_0: Final = KmemPolicy(
    name="v4.0",
    activation="limit_write",
    id_source="ida",
    id_release="offline",
    array_growth=True,
    slab_pins_dying=True,
    user_pins_dying=True,
    kmem_feeds_user=True,
    memcg_id_release="free",
)
#: v4.7-v5.8 (late E2, E3): every memcg kmem-active at online (v4.6), memcg id released at
#: offline (v4.7). ``kmem_feeds_user`` keeps the v1 kmem limit; use
#: ``attrs.evolve(KMEM_V4_7, kmem_feeds_user=False)`` for cgroup v2.
KMEM_V4_7: Final = KmemPolicy(
    name="v4.7",
    activation="online",
    id_source="ida",
    id_release="offline",
    array_growth=True,
    slab_pins_dying=True,
    user_pins_dying=True,
    kmem_feeds_user=True,
    memcg_id_release="offline",
)
#: v5.9-v5.17 (late E3, early E4): objcg reparenting, slab no longer pins dead memcgs.
KMEM_V5_9: Final = attrs.evolve(KMEM_V4_7, name="v5.9", slab_pins_dying=False)
#: v5.18+ (E4 from v5.18, E5): kmemcg_id = memcg id (root -1), no arrays, kmemcg_id kept at
#: offline, slab reparented, page cache pins, one counter (no kmem limit).
KMEM_V5_18: Final = KmemPolicy(
    name="v5.18",
    activation="online",
    id_source="memcg_id",
    id_release="offline",
    array_growth=False,
    slab_pins_dying=False,
    user_pins_dying=True,
    kmem_feeds_user=False,
    memcg_id_release="offline",
)


@attrs.frozen
class Breach:
    """A limit a charge ran into: ``memcg``'s ``limit`` would be (or is) exceeded by ``over``."""

    memcg: MemCgroup
    limit: LimitKind
    over: int


@attrs.frozen
class ChargeResult:
    """Outcome of :meth:`MemcgTree.charge`.

    :ivar ok: the pages were charged.
    :ivar breach: the hard limit hit (KMEM_LIMIT, MEMORY_LIMIT, MAX) at the lowest memcg
        where it was hit; without one, the lowest memcg over ``memory.high``; else None.
    :ivar high: every ancestor-or-self above ``memory.high`` after the charge, lowest first.
    :ivar charged: the memcg whose counters were charged (the memcg itself, its nearest online
        ancestor for a reparented kind on a dead memcg, or the root for kmem of a memcg
        without kmem accounting); None when nothing was charged. Uncharge that memcg.
    """

    ok: bool
    breach: Breach | None = None
    high: tuple[Breach, ...] = ()
    charged: MemCgroup | None = None


class _IdAllocator:
    """Lowest-free integer ids in ``[start, limit)`` (the kernel's ida / idr allocation)."""

    __slots__ = ("_end", "_free", "_in_use", "_limit", "_what")

    def __init__(self, start: int, limit: int, what: str) -> None:
        self._end = start
        self._limit = limit
        self._free: list[int] = []
        self._in_use: set[int] = set()
        self._what = what

    def alloc(self) -> int:
        if self._free:
            new = heapq.heappop(self._free)
        elif self._end < self._limit:
            new = self._end
            self._end += 1
        else:
            raise UsageError(f"ENOSPC: no free {self._what} below {self._limit}")
        self._in_use.add(new)
        return new

    def free(self, old: int) -> None:
        if old not in self._in_use:
            raise UsageError(f"{self._what} {old} is not allocated")
        self._in_use.remove(old)
        heapq.heappush(self._free, old)


_Listener = Callable[[MemCgroup], None]


class MemcgTree:
    """The memcg hierarchy of one simulation, its counters and kmem ids.

    :param policy: the era's :class:`KmemPolicy`.
    :param nr_nodes: NUMA nodes; each memcg gets one :class:`ShrinkerInfo` per node.

    Listeners are plain callables in lists the owner appends to: ``on_online(memcg)`` after a
    memcg is created (not for the root, online from construction), ``on_kmem_activate(memcg)``
    once its ``kmemcg_id`` is set, ``on_array_grow(new_size)`` when the per-memcg arrays must
    grow (``memcg_update_all_caches`` / ``memcg_update_all_list_lrus``), ``on_offline(memcg)``
    while it is ``OFFLINE`` (still holding its ``kmemcg_id``), ``on_free(memcg)`` when it is
    freed (before its ids are released).
    """

    __slots__ = (
        "_by_id",
        "_end",
        "_kmem_ids",
        "_memcg_ids",
        "_nr_memcgs",
        "_ok_results",
        "_order",
        "_order_dirty",
        "_pos",
        "kmem_array_size",
        "nr_nodes",
        "on_array_grow",
        "on_free",
        "on_kmem_activate",
        "on_offline",
        "on_online",
        "policy",
        "root",
    )

    def __init__(self, policy: KmemPolicy, nr_nodes: int = 1) -> None:
        if nr_nodes < 1:
            raise UsageError(f"nr_nodes must be at least 1, got {nr_nodes}")
        self.policy = policy
        self.nr_nodes = nr_nodes
        #: Slots of the per-memcg arrays (``memcg_limited_groups_array_size`` /
        #: ``memcg_nr_cache_ids``); 0 until the first kmem activation, always 0 without growth.
        self.kmem_array_size = 0
        self.on_online: list[_Listener] = []
        self.on_offline: list[_Listener] = []
        self.on_free: list[_Listener] = []
        self.on_kmem_activate: list[_Listener] = []
        self.on_array_grow: list[Callable[[int], None]] = []
        self._memcg_ids = _IdAllocator(ROOT_MEMCG_ID, MEM_CGROUP_ID_MAX + 1, "memcg id")
        self._kmem_ids = _IdAllocator(0, MEMCG_CACHES_MAX_SIZE, "kmemcg_id")
        root_id = self._memcg_ids.alloc()
        self.root = MemCgroup(
            id=root_id, name="", parent=None, shrinker_info=self._new_info(), path="/"
        )
        self._by_id: dict[int, MemCgroup] = {root_id: self.root}
        self._nr_memcgs = 1
        self._ok_results: dict[MemCgroup, ChargeResult] = {}
        self._order: list[MemCgroup] = []
        self._pos: dict[MemCgroup, int] = {}
        self._end: dict[MemCgroup, int] = {}
        self._order_dirty = True

    def _new_info(self) -> list[ShrinkerInfo]:
        return [ShrinkerInfo() for _ in range(self.nr_nodes)]

    # -- structure ---------------------------------------------------------------------------

    def create(self, name: str, parent: MemCgroup | None = None) -> MemCgroup:
        """mkdir: a new online memcg, last among ``parent``'s children (default: the root).

        Allocates the memcg id; activates kmem when the policy says so (every memcg at
        online, or a child of a kmem-active memcg, ``memcg_propagate_kmem``); then calls the
        ``on_online`` listeners.
        """
        if parent is None:
            parent = self.root
        if parent.state is not MemcgState.ONLINE:
            raise UsageError(f"cannot create {name!r} under {parent.path}: it is {parent.state}")
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(f"invalid memcg name {name!r}")
        for sibling in parent.children:
            if sibling.name == name and sibling.state is MemcgState.ONLINE:
                raise UsageError(f"EEXIST: {parent.path.rstrip('/')}/{name} already exists")
        memcg_id = self._memcg_ids.alloc()
        memcg = MemCgroup(
            id=memcg_id,
            name=name,
            parent=parent,
            shrinker_info=self._new_info(),
            path=f"{parent.path.rstrip('/')}/{name}",
        )
        parent.children.append(memcg)
        self._by_id[memcg_id] = memcg
        self._nr_memcgs += 1
        self._order_dirty = True
        if self.policy.activation == "online" or parent.kmem_active:
            self._activate(memcg)
        for listener in self.on_online:
            listener(memcg)
        return memcg

    def get(self, path: str) -> MemCgroup:
        """The online memcg at ``path`` (``"/"`` is the root, ``"/a/b"``)."""
        if not path.startswith("/"):
            raise UsageError(f"memcg path must start with '/': {path!r}")
        memcg = self.root
        for part in path.strip("/").split("/") if path.strip("/") else ():
            for child in memcg.children:
                if child.name == part and child.state is MemcgState.ONLINE:
                    memcg = child
                    break
            else:
                raise UsageError(f"no online memcg at {path!r}")
        return memcg

    def from_id(self, memcg_id: int) -> MemCgroup | None:
        """``mem_cgroup_from_id``: the memcg holding ``memcg_id``, or None."""
        return self._by_id.get(memcg_id)

    def __len__(self) -> int:
        """Memcgs not yet freed, root included."""
        return self._nr_memcgs

    def __iter__(self) -> Iterator[MemCgroup]:
        return self.iter()

    def iter(
        self, root: MemCgroup | None = None, *, online_only: bool = False
    ) -> Iterator[MemCgroup]:
        """Pre-order walk of ``root``'s subtree (default: everything), ``root`` first.

        Models ``mem_cgroup_iter`` / ``for_each_mem_cgroup``: depth first, children in
        creation order. Offline and dying memcgs are included, as reclaim walks see them
        since v4.0 ("vmscan: force scan offline memory cgroups"); ``online_only`` drops them.
        The walk is over a snapshot, so the tree may change during it.
        """
        start = self.root if root is None else root
        if start.state is MemcgState.FREED:
            raise UsageError(f"cannot walk from freed memcg {start!r}")
        self._ensure_order()
        walk = self._order[self._pos[start] : self._end[start]]
        if online_only:
            return (memcg for memcg in walk if memcg.state is MemcgState.ONLINE)
        return iter(walk)

    def preorder_index(self, memcg: MemCgroup) -> int:
        """Position of ``memcg`` in the whole-tree walk; O(1) between tree changes."""
        self._ensure_order()
        try:
            return self._pos[memcg]
        except KeyError:
            raise UsageError(f"{memcg!r} is not in the tree") from None

    def subtree_size(self, memcg: MemCgroup) -> int:
        """Memcgs a ``mem_cgroup_iter`` walk from ``memcg`` visits (itself included); O(1)
        between tree changes."""
        self._ensure_order()
        return self._end[memcg] - self._pos[memcg]

    def _ensure_order(self) -> None:
        if not self._order_dirty:
            return
        order: list[MemCgroup] = [self.root]
        pos: dict[MemCgroup, int] = {self.root: 0}
        end: dict[MemCgroup, int] = {}
        stack: list[tuple[MemCgroup, int]] = [(self.root, 0)]
        while stack:
            node, next_child = stack[-1]
            if next_child < len(node.children):
                stack[-1] = (node, next_child + 1)
                child = node.children[next_child]
                pos[child] = len(order)
                order.append(child)
                stack.append((child, 0))
            else:
                stack.pop()
                end[node] = len(order)
        self._order, self._pos, self._end = order, pos, end
        self._order_dirty = False

    def online_ancestor(self, memcg: MemCgroup) -> MemCgroup:
        """Nearest online ancestor-or-self: where a dead memcg's reparented charges and (E2+)
        list_lru items live (the kernel's reparented objcg / ``mem_cgroup_id_get_online``)."""
        node: MemCgroup | None = memcg
        while node is not None:
            if node.state is MemcgState.ONLINE:
                return node
            node = node.parent
        return self.root

    def nr_dying_descendants(self, memcg: MemCgroup) -> int:
        """Offline-but-not-freed descendants (``cgroup.stat nr_dying_descendants``)."""
        return memcg.nr_dying

    # -- kmem activation ---------------------------------------------------------------------

    def activate_kmem(self, memcg: MemCgroup) -> int:
        """Make ``memcg`` kmem-active and return its ``kmemcg_id`` (already active: its id).

        Models ``memcg_activate_kmem`` / ``__memcg_activate_kmem`` (linux v3.14
        mm/memcontrol.c), ``memcg_online_kmem`` later: takes the lowest free id (or the memcg
        id from v5.18), growing the per-memcg arrays first when the id does not fit.
        """
        if memcg.is_root:
            raise UsageError("the root memcg is never kmem-active")
        if memcg.state is not MemcgState.ONLINE:
            raise UsageError(f"cannot activate kmem of {memcg!r}: not online")
        if memcg.kmem_active:
            return memcg.kmemcg_id
        return self._activate(memcg)

    def _activate(self, memcg: MemCgroup) -> int:
        if self.policy.id_source == "memcg_id":
            kmemcg_id = memcg.id
        else:
            kmemcg_id = self._kmem_ids.alloc()
            if self.policy.array_growth and kmemcg_id >= self.kmem_array_size:
                new_size = memcg_caches_array_size(kmemcg_id + 1)
                self.kmem_array_size = new_size
                for grow in self.on_array_grow:
                    grow(new_size)
        memcg.kmemcg_id = kmemcg_id
        memcg.kmem_active = True
        memcg._kmem_ever = True
        for listener in self.on_kmem_activate:
            listener(memcg)
        return kmemcg_id

    # -- lifecycle ---------------------------------------------------------------------------

    def offline(self, memcg: MemCgroup) -> None:
        """rmdir: take ``memcg`` offline (``mem_cgroup_css_offline``), then free it or leave it
        dying.

        Its children must be offline already (the kernel refuses with EBUSY). Order: state
        ``OFFLINE``; charges the era does not let pin are moved to the parent; the
        ``on_offline`` listeners run (the memcg still has its ``kmemcg_id``); with ids released
        at offline (E2 ``memcg_offline_kmem``) every not-freed memcg of the subtree holding
        that id takes the parent's, kmem goes inactive and the id is freed; the memcg id is
        released if the era does so at offline; finally ``DYING`` if pinned, else freed.
        """
        if memcg.is_root:
            raise UsageError("cannot remove the root memcg")
        if memcg.state is not MemcgState.ONLINE:
            raise UsageError(f"cannot remove {memcg!r}: it is {memcg.state.value}")
        for child in memcg.children:
            if child.state is MemcgState.ONLINE:
                raise UsageError(f"EBUSY: {memcg.path} has an online child {child.path}")
        parent = memcg.parent
        assert parent is not None
        memcg.state = MemcgState.OFFLINE
        for ancestor in memcg.iter_ancestors(include_self=False):
            ancestor.nr_dying += 1
        if not self.policy.user_pins_dying and memcg.own_user:
            memcg.usage_user -= memcg.own_user
            parent.own_user += memcg.own_user
            memcg.own_user = 0
        if not self.policy.slab_pins_dying and memcg.own_kmem:
            memcg.usage_kmem -= memcg.own_kmem
            parent.own_kmem += memcg.own_kmem
            memcg.own_kmem = 0
        for listener in self.on_offline:
            listener(memcg)
        policy = self.policy
        if policy.id_source == "ida" and policy.id_release == "offline" and memcg.kmem_active:
            old_id = memcg.kmemcg_id
            stack = [memcg]
            while stack:
                node = stack.pop()
                if node.kmemcg_id == old_id:
                    node.kmemcg_id = parent.kmemcg_id
                stack.extend(node.children)
            memcg.kmem_active = False
            self._kmem_ids.free(old_id)
        if policy.memcg_id_release == "offline":
            self._release_memcg_id(memcg)
        if self._pinned(memcg):
            memcg.state = MemcgState.DYING
        else:
            self._free(memcg)

    def try_free(self, memcg: MemCgroup) -> bool:
        """Free a dying memcg if nothing pins it any more; True if it is (now) freed."""
        if memcg.state is MemcgState.DYING and not self._pinned(memcg):
            self._free(memcg)
        return memcg.state is MemcgState.FREED

    def _pinned(self, memcg: MemCgroup) -> bool:
        policy = self.policy
        return bool(
            memcg.children
            or (policy.user_pins_dying and memcg.own_user)
            or (policy.slab_pins_dying and memcg.own_kmem)
        )

    def _release_memcg_id(self, memcg: MemCgroup) -> None:
        if memcg.id > 0:
            self._memcg_ids.free(memcg.id)
            del self._by_id[memcg.id]
            memcg.id = 0

    def _free(self, memcg: MemCgroup) -> None:
        """``mem_cgroup_css_free``: detach, notify, release ids; free a dying parent it
        pinned."""
        while True:
            parent = memcg.parent
            assert parent is not None
            memcg.state = MemcgState.FREED
            parent.children.remove(memcg)
            for ancestor in parent.iter_ancestors():
                ancestor.nr_dying -= 1
            self._nr_memcgs -= 1
            self._order_dirty = True
            self._ok_results.pop(memcg, None)
            for listener in self.on_free:
                listener(memcg)
            policy = self.policy
            if policy.id_source == "ida" and policy.id_release == "free" and memcg.kmem_active:
                self._kmem_ids.free(memcg.kmemcg_id)
            memcg.kmem_active = False
            memcg.kmemcg_id = -1
            self._release_memcg_id(memcg)
            if parent.state is not MemcgState.DYING or self._pinned(parent):
                return
            memcg = parent

    # -- limits ------------------------------------------------------------------------------

    def _check_knob(self, memcg: MemCgroup, pages: int, knob: str) -> None:
        if memcg.is_root:
            raise UsageError(f"EINVAL: the root memcg has no {knob}")
        if memcg.state is MemcgState.FREED:
            raise UsageError(f"cannot set {knob} of freed {memcg!r}")
        if not 0 <= pages <= PAGE_COUNTER_MAX:
            raise UsageError(f"{knob} must be within 0..PAGE_COUNTER_MAX pages, got {pages}")

    def set_limit(self, memcg: MemCgroup, pages: int) -> None:
        """v1 ``memory.limit_in_bytes`` (U). The kernel reclaims down to a lower limit during
        the write (v1: EBUSY if it cannot); here the caller drives that reclaim."""
        self._check_knob(memcg, pages, "memory limit")
        memcg.memory_limit = pages

    def set_kmem_limit(self, memcg: MemCgroup, pages: int) -> None:
        """v1 ``memory.kmem.limit_in_bytes`` (K); the first write activates kmem under the
        ``"limit_write"`` policy (``memcg_update_kmem_limit``).

        EBUSY when activating a memcg with online children, or when the kmem usage is above the
        new limit (``page_counter_limit``).
        """
        self._check_knob(memcg, pages, "kmem limit")
        if not self.policy.kmem_feeds_user:
            raise UsageError(f"kmem policy {self.policy.name} has no kmem limit")
        if memcg.usage_kmem > pages:
            raise UsageError(f"EBUSY: kmem usage {memcg.usage_kmem} is above {pages} pages")
        if not memcg.kmem_active and self.policy.activation == "limit_write":
            if memcg.state is not MemcgState.ONLINE:
                raise UsageError(f"cannot activate kmem of {memcg!r}: not online")
            for child in memcg.children:
                if child.state is MemcgState.ONLINE:
                    raise UsageError(
                        f"EBUSY: kmem accounting of {memcg.path} must be enabled before "
                        f"creating children ({child.path} exists)"
                    )
            memcg.kmem_limit = pages
            self._activate(memcg)
            return
        memcg.kmem_limit = pages

    def set_high(self, memcg: MemCgroup, pages: int) -> None:
        """v2 ``memory.high``: over it, charges succeed and the charger reclaims afterwards."""
        self._check_knob(memcg, pages, "memory.high")
        memcg.high = pages

    def set_max(self, memcg: MemCgroup, pages: int) -> None:
        """v2 ``memory.max``. The write reclaims (then OOM-kills) down to it in the kernel;
        here the caller drives that."""
        self._check_knob(memcg, pages, "memory.max")
        memcg.max = pages

    def set_low(self, memcg: MemCgroup, pages: int) -> None:
        """v2 ``memory.low`` (best-effort protection)."""
        self._check_knob(memcg, pages, "memory.low")
        memcg.low = pages

    def set_min(self, memcg: MemCgroup, pages: int) -> None:
        """v2 ``memory.min`` (hard protection)."""
        self._check_knob(memcg, pages, "memory.min")
        memcg.min = pages

    def below_min(self, memcg: MemCgroup, target: MemCgroup | None = None) -> bool:
        """``mem_cgroup_below_min`` in its simple form: usage <= the memcg's own ``min``.

        The kernel compares against the *effective* protection (``emin``, distributed from the
        ancestors' ``memory.min``); this form uses the memcg's value as written. Never true
        for the root or for the reclaim ``target`` itself.
        """
        if memcg.is_root or memcg is target:
            return False
        return memcg.usage <= memcg.min

    def below_low(self, memcg: MemCgroup, target: MemCgroup | None = None) -> bool:
        """``mem_cgroup_below_low`` in its simple form: usage <= the memcg's own ``low``
        (the kernel uses the effective ``elow``)."""
        if memcg.is_root or memcg is target:
            return False
        return memcg.usage <= memcg.low

    def memory_event(self, memcg: MemCgroup, event: str) -> None:
        """Count a ``memory.events`` event on ``memcg`` (``memcg_memory_event``, local count)."""
        if event not in memcg.events:
            raise UsageError(f"unknown memory event {event!r}; known: {', '.join(_EVENT_NAMES)}")
        memcg.events[event] += 1

    # -- charging ----------------------------------------------------------------------------

    def _charge_target(self, memcg: MemCgroup, kind: ChargeKind) -> MemCgroup:
        if kind is ChargeKind.KMEM and not memcg._kmem_ever:
            # Kmem accounting never enabled: the kernel's memcg_kmem_charge returns early and
            # the object comes from a root cache, so only the root's totals hold it.
            return self.root
        state = memcg.state
        if state is MemcgState.ONLINE:
            return memcg
        pins = (
            self.policy.user_pins_dying if kind is ChargeKind.USER else self.policy.slab_pins_dying
        )
        if not pins:
            # Moved to the parent at offline (page owner rewritten / objcg reparented).
            return self.online_ancestor(memcg)
        if state is MemcgState.FREED:
            raise UsageError(f"{memcg!r} is freed: it holds no {kind.value} charges")
        return memcg

    def charge(
        self, memcg: MemCgroup, nr_pages: int, *, kind: ChargeKind, force: bool = False
    ) -> ChargeResult:
        """Charge ``nr_pages`` of ``kind`` to ``memcg`` and every ancestor, limits permitting.

        Models ``try_charge`` / ``page_counter_try_charge`` and, for kmem,
        ``memcg_charge_kmem`` (linux v3.14 mm/memcontrol.c). Limits are checked bottom-up and
        the lowest memcg whose limit a charge would pass is reported:

        * v1 kmem (``kmem_feeds_user``): the kmem counters first; over a K the charge fails
          (``KMEM_LIMIT``, nothing charged, no reclaim). With K >= U the memory limit is
          always reached first, so kmem is reclaimed like user memory (spec §3.2).
        * then the memory counters: over U (``MEMORY_LIMIT``) or ``memory.max`` (``MAX``) the
          charge is not made; the caller reclaims and retries. ``events["max"]`` counts it.
        * after a successful charge every ancestor-or-self over ``memory.high`` is listed in
          ``high`` (and counted in ``events["high"]``); the caller reclaims or throttles.

        ``force`` charges past any limit (``__GFP_NOFAIL``, or giving up after reclaim); the
        first breach is still reported. A usage exactly at the limit is allowed.
        """
        if nr_pages < 0:
            raise UsageError(f"cannot charge a negative number of pages ({nr_pages})")
        target = self._charge_target(memcg, kind)
        breach: Breach | None = None
        node: MemCgroup | None
        if kind is ChargeKind.KMEM and self.policy.kmem_feeds_user:
            node = target
            while node is not None:
                new = node.usage_kmem + nr_pages
                if new > node.kmem_limit:
                    breach = Breach(node, LimitKind.KMEM_LIMIT, new - node.kmem_limit)
                    node.kmem_failcnt += 1
                    break
                node = node.parent
        if breach is None:
            node = target
            while node is not None:
                new = node.usage_user + node.usage_kmem + nr_pages
                if new > node.memory_limit:
                    breach = Breach(node, LimitKind.MEMORY_LIMIT, new - node.memory_limit)
                elif new > node.max:
                    breach = Breach(node, LimitKind.MAX, new - node.max)
                if breach is not None:
                    node.events["max"] += 1
                    break
                node = node.parent
        if breach is not None and not force:
            return ChargeResult(ok=False, breach=breach)
        node = target
        if kind is ChargeKind.USER:
            target.own_user += nr_pages
            while node is not None:
                node.usage_user += nr_pages
                node = node.parent
        else:
            target.own_kmem += nr_pages
            while node is not None:
                node.usage_kmem += nr_pages
                node = node.parent
        high: list[Breach] = []
        node = target
        while node is not None:
            usage = node.usage_user + node.usage_kmem
            if usage > node.high:
                high.append(Breach(node, LimitKind.HIGH, usage - node.high))
                node.events["high"] += 1
            node = node.parent
        if breach is None and not high:
            result = self._ok_results.get(target)
            if result is None:
                result = self._ok_results[target] = ChargeResult(ok=True, charged=target)
            return result
        return ChargeResult(
            ok=True,
            breach=breach if breach is not None else high[0],
            high=tuple(high),
            charged=target,
        )

    def uncharge(self, memcg: MemCgroup, nr_pages: int, kind: ChargeKind) -> None:
        """Return ``nr_pages`` of ``kind`` charged to ``memcg`` (``page_counter_uncharge``).

        Pass the memcg a :class:`ChargeResult` reported as ``charged`` (or the dead memcg it
        was: reparented kinds follow the charge to the nearest online ancestor). Dropping a
        dying memcg's last pinning charge frees it (the "last uncharge drops the last
        reference" rule), running ``on_free`` and releasing its ids per the policy.
        """
        if nr_pages < 0:
            raise UsageError(f"cannot uncharge a negative number of pages ({nr_pages})")
        target = self._charge_target(memcg, kind)
        node: MemCgroup | None = target
        if kind is ChargeKind.USER:
            if nr_pages > target.own_user:
                raise UsageError(
                    f"uncharging {nr_pages} user pages from {target!r}, "
                    f"which holds {target.own_user}"
                )
            target.own_user -= nr_pages
            while node is not None:
                node.usage_user -= nr_pages
                node = node.parent
        else:
            if nr_pages > target.own_kmem:
                raise UsageError(
                    f"uncharging {nr_pages} kmem pages from {target!r}, "
                    f"which holds {target.own_kmem}"
                )
            target.own_kmem -= nr_pages
            while node is not None:
                node.usage_kmem -= nr_pages
                node = node.parent
        if target.state is MemcgState.DYING and not self._pinned(target):
            self._free(target)

    def margin(self, memcg: MemCgroup, kind: ChargeKind = ChargeKind.USER) -> int:
        """Pages ``memcg`` can still be charged before a hard limit of it or an ancestor.

        Like ``mem_cgroup_margin`` but over the whole ancestry (the kernel's looks at the
        memcg's own counter); for v1 kmem the K limits count too.
        """
        target = self._charge_target(memcg, kind)
        kmem = kind is ChargeKind.KMEM and self.policy.kmem_feeds_user
        room = PAGE_COUNTER_MAX
        node: MemCgroup | None = target
        while node is not None:
            room = min(room, min(node.memory_limit, node.max) - node.usage)
            if kmem:
                room = min(room, node.kmem_limit - node.usage_kmem)
            node = node.parent
        return max(room, 0)
