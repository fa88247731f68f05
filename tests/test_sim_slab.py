"""list_lru, memcg and shrink_slab dispatch working together inside a Simulation
(spec scenarios 13, 14, 15 and 16)."""

from __future__ import annotations

import attrs
import pytest

from conftest import CountingShrinker, make_sim
from shrinkfw import (
    DEFAULT_SEEKS,
    LRU_REMOVED,
    SHRINK_EMPTY,
    ListLRU,
    LRUItem,
    LRUList,
    LRUStatus,
    MemCgroup,
    MemcgState,
    Pressure,
    ShrinkControl,
    ShrinkerFlags,
    Simulation,
)
from shrinkfw.memcg import ChargeKind

AWARE = ShrinkerFlags.NUMA_AWARE | ShrinkerFlags.MEMCG_AWARE


class Obj(LRUItem):
    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag


@attrs.define(eq=False)
class LruShrinker:
    """A memcg-aware shrinker over one list_lru that frees whatever it isolates."""

    lru: ListLRU | None = None
    name: str = "lru"
    flags: ShrinkerFlags = AWARE
    seeks: int = DEFAULT_SEEKS
    batch: int = 0
    empty_value: int = 0
    calls: list[tuple[str, int, str | None]] = attrs.field(factory=list)

    def count_objects(self, sc: ShrinkControl) -> int:
        assert self.lru is not None
        self.calls.append(("count", sc.nid, sc.memcg.path if sc.memcg else None))
        return self.lru.shrink_count(sc) or self.empty_value

    def scan_objects(self, sc: ShrinkControl) -> int:
        assert self.lru is not None
        return self.lru.shrink_walk(sc, self._isolate)

    @staticmethod
    def _isolate(item: Obj, lst: LRUList) -> LRUStatus:
        lst.isolate(item)
        return LRU_REMOVED


def aware_shrinker(sim: Simulation, **kw: object) -> tuple[LruShrinker, ListLRU]:
    shrinker = LruShrinker(**kw)  # type: ignore[arg-type]
    entry = sim.shrinkers.add(shrinker, plugin="test")
    shrinker.lru = sim.new_list_lru(memcg_aware=True, shrinker=entry, name=shrinker.name)
    return shrinker, shrinker.lru


def kmem_memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    memcg = sim.memcgs.create(name, parent)
    if not memcg.kmem_active:
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    return memcg


# -- scenario 14 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "nid0", "nid1"), [("v3.14-kmemcg-v15", 1, 1), ("v6.7", 0, 1)])
def test_scenario_14_per_memcg_routing(profile: str, nid0: int, nid1: int) -> None:
    sim = make_sim(profile, nr_nodes=2)
    _, lru = aware_shrinker(sim)
    memcgs = [kmem_memcg(sim, n) for n in ("x", "y", "a")]
    a = memcgs[2]
    if profile == "v3.14-kmemcg-v15":
        assert a.kmemcg_id == 2
    assert lru.add(Obj("a-obj"), 1, a)
    assert lru.count_one(0, a) == nid0
    assert lru.count_one(1, a) == nid1
    root_obj = Obj("root-obj")
    assert lru.add(root_obj, 1, sim.memcgs.root)
    assert lru.count_one(1, None) == 1
    assert lru.count_one(0, None) == 0


# -- scenario 16 --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["v6.7", "v5.4"])
def test_scenario_16_reparenting_on_offline(profile: str) -> None:
    sim = make_sim(profile)
    shrinker, lru = aware_shrinker(sim)
    entry = sim.shrinkers.get(shrinker.name)
    p = kmem_memcg(sim, "p")
    c = kmem_memcg(sim, "c", p)
    c_items = [Obj(f"c{i}") for i in range(10)]
    p_items = [Obj(f"p{i}") for i in range(2)]
    for obj in c_items:
        lru.add(obj, 0, c)
    for obj in p_items:
        lru.add(obj, 0, p)
    p.shrinker_info[0].clear_bit(entry.id)
    c_id = c.kmemcg_id
    # a page of its own keeps C dying after rmdir, as page cache does in 6.1
    sim.memcgs.charge(c, 1, kind=ChargeKind.USER)
    sim.memcgs.charge(c, 1, kind=ChargeKind.KMEM)

    sim.memcgs.offline(c)

    assert [o.tag for o in lru.items(0, p)] == [o.tag for o in c_items + p_items]
    assert lru.count_one(0, p) == 12
    if profile == "v6.7":  # dead lists read 0 (the LONG_MIN marker)
        assert lru.count_one(0, c) == 0
    else:  # C now carries P's kmemcg_id; reclaim skips offline memcgs before counting
        assert c.kmemcg_id == p.kmemcg_id
        assert not c.kmem_active
    assert p.shrinker_info[0].test_bit(entry.id)
    later = Obj("late")
    lru.add(later, 0, c)
    assert lru.list_of(later) is lru.list_at(0, p)
    assert c.state is MemcgState.DYING
    if profile == "v5.4":  # E2/E3: the id is free again at once
        assert kmem_memcg(sim, "new").kmemcg_id == c_id


def test_v6_7_offline_reparents_deferred_work() -> None:
    sim = make_sim("v6.7")
    shrinker, _ = aware_shrinker(sim)
    entry = sim.shrinkers.get(shrinker.name)
    p = kmem_memcg(sim, "p")
    c = kmem_memcg(sim, "c", p)
    c.shrinker_info[0].nr_deferred[entry.id] = 40
    p.shrinker_info[0].nr_deferred[entry.id] = 2
    sim.memcgs.offline(c)
    assert p.shrinker_info[0].nr_deferred[entry.id] == 42
    assert c.shrinker_info[0].nr_deferred.get(entry.id, 0) == 0


def test_seed_offline_flushes_the_memcg_slab() -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    shrinker, lru = aware_shrinker(sim)
    a = kmem_memcg(sim, "a")
    for i in range(3000):
        lru.add(Obj(str(i)), 0, a)
    sim.memcgs.offline(a)
    assert lru.count_one(0, a) == 0
    assert sim.vmstat["memcg_drop_slab_passes"] >= 2
    assert all(call[2] == "/a" for call in shrinker.calls)


# -- scenario 13: which shrinkers a pass calls ---------------------------------------------------


def tree(sim: Simulation) -> tuple[MemCgroup, MemCgroup]:
    a = kmem_memcg(sim, "a")
    a1 = kmem_memcg(sim, "a1", a)
    return a, a1


def test_scenario_13_v15_limit_and_global_reclaim() -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    s1 = CountingShrinker(name="s1", freeable=100)
    sim.shrinkers.add(s1, plugin="test")
    s2, lru = aware_shrinker(sim, name="s2")
    a, a1 = tree(sim)
    for memcg in (a, a1):
        lru.add(Obj(memcg.name), 0, memcg)

    sim.shrink_slab(target_mem_cgroup=a, pressure=Pressure.drop_caches())
    assert s1.counts == []
    assert s2.calls == [("count", 0, "/a"), ("count", 0, "/a/a1")]

    s2.calls.clear()
    sim.shrink_slab(pressure=Pressure.drop_caches(), nodes_to_scan=(0,))
    assert s1.counts == [(0, None)]
    assert s2.calls == [("count", 0, None), ("count", 0, "/a"), ("count", 0, "/a/a1")]


def test_scenario_13_v6_7_bitmap_with_shrink_empty() -> None:
    sim = make_sim("v6.7")
    s1 = CountingShrinker(name="s1", freeable=100)
    sim.shrinkers.add(s1, plugin="test")
    s2, lru = aware_shrinker(sim, name="s2", empty_value=SHRINK_EMPTY)
    a, _ = tree(sim)
    lru.add(Obj("in-a"), 0, a)  # a1 never gets an item: its bit stays clear

    def global_pass() -> None:
        for memcg in sim.memcgs.iter():
            sim.shrink_slab(memcg=memcg, pressure=Pressure(priority=0))

    global_pass()
    assert s1.counts == [(0, sim.memcgs.root)]
    assert s2.calls == [("count", 0, "/"), ("count", 0, "/a")]

    # a is empty now: its next pass counts SHRINK_EMPTY, clears the bit, re-checks once
    s2.calls.clear()
    global_pass()
    assert s2.calls == [("count", 0, "/"), ("count", 0, "/a"), ("count", 0, "/a")]
    entry = sim.shrinkers.get("s2")
    assert not a.shrinker_info[0].test_bit(entry.id)

    s2.calls.clear()
    global_pass()
    assert s2.calls == [("count", 0, "/")]

    lru.add(Obj("again"), 0, a)
    s2.calls.clear()
    global_pass()
    assert s2.calls == [("count", 0, "/"), ("count", 0, "/a")]


def test_scenario_13_unaware_shrinker_never_runs_in_memcg_limit_reclaim() -> None:
    for profile in ("v3.14-kmemcg-v15", "v6.7", "v4.9", "v4.14"):
        sim = make_sim(profile)
        s1 = CountingShrinker(name="s1", freeable=100)
        sim.shrinkers.add(s1, plugin="test")
        a = kmem_memcg(sim, "a")
        sim.shrink_slab(memcg=a, target_mem_cgroup=a, pressure=Pressure(priority=0))
        assert s1.counts == [], profile
