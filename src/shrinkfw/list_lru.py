"""The kernel's ``list_lru``: per-node, per-memcg LRU lists of reclaimable slab objects.

Models ``mm/list_lru.c`` and ``include/linux/list_lru.h`` across the eras of spec §4. One
:class:`ListLRU` is one ``struct list_lru``; each of its lists (``struct list_lru_one``) is an
:class:`LRUList` backed by an ``OrderedDict`` whose key order is the list order (head first), so
add (``list_add_tail``), delete, rotate (``list_move_tail``) and evict from the head are O(1).

Layouts (:class:`ListLRULayout`) decide where an item goes:

* ``NODE_ONLY`` (mainline v3.12-v3.18): one list per node, no per-memcg lists.
* ``MEMCG_ARRAY_V15`` (the seed, kmemcg v15): one list per kmem-active memcg, *not* split by
  node, in an array indexed by ``kmemcg_id``; plus the global per-node lists.
* ``MEMCG_NODE_ARRAY`` (v4.0-v5.17): a list per (memcg, node), indexed by ``kmemcg_id``.
* ``MEMCG_XARRAY`` (v5.18+): a list per (memcg, node) allocated lazily, ``kmemcg_id`` is the
  memcg id, a reparented memcg's lists are marked dead and its later adds go to the parent.

Memcgs are duck-typed (:class:`MemcgLike`): an object with ``kmemcg_id`` (``-1``: not
kmem-active or the root, whose objects live on the global per-node lists) and ``parent``.

Design notes
------------
* Membership lives on the item, as the kernel's embedded ``list_head`` does: an item has a
  writable attribute ``lru_link``, ``None`` when it is on no list, else the :class:`LRUList` it
  is on (``list_empty(item)`` is ``item.lru_link is None``). Items are hashable user objects,
  identity-hashed for speed (no ``__eq__``); :class:`LRUItem` is a ready base class. A side
  ``dict`` from item to list was measured too: its lookups miss the CPU cache at 1e6 objects
  and made add 2.8x and del 2.1x the raw ``OrderedDict`` operation, against 1.7x and 1.5x this
  way. Like a kernel object with one ``list_head``, an item is on one list_lru at a time.
* ``nr_items`` (the kernel's per-list count, which can drift from the real length) is stored as
  an offset from the real length (``_drift``, 0 for honest callers), so list_lru_isolate is
  one dict deletion and keeps the count right without a separate increment.
* The walker reproduces ``list_for_each_safe``: see :meth:`ListLRU.walk_one`. It visits the
  list in chunks of snapshot keys (an ``OrderedDict`` cannot change while it is iterated),
  small enough that an object is still in the CPU cache when its callback runs.
* Nothing here logs, calls hooks or allocates per object beyond the ``OrderedDict`` entry.

Notes against the spec
----------------------
* §4.1 says an item rotated during a forward walk "is not revisited in the same walk unless
  RETRY/REMOVED_RETRY restarts it". The walk is ``list_for_each_safe``: the next pointer is read
  when an item becomes current, so when the walk reaches the last item that was on the list and
  some earlier item was rotated behind it, that last item's next is the first rotated item and
  the walk goes on through the rotated items while budget remains (linux v4.x / v6.x
  mm/list_lru.c, __list_lru_walk_one; v3.14 list_lru_walk_node has the same loop). [A, B] both
  rotating with budget 5 visits A, B, A, B, A.
* §4.2 credits the clamp of negative counts in ``list_lru_count_one`` to Yang Shi's 2020 fix.
  The clamp is Muchun Song's "mm: list_lru: fix the return value of list_lru_count_one()"
  (posted Sept 2021, a diff against the array layout); linux v5.10 mm/list_lru.c has no clamp
  and returns the negative ``long`` as a huge ``unsigned long``. It sits next to the xarray
  conversion; release unverified. The model clamps in ``MEMCG_XARRAY`` only and wraps to
  unsigned in the other layouts.
* §4.5 E4 describes the ``LONG_MIN`` dead-list marker and the retry on the parent for all of
  v5.18+. The v6.8-era mainline file (list_lru_add taking nid and memcg, one lock per node) has
  neither: ``memcg_reparent_list_lrus`` rewrites the ``kmemcg_id`` of the memcg and its
  descendants to the parent's, splices, and erases the xarray slot. The marker and
  ``lock_list_lru_of_memcg``'s retry come with the later per-list-lock rework (mm.git copy;
  release unverified). ``MEMCG_XARRAY`` models the later variant; the earlier one gives the same
  routing when the memcg model rewrites ``kmemcg_id`` at offline.
* In that later variant ``list_lru_add`` sets the shrinker bit for the memcg it was *given*,
  not for the parent whose list took the item after the retry. :attr:`ListLRU.on_nonempty`
  follows the kernel (callers that derive the memcg through a reparented objcg pass the parent
  anyway, as ``list_lru_add_obj`` does).
* ``list_lru_isolate_move`` uses ``list_move``: the item goes to the *head* of the dispose list,
  so a dispose list holds the newest isolated item first (see :meth:`LRUList.isolate_move`).
* ``memcg_caches_array_size`` takes the number of ids (``id + 1``), not an id, in the kernel
  (linux v3.14 mm/memcontrol.c); :func:`memcg_caches_array_size` keeps that argument.
* The kmemcg v15 patch set has no list_lru reparenting (its offline path flushes with
  ``memcg_drop_slab``); :meth:`ListLRU.reparent` refuses the v15 layout.
"""

from __future__ import annotations

import enum
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from itertools import islice
from operator import length_hint
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

from .errors import ContractViolation, ProfileError, ShrinkfwError, UsageError

if TYPE_CHECKING:
    from .shrinker import ShrinkControl

__all__ = [
    "LONG_MIN",
    "LRU_REMOVED",
    "LRU_REMOVED_RETRY",
    "LRU_RETRY",
    "LRU_ROTATE",
    "LRU_SKIP",
    "LRU_STOP",
    "MEMCG_CACHES_MIN_SIZE",
    "MEM_CGROUP_ID_MAX",
    "IsolateFn",
    "KmemcgIdOutOfRange",
    "LRUItem",
    "LRUList",
    "LRUStatus",
    "ListLRU",
    "ListLRULayout",
    "MemcgLike",
    "memcg_caches_array_size",
]

#: ``LONG_MIN``: the count a dead (reparented) list carries in the xarray layout.
LONG_MIN: Final = -(1 << 63)
#: Smallest per-memcg array (``MEMCG_CACHES_MIN_SIZE``).
MEMCG_CACHES_MIN_SIZE: Final = 4
#: Largest per-memcg array (``MEMCG_CACHES_MAX_SIZE`` = ``MEM_CGROUP_ID_MAX``).
MEM_CGROUP_ID_MAX: Final = 65535
_ULONG_MAX: Final = (1 << 64) - 1
#: Keys snapshotted per step of a walk (a walk of up to this many items takes one snapshot).
_CHUNK: Final = 256


def memcg_caches_array_size(nr_ids: int) -> int:
    """Slots of a per-memcg array holding ``nr_ids`` kmem ids: ``clamp(2·nr_ids, 4, 65535)``.

    For a new ``kmemcg_id`` ``id`` that does not fit, the new size is
    ``memcg_caches_array_size(id + 1) = clamp(2·(id+1), 4, 65535)``: ids 0-3 fit in 4 slots, id 4
    grows the arrays to 10, id 10 to 22, id 22 to 46 (spec scenario 15). 0 for ``nr_ids <= 0``.

    Models ``memcg_caches_array_size`` (linux v3.14 mm/memcontrol.c, whose argument is the
    number of groups) and the same clamp in ``memcg_alloc_cache_id`` (linux v4.x).
    """
    if nr_ids <= 0:
        return 0
    return min(max(2 * nr_ids, MEMCG_CACHES_MIN_SIZE), MEM_CGROUP_ID_MAX)


class KmemcgIdOutOfRange(ShrinkfwError, IndexError):
    """A ``kmemcg_id`` does not fit the per-memcg array of an array-layout list_lru.

    In the kernel the arrays are grown (``memcg_update_all_list_lrus``) before a new id is
    handed out, so this is a bug in the caller: grow with :meth:`ListLRU.memcg_update_size`.
    """


class LRUItem:
    """A convenient base for list_lru items: the ``lru_link`` slot, initially ``None``.

    Any hashable object with a writable ``lru_link`` attribute set to ``None`` will do; the
    attribute is the model of the kernel's embedded ``list_head`` and only the list_lru writes
    it. Subclasses keep identity hashing (do not define ``__eq__``) and may add ``__slots__``.
    """

    __slots__ = ("lru_link",)

    def __init__(self) -> None:
        self.lru_link: LRUList | None = None


class LRUStatus(enum.IntEnum):
    """What an isolate callback tells the walker (``enum lru_status``).

    Every status consumes one unit of walk budget: the walker decrements it *before* calling
    the callback (linux v3.14+ mm/list_lru.c), so RETRY loops end when the budget is spent.
    """

    REMOVED = 0
    REMOVED_RETRY = 1
    ROTATE = 2
    SKIP = 3
    RETRY = 4
    STOP = 5


#: The statuses as module constants, with the kernel's names. Isolate callbacks on hot paths
#: should return these: attribute access on an enum class costs ~65 ns in CPython 3.11 (its
#: metaclass has ``__getattr__``), a module global ~20 ns.
LRU_REMOVED: Final = LRUStatus.REMOVED
LRU_REMOVED_RETRY: Final = LRUStatus.REMOVED_RETRY
LRU_ROTATE: Final = LRUStatus.ROTATE
LRU_SKIP: Final = LRUStatus.SKIP
LRU_RETRY: Final = LRUStatus.RETRY
LRU_STOP: Final = LRUStatus.STOP

_STATUS_DOCS: Final = {
    LRUStatus.REMOVED: (
        "The callback unlinked the item (LRUList.isolate / isolate_move). Counts as isolated. "
        "E1 layouts: if the item is still linked the walker still drops the list count; "
        "v4.19+ the walker also drops the per-node total (LRU_REMOVED, v3.12+)."
    ),
    LRUStatus.REMOVED_RETRY: (
        "As REMOVED, then the walk restarts from the list head: the callback dropped the lru "
        "lock (LRU_REMOVED_RETRY, v3.15+)."
    ),
    LRUStatus.ROTATE: (
        "Second chance: the walker moves the item to the list tail (list_move_tail). Not "
        "isolated (LRU_ROTATE, v3.12+)."
    ),
    LRUStatus.SKIP: "Leave the item where it is and go on (LRU_SKIP, v3.12+).",
    LRUStatus.RETRY: (
        "The callback dropped the lock: restart from the list head. Not isolated "
        "(LRU_RETRY, v3.12+)."
    ),
    LRUStatus.STOP: "Stop walking this list now. Not isolated (LRU_STOP, ~v6.9).",
}
for _status, _doc in _STATUS_DOCS.items():
    _status.__doc__ = _doc
del _status, _doc


class ListLRULayout(enum.Enum):
    """Where per-memcg items live, by era (spec §4.3)."""

    #: Mainline E1 (v3.12-v3.18): per-node lists only; memcgs are ignored.
    NODE_ONLY = "node_only"
    #: E1+v15 (the kmemcg v15 seed): one list per kmem-active memcg, no per-node split, in an
    #: array indexed by ``kmemcg_id`` grown to :func:`memcg_caches_array_size`.
    MEMCG_ARRAY_V15 = "memcg_array_v15"
    #: v4.0-v5.17: a list per (memcg, node), indexed by ``kmemcg_id``, same array growth.
    MEMCG_NODE_ARRAY = "memcg_node_array"
    #: v5.18+: lists per (memcg, node) allocated lazily, ``kmemcg_id`` = memcg id, dead lists
    #: marked ``LONG_MIN`` after reparenting, adds for a dead memcg go to its parent.
    MEMCG_XARRAY = "memcg_xarray"

    @property
    def per_memcg(self) -> bool:
        """The layout has per-memcg lists."""
        return self is not ListLRULayout.NODE_ONLY

    @property
    def reparents(self) -> bool:
        """Offline splices a memcg's lists into its parent's (v4.0+, commit 2788cf0c401c)."""
        return self is ListLRULayout.MEMCG_NODE_ARRAY or self is ListLRULayout.MEMCG_XARRAY

    @property
    def has_array(self) -> bool:
        """Per-memcg lists sit in arrays grown by ``memcg_update_all_list_lrus``."""
        return self is ListLRULayout.MEMCG_ARRAY_V15 or self is ListLRULayout.MEMCG_NODE_ARRAY


class MemcgLike(Protocol):
    """What the list_lru needs of a memcg (``struct mem_cgroup``).

    :ivar kmemcg_id: index of the memcg's lists; negative when the memcg is not kmem-active or
        is the root, whose objects go to the global per-node lists.
    :ivar parent: the parent memcg, ``None`` for the root.
    """

    @property
    def kmemcg_id(self) -> int: ...

    @property
    def parent(self) -> MemcgLike | None: ...


class LRUList:
    """One list of a list_lru (``struct list_lru_one``), head first.

    Isolate callbacks get the list as their second argument and unlink the item they are given
    with ``isolate`` or :meth:`isolate_move`, then return :data:`LRU_REMOVED`. Callbacks must not
    unlink other items unless they return a RETRY status (in the kernel they hold the list
    lock, so they cannot), and call these two only from a walk.

    :ivar isolate: ``isolate(item)``: unlink ``item`` from this list, which drops its count
        (``list_lru_isolate``, v4.0+). The ``OrderedDict``'s own ``__delitem__``, so it costs a
        C call; ``KeyError`` if the item is not on the list. The walker clears the item's
        ``lru_link`` when the callback returns.
    :ivar nid: the node of the list (0 for a v15 per-memcg list).
    :ivar memcg: the memcg the list belongs to; ``None`` for a global list and for a dead one.
    """

    __slots__ = ("_d", "_drift", "_lru", "dead_of", "isolate", "memcg", "nid")

    def __init__(self, lru: ListLRU, nid: int, memcg: MemcgLike | None) -> None:
        self._d: OrderedDict[Any, None] = OrderedDict()
        self.isolate: Callable[[Any], None] = self._d.__delitem__
        self._drift = 0
        self._lru = lru
        self.nid = nid
        self.memcg = memcg
        #: xarray layout: the memcg whose reparented list this is; None while alive.
        self.dead_of: MemcgLike | None = None

    @property
    def nr_items(self) -> int:
        """The kernel's count of the list (``long nr_items``).

        Equals ``len(self)`` unless a callback broke the contract (e.g. the gfs2 quota isolate
        returning REMOVED for an entry it left linked, in the E1 layouts) or the list is dead
        (``LONG_MIN``). Stored as an offset from the real length.
        """
        return len(self._d) + self._drift

    @nr_items.setter
    def nr_items(self, value: int) -> None:
        self._drift = value - len(self._d)
        self._lru._count_changed(self)

    @property
    def dead(self) -> bool:
        """The list was reparented in the xarray layout (``nr_items == LONG_MIN``)."""
        return self.dead_of is not None

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self) -> Iterator[Any]:
        """The items head first, from a snapshot."""
        return iter(tuple(self._d))

    def __contains__(self, item: object) -> bool:
        return item in self._d

    def __repr__(self) -> str:
        return (
            f"LRUList(nid={self.nid}, memcg={self.memcg!r}, nr_items={self.nr_items}, "
            f"len={len(self._d)})"
        )

    def isolate_move(
        self,
        item: Any,
        dispose: list[Any] | deque[Any] | OrderedDict[Any, None] | dict[Any, None],
    ) -> None:
        """Move ``item`` to a private dispose list and drop the count (``list_lru_isolate_move``).

        The kernel's ``list_move`` puts the item at the *head* of ``dispose``. A ``deque``
        (``appendleft``) or an ``OrderedDict`` (moved to the front) keeps that order; a ``list``
        (``append``) or a plain ``dict`` holds it reversed (its last element is the kernel's
        head, so iterating it goes oldest isolated first, as ``shrink_dentry_list`` does).
        """
        del self._d[item]
        if isinstance(dispose, list):
            dispose.append(item)
        elif isinstance(dispose, deque):
            dispose.appendleft(item)
        elif isinstance(dispose, OrderedDict):
            dispose[item] = None
            dispose.move_to_end(item, last=False)
        else:
            dispose[item] = None


#: An isolate callback (``list_lru_walk_cb``): ``isolate(item, list) -> LRUStatus``.
IsolateFn: TypeAlias = Callable[[Any, LRUList], LRUStatus]

_REMOVED: Final = LRU_REMOVED
_REMOVED_RETRY: Final = LRU_REMOVED_RETRY
_ROTATE: Final = LRU_ROTATE
_SKIP: Final = LRU_SKIP
_RETRY: Final = LRU_RETRY
_NO_ITEM: Final = object()
_NODE_ONLY: Final = ListLRULayout.NODE_ONLY
_V15: Final = ListLRULayout.MEMCG_ARRAY_V15
_NODE_ARRAY: Final = ListLRULayout.MEMCG_NODE_ARRAY
_XARRAY: Final = ListLRULayout.MEMCG_XARRAY


def _is_ancestor(anc: MemcgLike, memcg: MemcgLike) -> bool:
    """``anc`` is a strict ancestor of ``memcg``."""
    m = memcg.parent
    while m is not None:
        if m is anc:
            return True
        m = m.parent
    return False


class ListLRU:
    """One ``struct list_lru``: global per-node lists plus, by layout, per-memcg lists.

    Models ``__list_lru_init`` / ``list_lru_init_memcg`` (linux v4.x-v6.x mm/list_lru.c; kmemcg
    v15 09/13 for the seed). Items are hashable objects, on at most one list of this lru.

    :param layout: the era's layout.
    :param nr_nodes: NUMA nodes (``nr_node_ids``).
    :param memcg_aware: keep per-memcg lists (``list_lru_init_memcg``); otherwise every item
        goes to the global list of its node, whatever its memcg.
    :param name: for messages and ``repr``.
    :param on_nonempty: ``on_nonempty(memcg, nid)``, the model of ``set_shrinker_bit``: called
        when a per-memcg list goes from 0 to 1 item on :meth:`add` (with the memcg given to
        ``add``) and when :meth:`reparent` moves a non-zero count into a parent's per-memcg
        list (with the parent). ``nid`` is 0 for v15 lists. May be set later as an attribute.
    :param array_size: initial per-memcg array size for the array layouts (the current
        ``memcg_nr_cache_ids``; 0 before the first kmem-active memcg).
    :param node_nr_items: keep the per-node total ``nlru->nr_items`` that the walker also drops
        on REMOVED (v4.19+), which :meth:`count_node` then returns. Default: on for
        ``MEMCG_XARRAY``, off otherwise (v4.0-v4.18 sum the node's lists).
    """

    __slots__ = (
        "_array_size",
        "_global",
        "_nonempty",
        "_per_memcg",
        "_quirks",
        "_tbl",
        "_walker_counts",
        "layout",
        "memcg_aware",
        "name",
        "node_nr_items",
        "nr_nodes",
        "on_nonempty",
    )

    def __init__(
        self,
        layout: ListLRULayout,
        nr_nodes: int,
        *,
        memcg_aware: bool,
        name: str = "",
        on_nonempty: Callable[[Any, int], None] | None = None,
        array_size: int = 0,
        node_nr_items: bool | None = None,
    ) -> None:
        if not isinstance(layout, ListLRULayout):
            raise UsageError(f"list_lru {name!r}: layout must be a ListLRULayout, got {layout!r}")
        if nr_nodes < 1:
            raise UsageError(f"list_lru {name!r}: nr_nodes must be >= 1, got {nr_nodes}")
        if not 0 <= array_size <= MEM_CGROUP_ID_MAX:
            raise UsageError(
                f"list_lru {name!r}: array_size must be in [0, {MEM_CGROUP_ID_MAX}], "
                f"got {array_size}"
            )
        self.layout = layout
        self.nr_nodes = nr_nodes
        self.memcg_aware = memcg_aware
        self.name = name
        self.on_nonempty = on_nonempty
        self.node_nr_items = layout is _XARRAY if node_nr_items is None else node_nr_items
        self._per_memcg = memcg_aware and layout is not _NODE_ONLY
        self._walker_counts = layout is _NODE_ONLY or layout is _V15
        self._array_size = array_size if layout.has_array else 0
        self._global: list[LRUList] = [LRUList(self, nid, None) for nid in range(nr_nodes)]
        #: kmemcg_id -> the memcg's lists, one per node (v15: the same list nr_nodes times).
        self._tbl: dict[int, list[LRUList]] = {}
        #: non-empty per-memcg lists, in the order they became non-empty.
        self._nonempty: dict[LRUList, None] = {}
        #: per node: REMOVED answers that left the item linked (v4.19+ node total drift).
        self._quirks = [0] * nr_nodes

    def __repr__(self) -> str:
        return (
            f"ListLRU(name={self.name!r}, layout={self.layout.name}, nr_nodes={self.nr_nodes}, "
            f"memcg_aware={self.memcg_aware}, items={len(self)})"
        )

    def _lists(self) -> Iterator[LRUList]:
        """Every list: the global ones, then the per-memcg ones by kmemcg_id (each once)."""
        yield from self._global
        for idx in sorted(self._tbl):
            nodes = self._tbl[idx]
            yield from (nodes[:1] if self.layout is _V15 else nodes)

    def __len__(self) -> int:
        """Items linked on the lists of this lru (the real number, not the kernel's counts)."""
        return sum(len(lst._d) for lst in self._lists())

    def __contains__(self, item: object) -> bool:
        """``item`` is on a list of this lru."""
        return self.list_of(item) is not None

    def list_of(self, item: object) -> LRUList | None:
        """The list of this lru that ``item`` is on, or ``None``."""
        lst = getattr(item, "lru_link", None)
        if isinstance(lst, LRUList) and lst._lru is self and item in lst._d:
            return lst
        return None

    def _no_link(self, item: object) -> UsageError:
        return UsageError(
            f"list_lru {self.name!r}: {item!r} has no 'lru_link' attribute. A list_lru item "
            "carries its link (the kernel's embedded list_head): add 'lru_link' to the class "
            "(in __slots__ if it has them), set it to None in __init__, or subclass LRUItem"
        )

    # -- routing -------------------------------------------------------------------------------

    def _out_of_range(self, idx: int, memcg: MemcgLike) -> KmemcgIdOutOfRange:
        return KmemcgIdOutOfRange(
            f"list_lru {self.name!r}: kmemcg_id {idx} of memcg {memcg!r} does not fit the "
            f"per-memcg array of {self._array_size} slots; grow it first with "
            f"memcg_update_size(memcg_caches_array_size({idx} + 1)) = "
            f"{memcg_caches_array_size(idx + 1)} (memcg_update_all_list_lrus)"
        )

    def _alloc(self, idx: int, memcg: MemcgLike) -> list[LRUList]:
        if self.layout is _V15:
            nodes = [LRUList(self, 0, memcg)] * self.nr_nodes
        else:
            nodes = [LRUList(self, nid, memcg) for nid in range(self.nr_nodes)]
        self._tbl[idx] = nodes
        return nodes

    @staticmethod
    def _claim(nodes: list[LRUList], memcg: MemcgLike) -> None:
        """Keep the owner of an id's lists, or hand them to a memcg that reuses the id.

        A descendant that took an ancestor's id at offline (v4.0+) shares the ancestor's
        lists; a memcg unrelated to the owner got the id after the owner released it.
        """
        owner = nodes[0].memcg
        if owner is memcg or (owner is not None and _is_ancestor(owner, memcg)):
            return
        for lst in nodes:
            lst.memcg = memcg

    def _route_slow(self, idx: int, nid: int, memcg: MemcgLike) -> LRUList:
        """The list for an add of ``memcg``'s item when the fast path did not find it.

        Models ``list_lru_from_memcg_idx`` / ``list_lru_from_kmem`` (linux v4.x-v5.x) and
        ``lock_list_lru_of_memcg`` (mm.git): a dead list sends the add to the parent.
        """
        tbl = self._tbl
        if self.layout is not _XARRAY:
            if idx >= self._array_size:
                raise self._out_of_range(idx, memcg)
            nodes = tbl.get(idx)
            if nodes is None:
                return self._alloc(idx, memcg)[nid]
            self._claim(nodes, memcg)
            return nodes[nid]
        while True:
            nodes = tbl.get(idx)
            if nodes is None:
                return self._alloc(idx, memcg)[nid]
            dead = nodes[0].dead_of
            if dead is None:
                # ids are the memcgs' own: the owner stays (a memcg passed with a recycled id
                # lands here as it would in the kernel)
                return nodes[nid]
            if dead is not memcg and not _is_ancestor(dead, memcg):
                # the id was released and reused: the kernel's xarray slot is empty again
                return self._alloc(idx, memcg)[nid]
            parent = dead.parent
            if parent is None or parent.kmemcg_id < 0:
                return self._global[nid]
            memcg = parent
            idx = parent.kmemcg_id

    def list_at(self, nid: int, memcg: MemcgLike | None = None) -> LRUList | None:
        """The list counted and walked for (nid, memcg), without allocating or retrying.

        Models ``list_lru_from_memcg_idx``: the global list of ``nid`` for no memcg, a memcg
        that is not kmem-active or a lru that is not memcg-aware; ``None`` when the memcg has
        no list yet. In the xarray layout a reparented memcg's list is returned dead
        (:attr:`LRUList.dead`, ``nr_items == LONG_MIN``): counts read 0, walks visit nothing.

        :raises KmemcgIdOutOfRange: array layouts, ``kmemcg_id >= array_size``.
        """
        if memcg is None or not self._per_memcg:
            return self._global[nid]
        idx = memcg.kmemcg_id
        if idx < 0:
            return self._global[nid]
        if self.layout is not _XARRAY and idx >= self._array_size:
            raise self._out_of_range(idx, memcg)
        nodes = self._tbl.get(idx)
        if nodes is None:
            return None
        return nodes[nid]

    # -- add / del -----------------------------------------------------------------------------

    def add(self, item: Any, nid: int, memcg: MemcgLike | None = None) -> bool:
        """Put ``item`` at the tail of its list; ``False`` if it is already on a list.

        Models ``list_lru_add(lru, item, nid, memcg)`` (linux v6.8+; earlier kernels derive
        ``nid`` and the memcg from the object's page, the caller passes them here). The list:
        the global list of ``nid`` when the lru is not memcg-aware, the layout is NODE_ONLY,
        ``memcg`` is None or its ``kmemcg_id`` is negative; the memcg's single list in the v15
        layout (whatever ``nid``); the (kmemcg_id, nid) list otherwise, or, in the xarray
        layout, the nearest live ancestor's list when the memcg's lists are dead.

        An item already on a list (of this lru or, having one link, of another) is left
        alone.

        :raises KmemcgIdOutOfRange: array layouts, ``kmemcg_id >= array_size``.
        :raises UsageError: the item has no ``lru_link`` attribute.
        """
        try:
            link = item.lru_link
        except AttributeError:
            raise self._no_link(item) from None
        if link is not None and item in link._d:
            return False
        if memcg is None or not self._per_memcg or (idx := memcg.kmemcg_id) < 0:
            lst = self._global[nid]
        else:
            try:
                lst = self._tbl[idx][nid]
            except KeyError:
                lst = self._route_slow(idx, nid, memcg)
            else:
                if lst.memcg is not memcg:
                    lst = self._route_slow(idx, nid, memcg)
        d = lst._d
        if d and not lst._drift:
            d[item] = None
            item.lru_link = lst
            return True
        d[item] = None
        item.lru_link = lst
        if lst.memcg is not None and lst.nr_items == 1:
            self._nonempty[lst] = None
            cb = self.on_nonempty
            if cb is not None and memcg is not None:
                cb(memcg, lst.nid)
        return True

    def del_(self, item: Any) -> bool:
        """Unlink ``item`` from the list it is on; ``True`` iff it was on a list of this lru.

        Models ``list_lru_del`` (linux v3.14+). The kernel finds the list from the object (or
        from the nid and memcg passed, v6.8+); the model uses the list the item is on, so a
        delete racing with reparenting cannot drive a count negative here.
        """
        lst = getattr(item, "lru_link", None)
        if lst is None or lst._lru is not self:
            return False
        item.lru_link = None
        d = lst._d
        try:
            del d[item]
        except KeyError:  # a stale link: isolated outside a walk
            return False
        if not d or lst._drift:
            self._count_changed(lst)
        return True

    def _count_changed(self, lst: LRUList) -> None:
        """Keep the non-empty index right after ``lst``'s count may have left or reached 0."""
        if lst.memcg is None:
            return
        if lst.nr_items > 0:
            if lst not in self._nonempty:
                self._nonempty[lst] = None
        else:
            self._nonempty.pop(lst, None)

    # -- counting ------------------------------------------------------------------------------

    def count_one(self, nid: int, memcg: MemcgLike | None = None) -> int:
        """Items of the (nid, memcg) list, as ``unsigned long``.

        Models ``list_lru_count_one`` (linux v4.0+; ``list_lru_count_node_memcg`` in kmemcg v15,
        where the memcg's single list is counted whatever ``nid``). A memcg without a list
        reads 0. A negative count (a dead xarray list's ``LONG_MIN``, or a drifted count)
        reads 0 in the xarray layout, where the kernel clamps it; earlier kernels return the
        negative ``long`` converted to ``unsigned long``, a huge number, and so does the model.
        """
        lst = self.list_at(nid, memcg)
        if lst is None:
            return 0
        n = lst.nr_items
        if n >= 0:
            return n
        return 0 if self.layout is _XARRAY else n & _ULONG_MAX

    def shrink_count(self, sc: ShrinkControl) -> int:
        """``list_lru_shrink_count``: :meth:`count_one` for ``(sc.nid, sc.memcg)``."""
        return self.count_one(sc.nid, sc.memcg)

    def count_node(self, nid: int) -> int:
        """Items on node ``nid``, as ``unsigned long``.

        Models ``list_lru_count_node``: E1 (NODE_ONLY and v15) the global list of the node
        only; v4.0-v4.18 the global list plus every memcg list of the node; v4.19+
        (``node_nr_items``) the per-node total, which the walker also drops when a callback
        answers REMOVED for an item it left on the list.
        """
        total = self._global[nid].nr_items
        if self._per_memcg and self.layout is not _V15:
            for nodes in self._tbl.values():
                lst = nodes[nid]
                if lst.dead_of is None:
                    total += lst.nr_items
        if self.node_nr_items:
            total -= self._quirks[nid]
        return total & _ULONG_MAX

    def count(self) -> int:
        """All items (``list_lru_count``): the sum of :meth:`count_node` over the nodes, plus
        every memcg's list in the v15 layout."""
        total = sum(self.count_node(nid) for nid in range(self.nr_nodes))
        if self._per_memcg and self.layout is _V15:
            total += sum(nodes[0].nr_items for nodes in self._tbl.values())
        return total & _ULONG_MAX

    def items(self, nid: int, memcg: MemcgLike | None = None) -> Iterator[Any]:
        """The items of the (nid, memcg) list, head first, from a snapshot."""
        lst = self.list_at(nid, memcg)
        if lst is None or lst.dead_of is not None:
            return iter(())
        return iter(tuple(lst._d))

    def nonempty(self) -> Iterator[tuple[MemcgLike, int]]:
        """``(memcg, nid)`` of every non-empty per-memcg list, in the order they became
        non-empty (``nid`` is 0 in the v15 layout). A snapshot: the lru may change while it is
        consumed. Costs the number of non-empty lists, not the number of memcgs."""
        return iter([(lst.memcg, lst.nid) for lst in self._nonempty if lst.memcg is not None])

    # -- walking -------------------------------------------------------------------------------

    def walk_one(
        self, nid: int, memcg: MemcgLike | None, isolate: IsolateFn, nr_to_walk: int
    ) -> tuple[int, int]:
        """Walk one list from its head; return ``(isolated, remaining budget)``.

        Models ``list_lru_walk_one`` / ``__list_lru_walk_one`` (linux v4.0+ mm/list_lru.c;
        ``list_lru_walk_node_memcg`` in kmemcg v15, ``list_lru_walk_node`` in v3.14). Per item:
        stop if the budget is 0; take one from the budget *before* calling
        ``isolate(item, list)``; then act on the status (:class:`LRUStatus`). The walk is
        ``list_for_each_safe``: the next item is read when an item becomes current, so when the
        walk reaches the item that was last and an earlier one was rotated behind it, it goes
        on through the rotated items while budget remains: ``[A, B]`` both rotating with budget
        5 visits A, B, A, B, A; ``[A (skip), B (rotate)]`` with budget 4 visits A, B.

        A callback that raises leaves the lru consistent: the item stays where it was (unless
        the callback had unlinked it), the exception propagates.

        :raises ContractViolation: the callback returned something that is not a status, or
            ROTATE for an item it had unlinked.
        """
        if nr_to_walk < 0:
            raise UsageError(f"list_lru {self.name!r}: nr_to_walk must be >= 0, got {nr_to_walk}")
        lst = self.list_at(nid, memcg)
        if lst is None or lst.dead_of is not None or nr_to_walk == 0:
            return 0, nr_to_walk
        return self._walk(lst, isolate, nr_to_walk)

    def shrink_walk(self, sc: ShrinkControl, isolate: IsolateFn) -> int:
        """``list_lru_shrink_walk``: walk ``(sc.nid, sc.memcg)`` with ``sc.nr_to_scan`` as the
        budget, write the remaining budget back to ``sc.nr_to_scan``, return the isolated."""
        isolated, sc.nr_to_scan = self.walk_one(sc.nid, sc.memcg, isolate, sc.nr_to_scan)
        return isolated

    def walk_node(self, nid: int, isolate: IsolateFn, nr_to_walk: int) -> tuple[int, int]:
        """Walk node ``nid``: the global list, then (v4.0+) every memcg list of the node in
        ``kmemcg_id`` order while budget remains; return ``(isolated, remaining budget)``.

        Models ``list_lru_walk_node`` (linux v4.0+ mm/list_lru.c: ``for_each_memcg_cache_index``
        on arrays, ``xa_for_each`` on the xarray, dead lists skipped). E1 and v15 walk the
        global list only (``list_lru_walk_node`` = ``list_lru_walk_node_memcg(.., NULL)``).
        """
        isolated, budget = self.walk_one(nid, None, isolate, nr_to_walk)
        if budget > 0 and self._per_memcg and self.layout is not _V15:
            tbl = self._tbl
            for idx in sorted(tbl):
                nodes = tbl.get(idx)
                if nodes is None:
                    continue
                lst = nodes[nid]
                if lst.dead_of is not None or not lst._d:
                    continue
                n, budget = self._walk(lst, isolate, budget)
                isolated += n
                if budget <= 0:
                    break
        return isolated, budget

    def _walk(self, lst: LRUList, isolate: IsolateFn, budget: int) -> tuple[int, int]:
        """``__list_lru_walk_one`` on ``lst`` with ``budget`` > 0.

        A linear scan of the live list from its head, a chunk of snapshot keys at a time.
        ``pos`` is where the scan stands: items that stayed (SKIP, or REMOVED but left linked)
        are before it, rotated items went behind everything, removed ones are gone, so the next
        item is always at offset ``pos``. The scan goes on past a chunk that ended the list
        only if an item before the chunk's last one was rotated: that is where the last item's
        saved next pointer leads (``list_for_each_safe``). RETRY and REMOVED_RETRY restart at
        offset 0. A chunk is at least as long as the offset skipped to reach it, so skipping
        costs no more than visiting.

        REMOVED items have their link cleared at once; a chunk whose REMOVED answers do not
        match the items that left the list is then searched for the items left linked. (Looking
        up each removed key instead costs a cache miss: the lookup of a deleted key probes
        through the deleted slots of the table.)
        """
        d = lst._d
        move = d.move_to_end
        isolated = 0
        quirks = 0
        pos = 0
        snap: list[Any] = []
        it: Iterator[Any] = iter(snap)
        item: Any = _NO_ITEM
        try:
            while True:
                n_list = len(d)
                if pos >= n_list:
                    break
                want = min(budget, max(_CHUNK, pos))
                if pos:
                    snap = list(islice(d, pos, pos + want))
                else:
                    snap = list(d) if want >= n_list else list(islice(d, want))
                n_snap = len(snap)
                isolated_before = isolated
                rotations = 0
                stayed = 0
                action = 0  # 0: end of chunk, 1: restart from the head, 2: stop
                ret: object = None
                it = iter(snap)
                for item in it:
                    ret = isolate(item, lst)
                    if ret is _REMOVED:
                        isolated += 1
                        if item.lru_link is lst:
                            item.lru_link = None
                    elif ret is _ROTATE:
                        try:
                            move(item)
                        except KeyError:
                            raise self._rotate_unlinked(isolate, item) from None
                        rotations += 1
                    elif ret is _SKIP:
                        stayed += 1
                    else:
                        ret = self._check_status(ret, isolate, item)
                        if ret is _REMOVED or ret is _REMOVED_RETRY:
                            isolated += 1
                            if item.lru_link is lst:
                                item.lru_link = None
                            if ret is _REMOVED_RETRY:
                                action = 1
                                break
                        elif ret is _ROTATE:
                            try:
                                move(item)
                            except KeyError:
                                raise self._rotate_unlinked(isolate, item) from None
                            rotations += 1
                        elif ret is _SKIP:
                            stayed += 1
                        elif ret is _RETRY:
                            action = 1
                            break
                        else:  # STOP
                            action = 2
                            break
                item = _NO_ITEM
                visited = n_snap - length_hint(it)
                budget -= visited
                if n_list - len(d) != isolated - isolated_before:
                    left = self._settle(lst, snap, visited)
                    quirks += left
                    stayed += left
                if action == 2 or budget == 0:
                    break
                if action == 1:
                    pos = 0
                    continue
                if pos + n_snap >= n_list and rotations - (ret is _ROTATE) == 0:
                    # the chunk ended the list and nothing before its last item was rotated
                    # behind it: the last item's saved next pointer is the list head
                    break
                pos += stayed
        except BaseException:
            if item is not _NO_ITEM:
                # the callback of ``item`` raised: it stays where it was, unless it unlinked it
                quirks += self._settle(lst, snap, len(snap) - length_hint(it))
            raise
        finally:
            if quirks:
                self._quirk(lst, quirks)
            if not d or lst._drift:
                self._count_changed(lst)
        return isolated, budget

    @staticmethod
    def _settle(lst: LRUList, snap: list[Any], visited: int) -> int:
        """Make the links of the first ``visited`` items of ``snap`` match ``lst``; return how
        many REMOVED items were left on the list (their links cleared too early)."""
        d = lst._d
        left = 0
        for item in islice(snap, visited):
            link = item.lru_link
            if item in d:
                if link is None:
                    item.lru_link = lst
                    left += 1
            elif link is lst:
                item.lru_link = None
        return left

    def _quirk(self, lst: LRUList, n: int) -> None:
        """``n`` REMOVED answers left their item linked (e.g. gfs2 before ~v6.5)."""
        if self._walker_counts:
            # E1: the walker itself drops the list count on REMOVED
            lst._drift -= n
            self._count_changed(lst)
        else:
            # v4.19+: the walker drops the node total, list_lru_isolate was not called
            self._quirks[lst.nid] += n

    @staticmethod
    def _check_status(ret: object, isolate: object, item: object) -> LRUStatus:
        if isinstance(ret, LRUStatus):
            return ret
        if isinstance(ret, int) and not isinstance(ret, bool):
            try:
                return LRUStatus(ret)
            except ValueError:
                pass
        raise ContractViolation(
            f"isolate callback {isolate!r} returned {ret!r} for {item!r}; "
            f"expected an LRUStatus ({', '.join(s.name for s in LRUStatus)})"
        )

    @staticmethod
    def _rotate_unlinked(isolate: object, item: object) -> ContractViolation:
        return ContractViolation(
            f"isolate callback {isolate!r} returned ROTATE for {item!r} after unlinking it; "
            "return REMOVED after LRUList.isolate / isolate_move"
        )

    # -- memcg lifecycle -----------------------------------------------------------------------

    @property
    def array_size(self) -> int:
        """Slots of the per-memcg array (array layouts; 0 for the others)."""
        return self._array_size

    def memcg_update_size(self, new_size: int) -> None:
        """Grow the per-memcg array to ``new_size`` slots.

        Models ``memcg_update_all_list_lrus`` / ``memcg_update_list_lru`` (linux v4.x-v5.17
        mm/list_lru.c; ``memcg_update_all_lrus`` in kmemcg v15 09/13). The arrays only grow
        (the kernel BUG()s on a shrink). A no-op in the layouts without arrays.
        """
        if not self.layout.has_array:
            return
        if new_size < self._array_size or new_size > MEM_CGROUP_ID_MAX:
            raise UsageError(
                f"list_lru {self.name!r}: per-memcg arrays only grow, up to "
                f"{MEM_CGROUP_ID_MAX} slots: {self._array_size} -> {new_size} refused"
            )
        self._array_size = new_size

    def reparent(self, child: MemcgLike, parent: MemcgLike | None) -> int:
        """Splice ``child``'s lists into ``parent``'s, node by node; return the items moved.

        Models ``memcg_drain_list_lru_node`` (linux v4.0-v5.17) and
        ``memcg_reparent_list_lru_one`` (v5.18+). ``list_splice_init`` puts the child's items in
        front of the parent's (walks start at the head, so they are visited first); the
        parent's count grows by the child's and the child's count reads 0. ``parent`` None or
        not kmem-active (the root) means the global lists. When the child's count was not 0
        and the parent's list is a per-memcg one, ``on_nonempty(parent, nid)`` is called
        (v4.19+ ``set_shrinker_bit``).

        Array layout: call before the memcg model gives ``child`` (and its subtree) the
        parent's ``kmemcg_id``; the child's slots are then free for reuse. Xarray layout: the
        child's lists are marked dead (``LONG_MIN``) and later adds for ``child`` go to the
        parent. A no-op returning 0 for a lru that is not memcg-aware or NODE_ONLY.

        :raises ProfileError: v15 layout, which has no reparenting.
        """
        if self.layout is _V15:
            raise ProfileError(
                f"list_lru {self.name!r}: the kmemcg v15 layout has no list_lru reparenting "
                "(its offline path flushes the memcg with memcg_drop_slab); use a v4.0+ layout"
            )
        if not self._per_memcg:
            return 0
        src_idx = child.kmemcg_id
        if src_idx < 0:
            return 0
        if self.layout is not _XARRAY and src_idx >= self._array_size:
            raise self._out_of_range(src_idx, child)
        src_nodes = self._tbl.get(src_idx)
        if src_nodes is not None and src_nodes[0].dead_of is not None:
            if src_nodes[0].dead_of is child:
                return 0  # already reparented
            src_nodes = None  # a dead list of an earlier holder of the id
        if parent is None or parent.kmemcg_id < 0:
            dst_nodes = self._global
            dst_memcg = None
        else:
            dst_nodes = [self._dst_list(parent, nid) for nid in range(self.nr_nodes)]
            dst_memcg = parent
        moved = 0
        if src_nodes is not None:
            nonempty = self._nonempty
            cb = self.on_nonempty
            for nid in range(self.nr_nodes):
                src = src_nodes[nid]
                dst = dst_nodes[nid]
                if src is dst:
                    continue
                count = src.nr_items
                sd = src._d
                dd = dst._d
                front = dd.move_to_end
                for item in reversed(sd):
                    dd[item] = None
                    front(item, last=False)
                    item.lru_link = dst
                moved += len(sd)
                sd.clear()
                dst._drift += src._drift
                src._drift = 0
                nonempty.pop(src, None)
                if count:
                    self._count_changed(dst)
                    if cb is not None and dst_memcg is not None:
                        cb(dst_memcg, dst.nid)
        if self.layout is _XARRAY:
            nodes = src_nodes if src_nodes is not None else self._alloc(src_idx, child)
            for lst in nodes:
                lst._drift = LONG_MIN
                lst.memcg = None
                lst.dead_of = child
        elif src_nodes is not None:
            for lst in src_nodes:
                lst.memcg = None
        return moved

    def _dst_list(self, parent: MemcgLike, nid: int) -> LRUList:
        idx = parent.kmemcg_id
        nodes = self._tbl.get(idx)
        if nodes is not None and nodes[nid].memcg is parent:
            return nodes[nid]
        return self._route_slow(idx, nid, parent)
