"""The hook implementations of the dcache plugin (entry point ``dcache``).

The superblock shrinker of the core (``super_cache_scan``) calls
:func:`shrinkfw_prune_dcache_sb` with the dentries' share of its budget; unmounting calls
:func:`shrinkfw_umount`. The plugin registers no shrinker of its own: dentries are one of the
caches of each superblock's ``s_shrink``, as in the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw

from .dcache import PRIVATE_KEY, Dcache
from .workloads import (
    NEGATIVE_DENTRY_STORM,
    PATH_WALK,
    STORM_PARAMS,
    WALK_PARAMS,
    start_negative_dentry_storm,
    start_path_walk,
)

if TYPE_CHECKING:
    from shrinkfw import ShrinkControl
    from shrinkfw.vfs import SuperBlock
    from shrinkfw.workload import WorkloadRegistry

__all__ = ["shrinkfw_prune_dcache_sb", "shrinkfw_register_workloads", "shrinkfw_umount"]


@shrinkfw.hookimpl
def shrinkfw_prune_dcache_sb(sb: SuperBlock, sc: ShrinkControl) -> int:
    """``prune_dcache_sb(sb, sc)`` (linux v3.14 / v6.7 fs/dcache.c): see
    :meth:`shrinkfw_dcache.dcache.Dcache.prune`. A superblock with no dentry yet has
    nothing to prune."""
    state = sb.private.get(PRIVATE_KEY)
    if not isinstance(state, Dcache):
        return 0
    return state.prune(sc)


@shrinkfw.hookimpl(tryfirst=True)
def shrinkfw_umount(sb: SuperBlock) -> None:
    """``shrink_dcache_for_umount`` (linux v3.14 / v6.7 fs/dcache.c): free every dentry of
    ``sb``; see :meth:`shrinkfw_dcache.dcache.Dcache.umount`.

    ``tryfirst``: ``generic_shutdown_super`` prunes the dcache before ``evict_inodes``, so
    the inodes dentries held are released before the inode cache is emptied."""
    state = sb.private.get(PRIVATE_KEY)
    if isinstance(state, Dcache):
        state.umount()


@shrinkfw.hookimpl
def shrinkfw_register_workloads(registry: WorkloadRegistry) -> None:
    """``negative-dentry-storm`` and ``path-walk``."""
    registry.add(
        NEGATIVE_DENTRY_STORM,
        start_negative_dentry_storm,
        description="stat() of names that do not exist: negative dentries charged to the memcg",
        needs_fs=True,
        params=dict(STORM_PARAMS),
    )
    registry.add(
        PATH_WALK,
        start_path_walk,
        description="walk random paths of a directory tree: positive dentries with inodes",
        needs_fs=True,
        params=dict(WALK_PARAMS),
    )
