"""The shrinker contract: ``struct shrinker``, ``struct shrink_control`` and their constants.

Models ``include/linux/shrinker.h``. A shrinker is any object with the attributes and the two
methods of :class:`Shrinker`; plugins create them and hand them to the
:class:`~shrinkfw.registry.ShrinkerRegistry` from ``shrinkfw_register_shrinkers``.
``count_objects`` and ``scan_objects`` are plain method calls on the hot path, never hooks.

The sentinels keep the kernel's unsigned long values, so a trace or a comparison reads the same
as in C: ``SHRINK_STOP`` is ``~0UL`` and ``SHRINK_EMPTY`` is ``~0UL - 1``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from .memcg import MemCgroup

__all__ = [
    "DEFAULT_SEEKS",
    "GFP_KERNEL",
    "GFP_NOFS",
    "GFP_NOIO",
    "SHRINK_BATCH",
    "SHRINK_EMPTY",
    "SHRINK_STOP",
    "ULONG_MAX",
    "Gfp",
    "ShrinkControl",
    "Shrinker",
    "ShrinkerFlags",
]

ULONG_MAX: Final = (1 << 64) - 1
#: ``scan_objects`` result: no progress is possible in this context (e.g. no ``__GFP_FS``).
SHRINK_STOP: Final = ULONG_MAX
#: ``count_objects`` result (v4.19+): the (nid, memcg) cache is really empty.
SHRINK_EMPTY: Final = ULONG_MAX - 1
#: Cost of recreating an object relative to an LRU page (``DEFAULT_SEEKS``).
DEFAULT_SEEKS: Final = 2
#: Objects per ``scan_objects`` call when a shrinker's ``batch`` is 0 (``SHRINK_BATCH``).
SHRINK_BATCH: Final = 128


class ShrinkerFlags(enum.IntFlag):
    """Shrinker registration flags (``SHRINKER_*``).

    The numeric values are shrinkfw's own; the kernel renumbered them in v6.7 and only their
    meaning matters to the model.
    """

    NONE = 0
    #: One invocation per node, with a ``nr_deferred`` slot per node.
    NUMA_AWARE = 1
    #: Invoked per memcg with ``sc.memcg`` set; caches are kept per memcg.
    MEMCG_AWARE = 2
    #: Memcg-aware even when kmem accounting is off (the workingset shadow-node shrinker).
    NONSLAB = 4


class Gfp(enum.IntFlag):
    """The allocation-context bits reclaim and shrinkers look at (``gfp_t``).

    Only the bits the model tests are kept: ``__GFP_FS`` and ``__GFP_IO`` (deadlock avoidance in
    shrinkers), ``__GFP_DIRECT_RECLAIM`` (``__GFP_WAIT`` before v4.4), ``__GFP_KSWAPD_RECLAIM``,
    and ``__GFP_HIGHMEM`` / ``__GFP_MOVABLE`` (vmpressure ignores samples without any of
    HIGHMEM, MOVABLE, IO or FS).
    """

    NONE = 0
    IO = 1 << 0
    FS = 1 << 1
    HIGHMEM = 1 << 2
    MOVABLE = 1 << 3
    DIRECT_RECLAIM = 1 << 4
    KSWAPD_RECLAIM = 1 << 5
    HARDWALL = 1 << 6


GFP_RECLAIM: Final = Gfp.DIRECT_RECLAIM | Gfp.KSWAPD_RECLAIM
GFP_KERNEL: Final = GFP_RECLAIM | Gfp.IO | Gfp.FS
GFP_NOFS: Final = GFP_RECLAIM | Gfp.IO
GFP_NOIO: Final = GFP_RECLAIM
GFP_USER: Final = GFP_KERNEL | Gfp.HARDWALL
GFP_HIGHUSER_MOVABLE: Final = GFP_USER | Gfp.HIGHMEM | Gfp.MOVABLE

#: How ``show_gfp_flags`` prints the composite masks, most specific first.
GFP_NAMES: Final[tuple[tuple[Gfp, str], ...]] = (
    (GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
    (GFP_USER, "GFP_USER"),
    (GFP_KERNEL, "GFP_KERNEL"),
    (GFP_NOFS, "GFP_NOFS"),
    (GFP_NOIO, "GFP_NOIO"),
)


def gfp_name(gfp: Gfp) -> str:
    """Render a mask the way the kernel's ``show_gfp_flags`` does in trace output."""
    for mask, name in GFP_NAMES:
        if gfp == mask:
            return name
    parts = [f"__GFP_{flag.name}" for flag in Gfp if flag and flag in gfp]
    return "|".join(parts) if parts else "0"


@attrs.define(slots=True, eq=False)
class ShrinkControl:
    """One request to a shrinker (``struct shrink_control``).

    Mutable on purpose, as in the kernel: ``nr_to_scan`` is the walk budget a list_lru walk
    consumes, and the callee may lower ``nr_scanned`` to what it really scanned (v4.14+).

    :ivar gfp_mask: allocation context of the reclaimer; shrinkers that need the filesystem
        return :data:`SHRINK_STOP` without ``Gfp.FS``.
    :ivar nid: the node being shrunk; 0 for shrinkers that are not NUMA-aware.
    :ivar memcg: the memcg whose objects are counted and scanned; ``None`` means the global
        lists (the seed and v4.0-v4.18), the root memcg plays that part from v4.19.
    :ivar nr_to_scan: objects to scan in this ``scan_objects`` call.
    :ivar nr_scanned: preset to ``nr_to_scan``; the callee may lower it.
    :ivar target_mem_cgroup: root of the subtree under pressure, ``None`` for global
        pressure (the kmemcg v15 patch set only).
    :ivar nodes_to_scan: v3.12-v3.18 only: the nodes a ``shrink_slab`` pass covers; a
        NUMA-aware shrinker is called once per node in it. ``None`` means just ``nid``.
    """

    gfp_mask: Gfp = GFP_KERNEL
    nid: int = 0
    memcg: MemCgroup | None = None
    nr_to_scan: int = 0
    nr_scanned: int = 0
    target_mem_cgroup: MemCgroup | None = None
    nodes_to_scan: tuple[int, ...] | None = None

    @property
    def gfp_fs(self) -> bool:
        """Whether the context may recurse into the filesystem (``__GFP_FS``)."""
        return bool(self.gfp_mask & Gfp.FS)


@runtime_checkable
class Shrinker(Protocol):
    """What a plugin's shrinker provides (the callbacks and tunables of ``struct shrinker``).

    ``count_objects`` returns how many objects of ``(sc.nid, sc.memcg)`` could be freed, 0 when
    it cannot tell, or :data:`SHRINK_EMPTY` when the cache is really empty. It must not do
    deadlock checks. ``scan_objects`` scans up to ``sc.nr_to_scan`` objects and returns how
    many it freed, or :data:`SHRINK_STOP` when no progress is possible in this context.
    """

    #: Unique name; the registry orders shrinkers and reports errors by it.
    name: str
    flags: ShrinkerFlags
    #: Cost of recreating an object; 0 means "no IO to recreate" (v4.20+).
    seeks: int
    #: Objects per ``scan_objects`` call; 0 means :data:`SHRINK_BATCH`.
    batch: int

    def count_objects(self, sc: ShrinkControl) -> int: ...

    def scan_objects(self, sc: ShrinkControl) -> int: ...
