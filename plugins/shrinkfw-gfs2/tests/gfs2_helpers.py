"""Helpers for the gfs2 plugin's tests: simulations with only this plugin, and quota records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw_gfs2.plugin
from shrinkfw_gfs2 import QdShrinker, QuotaCache, QuotaData, gfs2_quota

from shrinkfw import GFP_KERNEL, Gfp, MemCgroup, ShrinkControl, Simulation

if TYPE_CHECKING:
    from shrinkfw.vfs import SuperBlock

#: Every profile, oldest first.
ALL_PROFILES = ("v3.14", "v3.14-kmemcg-v15", "v4.9", "v4.14", "v5.4", "v6.1", "v6.7")


def build(profile: str = "v6.7", **kw: object) -> Simulation:
    """A simulation with the gfs2 plugin only."""
    kw.setdefault("autoload", False)
    kw.setdefault("plugins", [shrinkfw_gfs2.plugin])
    return Simulation.build(profile=profile, **kw)  # type: ignore[arg-type]


def gfs2_sim(
    profile: str = "v6.7", device: str = "sda1", **kw: object
) -> tuple[Simulation, QuotaCache, SuperBlock]:
    sim = build(profile, **kw)
    return sim, gfs2_quota(sim), sim.vfs.mount("gfs2", device)


def shrinker_of(sim: Simulation) -> QdShrinker:
    shrinker = sim.shrinkers.get("gfs2-qd").shrinker
    assert isinstance(shrinker, QdShrinker)
    return shrinker


def unused(
    cache: QuotaCache,
    sb: SuperBlock,
    ids: range | list[int],
    *,
    nid: int = 0,
    memcg: MemCgroup | None = None,
) -> list[QuotaData]:
    """Look each id up and release it at once: unused records on ``gfs2_qd_lru``."""
    made = []
    for qid in ids:
        qd = cache.qd_get(sb, qid, memcg=memcg, nid=nid)
        assert qd is not None
        made.append(qd)
    for qd in made:
        cache.qd_put(qd)
    return made


def scan(shrinker: QdShrinker, nr_to_scan: int, *, nid: int = 0, gfp: Gfp = GFP_KERNEL) -> int:
    """One ``scan_objects`` call of ``nr_to_scan`` on ``nid``."""
    sc = ShrinkControl(gfp_mask=gfp, nid=nid, nr_to_scan=nr_to_scan, nr_scanned=nr_to_scan)
    return shrinker.scan_objects(sc)


def count(shrinker: QdShrinker, *, nid: int = 0, memcg: MemCgroup | None = None) -> int:
    return shrinker.count_objects(ShrinkControl(nid=nid, memcg=memcg))


def lru_ids(cache: QuotaCache, nid: int = 0) -> list[tuple[str, int]]:
    """The LRU of ``nid`` head first, as (device, id)."""
    return [(qd.sb.s_id, qd.id) for qd in cache.lru.items(nid)]
