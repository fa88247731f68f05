"""Per-tick samples of the model: the rows of ``metrics.csv`` and the figures of the summary.

Each sample reads the simulation's state; nothing here changes it (``count_objects`` is not
called: a shrinker's objects are the items on the list_lrus it scans).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..memcg import PAGE_SIZE, MemcgState

if TYPE_CHECKING:
    from ..memcg import MemCgroup
    from ..registry import ShrinkerEntry
    from ..sim import Simulation

__all__ = ["HEADER", "Sampler", "memcg_objects", "shrinker_nr_deferred", "shrinker_objects"]

HEADER: Final = ("time", "scope", "name", "metric", "value")

Row = tuple[str, str, str, str, int]

_MACHINE_COUNTERS: Final = (
    ("reclaim_direct", ("reclaim_direct",)),
    ("reclaim_kswapd", ("reclaim_kswapd",)),
    ("reclaim_memcg", ("reclaim_memcg_limit", "reclaim_memcg_high")),
    ("pages_reclaimed", ("pages_reclaimed",)),
)


def memcg_objects(sim: Simulation, memcg: MemCgroup) -> int:
    """Items on ``memcg``'s own lists of every memcg-aware list_lru.

    A memcg without a kmemcg_id of its own has no lists: its objects are on the global ones
    (kmem not active, v3.x) or, once offline, on its parent's (the id is taken over by the
    parent when its lists are spliced there): 0."""
    if memcg.state is MemcgState.FREED or memcg.kmemcg_id < 0:
        return 0
    parent = memcg.parent
    if parent is not None and memcg.kmemcg_id == parent.kmemcg_id:
        return 0
    total = 0
    for lru in sim.lrus:
        if lru.memcg_aware:
            for nid in range(sim.nr_nodes):
                total += lru.count_one(nid, memcg)
    return total


def shrinker_objects(sim: Simulation) -> dict[str, int]:
    """Items on the list_lrus each shrinker scans, by shrinker name."""
    out: dict[str, int] = {}
    for lru, entry in sim.lru_owner.items():
        out[entry.name] = out.get(entry.name, 0) + lru.count()
    return out


def shrinker_nr_deferred(sim: Simulation, entry: ShrinkerEntry) -> int:
    """Deferred work of ``entry``: its global slots plus every memcg's slot for it (v5.13+)."""
    total = sum(entry.nr_deferred)
    if entry.id >= 0:
        for memcg in sim.memcgs.iter():
            for info in memcg.shrinker_info:
                total += info.nr_deferred.get(entry.id, 0)
    return total


class Sampler:
    """Produces the rows of one tick. Memcgs are reported by path: the live incarnations of
    a path (online, offline or dying) are summed, so a container that is removed and created
    again stays one line in the plots."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.paths: dict[str, list[MemCgroup]] = {}
        self.shrinkers: dict[str, ShrinkerEntry] = {}
        #: the most dying memcgs any sample saw
        self.max_dying = 0

    def track(self, memcg: MemCgroup) -> None:
        """Report ``memcg`` under its path from now on."""
        self.paths.setdefault(memcg.path, []).append(memcg)

    def sample(self) -> list[Row]:
        sim = self.sim
        t = f"{sim.now:.3f}"
        vmstat = sim.vmstat
        rows: list[Row] = []
        free = sum(node.free_pages for node in sim.nodes)
        dying = sum(1 for m in sim.memcgs.iter() if m.state is MemcgState.DYING)
        self.max_dying = max(self.max_dying, dying)
        rows.append((t, "machine", "", "free_bytes", free * PAGE_SIZE))
        rows.append((t, "machine", "", "slab_bytes", sim.slab.nr_pages * PAGE_SIZE))
        rows.append((t, "machine", "", "dying_memcgs", dying))
        for level, n in sim.vmpressure.window_counts.items():
            rows.append((t, "machine", "", f"vmpressure_{level.label}", n))
        for metric, keys in _MACHINE_COUNTERS:
            rows.append((t, "machine", "", metric, sum(vmstat[k] for k in keys)))
        for node in sim.nodes:
            rows.append((t, "node", str(node.nid), "free_bytes", node.free_pages * PAGE_SIZE))
        for path, incarnations in self.paths.items():
            live = [m for m in incarnations if m.state is not MemcgState.FREED]
            usage = sum(m.usage for m in live)
            kmem = sum(m.usage_kmem for m in live)
            objects = sum(memcg_objects(sim, m) for m in live)
            rows.append((t, "memcg", path, "usage_bytes", usage * PAGE_SIZE))
            rows.append((t, "memcg", path, "kmem_bytes", kmem * PAGE_SIZE))
            rows.append((t, "memcg", path, "objects", objects))
        for entry in sim.shrinkers.entries:
            self.shrinkers.setdefault(entry.name, entry)
        objects_of = shrinker_objects(sim)
        for name, entry in self.shrinkers.items():
            rows.append((t, "shrinker", name, "objects", objects_of.get(name, 0)))
            rows.append((t, "shrinker", name, "invocations", entry.invocations))
            rows.append((t, "shrinker", name, "scanned", entry.scanned))
            rows.append((t, "shrinker", name, "freed", entry.freed))
            rows.append((t, "shrinker", name, "nr_deferred", shrinker_nr_deferred(sim, entry)))
        return rows
