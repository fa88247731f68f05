"""The shrinkfw-xfs plugin: the hook implementations shrinkfw registers (entry point ``xfs``).

* ``shrinkfw_register_fs_types``: the ``xfs`` filesystem type, whose superblocks get
  :class:`~shrinkfw_xfs.mount.XfsSuperOps` (XFS inode reclaim as the superblock shrinker's
  fs-private objects).
* ``shrinkfw_mount`` / ``shrinkfw_umount``: per mount, the ``xfs-buf:<dev>`` and
  ``xfs-qm:<dev>`` shrinkers and the log worker are set up and torn down.
* ``shrinkfw_evict_inode``: an inode of an xfs superblock evicted by the VFS (the inode
  plugin) becomes a reclaimable XFS inode (``xfs_fs_destroy_inode``).
* ``shrinkfw_register_workloads``: ``metadata-copy-hardlinks`` and ``rm-rf``.

Works alone or with the dcache and inode plugins: it only reacts to xfs superblocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw

from .mount import XfsMount, XfsSuperOps
from .workloads import register_workloads

if TYPE_CHECKING:
    from shrinkfw.vfs import FsTypeRegistry, Inode, SuperBlock
    from shrinkfw.workload import WorkloadRegistry

__all__ = [
    "shrinkfw_evict_inode",
    "shrinkfw_mount",
    "shrinkfw_register_fs_types",
    "shrinkfw_register_workloads",
    "shrinkfw_umount",
]

#: The filesystem type name.
FS_TYPE = "xfs"


@shrinkfw.hookimpl
def shrinkfw_register_fs_types(registry: FsTypeRegistry) -> None:
    """``register_filesystem(&xfs_fs_type)``: a disk filesystem (seeks 2) with fs objects."""
    registry.add(FS_TYPE, super_ops=XfsSuperOps)


@shrinkfw.hookimpl
def shrinkfw_register_workloads(registry: WorkloadRegistry) -> None:
    register_workloads(registry)


@shrinkfw.hookimpl
def shrinkfw_mount(sb: SuperBlock) -> None:
    """``xfs_fs_fill_super`` done: register the mount's buftarg and quota shrinkers."""
    mount = XfsMount.of(sb)
    if mount is not None:
        mount.start(plugin=sb.fs_type.plugin)


@shrinkfw.hookimpl
def shrinkfw_umount(sb: SuperBlock) -> None:
    """``xfs_fs_put_super``: free every XFS object of the mount, unregister its shrinkers."""
    mount = XfsMount.of(sb)
    if mount is not None:
        mount.shutdown()


@shrinkfw.hookimpl
def shrinkfw_evict_inode(inode: Inode) -> None:
    """``evict`` → ``xfs_fs_destroy_inode``: XFS keeps the inode for its own reclaim."""
    mount = XfsMount.of(inode.sb)
    if mount is not None:
        mount.take_over(inode)
