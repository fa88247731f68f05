"""Dentries under memcg pressure: the ``test_kmem_basic`` selftest mirror (spec scenario 20)
and a negative-dentry storm held near ``memory.high`` by the superblock shrinker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shrinkfw_dcache import dentry_state

import shrinkfw
from shrinkfw.memcg import PAGE_SIZE

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import MemCgroup, ShrinkSlabStart

MiB = 1 << 20
STORM = "negative-dentry-storm"


def test_kmem_basic_mirror_with_real_dentries(mounted: Callable[..., Any]) -> None:
    """tools/testing/selftests/cgroup/test_kmem.c, test_kmem_basic: stat() 100000 missing
    64+-character names in a cgroup; slab >= 1 MiB; then memory.high = 1M: slab and
    memory.current both fall below half the slab seen before."""
    sim, sb, dcache = mounted("v6.7")
    box = sim.memcgs.create("box")  # cgroup v2: kmem accounted from the start
    run = sim.workloads.get(STORM).start(
        sim, box, sb, lookups=100_000, rate=1_000_000, interval=0.01, name_len=64
    )
    sim.run(until=1.0)
    assert run.misses == 100_000
    slab0 = sim.slab.memcg_stat(box).total
    # objcg charges object + 8 bytes: a 192-byte dentry and a 96-byte external name each
    assert slab0 == 100_000 * (192 + 8) + 100_000 * (96 + 8)
    assert slab0 >= MiB

    sim.set_high(box, MiB // PAGE_SIZE)

    slab1 = sim.slab.memcg_stat(box).total
    assert slab1 < slab0 / 2
    assert box.usage * PAGE_SIZE < slab0 / 2
    assert sim.reclaims[-1].reason == "memcg_high"
    assert sim.reclaims[-1].slab_objects > 0
    assert sb.dentry_lru.count_one(0, box) == dcache.nr_dentry - 1
    assert dcache.nr_dentry - 1 < 100_000 / 2


def _storm_near_high(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup], profile: str
) -> dict[str, Any]:
    sim, sb, dcache = mounted(profile)
    storm = kmem_memcg(sim, "storm")
    other = kmem_memcg(sim, "other")
    start = sim.workloads.get(STORM).start
    quiet = start(sim, other, sb, lookups=2000, rate=1_000_000, name_len=64, prefix="o")
    sim.run(until=0.1)
    assert quiet.misses == 2000
    other_dentries = list(dcache.root.children or ())
    other_usage = other.usage

    high = 4 * MiB // PAGE_SIZE
    sim.set_high(storm, high)
    run = start(
        sim, storm, sb, lookups=200_000, rate=200_000, interval=0.01, name_len=64, prefix="s"
    )
    peak: list[int] = []
    sim.every(0.01, lambda: peak.append(storm.usage), name="sample")
    sim.run(until=1.5)
    return {
        "sim": sim,
        "sb": sb,
        "storm": storm,
        "other": other,
        "run": run,
        "high": high,
        "peak": peak,
        "other_dentries": other_dentries,
        "other_usage": other_usage,
    }


def test_storm_under_memory_high_is_held_near_it_by_the_superblock_shrinker(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    """v6.7: each charge over ``memory.high`` reclaims the storm's memcg, whose only memory
    is its dentries on the superblock's lists. Memcg reclaim does not count freed slab pages
    (v6.5+), so each reclaim runs its priority loop down and frees most of the memcg's
    dentries: usage saw-tooths between a little and ``memory.high``, never above it."""
    r = _storm_near_high(mounted, kmem_memcg, "v6.7")
    sim, sb, storm, other, run, high = (
        r["sim"],
        r["sb"],
        r["storm"],
        r["other"],
        r["run"],
        r["high"],
    )
    assert run.misses == 200_000  # 1 s at 200000 lookups/s, every name new
    assert run.enomem == 0
    # 200000 * 304 bytes = 58 MiB of dentries and names went through a 4 MiB memcg: usage
    # climbs to memory.high, reclaim brings it down, the storm fills it up again
    peak = r["peak"]
    assert max(peak) <= high * 1.05
    assert max(peak) >= high * 0.8
    charged = run.misses * (200 + 104) // PAGE_SIZE
    assert charged // high <= storm.events["high"] <= charged // high + 2
    on_lru = sb.dentry_lru.count_one(0, storm)
    assert 0 < on_lru < run.misses / 10  # most of the storm's dentries were freed
    assert on_lru * (200 + 104) <= high * PAGE_SIZE * 1.05
    # ... through the superblock shrinker, in memory.high reclaim of the storm's memcg
    assert {rec.reason for rec in sim.reclaims} == {"memcg_high"}
    assert sim.vmstat["slab_objects_freed"] >= run.misses - on_lru
    # the other memcg's dentries were not touched
    assert sb.dentry_lru.count_one(0, other) == 2000
    assert not any(d.dead for d in r["other_dentries"])
    assert other.usage == r["other_usage"]
    assert dentry_state(sim).nr_dentry == 1 + 2000 + on_lru


def test_seed_storm_under_a_memory_limit_shrinks_its_own_dentries(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    """The seed's v1 ``memory.limit_in_bytes``: limit reclaim runs the memcg-aware superblock
    shrinker on the memcg's own list (first-put REFERENCED costs it a rotation each)."""
    sim, sb, dcache = mounted("v3.14-kmemcg-v15")
    storm, other = kmem_memcg(sim, "storm"), kmem_memcg(sim, "other")
    start = sim.workloads.get(STORM).start
    quiet = start(sim, other, sb, lookups=2000, rate=1_000_000, name_len=64, prefix="o")
    sim.run(until=0.1)
    limit = 4 * MiB // PAGE_SIZE
    sim.memcgs.set_limit(storm, limit)
    run = start(sim, storm, sb, lookups=100_000, rate=1_000_000, name_len=64, prefix="s")
    sim.run(until=1.0)
    assert run.misses == 100_000
    assert storm.usage <= limit
    assert sb.dentry_lru.count_one(0, storm) < 100_000 / 4
    assert sb.dentry_lru.count_one(0, other) == quiet.misses == 2000
    assert sim.vmstat["reclaim_memcg_limit"] > 0
    assert {rec.reason for rec in sim.reclaims} == {"memcg_limit"}
    assert sim.vmstat["slab_objects_freed"] >= 100_000 - sb.dentry_lru.count_one(0, storm)
    assert dcache.nr_dentry == 1 + 2000 + sb.dentry_lru.count_one(0, storm)


class StartRecorder:
    """Keeps the ``mm_shrink_slab_start`` events."""

    name = "start-recorder"

    def __init__(self) -> None:
        self.starts: list[ShrinkSlabStart] = []

    @shrinkfw.hookimpl
    def shrinkfw_shrink_slab_start(self, event: ShrinkSlabStart) -> None:
        self.starts.append(event)


def test_scenario_19_seed_offline_flush_frees_the_memcgs_dentries(
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., MemCgroup],
    negative: Callable[..., Any],
) -> None:
    """kmemcg v15 11/13: offline loops ``shrink_slab(target = memcg, 1000, 1000)`` until a pass
    frees at most 10. 3000 freshly used dentries are all REFERENCED (v3.14 first put): the
    first pass (delta 5994, batches of 1024 split with the inodes' +1) rotates each once and
    frees 2115 on its second time round; the second pass frees the other 885; the third finds
    none and ends the loop. Another memcg keeps its dentries."""
    recorder = StartRecorder()
    sim, sb, dcache = mounted("v3.14-kmemcg-v15", plugins=(recorder,))
    box, other = kmem_memcg(sim, "box"), kmem_memcg(sim, "other")
    negative(dcache, [f"b{i}" for i in range(3000)], box)
    kept = negative(dcache, [f"o{i}" for i in range(500)], other)

    sim.memcgs.offline(box)

    assert sim.vmstat["memcg_drop_slab_passes"] == 3
    assert [(e.cache_items, e.delta) for e in recorder.starts] == [(3000, 5994), (885, 1768)]
    assert sb.dentry_lru.count_one(0, box) == 0
    assert dcache.nr_dentry == 1 + 500
    assert box.state.name == "FREED"  # no slab page pins it any more
    assert sb.dentry_lru.count_one(0, other) == 500
    assert not any(d.dead for d in kept)
