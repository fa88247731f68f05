"""The kmem caches XFS allocates from, one of each per simulation.

Models ``xfs_init_zones`` / ``xfs_init_caches`` (linux v3.14 / v6.x fs/xfs/xfs_super.c) and
``xfs_buf_init`` (fs/xfs/xfs_buf.c). A kmem cache is global in the kernel; in the model each
simulation has its own slab allocator, so the caches are looked up by name there and created
on first use.

Object sizes are ``sizeof`` of the structures on a 64-bit build, rounded to the slab's
alignment; they vary by a few cache lines across releases, which changes objects per slab
only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from shrinkfw import Simulation
    from shrinkfw.slab import KmemCache

__all__ = ["XFS_BUF_SIZE", "XFS_DQUOT_SIZE", "XFS_INODE_SIZE", "kmem_cache"]

#: ``sizeof(struct xfs_buf)`` (``"xfs_buf"``), about six cache lines.
XFS_BUF_SIZE: Final = 384
#: ``sizeof(struct xfs_inode)`` with the embedded VFS inode (``"xfs_inode"``).
XFS_INODE_SIZE: Final = 960
#: ``sizeof(struct xfs_dquot)`` (``"xfs_dquot"``).
XFS_DQUOT_SIZE: Final = 488


def kmem_cache(
    sim: Simulation, name: str, size: int, *, reclaimable: bool, account: bool
) -> KmemCache:
    """The simulation's root cache called ``name``, created on first use (``kmem_cache_create``)."""
    for cache in sim.slab.caches:
        if cache.name == name:
            return cache
    return sim.slab.create_cache(name, size, reclaimable=reclaimable, account=account)
