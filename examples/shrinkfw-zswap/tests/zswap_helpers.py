"""Helpers for the zswap plugin's tests: simulations with only this plugin, entries, calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shrinkfw_zswap.plugin
from shrinkfw_zswap import ZswapEntry, ZswapPool, ZswapShrinker, zswap_pool

from shrinkfw import GFP_KERNEL, Gfp, ShrinkControl, Simulation

if TYPE_CHECKING:
    from shrinkfw import MemCgroup

#: The profiles that model reclaim end to end.
FULL_PROFILES = ("v3.14-kmemcg-v15", "v6.7")


def build(profile: str = "v6.7", **kw: Any) -> Simulation:
    """A simulation with the zswap plugin only, and swap."""
    kw.setdefault("autoload", False)
    kw.setdefault("plugins", [shrinkfw_zswap.plugin])
    kw.setdefault("swap", True)
    return Simulation.build(profile=profile, **kw)


def zswap_sim(profile: str = "v6.7", **kw: Any) -> tuple[Simulation, ZswapPool]:
    sim = build(profile, **kw)
    return sim, zswap_pool(sim)


def memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    """A memcg whose kmem is accounted (cgroup v1 needs a kmem limit written first)."""
    m = sim.memcgs.create(name, parent)
    if not m.kmem_active:
        sim.memcgs.set_kmem_limit(m, 1 << 40)
    return m


def slot(pool: ZswapPool) -> int:
    """A new swap slot (the helpers' simulations have swap)."""
    offset = pool.alloc_swap_slot()
    assert offset is not None, "the machine has no swap"
    return offset


def store(
    pool: ZswapPool,
    owner: MemCgroup,
    n: int,
    *,
    nid: int = 0,
    length: int = 2048,
    referenced: bool = True,
) -> list[ZswapEntry]:
    """``n`` pages of ``owner`` stored at new swap slots; ``referenced=False`` gives entries
    that already had their second chance."""
    made = []
    for _ in range(n):
        entry = pool.store(slot(pool), owner, nid, length)
        assert entry is not None, "zswap_store rejected a page"
        entry.referenced = referenced
        made.append(entry)
    return made


def shrinker_of(pool: ZswapPool) -> ZswapShrinker:
    return pool.shrinker


def count(pool: ZswapPool, owner: MemCgroup | None, *, nid: int = 0, gfp: Gfp = GFP_KERNEL) -> int:
    """One ``count_objects`` call for (nid, owner)."""
    return pool.shrinker.count_objects(ShrinkControl(gfp_mask=gfp, nid=nid, memcg=owner))


def scan(
    pool: ZswapPool, owner: MemCgroup | None, nr_to_scan: int, *, nid: int = 0
) -> tuple[int, ShrinkControl]:
    """One ``scan_objects`` call of ``nr_to_scan`` for (nid, owner); returns what it returned
    and the shrink_control it was given (budget left in ``nr_to_scan``)."""
    sc = ShrinkControl(nid=nid, memcg=owner, nr_to_scan=nr_to_scan, nr_scanned=nr_to_scan)
    return pool.shrinker.scan_objects(sc), sc


def on_list(pool: ZswapPool, owner: MemCgroup | None, nid: int = 0) -> list[ZswapEntry]:
    """The (nid, owner) list of ``zswap_list_lru``, head first."""
    return list(pool.lru.items(nid, owner))
