"""The shrinkfw shrinker contract, run against gfs2-qd on v6.7 and on the kmemcg v15 seed."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest
import shrinkfw_gfs2.plugin
from shrinkfw_gfs2 import SHRINKER_NAME, gfs2_quota

from shrinkfw import MemCgroup, Simulation
from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract

if TYPE_CHECKING:
    from collections.abc import Callable


def _factory(sim: Simulation) -> ContractSubject:
    cache = gfs2_quota(sim)
    sb = sim.vfs.mount("gfs2", "contract")
    ids = itertools.count()

    def populate(memcg: MemCgroup | None, nid: int, n: int) -> None:
        """``n`` unused quota records on ``nid`` (looked up once, released)."""
        made = [cache.qd_get(sb, next(ids), memcg=memcg, nid=nid) for _ in range(n)]
        for qd in made:
            assert qd is not None, "ENOMEM while populating"
            cache.qd_put(qd)

    return ContractSubject(entry=sim.shrinkers.get(SHRINKER_NAME), populate=populate, needs_fs=True)


class TestGfs2QdShrinker(ShrinkerContract):
    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _factory

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [shrinkfw_gfs2.plugin]


class TestGfs2QdShrinkerSeed(TestGfs2QdShrinker):
    contract_profile = "v3.14-kmemcg-v15"


def test_the_contract_subject_is_numa_aware_and_not_memcg_aware() -> None:
    """What the suite's skips rest on: two nodes keep NUMA_AWARE, memcg tests do not apply."""
    sim = Simulation.build(
        profile="v6.7", nr_nodes=2, plugins=[shrinkfw_gfs2.plugin], autoload=False
    )
    subject: Callable[[Simulation], ContractSubject] = _factory
    entry = subject(sim).entry
    assert entry.numa_aware
    assert not entry.memcg_aware
