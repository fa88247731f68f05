"""One directory entry (``struct dentry``) and its flag bits.

A :class:`Dentry` is a plain ``__slots__`` record: the dcache (:mod:`shrinkfw_dcache.dcache`)
changes it, the list_lru links it. Flags are small ints, not an ``enum.Flag``, so that the
isolate callback can test and set them without creating objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw import LRUItem

if TYPE_CHECKING:
    from shrinkfw import MemCgroup
    from shrinkfw.slab import SlabRef
    from shrinkfw.vfs import Inode, SuperBlock

__all__ = [
    "DCACHE_LRU_LIST",
    "DCACHE_REFERENCED",
    "DCACHE_SHRINK_LIST",
    "DEAD",
    "DNAME_INLINE_LEN",
    "Dentry",
    "flag_names",
]

#: ``DCACHE_REFERENCED``: used since the shrinker last saw it; one more pass on the LRU.
DCACHE_REFERENCED: Final = 1
#: ``DCACHE_LRU_LIST``: ``d_lru`` is in use, on the superblock LRU or on a dispose list;
#: ``nr_dentry_unused`` counts the dentries with this bit.
DCACHE_LRU_LIST: Final = 2
#: ``DCACHE_SHRINK_LIST``: ``d_lru`` is on a shrinker's private dispose list.
DCACHE_SHRINK_LIST: Final = 4
#: ``d_lockref.count`` of a killed dentry (``lockref_mark_dead``).
DEAD: Final = -128
#: Bytes of the inline name of a 64-bit dentry (192 bytes): names longer than
#: ``DNAME_INLINE_LEN - 1`` get an external name from kmalloc (linux v3.14-v6.7
#: include/linux/dcache.h; 40 from v6.8).
DNAME_INLINE_LEN: Final = 32

_FLAG_NAMES: Final = (
    (DCACHE_REFERENCED, "REFERENCED"),
    (DCACHE_LRU_LIST, "LRU_LIST"),
    (DCACHE_SHRINK_LIST, "SHRINK_LIST"),
)


def flag_names(flags: int) -> str:
    """``"REFERENCED|LRU_LIST"`` for a flags value, ``"0"`` for none."""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    return "|".join(names) if names else "0"


class Dentry(LRUItem):
    """A dentry (``struct dentry``): a name in a directory, with or without an inode.

    :ivar name: the last path component (``d_name``).
    :ivar parent: the parent dentry (``d_parent``); the root is its own parent.
    :ivar children: the cached children (``d_subdirs``), in the order they were added, or
        ``None`` while there are none. Each child holds a reference on its parent.
    :ivar d_inode: the inode, or ``None`` for a negative dentry (a cached "no such file").
    :ivar count: ``d_lockref.count``; :data:`DEAD` once killed.
    :ivar flags: :data:`DCACHE_REFERENCED`, :data:`DCACHE_LRU_LIST`,
        :data:`DCACHE_SHRINK_LIST`.
    :ivar hashed: on the dcache hash, so lookups find it (``!d_unhashed``).
    :ivar sb: the superblock (``d_sb``).
    :ivar nid: the node of its slab page, which picks its list_lru list.
    :ivar ref: the slab object in the ``dentry`` cache.
    :ivar name_ref: the external name's kmalloc object, or ``None`` for an inline name.
    :ivar lock_contended: ``spin_trylock(&dentry->d_lock)`` fails (test injection): the
        isolate callback skips the dentry.
    """

    __slots__ = (
        "children",
        "count",
        "d_inode",
        "flags",
        "hashed",
        "lock_contended",
        "name",
        "name_ref",
        "nid",
        "parent",
        "ref",
        "sb",
    )

    def __init__(self, sb: SuperBlock, name: str, ref: SlabRef, name_ref: SlabRef | None) -> None:
        super().__init__()
        self.sb = sb
        self.name = name
        self.parent: Dentry = self
        self.children: dict[Dentry, None] | None = None
        self.d_inode: Inode | None = None
        self.count = 1
        self.flags = 0
        self.hashed = False
        self.nid = ref.nid
        self.ref = ref
        self.name_ref = name_ref
        self.lock_contended = False

    @property
    def memcg(self) -> MemCgroup | None:
        """The memcg the dentry is charged to now (``mem_cgroup_from_slab_obj``): its list_lru
        list is that memcg's; after a reparent (objcg, v5.9+) it is the parent."""
        return self.ref.memcg

    @property
    def negative(self) -> bool:
        """No inode: a cached lookup failure (``d_is_negative``)."""
        return self.d_inode is None

    @property
    def dead(self) -> bool:
        """Killed: unhashed, off every list, its memory freed."""
        return self.count < 0

    @property
    def is_root(self) -> bool:
        """``IS_ROOT``: the dentry is its own parent."""
        return self.parent is self

    def path(self) -> str:
        """The path from the superblock's root, ``"/"`` for the root."""
        parts: list[str] = []
        d = self
        while d.parent is not d:
            parts.append(d.name)
            d = d.parent
        return "/" + "/".join(reversed(parts))

    def __repr__(self) -> str:
        kind = "negative" if self.d_inode is None else f"ino={self.d_inode.ino}"
        return (
            f"<Dentry {self.path()!r} {kind} count={self.count} "
            f"flags={flag_names(self.flags)}{'' if self.hashed else ' unhashed'}>"
        )
