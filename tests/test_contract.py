"""The shrinker contract suite run against the core's own fake cache, and shown to catch a
shrinker that breaks memcg isolation."""

from __future__ import annotations

import pytest

from shrinkfw import ShrinkControl, Simulation
from shrinkfw.testing import ObjectCacheShrinker
from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract


def _subject(cache: ObjectCacheShrinker) -> ContractSubject:
    return ContractSubject(
        entry=cache.entry,
        populate=lambda memcg, nid, n: cache.alloc(memcg, n, nid=nid),
        needs_fs=cache.needs_fs,
    )


class TestObjectCacheShrinker(ShrinkerContract):
    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return lambda sim: _subject(ObjectCacheShrinker(sim, "objects"))


class TestObjectCacheShrinkerSeed(TestObjectCacheShrinker):
    contract_profile = "v3.14-kmemcg-v15"


class LeakyShrinker(ObjectCacheShrinker):
    """Claims to be memcg-aware but scans the root's view of every memcg."""

    def scan_objects(self, sc: ShrinkControl) -> int:
        freed = 0
        for memcg in list(self.sim.memcgs.iter()):
            sub = ShrinkControl(gfp_mask=sc.gfp_mask, nid=sc.nid, memcg=memcg)
            sub.nr_to_scan = sc.nr_to_scan
            freed += super().scan_objects(sub)
        return freed


def test_the_suite_catches_a_memcg_isolation_bug() -> None:
    suite = ShrinkerContract()

    def factory(sim: Simulation) -> ContractSubject:
        return _subject(LeakyShrinker(sim, "leaky"))

    make = ShrinkerContract.make_subject.__wrapped__(suite, factory, [])  # type: ignore[attr-defined]
    with pytest.raises(AssertionError):
        suite.test_memcg_aware_scans_one_memcg(make)


def test_the_base_fixture_says_what_to_override() -> None:
    with pytest.raises(NotImplementedError, match="override the 'shrinker_factory' fixture"):
        ShrinkerContract.shrinker_factory.__wrapped__(ShrinkerContract())  # type: ignore[attr-defined]
