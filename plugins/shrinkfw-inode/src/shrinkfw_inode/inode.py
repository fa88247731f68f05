"""The in-core inode of the model: ``struct inode`` as the inode cache and its shrinker see it.

:class:`VfsInode` extends the core's :class:`shrinkfw.vfs.Inode` (superblock, number, memcg,
node, ``i_count``) with what ``inode_lru_isolate`` tests: the ``i_state`` bits, the page cache
of its mapping, metadata buffers, the link count, the slab object it lives in, and its
``i_lru`` link (the ``lru_link`` slot a :class:`shrinkfw.ListLRU` item needs).

It cannot also subclass :class:`shrinkfw.LRUItem`: both bases have non-empty ``__slots__``, and
CPython refuses such a multiple inheritance ("multiple bases have instance lay-out
conflict"). The class composes the link instead: a list_lru item only needs a writable
``lru_link`` attribute that is ``None`` while it is on no list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from shrinkfw import MemCgroup
from shrinkfw.vfs import Inode

from .state import InodeState, state_names

if TYPE_CHECKING:
    from shrinkfw import LRUList
    from shrinkfw.slab import SlabRef
    from shrinkfw.vfs import SuperBlock

__all__ = ["PageKey", "VfsInode"]

#: Where a part of an inode's page cache is charged: (memcg, node) of the pages' lruvec.
PageKey: TypeAlias = tuple[MemCgroup, int]


class VfsInode(Inode):
    """One in-core inode (``struct inode`` plus its ``address_space``).

    :ivar state: ``i_state``, an ``int`` of :mod:`shrinkfw_inode.state` bits.
    :ivar nlink: ``i_nlink``; 0 once unlinked, so the last ``iput`` evicts it
        (``generic_drop_inode``).
    :ivar nrpages: ``i_data.nrpages``: pages of page cache.
    :ivar mapping: where those pages are charged, ``{(memcg, nid): pages}``, or ``None`` when
        the mapping is empty. The kernel charges each page to the memcg that read it; the
        model keeps one count per (memcg, node) lruvec.
    :ivar has_buffers: metadata buffers are attached (``inode_has_buffers``).
    :ivar lock_contended: ``spin_trylock(&inode->i_lock)`` fails in the isolate callback
        (failure injection for tests).
    :ivar ref: the slab object in ``inode_cache`` (who it is charged to, which node);
        ``None`` once the inode is destroyed.
    :ivar lru_link: the list of ``sb.inode_lru`` the inode is on (``i_lru``), written by the
        list_lru only.
    """

    __slots__ = (
        "has_buffers",
        "lock_contended",
        "lru_link",
        "mapping",
        "nlink",
        "nrpages",
        "ref",
        "state",
    )

    def __init__(
        self, sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int, ref: SlabRef
    ) -> None:
        super().__init__(sb, ino, memcg, nid)
        self.ref: SlabRef | None = ref
        self.state = 0
        self.nlink = 1
        self.nrpages = 0
        self.mapping: dict[PageKey, int] | None = None
        self.has_buffers = False
        self.lock_contended = False
        self.lru_link: LRUList | None = None

    @property
    def on_lru(self) -> bool:
        """The inode is on its superblock's inode LRU (``!list_empty(&inode->i_lru)``)."""
        link = self.lru_link
        return link is not None and self in link

    @property
    def flags(self) -> InodeState:
        """``state`` as named bits."""
        return InodeState(self.state)

    def __repr__(self) -> str:
        return (
            f"<VfsInode {self.sb.s_id} #{self.ino} count={self.i_count} "
            f"state={state_names(self.state)} nrpages={self.nrpages}>"
        )
