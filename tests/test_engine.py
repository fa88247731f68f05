"""The reclaim engine end to end: memcg pressure, global reclaim, kswapd, dying memcgs,
drop_caches and the clock (spec scenarios 19 and 20, the seed's kmem vs user limit rule)."""

from __future__ import annotations

import math

import pytest

import shrinkfw
from conftest import TraceRecorder, make_sim
from shrinkfw import MemCgroup, MemcgState, ProfileError, Simulation, UsageError
from shrinkfw.lruvec import LruKind
from shrinkfw.memcg import PAGE_SIZE, ChargeKind
from shrinkfw.testing import ObjectCacheShrinker

MiB = 1 << 20
FULL = ("v3.14-kmemcg-v15", "v6.7")


def kmem_memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    memcg = sim.memcgs.create(name, parent)
    if not memcg.kmem_active:  # v1 (the seed): writing the kmem limit turns accounting on
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    return memcg


def slab_bytes(sim: Simulation, memcg: MemCgroup) -> int:
    return sim.slab.memcg_stat(memcg).total


# -- scenario 20: the kernel selftests' mirrors ---------------------------------------------


def test_kmem_basic_mirror_v6_7() -> None:
    sim = make_sim("v6.7", memory=1 << 30)
    dcache = ObjectCacheShrinker(sim, "dentry")
    box = sim.memcgs.create("box")
    dcache.alloc(box, 100000)  # 100000 negative dentries
    slab0 = slab_bytes(sim, box)
    assert slab0 >= MiB

    sim.set_high(box, MiB // PAGE_SIZE)

    assert slab_bytes(sim, box) < slab0 / 2
    assert box.usage * PAGE_SIZE < slab0 / 2
    assert sim.reclaims[-1].reason == "memcg_high"
    assert sim.reclaims[-1].slab_pages > 0


def test_kmem_dead_cgroups_mirror_v6_7() -> None:
    sim = make_sim("v6.7", memory=1 << 30)
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = sim.memcgs.create("parent")
    for i in range(30):
        child = sim.memcgs.create(f"child{i}", parent)
        dcache.alloc(child, 100)
        sim.memcgs.offline(child)
    deadline = sim.now + 8.0
    while sim.memcgs.nr_dying_descendants(parent) and sim.now < deadline:
        sim.run(until=sim.now + 0.1)
    assert sim.memcgs.nr_dying_descendants(parent) == 0
    # the children's dentries were reparented with their charges (objcg)
    assert dcache.lru.count_one(0, parent) == 3000


def test_seed_dead_memcgs_pinned_until_global_pressure_reaps_them() -> None:
    sim = make_sim("v3.14-kmemcg-v15", memory=256 * MiB)
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = kmem_memcg(sim, "parent")
    for i in range(30):
        child = kmem_memcg(sim, f"child{i}", parent)
        objs = dcache.alloc(child, 100)
        objs[0].busy = True  # one dentry in use survives the offline flush
        sim.memcgs.offline(child)
        dcache.free(objs[0])  # ... and is freed later: its slab page stays cached
    assert sim.memcgs.nr_dying_descendants(parent) == 30

    # global pressure: fill memory with page cache until direct reclaim runs
    hog = sim.memcgs.create("hog")
    while not sim.vmstat["dead_memcg_reaps"]:
        assert sim.alloc_user_pages(hog, 256) is not None
    assert sim.memcgs.nr_dying_descendants(parent) == 0


# -- scenario 19: the seed's flush at offline -------------------------------------------------


def test_scenario_19_seed_flush_at_offline(recorder: TraceRecorder) -> None:
    sim = make_sim("v3.14-kmemcg-v15", nr_nodes=2, plugins=[recorder])
    dcache = ObjectCacheShrinker(sim, "dentry")
    icache = ObjectCacheShrinker(sim, "inode", object_size=600)
    box = kmem_memcg(sim, "box")
    other = kmem_memcg(sim, "other")
    dcache.alloc(box, 2000, nid=0)
    dcache.alloc(box, 1000, nid=1)
    icache.alloc(box, 1000, nid=1)
    dcache.alloc(other, 500)

    sim.memcgs.offline(box)

    assert dcache.lru.count_one(0, box) == 0
    assert icache.lru.count_one(0, box) == 0
    assert dcache.lru.count_one(0, other) == 500  # only the dying memcg's lists
    assert {(e.nid, e.memcg) for e in recorder.starts} == {(0, box)}
    # 1000/1000 pressure gives delta = floor(2000 * 3000 / 1001) = 5994 for 3000 dentries:
    # the first pass scans them all (and the 1000 inodes); the second finds nothing, so
    # freeing <= 10 objects it ends the loop
    assert sim.vmstat["memcg_drop_slab_passes"] == 2
    assert [(e.shrinker, e.delta, e.total_scan) for e in recorder.starts] == [
        ("dentry", 5994, 5994),
        ("inode", 1998, 1998),
    ]
    assert [e.retval for e in recorder.ends] == [3000, 1000]


# -- the seed's kmem vs user limits (cover letter, spec 3.2) ----------------------------------


def test_seed_kmem_limit_below_user_limit_fails_without_reclaim() -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    dcache = ObjectCacheShrinker(sim, "dentry")
    box = sim.memcgs.create("box")
    sim.memcgs.set_limit(box, 4096)  # U = 16 MiB
    sim.memcgs.set_kmem_limit(box, 100)  # K = 400 KiB < U
    made = dcache.alloc(box, 10000)
    assert len(made) == 21 * 100  # every page up to K, then ENOMEM
    assert box.usage_kmem == 100
    assert not sim.reclaims
    assert box.kmem_failcnt >= 1


@pytest.mark.parametrize("kmem_limit", [4096, 1 << 40])  # K == U and K > U
def test_seed_user_limit_reclaims_slab_of_that_memcg_only(kmem_limit: int) -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    dcache = ObjectCacheShrinker(sim, "dentry")
    box = sim.memcgs.create("box")
    neighbour = kmem_memcg(sim, "neighbour")
    dcache.alloc(neighbour, 5000)
    sim.memcgs.set_limit(box, 1024)  # U = 4 MiB
    sim.memcgs.set_kmem_limit(box, kmem_limit)
    made = dcache.alloc(box, 40000)  # 40000 dentries need ~1905 pages > U

    assert len(made) == 40000
    assert box.usage <= 1024
    limit_reclaims = [r for r in sim.reclaims if r.reason == "memcg_limit"]
    assert limit_reclaims
    assert all(r.target is box for r in limit_reclaims)
    assert sum(r.slab_objects for r in limit_reclaims) > 0
    assert dcache.lru.count_one(0, neighbour) == 5000


@pytest.mark.parametrize("profile", FULL)
def test_memcg_pressure_shrinks_its_own_slab_only(profile: str) -> None:
    sim = make_sim(profile)
    dcache = ObjectCacheShrinker(sim, "dentry")
    a = kmem_memcg(sim, "a")
    b = kmem_memcg(sim, "b")
    dcache.alloc(b, 20000)
    a_limit = 512
    if profile == "v6.7":
        sim.memcgs.set_max(a, a_limit)
    else:
        sim.memcgs.set_limit(a, a_limit)
    assert len(dcache.alloc(a, 20000)) == 20000
    assert a.usage <= a_limit
    assert dcache.lru.count_one(0, b) == 20000
    assert sim.vmstat["slab_objects_freed"] > 0


# -- global reclaim ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", FULL)
def test_kswapd_wakes_below_low_and_balances_the_node(profile: str) -> None:
    sim = make_sim(profile, memory=64 * MiB)
    dcache = ObjectCacheShrinker(sim, "dentry")
    cg = kmem_memcg(sim, "cg")
    dcache.alloc(cg, 30000)
    node = sim.nodes[0]
    while node.free_pages - 256 >= node.wmark_low:
        sim.alloc_user_pages(cg, 256)
    sim.alloc_user_pages(cg, 256)
    assert sim.peek() == sim.now  # kswapd is due
    sim.run(until=sim.now + 0.001)
    kswapd = [r for r in sim.reclaims if r.reason == "kswapd"]
    assert kswapd
    assert node.balanced()
    assert sum(r.nr_reclaimed for r in kswapd) > 0


@pytest.mark.parametrize("profile", FULL)
def test_direct_reclaim_below_min_frees_page_cache_and_slab(profile: str) -> None:
    sim = make_sim(profile, memory=32 * MiB)
    dcache = ObjectCacheShrinker(sim, "dentry")
    cg = kmem_memcg(sim, "cg")
    dcache.alloc(cg, 20000)
    for _ in range(200):  # never step the clock: kswapd cannot run, the allocator must
        assert sim.alloc_user_pages(cg, 64) is not None
    direct = [r for r in sim.reclaims if r.reason == "direct"]
    assert direct
    assert sim.vmstat["slab_objects_freed"] > 0


@pytest.mark.parametrize("profile", FULL)
def test_drop_caches_empties_every_cache(profile: str) -> None:
    sim = make_sim(profile, nr_nodes=2)
    dcache = ObjectCacheShrinker(sim, "dentry")
    memcgs = [kmem_memcg(sim, f"m{i}") for i in range(3)]
    for i, memcg in enumerate(memcgs):
        dcache.alloc(memcg, 3000, nid=i % 2)
    dcache.alloc(None, 1000, nid=1)
    assert sim.drop_caches() == 10000
    assert dcache.count() == 0


def test_pressure_levels_reach_a_listener() -> None:
    sim = make_sim("v6.7", memory=1 << 30)
    box = sim.memcgs.create("box")
    from shrinkfw.vmpressure import Level

    listener = sim.vmpressure.register_event(box, Level.LOW)
    sim.memcgs.set_max(box, 2048)
    for _ in range(64):
        sim.alloc_user_pages(box, 64, kind=LruKind.FILE)
    assert listener.total > 0
    assert sim.vmstat["vmpressure_low"] > 0


# -- the clock and the profiles --------------------------------------------------------------


def test_clock_peek_step_run_advance() -> None:
    sim = make_sim("v6.7")
    seen: list[tuple[str, float]] = []
    sim.schedule(1.0, lambda: seen.append(("a", sim.now)))
    series = sim.every(0.5, lambda: seen.append(("tick", sim.now)))
    assert sim.peek() == 0.5
    assert sim.step()
    sim.run(until=1.0)
    assert seen == [("tick", 0.5), ("tick", 1.0), ("a", 1.0)] or seen == [
        ("tick", 0.5),
        ("a", 1.0),
        ("tick", 1.0),
    ]
    series.cancel()
    assert sim.peek() == math.inf
    sim.advance_to(5.0)
    assert sim.now == 5.0
    with pytest.raises(UsageError, match="time only moves forward"):
        sim.advance_to(4.0)


def test_two_simulations_are_independent() -> None:
    one, two = make_sim("v6.7"), make_sim("v6.7")
    ObjectCacheShrinker(one, "dentry").alloc(one.memcgs.root, 100)
    assert two.slab.nr_pages == 0
    assert two.shrinkers.entries == []


def test_arithmetic_profiles_refuse_to_reclaim() -> None:
    sim = make_sim("v5.4")
    with pytest.raises(ProfileError, match="arithmetic only"):
        sim.drop_caches()


def test_same_seed_same_numbers() -> None:
    def run() -> dict[str, int]:
        sim = make_sim("v6.7", memory=64 * MiB, seed=7)
        dcache = ObjectCacheShrinker(sim, "dentry")
        cg = sim.memcgs.create("cg")
        sim.memcgs.set_max(cg, 2048)
        for _ in range(50):
            dcache.alloc(cg, 500)
            sim.alloc_user_pages(cg, 64)
            sim.run(until=sim.now + 0.01)
        return dict(sim.vmstat)

    assert run() == run()


def test_dying_memcg_pinned_by_page_cache_in_v6_7_until_reclaimed() -> None:
    sim = make_sim("v6.7")
    parent = sim.memcgs.create("parent")
    child = sim.memcgs.create("child", parent)
    sim.alloc_user_pages(child, 1)  # the directory block read by the first lookup
    sim.memcgs.offline(child)
    assert child.state is MemcgState.DYING
    sim.memory_reclaim(parent, 64)
    assert child.state is MemcgState.FREED
    assert sim.memcgs.nr_dying_descendants(parent) == 0
    assert parent.usage == 0
    assert sim.memcgs.charge(parent, 1, kind=ChargeKind.USER).ok


# -- cost accounting (Tkhai 2018: all-pairs walk vs the shrinker bitmap) -----------------------


@pytest.mark.parametrize(
    ("profile", "low", "high"), [("v3.14-kmemcg-v15", 4000, None), ("v6.7", 0, 40)]
)
def test_drop_caches_cost_with_thousands_of_memcgs(
    profile: str, low: int, high: int | None
) -> None:
    sim = make_sim(profile, memory=1 << 30)
    dcache = ObjectCacheShrinker(sim, "dentry")
    memcgs = [kmem_memcg(sim, f"m{i}") for i in range(4000)]
    for memcg in memcgs[::400]:
        dcache.alloc(memcg, 100)
    sim.drop_caches()
    record = sim.reclaims[-1]
    assert record.count_calls >= low
    if high is not None:  # only the 10 populated memcgs and the root are visited
        assert record.count_calls <= high
        assert record.memcgs_walked >= 4000  # what the kernel's walk itself costs
    assert dcache.count() == 0


# -- behaviour pinned down by review against the kernel sources --------------------------------


def test_v6_7_limit_reclaim_of_a_slab_only_memcg_runs_down_the_priorities() -> None:
    """Like the real 6.1 trace: memcg reclaim does not count freed slab pages (v6.5+), so a
    memcg full of dentries walks priorities down and drops the whole cache."""
    sim = make_sim("v6.7", memory=1 << 30)
    dcache = ObjectCacheShrinker(sim, "dentry")
    box = sim.memcgs.create("box")
    dcache.alloc(box, 20000)
    sim.set_max(box, box.usage // 2)
    first = next(r for r in sim.reclaims if r.target is box)
    assert first.nr_reclaimed == 0
    assert first.slab_pages > 0
    assert first.priority <= 1


def test_seed_limit_reclaim_credits_slab_pages() -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    dcache = ObjectCacheShrinker(sim, "dentry")
    box = kmem_memcg(sim, "box")
    dcache.alloc(box, 20000)
    sim.memcgs.set_limit(box, box.usage // 2)
    dcache.alloc(box, 1000)  # needs new slab pages: the charge hits U
    first = next(r for r in sim.reclaims if r.target is box)
    assert first.nr_reclaimed >= first.slab_pages > 0


def test_allocations_from_inside_reclaim_do_not_recurse() -> None:
    class Allocating:
        name = "allocating-tracer"

        def __init__(self) -> None:
            self.sim: Simulation | None = None
            self.calls = 0

        @shrinkfw.hookimpl
        def shrinkfw_shrink_slab_start(self, sim: Simulation) -> None:
            self.calls += 1
            sim.alloc_user_pages(sim.memcgs.root, 64)

    tracer = Allocating()
    sim = make_sim("v6.7", memory=32 * MiB, plugins=[tracer])
    dcache = ObjectCacheShrinker(sim, "dentry")
    cg = sim.memcgs.create("cg")
    dcache.alloc(cg, 20000)
    for _ in range(150):
        sim.alloc_user_pages(cg, 64)
    assert tracer.calls > 0


def test_seed_reclaim_walks_skip_dying_memcgs() -> None:
    sim = make_sim("v3.14-kmemcg-v15")
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = kmem_memcg(sim, "parent")
    child = kmem_memcg(sim, "child", parent)
    objs = dcache.alloc(child, 300)
    for obj in objs:
        obj.busy = True  # survives the offline flush, then goes back on the LRU
    sim.memcgs.offline(child)
    for obj in objs:
        obj.busy = False
        dcache.lru.add(obj, 0, child)
    sim.drop_caches()
    assert dcache.lru.count_one(0, child) == 300  # v3.14's mem_cgroup_iter skips it


def test_kswapd_reclaims_toward_the_high_watermark() -> None:
    sim = make_sim("v6.7", memory=64 * MiB)
    cg = sim.memcgs.create("cg")
    node = sim.nodes[0]
    while node.free_pages - 256 >= node.wmark_low:
        sim.alloc_user_pages(cg, 256)
    sim.alloc_user_pages(cg, 256)
    sim.run(until=sim.now + 0.001)
    record = next(r for r in sim.reclaims if r.reason == "kswapd")
    assert record.nr_to_reclaim == max(node.wmark_high, 32)
    assert node.balanced()


def test_memory_reclaim_is_not_pressure() -> None:
    sim = make_sim("v6.7")
    box = sim.memcgs.create("box")
    from shrinkfw.vmpressure import Level

    listener = sim.vmpressure.register_event(box, Level.LOW)
    sim.alloc_user_pages(box, 4096)
    assert sim.memory_reclaim(box, 2048) >= 2048
    assert listener.total == 0
