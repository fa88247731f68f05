"""The inode cache's exceptions."""

from __future__ import annotations

from shrinkfw import ShrinkfwError

__all__ = ["InodeAllocError"]


class InodeAllocError(ShrinkfwError, MemoryError):
    """``iget`` could not allocate an inode: the ``inode_cache`` slab allocation failed
    (a memcg at its limit that reclaim could not bring down, or no free memory): the kernel's
    ``iget_locked`` returning ``NULL``, ``-ENOMEM`` for the caller.

    Raised by the ``shrinkfw_iget`` hook, whose spec has no way to say "no inode": a
    ``None`` result would let the core's default hand out a bare inode instead.
    """
