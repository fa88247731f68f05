"""The inode plugin's hook implementations (the module registered as the ``inode`` plugin).

What ``inode_init`` and fs/inode.c give every filesystem becomes hooks: the ``inode_cache``
slab cache and the two workloads are set up with the simulation; every mounted superblock
gets its inode state (``sb.private["inode"]``); ``iget`` / ``iput`` and the superblock
shrinker's ``prune_icache_sb`` call into :mod:`shrinkfw_inode.icache`; unmounting evicts the
superblock's inodes.

Three more hooks keep the model's books: a wrapper around ``shrinkfw_shrink_slab`` charges
the page cache that page reclaim took to the inodes that owned it before the shrinkers
count (the kernel learns it in ``__remove_mapping``; the core's page LRUs keep no owners),
``shrinkfw_reclaim_done`` moves kswapd's page steals to ``kswapd_inodesteal``, and the memcg
lifecycle hooks follow page cache the core moves to a parent memcg.

Per-simulation state hangs off the simulation's workload registry (the ``start`` of this
plugin's workloads carries the :class:`~shrinkfw_inode.icache.Icache`), so it lives and dies
with the simulation: nothing is kept at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import shrinkfw
from shrinkfw import PluginError, UsageError

from .errors import InodeAllocError
from .icache import Icache
from .inode import VfsInode
from .workloads import CREATE_OPEN_CLOSE, Starter, register

if TYPE_CHECKING:
    from collections.abc import Generator

    from shrinkfw import MemCgroup, ShrinkControl, Simulation
    from shrinkfw.vfs import Inode, SuperBlock
    from shrinkfw.workload import WorkloadRegistry

__all__ = [
    "ReclaimRecordLike",
    "get_icache",
    "shrinkfw_iget",
    "shrinkfw_iput",
    "shrinkfw_memcg_free",
    "shrinkfw_memcg_offline",
    "shrinkfw_mount",
    "shrinkfw_prune_icache_sb",
    "shrinkfw_reclaim_done",
    "shrinkfw_register_workloads",
    "shrinkfw_shrink_slab",
    "shrinkfw_umount",
]


class ReclaimRecordLike(Protocol):
    """The fields of the core's ``ReclaimRecord`` this plugin reads."""

    @property
    def reason(self) -> str: ...

    @property
    def shrink_slab_calls(self) -> int: ...


def get_icache(sim: Simulation) -> Icache:
    """The inode cache of ``sim``.

    :raises PluginError: the inode plugin is not registered in ``sim``.
    """
    try:
        start = sim.workloads.get(CREATE_OPEN_CLOSE).start
    except UsageError:
        start = None
    if not isinstance(start, Starter):
        raise PluginError(
            "plugin 'inode': this simulation was built without the inode plugin; pass "
            "plugins=[shrinkfw_inode.plugin] to Simulation.build (or install shrinkfw-inode)"
        )
    return start.icache


# -- setup -------------------------------------------------------------------------------------


@shrinkfw.hookimpl
def shrinkfw_register_workloads(registry: WorkloadRegistry, sim: Simulation) -> None:
    """``inode_init``: the ``inode_cache`` slab cache (``SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT``),
    and the ``create-open-close`` and ``read-into-page-cache`` workloads."""
    register(registry, Icache(sim))


@shrinkfw.hookimpl
def shrinkfw_mount(sb: SuperBlock, sim: Simulation) -> None:
    """A new superblock: an empty inode hash and LRU count (``alloc_super``)."""
    get_icache(sim).supers(sb)


@shrinkfw.hookimpl
def shrinkfw_umount(sb: SuperBlock, sim: Simulation) -> None:
    """``generic_shutdown_super`` → ``evict_inodes``: every inode of ``sb`` goes."""
    get_icache(sim).supers(sb).evict_all()


# -- references --------------------------------------------------------------------------------


@shrinkfw.hookimpl
def shrinkfw_iget(
    sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int, sim: Simulation
) -> VfsInode:
    """``iget_locked``: see :meth:`Icache.iget`.

    :raises InodeAllocError: the ``inode_cache`` allocation failed (ENOMEM).
    """
    inode = get_icache(sim).iget(sb, ino, memcg, nid)
    if inode is None:
        raise InodeAllocError(
            f"iget of {sb.s_id} #{ino}: inode_cache allocation failed (ENOMEM) for "
            f"memcg {memcg.path if memcg is not None else '/'} on node {nid}"
        )
    return inode


@shrinkfw.hookimpl
def shrinkfw_iput(inode: Inode, sim: Simulation) -> bool | None:
    """``iput``: see :meth:`Icache.iput`. Inodes this plugin did not make are left to the
    next implementation."""
    if not isinstance(inode, VfsInode):
        return None
    get_icache(sim).iput(inode)
    return True


# -- the superblock shrinker's inode share ----------------------------------------------------


@shrinkfw.hookimpl
def shrinkfw_prune_icache_sb(sb: SuperBlock, sc: ShrinkControl, sim: Simulation) -> int:
    """``prune_icache_sb``: see :meth:`~shrinkfw_inode.icache.SuperInodes.prune`."""
    return get_icache(sim).supers(sb).prune(sc)


@shrinkfw.hookimpl(wrapper=True)
def shrinkfw_shrink_slab(sc: ShrinkControl, sim: Simulation) -> Generator[None, int, int]:
    """Before a ``shrink_slab`` pass counts the caches, charge the page cache page reclaim took
    to its inodes (v5.15+: inodes whose last page went join the LRU), then run the pass."""
    icache = get_icache(sim)
    icache.shrink_slab_enter(sc)
    try:
        return (yield)
    finally:
        icache.shrink_slab_exit()


@shrinkfw.hookimpl
def shrinkfw_reclaim_done(record: ReclaimRecordLike, sim: Simulation) -> None:
    """Book the page cache stolen from inodes during a kswapd run as ``kswapd_inodesteal``."""
    get_icache(sim).reclaim_done(record.reason, record.shrink_slab_calls)


# -- memcg lifecycle ---------------------------------------------------------------------------


@shrinkfw.hookimpl
def shrinkfw_memcg_offline(memcg: MemCgroup, sim: Simulation) -> None:
    """After the core's offline work: steals of the seed's flush stay ``pginodesteal``;
    where the era moves a dead memcg's pages to its parent (v3.14), their owners follow."""
    icache = get_icache(sim)
    icache.reclaim_done("memcg_offline", 0)
    parent = memcg.parent
    if parent is not None and not sim.memcgs.policy.user_pins_dying:
        icache.pages.reparent(memcg, parent)


@shrinkfw.hookimpl
def shrinkfw_memcg_free(memcg: MemCgroup, sim: Simulation) -> None:
    """A freed memcg's leftover pages go to its parent (the core moves them right after)."""
    get_icache(sim).pages.reparent(memcg, memcg.parent or sim.memcgs.root)
