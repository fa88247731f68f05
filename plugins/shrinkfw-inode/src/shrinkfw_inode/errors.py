"""The inode cache's exceptions."""

from __future__ import annotations

from shrinkfw import AllocationError

__all__ = ["InodeAllocError"]


class InodeAllocError(AllocationError):
    """``iget`` could not allocate an inode: the ``inode_cache`` slab allocation failed
    (a memcg at its limit that reclaim could not bring down, or no free memory): the kernel's
    ``iget_locked`` returning ``NULL``, ``-ENOMEM`` for the caller.

    Raised by the ``shrinkfw_iget`` hook as its spec asks; callers catch
    :class:`shrinkfw.AllocationError`.
    """
