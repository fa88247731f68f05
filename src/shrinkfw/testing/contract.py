"""The shrinker contract: tests every shrinker plugin must pass.

Subclass :class:`ShrinkerContract` in your plugin's tests and override one fixture,
``shrinker_factory``, returning a :class:`ContractFactory`: given a fresh simulation (built
by the suite with your plugins, two nodes, the v6.7 profile unless you override
``contract_profile``), it sets up your cache and returns a :class:`ContractSubject` that can
populate it::

    class TestMyCache(ShrinkerContract):
        @pytest.fixture
        def shrinker_factory(self):
            def make(sim):
                cache = MyCache(sim)
                return ContractSubject(entry=cache.entry, populate=cache.fill, needs_fs=True)
            return make

        @pytest.fixture
        def contract_plugins(self):
            return [my_plugin_module]

What it checks, in kernel terms: the ``struct shrinker`` fields are sane; ``count_objects``
is an int >= 0 or ``SHRINK_EMPTY`` and does not change the cache; a scan frees no more than
the count said was there and the count falls by what was freed; without ``__GFP_FS`` a
filesystem shrinker returns ``SHRINK_STOP``; scanning one node or memcg never frees another's
objects when the shrinker is NUMA- or memcg-aware; a memcg going offline loses none of its
objects; the same seed gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from ..list_lru import ListLRULayout
from ..shrinker import GFP_KERNEL, GFP_NOFS, SHRINK_EMPTY, SHRINK_STOP, ShrinkControl, Shrinker
from ..sim import Simulation
from .fakes import make_kmem_memcg

if TYPE_CHECKING:
    from ..memcg import MemCgroup
    from ..registry import ShrinkerEntry

__all__ = ["ContractFactory", "ContractSubject", "ShrinkerContract"]


@attrs.frozen(kw_only=True)
class ContractSubject:
    """What the suite needs to drive one shrinker.

    :ivar entry: the registered shrinker.
    :ivar populate: ``populate(memcg, nid, n)`` creates ``n`` freeable (unused) objects
        charged to ``memcg`` on ``nid``.
    :ivar needs_fs: the shrinker must return ``SHRINK_STOP`` without ``__GFP_FS``.
    """

    entry: ShrinkerEntry
    populate: Callable[[MemCgroup | None, int, int], object]
    needs_fs: bool = False


ContractFactory = Callable[[Simulation], ContractSubject]


_memcg = make_kmem_memcg


def _count(entry: ShrinkerEntry, sc: ShrinkControl) -> int:
    value = entry.shrinker.count_objects(sc)
    return 0 if value == SHRINK_EMPTY else value


class ShrinkerContract:
    """Base class of a plugin's shrinker contract tests; override ``shrinker_factory``."""

    contract_profile = "v6.7"

    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        raise NotImplementedError(
            "override the 'shrinker_factory' fixture to return sim -> ContractSubject"
        )

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        """Plugins the suite's simulations are built with (your plugin module)."""
        return []

    @pytest.fixture
    def make_subject(
        self, shrinker_factory: ContractFactory, contract_plugins: list[object]
    ) -> Callable[..., tuple[Simulation, ContractSubject]]:
        def make(seed: int = 0) -> tuple[Simulation, ContractSubject]:
            sim = Simulation.build(
                profile=self.contract_profile,
                seed=seed,
                nr_nodes=2,
                plugins=contract_plugins,
                autoload=False,
                memory=1 << 30,
            )
            return sim, shrinker_factory(sim)

        return make

    # -- the checks --------------------------------------------------------------------------

    def test_is_a_shrinker(self, make_subject: Callable[..., Any]) -> None:
        _, subject = make_subject()
        shrinker = subject.entry.shrinker
        assert isinstance(shrinker, Shrinker)
        assert isinstance(shrinker.name, str)
        assert shrinker.name
        assert isinstance(shrinker.seeks, int)
        assert shrinker.seeks >= 0
        assert isinstance(shrinker.batch, int)
        assert shrinker.batch >= 0

    def test_count_is_sane_and_does_not_change_the_cache(
        self, make_subject: Callable[..., Any]
    ) -> None:
        sim, subject = make_subject()
        memcg = _memcg(sim, "a")
        sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=memcg)
        empty = subject.entry.shrinker.count_objects(sc)
        assert type(empty) is int
        assert empty in (0, SHRINK_EMPTY)
        subject.populate(memcg, 0, 50)
        first = subject.entry.shrinker.count_objects(sc)
        assert type(first) is int
        assert first > 0
        assert subject.entry.shrinker.count_objects(sc) == first

    def test_scan_frees_what_the_count_held(self, make_subject: Callable[..., Any]) -> None:
        sim, subject = make_subject()
        memcg = _memcg(sim, "a")
        subject.populate(memcg, 0, 200)
        shrinker = subject.entry.shrinker
        total_freed = 0
        for _ in range(50):
            sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=memcg)
            before = _count(subject.entry, sc)
            if not before:
                break
            sc.nr_to_scan = sc.nr_scanned = min(128, before)
            freed = shrinker.scan_objects(sc)
            assert freed != SHRINK_STOP
            assert 0 <= freed <= before
            after = _count(subject.entry, ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=memcg))
            assert after <= before
            total_freed += freed
        assert total_freed > 0

    def test_shrink_stop_without_gfp_fs(self, make_subject: Callable[..., Any]) -> None:
        sim, subject = make_subject()
        if not subject.needs_fs:
            pytest.skip("the shrinker does not need the filesystem")
        memcg = _memcg(sim, "a")
        subject.populate(memcg, 0, 20)
        sc = ShrinkControl(gfp_mask=GFP_NOFS, nid=0, memcg=memcg, nr_to_scan=20)
        assert subject.entry.shrinker.scan_objects(sc) == SHRINK_STOP

    def test_numa_aware_scans_one_node(self, make_subject: Callable[..., Any]) -> None:
        sim, subject = make_subject()
        if not subject.entry.numa_aware:
            pytest.skip("not NUMA-aware")
        memcg: MemCgroup | None = _memcg(sim, "a")
        if sim.profile.lru_layout is ListLRULayout.MEMCG_ARRAY_V15:
            memcg = None  # the seed keeps one list per memcg for all nodes: use the node lists
        subject.populate(memcg, 1, 40)
        other = _count(subject.entry, ShrinkControl(nid=1, memcg=memcg))
        subject.populate(memcg, 0, 40)
        sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=memcg, nr_to_scan=40, nr_scanned=40)
        subject.entry.shrinker.scan_objects(sc)
        assert _count(subject.entry, ShrinkControl(nid=1, memcg=memcg)) == other

    def test_memcg_aware_scans_one_memcg(self, make_subject: Callable[..., Any]) -> None:
        sim, subject = make_subject()
        if not subject.entry.memcg_aware:
            pytest.skip("not memcg-aware")
        a, b = _memcg(sim, "a"), _memcg(sim, "b")
        subject.populate(a, 0, 40)
        subject.populate(b, 0, 40)
        b_count = _count(subject.entry, ShrinkControl(nid=0, memcg=b))
        sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=a, nr_to_scan=40, nr_scanned=40)
        subject.entry.shrinker.scan_objects(sc)
        assert _count(subject.entry, ShrinkControl(nid=0, memcg=b)) == b_count

    def test_offline_keeps_every_object_reachable(self, make_subject: Callable[..., Any]) -> None:
        sim, subject = make_subject()
        if not subject.entry.memcg_aware:
            pytest.skip("not memcg-aware")
        if not sim.profile.lru_layout.reparents:
            pytest.skip(f"{sim.profile.name} flushes a dying memcg's slab instead of reparenting")
        parent = _memcg(sim, "parent")
        child = _memcg(sim, "child", parent)
        subject.populate(child, 0, 30)
        subject.populate(parent, 0, 10)
        before = _count(subject.entry, ShrinkControl(nid=0, memcg=parent)) + _count(
            subject.entry, ShrinkControl(nid=0, memcg=child)
        )
        sim.memcgs.offline(child)
        after = _count(subject.entry, ShrinkControl(nid=0, memcg=parent))
        assert after == before

    def test_same_seed_same_numbers(self, make_subject: Callable[..., Any]) -> None:
        def run() -> list[int]:
            sim, subject = make_subject(seed=3)
            memcg = _memcg(sim, "a")
            subject.populate(memcg, 0, 300)
            out = []
            for _ in range(5):
                sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=memcg, nr_to_scan=64)
                sc.nr_scanned = 64
                out.append(subject.entry.shrinker.scan_objects(sc))
                out.append(_count(subject.entry, ShrinkControl(nid=0, memcg=memcg)))
            return out

        assert run() == run()
