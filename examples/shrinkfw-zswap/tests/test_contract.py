"""The shrinkfw shrinker contract, run against mm-zswap on v6.7 and on the kmemcg v15 seed.

The seed is a what-if for zswap (see ``shrinkfw_zswap.era``): the contract checks that the
shrinker keeps the rules of the seed's reclaim, not that v3.14 had such a shrinker.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest
import shrinkfw_zswap.plugin
from shrinkfw_zswap import compressed_length, zswap_pool
from zswap_helpers import count, memcg, slot, zswap_sim

from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation

#: The subject's pages compress 2:1, to exactly half a page. ``zswap_shrinker_count`` scales
#: the list length by the subtree's ``(MEMCG_ZSWAP_B >> PAGE_SHIFT) / MEMCG_ZSWAPPED``. With
#: half pages that ratio is exactly 1/2 for any even number of entries, so counts add up
#: across memcgs, as the contract's offline check needs (see test_count_estimates_... below).
SUBJECT_LENGTH = compressed_length(2.0)


def _factory(sim: Simulation) -> ContractSubject:
    pool = zswap_pool(sim)
    slots = itertools.count(1 << 40)

    def populate(owner: MemCgroup | None, nid: int, n: int) -> None:
        """``n`` freeable entries: pages stored, whose second chance is already spent (a
        fresh entry only rotates on its first visit)."""
        for _ in range(n):
            entry = pool.store(next(slots), owner or sim.memcgs.root, nid, SUBJECT_LENGTH)
            assert entry is not None, "zswap_store rejected a page while populating"
            entry.referenced = False

    return ContractSubject(entry=pool.shrinker_entry, populate=populate, needs_fs=False)


class TestZswapShrinker(ShrinkerContract):
    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _factory

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [shrinkfw_zswap.plugin]


class TestZswapShrinkerSeed(TestZswapShrinker):
    contract_profile = "v3.14-kmemcg-v15"


@pytest.mark.parametrize("profile", ["v6.7", "v3.14-kmemcg-v15"])
def test_the_subject_is_numa_and_memcg_aware(profile: str) -> None:
    """What the suite's checks rest on: on two nodes both flags stay, so no check is skipped
    (except the offline one on the seed, which flushes instead of reparenting)."""
    _sim, pool = zswap_sim(profile, nr_nodes=2)
    assert pool.shrinker_entry.numa_aware
    assert pool.shrinker_entry.memcg_aware


def test_count_estimates_are_not_conserved_across_an_offline() -> None:
    """Why the subject uses half pages: at 3:1 (1366 bytes) the scaled counts of a parent
    and a child do not add up to the parent's count once the child's list is spliced into
    it, because each subtree's byte total is rounded down to pages on its own.

    Parent 9 entries, child 31. Parent subtree: 40 * 1366 = 54640 bytes = 13 pages, count
    9 * 13 // 40 = 2. Child: 31 * 1366 = 42346 bytes = 10 pages, count 31 * 10 // 31 = 10.
    After the offline the parent's list holds all 40: 40 * 13 // 40 = 13, not 2 + 10."""
    sim, pool = zswap_sim()
    parent = memcg(sim, "parent")
    child = memcg(sim, "child", parent)
    length = compressed_length(3.0)
    assert length == 1366
    for owner, n in ((child, 31), (parent, 9)):
        for _ in range(n):
            entry = pool.store(slot(pool), owner, 0, length)
            assert entry is not None
    # parent subtree: 40 * 1366 = 54640 B -> 13 pages; child: 31 * 1366 = 42346 B -> 10
    assert (count(pool, parent), count(pool, child)) == (9 * 13 // 40, 31 * 10 // 31)
    assert count(pool, parent) + count(pool, child) == 2 + 10
    sim.memcgs.offline(child)
    assert count(pool, parent) == 40 * 13 // 40 == 13
