"""Which inode owns the file pages of each (memcg, node): the model's ``address_space``.

The core keeps page cache as counts per (memcg, node) lruvec, without owners: page reclaim
takes pages off a lruvec and never says whose they were. An inode needs to know its own
pages, though: ``inode_lru_isolate`` tests ``nrpages`` (v3.14 invalidates them, v5.15+ keeps
such inodes off the LRU), and in v5.15+ an inode goes back on the LRU when its last page
leaves the page cache (``__remove_mapping`` / ``filemap_remove_folio`` call ``inode_add_lru``
once ``mapping_shrinkable``). :class:`PageCache` records, for each (memcg, node), the inodes
that hold pages there and how many, in the order of their last read, and
:meth:`PageCache.reconcile` charges pages that vanished from a lruvec to its owners.

Attribution rule (a documented approximation): when a lruvec holds fewer file pages than its
inodes own, the difference was reclaimed from inode pages, taken from the least recently
read inode first (the kernel's LRU takes the coldest pages; re-reading an inode moves it to
the hot end, as ``mark_page_accessed`` moves its pages). File pages of the lruvec that no
inode owns (another workload's page cache) are assumed to go after the inodes' only when the
count says so, i.e. the rule charges the fewest inode pages that explain the count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shrinkfw.lruvec import LruKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import MemCgroup, Simulation

    from .inode import PageKey, VfsInode

__all__ = ["PageCache"]

_FILE = LruKind.FILE


class _Owners:
    """The inodes holding pages on one (memcg, node) lruvec, coldest first."""

    __slots__ = ("inodes", "pages")

    def __init__(self) -> None:
        self.inodes: dict[VfsInode, None] = {}
        self.pages = 0


class PageCache:
    """Page ownership for one simulation.

    :param sim: the simulation whose lruvecs hold the pages.
    :param on_emptied: called with an inode whose last page was reclaimed by
        :meth:`reconcile` (the v5.15+ ``inode_add_lru`` of ``__remove_mapping``).
    """

    __slots__ = ("_on_emptied", "_owned", "_sim")

    def __init__(self, sim: Simulation, on_emptied: Callable[[VfsInode], None]) -> None:
        self._sim = sim
        self._on_emptied = on_emptied
        self._owned: dict[PageKey, _Owners] = {}

    def owned(self, memcg: MemCgroup, nid: int) -> int:
        """File pages of (memcg, nid) the model's inodes own."""
        owners = self._owned.get((memcg, nid))
        return owners.pages if owners is not None else 0

    def owners(self, memcg: MemCgroup, nid: int) -> list[VfsInode]:
        """The inodes with pages on (memcg, nid), least recently read first."""
        owners = self._owned.get((memcg, nid))
        return list(owners.inodes) if owners is not None else []

    # -- adding, touching, dropping pages --------------------------------------------------

    def add(self, inode: VfsInode, memcg: MemCgroup, nid: int, n: int) -> None:
        """``n`` new pages of ``inode`` were put on (memcg, nid)'s file LRU
        (``filemap_add_folio`` after ``sim.alloc_user_pages``)."""
        if n <= 0:
            return
        key = (memcg, nid)
        owners = self._owned.get(key)
        if owners is None:
            owners = self._owned[key] = _Owners()
        owners.pages += n
        inodes = owners.inodes
        inodes.pop(inode, None)
        inodes[inode] = None
        mapping = inode.mapping
        if mapping is None:
            mapping = inode.mapping = {}
        mapping[key] = mapping.get(key, 0) + n
        inode.nrpages += n

    def touch(self, inode: VfsInode, n: int) -> int:
        """A read hit ``n`` cached pages of ``inode``: ``mark_page_accessed`` on them.

        The pages are aged on their lruvecs (``Lruvec.touch``) and the inode moves to the hot
        end of each lruvec's owners. Returns the pages touched (at most ``nrpages``)."""
        mapping = inode.mapping
        if mapping is None or n <= 0:
            return 0
        sim = self._sim
        left = n
        for key, count in mapping.items():
            take = min(count, left)
            memcg, nid = key
            sim.lruvec(memcg, nid).touch(_FILE, take)
            inodes = self._owned[key].inodes
            del inodes[inode]
            inodes[inode] = None
            left -= take
            if not left:
                break
        return n - left

    def release(self, inode: VfsInode) -> list[tuple[MemCgroup, int, int]]:
        """Forget every page of ``inode``; return ``[(memcg, nid, pages)]`` for the caller to
        free from the lruvecs (invalidation, truncation). ``nrpages`` becomes 0."""
        mapping = inode.mapping
        if mapping is None:
            return []
        out = []
        for key, count in mapping.items():
            self._forget(inode, key, count)
            out.append((key[0], key[1], count))
        inode.mapping = None
        inode.nrpages = 0
        return out

    def _forget(self, inode: VfsInode, key: PageKey, n: int) -> None:
        owners = self._owned[key]
        owners.pages -= n
        del owners.inodes[inode]
        if not owners.inodes:
            del self._owned[key]

    # -- what page reclaim did ---------------------------------------------------------------

    def reconcile(self, memcg: MemCgroup, nid: int) -> int:
        """Charge to the inodes the file pages (memcg, nid) lost since the last look.

        If the lruvec holds fewer file pages than its inodes own, the shortfall was reclaimed
        (or freed) from inode pages, coldest inode first. Inodes whose last page went are
        handed to ``on_emptied``. Returns the pages charged. O(1) when nothing was lost.
        """
        key = (memcg, nid)
        owners = self._owned.get(key)
        if owners is None:
            return 0
        deficit = owners.pages - self._sim.lruvec(memcg, nid).file_pages
        if deficit <= 0:
            return 0
        charged = 0
        emptied: list[VfsInode] = []
        for inode in list(owners.inodes):
            mapping = inode.mapping
            assert mapping is not None
            have = mapping[key]
            take = min(have, deficit)
            deficit -= take
            charged += take
            inode.nrpages -= take
            owners.pages -= take
            if take == have:
                del mapping[key]
                del owners.inodes[inode]
                if not mapping:
                    inode.mapping = None
                    emptied.append(inode)
            else:
                mapping[key] = have - take
            if not deficit:
                break
        if not owners.inodes:
            del self._owned[key]
        self._sim.vmstat["inode_pagecache_reclaimed"] += charged
        for inode in emptied:
            self._on_emptied(inode)
        return charged

    def reconcile_memcg(self, memcg: MemCgroup) -> int:
        """:meth:`reconcile` every node of ``memcg``."""
        return sum(self.reconcile(memcg, nid) for nid in range(self._sim.nr_nodes))

    def reconcile_subtree(self, target: MemCgroup | None) -> int:
        """:meth:`reconcile` every (memcg, node) with inode pages in ``target``'s subtree
        (everywhere for ``None``), in the order the pairs first got pages."""
        total = 0
        for memcg, nid in list(self._owned):
            if target is None or memcg.is_descendant_of(target):
                total += self.reconcile(memcg, nid)
        return total

    # -- memcg lifecycle -----------------------------------------------------------------------

    def reparent(self, child: MemCgroup, parent: MemCgroup) -> None:
        """The core moved ``child``'s pages to ``parent``'s lruvecs (v3.14 offline, or a freed
        memcg's leftovers): move their owners along, after the parent's own (the core adds
        the page counts up; the model cannot tell the pages' ages apart)."""
        for nid in range(self._sim.nr_nodes):
            src = self._owned.pop((child, nid), None)
            if src is None:
                continue
            key = (parent, nid)
            dst = self._owned.get(key)
            if dst is None:
                dst = self._owned[key] = _Owners()
            dst.pages += src.pages
            for inode in src.inodes:
                mapping = inode.mapping
                assert mapping is not None
                n = mapping.pop((child, nid))
                mapping[key] = mapping.get(key, 0) + n
                dst.inodes.pop(inode, None)
                dst.inodes[inode] = None

    def check(self) -> None:
        """Assert the books balance: every inode's pages are listed where they are charged,
        and only live inodes own pages."""
        for key, owners in self._owned.items():
            total = 0
            for inode in owners.inodes:
                assert inode.ref is not None, f"evicted {inode!r} still owns pages"
                assert inode.mapping is not None
                total += inode.mapping[key]
            assert total == owners.pages, (key, total, owners.pages)
            assert owners.inodes
