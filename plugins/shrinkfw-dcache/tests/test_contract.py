"""The core's shrinker contract suite, run against the superblock shrinker with this plugin's
dentries in it: ``populate`` makes unused negative dentries of a memcg on a node."""

from __future__ import annotations

from itertools import count
from typing import TYPE_CHECKING, Any

import pytest
import shrinkfw_dcache.plugin
from shrinkfw_dcache import dcache_of

from shrinkfw import GFP_KERNEL, SHRINK_EMPTY, MemCgroup, ShrinkControl, Shrinker, Simulation
from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract

if TYPE_CHECKING:
    from collections.abc import Callable


def _subject(sim: Simulation) -> ContractSubject:
    sb = sim.vfs.mount("ext4", "vda1")
    dcache = dcache_of(sb)
    serial = count()
    assert sb.shrinker is not None

    def populate(memcg: MemCgroup | None, nid: int, n: int) -> None:
        root = dcache.root
        for _ in range(n):
            d = dcache.lookup(root, f"missing-{next(serial)}", memcg, nid)
            assert d is not None
            dcache.dput(d)

    return ContractSubject(entry=sb.shrinker, populate=populate, needs_fs=True)


class TestDcacheContract(ShrinkerContract):
    """On v6.7, the suite's default profile."""

    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _subject

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [shrinkfw_dcache.plugin]


class TestDcacheContractSeed(TestDcacheContract):
    """On the seed, kmemcg v15 on v3.14."""

    contract_profile = "v3.14-kmemcg-v15"

    def test_numa_aware_scans_one_node(self, make_subject: Callable[..., Any]) -> None:
        """Replaces the suite's check, which uses a memcg: the v15 layout keeps one list per
        memcg for every node (spec §4.3 and scenario 14: a memcg's objects are visible to a
        nid 0 scan whatever their node), so a memcg's dentries are not split by node there.
        NUMA isolation holds for the global per-node lists: check it on those."""
        sim, subject = make_subject()
        shrinker = subject.entry.shrinker
        subject.populate(None, 1, 40)
        subject.populate(None, 0, 40)
        assert _count(shrinker, 0, None) == _count(shrinker, 1, None) == 40
        for _ in range(2):  # the first pass only rotates (first-put REFERENCED)
            sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=None, nr_to_scan=80)
            sc.nr_scanned = 80
            shrinker.scan_objects(sc)
        assert _count(shrinker, 0, None) < 40
        assert _count(shrinker, 1, None) == 40
        # a memcg's single list answers for both nodes
        memcg = sim.memcgs.create("a")
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
        subject.populate(memcg, 1, 5)
        assert _count(shrinker, 0, memcg) == _count(shrinker, 1, memcg) == 5


def _count(shrinker: Shrinker, nid: int, memcg: MemCgroup | None) -> int:
    value = shrinker.count_objects(ShrinkControl(nid=nid, memcg=memcg))
    return 0 if value == SHRINK_EMPTY else value
