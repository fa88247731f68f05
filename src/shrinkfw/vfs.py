"""Superblocks and the superblock shrinker that composes a filesystem's caches.

Models fs/super.c: every mounted filesystem has one shrinker (``sb->s_shrink``) that frees
unused dentries, then unused inodes, then the filesystem's private cached objects, splitting
each ``scan_objects`` budget between them in proportion to their counts
(``super_cache_count`` / ``super_cache_scan``).

The caches themselves come from plugins, through hooks: the dcache plugin implements
``shrinkfw_prune_dcache_sb``, the inode plugin ``shrinkfw_prune_icache_sb``, and a filesystem
type's :class:`SuperOperations` answers ``nr_cached_objects`` / ``free_cached_objects`` (XFS
inode reclaim). Without a dcache plugin a superblock simply has no dentries.

Unmounting follows the seed's 07/13 rule: the shrinker and the list_lrus are torn down
outside any reclaim walk. If a ``super_cache_scan`` of the superblock is running, the
teardown waits until it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

import attrs
import pluggy

from ._named import NamedRegistry
from .errors import UsageError
from .shrinker import DEFAULT_SEEKS, SHRINK_EMPTY, SHRINK_STOP, ShrinkControl, ShrinkerFlags

if TYPE_CHECKING:
    from collections.abc import Callable

    from .list_lru import ListLRU
    from .memcg import MemCgroup
    from .registry import ShrinkerEntry
    from .sim import Simulation

__all__ = [
    "SUPER_BATCH",
    "FsType",
    "FsTypeRegistry",
    "Inode",
    "SuperBlock",
    "SuperOperations",
    "SuperShrinker",
    "Vfs",
    "mult_frac",
]

#: ``s_shrink.batch`` of every superblock (``alloc_super``).
SUPER_BATCH: Final = 1024
#: ``vm.vfs_cache_pressure`` default.
DEFAULT_VFS_CACHE_PRESSURE: Final = 100


def mult_frac(x: int, numer: int, denom: int) -> int:
    """``mult_frac(x, numer, denom)``: ``x * numer / denom`` without overflowing ``x * numer``."""
    quot, rem = divmod(x, denom)
    return quot * numer + (rem * numer) // denom


class SuperOperations(Protocol):
    """The fs-private cache callbacks of ``struct super_operations`` (XFS inode reclaim).

    Both take the ``shrink_control`` from the seed's 06/13 on: ``sc.nid`` and ``sc.memcg``
    say which part of the cache is asked for (XFS ignores the memcg and answers for the whole
    filesystem); ``free_cached_objects`` scans up to ``sc.nr_to_scan`` objects.
    """

    def nr_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int: ...

    def free_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int: ...


class Inode:
    """An in-core inode as the core knows it: its superblock, number and reference count.

    The inode plugin subclasses it with state bits, page cache and its LRU link; without
    that plugin the core hands out these bare inodes so dentries can still point at one.
    """

    __slots__ = ("i_count", "ino", "memcg", "nid", "sb")

    def __init__(self, sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int) -> None:
        self.sb = sb
        self.ino = ino
        self.memcg = memcg
        self.nid = nid
        self.i_count = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sb.s_id} #{self.ino} count={self.i_count}>"


@attrs.frozen(kw_only=True)
class FsType:
    """A filesystem type plugins register (``struct file_system_type``).

    :ivar name: ``"xfs"``, ``"ext4"``, ``"proc"``.
    :ivar plugin: the registering plugin.
    :ivar zero_seek: memory-only filesystem whose objects cost no IO to recreate: its
        superblock shrinker gets ``seeks = 0`` on kernels with zero-seek shrinkers
        (procfs, kernfs).
    :ivar super_ops: builds the fs-private operations of a new superblock, or ``None``.
    """

    name: str
    plugin: str
    zero_seek: bool = False
    super_ops: Callable[[SuperBlock], SuperOperations] | None = None


class FsTypeRegistry(NamedRegistry[FsType]):
    """Filesystem types by name (``register_filesystem``)."""

    kind = "filesystem type"

    def add(
        self,
        name: str,
        *,
        zero_seek: bool = False,
        super_ops: Callable[[SuperBlock], SuperOperations] | None = None,
        plugin: str | None = None,
    ) -> FsType:
        return self._add(
            name,
            lambda owner: FsType(name=name, plugin=owner, zero_seek=zero_seek, super_ops=super_ops),
            plugin,
        )


class SuperShrinker:
    """``sb->s_shrink``: counts and scans one superblock's dentries, inodes and fs objects."""

    __slots__ = ("_sb", "batch", "flags", "name", "seeks")

    #: the kernel function trace lines name (``%pS`` of ``scan_objects``)
    scan_fn = "super_cache_scan"

    def __init__(self, s_id: str, *, seeks: int) -> None:
        self._sb: SuperBlock | None = None
        self.name = f"sb-{s_id}"
        self.flags = ShrinkerFlags.NUMA_AWARE | ShrinkerFlags.MEMCG_AWARE
        self.seeks = seeks
        self.batch = SUPER_BATCH

    @property
    def sb(self) -> SuperBlock:
        assert self._sb is not None, "the superblock is set up before the shrinker runs"
        return self._sb

    def count_objects(self, sc: ShrinkControl) -> int:
        """``super_cache_count`` (linux v3.14 fs/super.c; v4.19 adds ``SHRINK_EMPTY``)."""
        sb = self.sb
        if not sb.born:
            return 0
        total = sb.dentry_lru.shrink_count(sc) + sb.inode_lru.shrink_count(sc)
        if sb.s_op is not None:
            total += sb.s_op.nr_cached_objects(sb, sc)
        if not total:
            return SHRINK_EMPTY if sb.sim.profile.arith.shrink_empty else 0
        return mult_frac(total, sb.sim.vfs.vfs_cache_pressure, 100)

    def scan_objects(self, sc: ShrinkControl) -> int:
        """``super_cache_scan`` (linux v3.14 fs/super.c; v4.0 "always scan at least one
        object of each type")."""
        if not sc.gfp_fs:
            return SHRINK_STOP
        sb = self.sb
        if not sb.born or sb.dying:
            return SHRINK_STOP  # trylock_super / grab_super_passive failed
        sim = sb.sim
        plus = 1 if sim.profile.super_scan_plus_one else 0
        fs_count = sb.s_op.nr_cached_objects(sb, sc) if sb.s_op is not None else 0
        inodes = sb.inode_lru.shrink_count(sc)
        dentries = sb.dentry_lru.shrink_count(sc)
        total = dentries + inodes + fs_count + 1
        nr = sc.nr_to_scan
        dentries = mult_frac(nr, dentries, total)
        inodes = mult_frac(nr, inodes, total)
        fs_objects = mult_frac(nr, fs_count, total)
        hooks = sim.hooks
        sb.in_scan += 1
        try:
            sc.nr_to_scan = dentries + plus
            freed = hooks.prune_dcache_sb(sb, sc, sim)
            sc.nr_to_scan = inodes + plus
            freed += hooks.prune_icache_sb(sb, sc, sim)
            # gated on the count, not the share: a share that rounds to 0 still calls it
            if fs_count and sb.s_op is not None:
                sc.nr_to_scan = fs_objects + plus
                freed += sb.s_op.free_cached_objects(sb, sc)
        finally:
            sb.in_scan -= 1
            sb.vfs.release(sb)
        sb.last_split = (dentries + plus, inodes + plus, fs_objects + plus if fs_count else 0)
        return freed


@attrs.define(slots=True, eq=False)
class SuperBlock:
    """A mounted filesystem (``struct super_block``).

    :ivar s_id: ``"<type>:<device>"``, as in the kernel's ``sb-<type>:<dev>`` shrinker names.
    :ivar dentry_lru: ``s_dentry_lru``, memcg-aware.
    :ivar inode_lru: ``s_inode_lru``, memcg-aware.
    :ivar s_op: fs-private cache operations, if the type has any.
    :ivar shrinker: the registered ``s_shrink``.
    :ivar private: room for plugins' per-superblock state, keyed by plugin name.
    :ivar last_split: the (dentries, inodes, fs objects) budgets of the last scan.
    """

    s_id: str
    fs_type: FsType
    sim: Simulation
    vfs: Vfs
    dentry_lru: ListLRU
    inode_lru: ListLRU
    s_op: SuperOperations | None = None
    shrinker: ShrinkerEntry | None = None
    born: bool = False
    dying: bool = False
    torn_down: bool = False
    in_scan: int = 0
    private: dict[str, object] = attrs.field(factory=dict)
    last_split: tuple[int, int, int] = (0, 0, 0)

    def __repr__(self) -> str:
        return f"<SuperBlock {self.s_id}>"


class Vfs:
    """The mounted superblocks of one simulation and the filesystem types it knows."""

    __slots__ = ("fs_types", "sim", "supers", "vfs_cache_pressure")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.fs_types = FsTypeRegistry()
        self.supers: list[SuperBlock] = []
        self.vfs_cache_pressure = DEFAULT_VFS_CACHE_PRESSURE

    def mount(self, fs_type: str, device: str) -> SuperBlock:
        """Mount a filesystem: ``sget`` + ``fill_super``, then register ``s_shrink``.

        The superblock's dentry and inode LRUs are memcg-aware and tied to its shrinker, so
        a memcg's first dentry on a node sets the shrinker's bit in that memcg's map.
        """
        sim = self.sim
        kind = self.fs_types.get(fs_type)
        s_id = f"{fs_type}:{device}"
        if any(sb.s_id == s_id for sb in self.supers):
            raise UsageError(f"{s_id} is already mounted")
        zero = kind.zero_seek and sim.profile.arith.zero_seeks
        shrinker = SuperShrinker(s_id, seeks=0 if zero else DEFAULT_SEEKS)
        entry = sim.shrinkers.add(shrinker, plugin=kind.plugin)
        sb = SuperBlock(
            s_id=s_id,
            fs_type=kind,
            sim=sim,
            vfs=self,
            dentry_lru=sim.new_list_lru(memcg_aware=True, shrinker=entry, name=f"{s_id}:dentry"),
            inode_lru=sim.new_list_lru(memcg_aware=True, shrinker=entry, name=f"{s_id}:inode"),
            shrinker=entry,
        )
        shrinker._sb = sb
        if kind.super_ops is not None:
            sb.s_op = kind.super_ops(sb)
        sb.born = True
        self.supers.append(sb)
        sim.hooks.mount(sb, sim)
        return sb

    def umount(self, sb: SuperBlock) -> None:
        """Unmount: stop new scans, let plugins free their objects, then tear down.

        Models ``deactivate_locked_super`` / ``generic_shutdown_super``: the shrinker is
        unregistered first, the caches are emptied (``shrinkfw_umount``), and the list_lrus and
        the superblock are destroyed. If a scan of this superblock is running (the caller is
        inside reclaim), emptying and destruction both wait until the scan has returned: in
        the kernel ``s_umount`` keeps the two apart.
        """
        if sb.dying:
            raise UsageError(f"{sb.s_id} is already being unmounted")
        sb.dying = True
        sim = self.sim
        if sb.shrinker is not None:
            sim.shrinkers.remove(sb.shrinker)
        self.release(sb)

    def iget(self, sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int = 0) -> Inode:
        """``iget``: the inode ``ino`` of ``sb`` with one more reference.

        :raises AllocationError: the inode could not be allocated (``-ENOMEM``).
        """
        return self.sim.hooks.iget(sb, ino, memcg, nid, self.sim)

    def iput(self, inode: Inode) -> None:
        """``iput``: drop a reference; the inode plugin decides what the last one does."""
        self.sim.hooks.iput(inode, self.sim)

    def evict_inode(self, inode: Inode) -> None:
        """Announce an eviction so the filesystem can take the inode over (XFS)."""
        self.sim.hooks.evict_inode(inode, self.sim)

    def release(self, sb: SuperBlock) -> None:
        """Finish an unmount once no scan holds the superblock (``destroy_super`` deferred
        out of the walk, as the seed's 07/13 requires)."""
        if not sb.dying or sb.in_scan or sb.torn_down:
            return
        sb.torn_down = True
        sim = self.sim
        sim.hooks.umount(sb, sim)
        for lru in (sb.dentry_lru, sb.inode_lru):
            if lru in sim.lrus:
                sim.lrus.remove(lru)
                sim.lru_owner.pop(lru, None)
        self.supers.remove(sb)


# -- the built-in plugin part: filesystem types without private caches ---------------------------

hookimpl = pluggy.HookimplMarker("shrinkfw")


@hookimpl
def shrinkfw_register_fs_types(registry: FsTypeRegistry) -> None:
    """``ext4`` (a disk filesystem without fs-private caches) and ``proc`` (memory-only,
    zero-seek on v4.20+ kernels) are always available."""
    registry.add("ext4", plugin="shrinkfw.vfs")
    registry.add("proc", zero_seek=True, plugin="shrinkfw.vfs")


@hookimpl(trylast=True)
def shrinkfw_iget(sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int) -> Inode:
    """Without an inode plugin: a bare inode per call that only counts references."""
    inode = Inode(sb, ino, memcg, nid)
    inode.i_count = 1
    return inode


@hookimpl(trylast=True)
def shrinkfw_iput(inode: Inode) -> bool:
    inode.i_count -= 1
    return True


@hookimpl(trylast=True)
def shrinkfw_prune_dcache_sb() -> int:
    """Without a dcache plugin a superblock has no dentries to prune."""
    return 0


@hookimpl(trylast=True)
def shrinkfw_prune_icache_sb() -> int:
    """Without an inode plugin a superblock has no inodes to prune."""
    return 0
