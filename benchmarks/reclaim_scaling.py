"""Does a reclaim pass cost the same with 100 or 10,000 memcgs?

One global direct-reclaim invocation (``try_to_free_pages``) on the v6.7 profile, with 8
memcg-aware shrinkers and 10 memcgs holding objects, once with 100 memcgs in total and once
with 10,000 (the rest empty). The kernel's shrinker bitmap makes the empty memcgs nearly
free; the model's sparse walk must do the same. Each configuration is built afresh for every
repetition (building is not timed) and the best of the repetitions is kept.

Second figure: the share of wall time spent inside pluggy during a reclaim-heavy run, with
one plugin implementing the tracepoint notification hooks (as a trace recorder would).

Prints the figures, the ratio last, and exits 1 if the ratio exceeds 2.0 or the pluggy share
exceeds 10 %. Run: ``python benchmarks/reclaim_scaling.py``.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

try:
    import shrinkfw
except ImportError:  # running from a source tree without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import shrinkfw

from shrinkfw import GFP_KERNEL, ShrinkSlabEnd, ShrinkSlabStart, Simulation
from shrinkfw.testing import ObjectCacheShrinker
from shrinkfw.vmscan import try_to_free_pages

SHRINKERS = 8
BUSY_MEMCGS = 10
OBJECTS = 2000  # per shrinker and busy memcg
REPEATS = 5
RATIO_LIMIT = 2.0
PLUGGY_LIMIT = 0.10


def build(total_memcgs: int) -> Simulation:
    sim = Simulation.build(profile="v6.7", autoload=False, memory=2 << 30)
    caches = [ObjectCacheShrinker(sim, f"cache{i}") for i in range(SHRINKERS)]
    memcgs = [sim.memcgs.create(f"m{i}") for i in range(total_memcgs - 1)]
    for memcg in memcgs[:: max(1, len(memcgs) // BUSY_MEMCGS)][:BUSY_MEMCGS]:
        for cache in caches:
            cache.alloc(memcg, OBJECTS)
    sim.memcgs.preorder_index(sim.memcgs.root)  # settle the tree's walk order
    return sim


def one_pass(total_memcgs: int) -> tuple[float, int]:
    best = float("inf")
    walked = 0
    for _ in range(REPEATS):
        sim = build(total_memcgs)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            try_to_free_pages(sim, 0, GFP_KERNEL, 32)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
        walked = sim.reclaims[-1].memcgs_walked
    return best, walked


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.events = 0

    @shrinkfw.hookimpl
    def shrinkfw_shrink_slab_start(self, event: ShrinkSlabStart) -> None:
        self.events += 1

    @shrinkfw.hookimpl
    def shrinkfw_shrink_slab_end(self, event: ShrinkSlabEnd) -> None:
        self.events += 1


def pluggy_share() -> float:
    """Run memcg-limit reclaim repeatedly with a recorder plugin; pluggy's share of time."""
    sim = Simulation.build(profile="v6.7", autoload=False, memory=2 << 30, plugins=[Recorder()])
    caches = [ObjectCacheShrinker(sim, f"cache{i}") for i in range(SHRINKERS)]
    boxes = [sim.memcgs.create(f"box{i}") for i in range(BUSY_MEMCGS)]
    for box in boxes:
        sim.memcgs.set_max(box, 2048)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        for box in boxes:
            for cache in caches:
                cache.alloc(box, 300)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = stats.stats.items()  # type: ignore[attr-defined]
    in_pluggy = sum(row[2] for (filename, _, _), row in rows if "/pluggy/" in filename)
    in_reclaim = sum(row[3] for (_, _, func), row in rows if func == "do_try_to_free_pages")
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"  reclaim-heavy run: {total:.2f} s profiled, {in_reclaim / total:.0%} of it in "
        f"reclaim, {in_pluggy * 1e3:.1f} ms in pluggy"
    )
    return in_pluggy / in_reclaim


def main() -> int:
    small, small_walked = one_pass(100)
    large, large_walked = one_pass(10_000)
    ratio = large / small
    share = pluggy_share()
    print("one global reclaim pass, v6.7, 8 memcg-aware shrinkers, 10 busy memcgs")
    print(f"  100 memcgs:    {small * 1e3:8.2f} ms  (kernel walk visits {small_walked} memcgs)")
    print(f"  10,000 memcgs: {large * 1e3:8.2f} ms  (kernel walk visits {large_walked} memcgs)")
    print(f"pluggy's share of reclaim time, with a tracepoint recorder plugin: {share:.1%}")
    print(f"ratio (10,000 / 100): {ratio:.2f}")
    failed = False
    if ratio > RATIO_LIMIT:
        print(f"FAIL: ratio {ratio:.2f} > {RATIO_LIMIT}")
        failed = True
    if share > PLUGGY_LIMIT:
        print(f"FAIL: pluggy share {share:.1%} > {PLUGGY_LIMIT:.0%}")
        failed = True
    if not failed:
        print("OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
