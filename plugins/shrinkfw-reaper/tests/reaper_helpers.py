"""Helpers for the reaper plugin's tests: simulations with only this plugin, dead memcgs,
pressure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import shrinkfw_reaper.plugin
from shrinkfw_reaper import DeadMemcgReaper

from shrinkfw import GFP_KERNEL, MemCgroup, MemcgState, Simulation
from shrinkfw.lruvec import LruKind

if TYPE_CHECKING:
    from shrinkfw.testing import ObjectCacheShrinker
    from shrinkfw.vmpressure import Window

#: Every profile, oldest first.
ALL_PROFILES: Final = ("v3.14", "v3.14-kmemcg-v15", "v4.9", "v4.14", "v5.4", "v6.1", "v6.7")
SEED: Final = "v3.14-kmemcg-v15"
MiB: Final = 1 << 20


def build(profile: str = SEED, **kw: Any) -> Simulation:
    """A simulation with the reaper plugin only."""
    kw.setdefault("autoload", False)
    kw.setdefault("plugins", [shrinkfw_reaper.plugin])
    kw.setdefault("memory", 256 * MiB)
    return Simulation.build(profile=profile, **kw)


def start(sim: Simulation, **settings: Any) -> DeadMemcgReaper:
    """Start the ``reaper`` consumer the way a scenario does: through the registry."""
    run = sim.consumers.get("reaper").start(sim, **settings)
    assert isinstance(run, DeadMemcgReaper)
    return run


def kmem_memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    """A memcg whose slab is accounted (the seed needs the v1 kmem limit written)."""
    memcg = sim.memcgs.create(name, parent)
    if not memcg.kmem_active:
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    return memcg


def make_dead(
    sim: Simulation, cache: ObjectCacheShrinker, parent: MemCgroup, names: list[str]
) -> list[MemCgroup]:
    """Memcgs that are removed while one dentry each is in use, the dentry freed afterwards.

    On the seed the offline flush (``memcg_drop_slab``) frees the other 99 dentries but not
    the busy one; freeing it later leaves one empty slab page in the dead memcg's cache,
    charged to it: the memcg stays ``DYING`` until ``kmem_cache_shrink`` releases the page.
    """
    dead = []
    for name in names:
        memcg = kmem_memcg(sim, name, parent)
        objs = cache.alloc(memcg, 100)
        objs[0].busy = True
        sim.rmdir(memcg)
        cache.free(objs[0])
        dead.append(memcg)
    return dead


def states(memcgs: list[MemCgroup]) -> set[MemcgState]:
    return {m.state for m in memcgs}


def root_windows(sim: Simulation) -> list[Window]:
    root = sim.memcgs.root
    return [w for w in sim.vmpressure.windows if w.memcg is root and not w.socket]


def global_file_pressure(sim: Simulation, hog: MemCgroup, windows: int = 1) -> None:
    """Fill memory with page cache in ``hog`` until reclaim has evaluated ``windows`` more
    root windows (the page cache is easy to reclaim: the windows are LOW)."""
    target = len(root_windows(sim)) + windows
    for _ in range(10_000):
        if len(root_windows(sim)) >= target:
            return
        assert sim.alloc_user_pages(hog, 256) is not None
    raise AssertionError("no global reclaim window")


def global_anon_exhaustion(sim: Simulation, hog: MemCgroup) -> None:
    """Allocate anonymous memory (no swap) until the machine is out of memory: once the
    page cache is gone, reclaim gets down to priority 3 and injects CRITICAL windows."""
    for _ in range(100_000):
        if sim.alloc_user_pages(hog, 64, kind=LruKind.ANON) is None:
            return
    raise AssertionError("memory never ran out")


def window(sim: Simulation, memcg: MemCgroup | None, scanned: int, reclaimed: int) -> None:
    """One complete vmpressure window on ``memcg`` (None: the root), delivered at once."""
    sim.vmpressure.vmpressure(GFP_KERNEL, memcg, scanned, reclaimed)
    sim.vmpressure.run_pending()
