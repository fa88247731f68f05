"""The ``inode->i_state`` bits the inode cache tests, with the kernel's values.

Models the ``I_*`` flags of ``include/linux/fs.h`` (linux v3.14; the values below are the same
in v6.x, which adds more bits the model does not use). The model stores ``i_state`` as a
plain ``int`` on :class:`~shrinkfw_inode.inode.VfsInode` and tests it with these module
constants: an ``enum.IntFlag`` operation costs about a microsecond in CPython 3.11, which the
isolate callback cannot afford per object. :class:`InodeState` renders a state for people.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "I_CLEAR",
    "I_DIRTY",
    "I_DIRTY_DATASYNC",
    "I_DIRTY_PAGES",
    "I_DIRTY_SYNC",
    "I_FREEING",
    "I_NEW",
    "I_REFERENCED",
    "I_SYNC",
    "I_WILL_FREE",
    "InodeState",
    "state_names",
]

#: Inode metadata is dirty (``I_DIRTY_SYNC``).
I_DIRTY_SYNC: Final = 1 << 0
#: Data-related metadata is dirty (``I_DIRTY_DATASYNC``).
I_DIRTY_DATASYNC: Final = 1 << 1
#: The mapping has dirty pages (``I_DIRTY_PAGES``).
I_DIRTY_PAGES: Final = 1 << 2
#: Being set up by the filesystem after ``iget_locked`` (``I_NEW``).
I_NEW: Final = 1 << 3
#: Written back on the way out of an unmounting filesystem (``I_WILL_FREE``).
I_WILL_FREE: Final = 1 << 4
#: On its way to ``evict`` (``I_FREEING``).
I_FREEING: Final = 1 << 5
#: ``clear_inode`` ran: the inode is dead (``I_CLEAR``).
I_CLEAR: Final = 1 << 6
#: Writeback is running (``I_SYNC``).
I_SYNC: Final = 1 << 7
#: Used since the shrinker last looked: one more pass on the LRU (``I_REFERENCED``).
I_REFERENCED: Final = 1 << 8
#: Any dirty bit (``I_DIRTY``; v4.x+ ``I_DIRTY_ALL`` adds ``I_DIRTY_TIME``, not modelled).
I_DIRTY: Final = I_DIRTY_SYNC | I_DIRTY_DATASYNC | I_DIRTY_PAGES


class InodeState(enum.IntFlag):
    """``i_state`` for display: ``InodeState(inode.state)`` prints the set bits by name."""

    NONE = 0
    DIRTY_SYNC = I_DIRTY_SYNC
    DIRTY_DATASYNC = I_DIRTY_DATASYNC
    DIRTY_PAGES = I_DIRTY_PAGES
    NEW = I_NEW
    WILL_FREE = I_WILL_FREE
    FREEING = I_FREEING
    CLEAR = I_CLEAR
    SYNC = I_SYNC
    REFERENCED = I_REFERENCED


def state_names(state: int) -> str:
    """``"REFERENCED"``, ``"FREEING|CLEAR"``, or ``"0"`` for no bit."""
    names = [flag.name for flag in InodeState if flag.name and state & flag.value]
    return "|".join(names) or "0"
