"""The shrinker contract suite, run on the superblock shrinker with this plugin's inodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import shrinkfw_inode.plugin
from shrinkfw_inode import get_icache

from shrinkfw import SHRINK_EMPTY, MemCgroup, ShrinkControl, ShrinkerEntry, Simulation
from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract

if TYPE_CHECKING:
    from collections.abc import Callable


def _subject(sim: Simulation) -> ContractSubject:
    """A mounted ext4 superblock; populating it creates clean, unused inodes without page
    cache (``iget`` of a new inode number, then ``iput``) charged to the memcg on the node."""
    sb = sim.vfs.mount("ext4", "contract")
    icache = get_icache(sim)
    supers = icache.supers(sb)

    def populate(memcg: MemCgroup | None, nid: int, n: int) -> int:
        for _ in range(n):
            inode = icache.iget(sb, supers.alloc_ino(), memcg, nid)
            assert inode is not None
            icache.iput(inode)
        return n

    assert sb.shrinker is not None
    return ContractSubject(entry=sb.shrinker, populate=populate, needs_fs=True)


class TestInodeCache(ShrinkerContract):
    """On v6.7 (the suite's default profile)."""

    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _subject

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [shrinkfw_inode.plugin]


def _count(entry: ShrinkerEntry, nid: int, memcg: MemCgroup | None) -> int:
    value = entry.shrinker.count_objects(ShrinkControl(nid=nid, memcg=memcg))
    return 0 if value == SHRINK_EMPTY else value


class TestInodeCacheSeed(TestInodeCache):
    """On the kmemcg v15 seed."""

    contract_profile = "v3.14-kmemcg-v15"

    def test_numa_aware_scans_one_node(self, make_subject: Callable[..., Any]) -> None:
        """Replaces the suite's check, which does not hold for the seed's per-memcg lists.

        The v15 layout keeps one list per kmem-active memcg for all nodes (spec 4.3,
        kmemcg v15 09/13): a memcg's scan on nid 0 walks its node-1 inodes too, and every
        node's count of the memcg is the same list. (The suite's own fake passes its check on
        the seed only by coincidence: 40 node-1 objects, then 40 node-0 ones, and a scan of
        40 frees exactly the 40 node-1 objects at the head, leaving 40.) The global lists are
        per node, and there the check holds.
        """
        sim, subject = make_subject()
        entry = subject.entry
        subject.populate(None, 1, 40)
        other = _count(entry, 1, None)
        subject.populate(None, 0, 40)
        for _ in range(3):  # v3.14 rotates REFERENCED inodes once: scan enough to free some
            sc = ShrinkControl(nid=0, memcg=None, nr_to_scan=80, nr_scanned=80)
            entry.shrinker.scan_objects(sc)
        assert _count(entry, 0, None) < 40
        assert _count(entry, 1, None) == other == 40

        memcg = sim.memcgs.create("a")
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
        subject.populate(memcg, 1, 10)
        assert _count(entry, 0, memcg) == _count(entry, 1, memcg) == 10
        for _ in range(3):
            sc = ShrinkControl(nid=0, memcg=memcg, nr_to_scan=20, nr_scanned=20)
            entry.shrinker.scan_objects(sc)
        assert _count(entry, 1, memcg) == 0  # the node-1 inodes went in nid-0 scans
