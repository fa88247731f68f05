"""A complete, minimal kernel object cache: slab objects on a list_lru, with a shrinker.

:class:`ObjectCacheShrinker` is the smallest thing that behaves like a real memcg-aware cache
(think of unused negative dentries without the tree): objects are allocated from a slab
cache charged to a memcg, sit on a per-(memcg, node) list_lru, and the shrinker isolates the
least recently used ones and frees them, so reclaim is credited only when whole slab pages
empty. Tests of the core and of plugins use it as a realistic neighbour.
:func:`make_kmem_memcg` creates a memcg its slab objects are charged to, on any profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..list_lru import LRU_REMOVED, LRU_ROTATE, LRUItem, LRUList, LRUStatus
from ..shrinker import DEFAULT_SEEKS, SHRINK_EMPTY, SHRINK_STOP, ShrinkControl, ShrinkerFlags

if TYPE_CHECKING:
    from ..memcg import MemCgroup
    from ..sim import Simulation
    from ..slab import SlabRef

__all__ = ["CachedObject", "ObjectCacheShrinker", "make_kmem_memcg"]


class CachedObject(LRUItem):
    """One cached object: where its slab memory is, and whether it is in use or recently used.

    :ivar ref: the slab the object lives on (and who it is charged to).
    :ivar busy: in use: the isolate callback takes it off the LRU without freeing it.
    :ivar referenced: used since the last scan: rotated once, like ``DCACHE_REFERENCED``.
    """

    __slots__ = ("busy", "nid", "ref", "referenced")

    def __init__(self, ref: SlabRef, nid: int) -> None:
        super().__init__()
        self.ref = ref
        self.nid = nid
        self.busy = False
        self.referenced = False


class ObjectCacheShrinker:
    """A slab cache of objects on a list_lru, and the shrinker that frees them.

    :param sim: the simulation to create the slab cache, the shrinker and the list_lru in.
    :param name: the shrinker's and the slab cache's name.
    :param object_size: bytes per object (192: a dentry).
    :param memcg_aware: per-memcg lists and ``SHRINKER_MEMCG_AWARE``.
    :param needs_fs: ``scan_objects`` returns ``SHRINK_STOP`` without ``__GFP_FS``.
    :param plugin: the plugin name the shrinker is registered under.
    """

    def __init__(
        self,
        sim: Simulation,
        name: str,
        *,
        object_size: int = 192,
        memcg_aware: bool = True,
        needs_fs: bool = True,
        seeks: int = DEFAULT_SEEKS,
        batch: int = 0,
        plugin: str = "shrinkfw.testing",
    ) -> None:
        self.name = name
        self.flags = ShrinkerFlags.NUMA_AWARE
        if memcg_aware:
            self.flags |= ShrinkerFlags.MEMCG_AWARE
        self.seeks = seeks
        self.batch = batch
        self.needs_fs = needs_fs
        self.sim = sim
        self.cache = sim.slab.create_cache(name, object_size, reclaimable=True, account=True)
        self.entry = sim.shrinkers.add(self, plugin=plugin)
        self.lru = sim.new_list_lru(memcg_aware=memcg_aware, shrinker=self.entry, name=name)
        self._empty = SHRINK_EMPTY if sim.profile.arith.shrink_empty else 0
        self._dispose: list[CachedObject] = []
        self.freed = 0

    def alloc(self, memcg: MemCgroup | None, n: int = 1, *, nid: int = 0) -> list[CachedObject]:
        """Allocate ``n`` objects charged to ``memcg`` on ``nid`` and put them on the LRU
        (as an unused dentry is after its last ``dput``). Stops early on ENOMEM."""
        slab, cache, lru = self.sim.slab, self.cache, self.lru
        made: list[CachedObject] = []
        for _ in range(n):
            ref = slab.alloc(cache, memcg, nid)
            if ref is None:
                break
            obj = CachedObject(ref, nid)
            lru.add(obj, nid, ref.memcg)
            made.append(obj)
        return made

    def free(self, obj: CachedObject) -> None:
        """Free ``obj`` outside reclaim (its owner deleted it)."""
        self.lru.del_(obj)
        self.sim.slab.free(self.cache, obj.ref)

    def count_objects(self, sc: ShrinkControl) -> int:
        return self.lru.shrink_count(sc) or self._empty

    def scan_objects(self, sc: ShrinkControl) -> int:
        if self.needs_fs and not sc.gfp_fs:
            return SHRINK_STOP
        dispose = self._dispose
        self.lru.shrink_walk(sc, self._isolate)
        slab, cache = self.sim.slab, self.cache
        freed = len(dispose)
        for obj in dispose:
            slab.free(cache, obj.ref)
        dispose.clear()
        self.freed += freed
        return freed

    def _isolate(self, obj: CachedObject, lst: LRUList) -> LRUStatus:
        if obj.busy:
            lst.isolate(obj)
            return LRU_REMOVED
        if obj.referenced:
            obj.referenced = False
            return LRU_ROTATE
        lst.isolate(obj)
        self._dispose.append(obj)
        return LRU_REMOVED

    def count(self) -> int:
        """Objects on the LRU, all memcgs and nodes."""
        return self.lru.count()

    def __repr__(self) -> str:
        return f"<ObjectCacheShrinker {self.name!r} objects={self.lru.count()}>"


def make_kmem_memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    """Create a memcg whose slab is charged to it, on any profile.

    Newer kernels account a memcg's kernel memory from its creation; v3.x kernels (the seed
    among them) activate kmem accounting only once ``memory.kmem.limit_in_bytes`` is
    written, so on those profiles this writes an effectively unlimited one.
    """
    memcg = sim.memcgs.create(name, parent)
    if not memcg.kmem_active:
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    return memcg
