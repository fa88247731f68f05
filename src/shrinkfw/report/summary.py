"""``summary.json``: the run in one object (format 1, see ``docs/run-directory.md``)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from ..memcg import PAGE_COUNTER_MAX, PAGE_SIZE, MemcgState
from .metrics import memcg_objects, shrinker_nr_deferred, shrinker_objects

if TYPE_CHECKING:
    from ..memcg import MemCgroup
    from ..runner import ScenarioRun

__all__ = ["FORMAT", "build_summary"]

#: version of the run directory layout
FORMAT: Final = 1

_NAMED_REASONS: Final = ("direct", "kswapd", "memcg_limit", "memcg_high")


def _limit_bytes(run: ScenarioRun, memcg: MemCgroup) -> int | None:
    v1 = run.sim.profile.kmem.activation == "limit_write"
    pages = memcg.memory_limit if v1 else memcg.max
    return None if pages >= PAGE_COUNTER_MAX else pages * PAGE_SIZE


def build_summary(run: ScenarioRun, stopped: str | None) -> dict[str, Any]:
    """Everything ``summary.json`` holds, in a fixed key order."""
    from .. import __version__

    sim = run.sim
    scenario = run.scenario
    vmstat = sim.vmstat
    memcgs = []
    for inc in run.incarnations:
        m = inc.memcg
        memcgs.append(
            {
                "path": m.path,
                "id": inc.id,
                "state": m.state.value,
                "usage_bytes": m.usage * PAGE_SIZE,
                "kmem_bytes": m.usage_kmem * PAGE_SIZE,
                "limit_bytes": _limit_bytes(run, m),
                "objects": memcg_objects(sim, m),
                "events": dict(m.events),
                "created": round(inc.created, 6),
                "removed": None if inc.removed is None else round(inc.removed, 6),
            }
        )
    objects_of = shrinker_objects(sim)
    registered = {e.name for e in sim.shrinkers.entries}
    shrinkers = [
        {
            "name": name,
            "plugin": entry.plugin,
            "invocations": entry.invocations,
            "scanned": entry.scanned,
            "freed": entry.freed,
            "nr_deferred": shrinker_nr_deferred(sim, entry),
            "objects": objects_of.get(name, 0),
            "registered": name in registered,
        }
        for name, entry in run.sampler.shrinkers.items()
    ]
    other = sum(
        n
        for key, n in vmstat.items()
        if key.startswith("reclaim_") and key[len("reclaim_") :] not in _NAMED_REASONS
    )
    actions = Counter(f"{d.action} (dry run)" if d.dry_run else d.action for d in sim.decisions)
    disabled = {plugin for plugin, _ in sim.disabled_plugins}
    return {
        "format": FORMAT,
        "shrinkfw": __version__,
        "scenario": scenario.name,
        "scenario_file": None if scenario.file.startswith("<") else scenario.file,
        "profile": sim.profile.name,
        "era": sim.profile.era,
        "seed": sim.seed,
        "duration": scenario.duration,
        "tick": scenario.tick,
        "ticks": run.ticks_done,
        "time": round(sim.now, 6),
        "complete": stopped is None,
        "stopped": stopped,
        "machine": {
            "nodes": sim.nr_nodes,
            "memory_bytes": sum(n.present_pages for n in sim.nodes) * PAGE_SIZE,
            "free_bytes": sum(n.free_pages for n in sim.nodes) * PAGE_SIZE,
        },
        "memcgs": memcgs,
        "shrinkers": shrinkers,
        "vmpressure": {
            **{level.label: n for level, n in sim.vmpressure.window_counts.items()},
            "delivered": {
                level: vmstat[f"vmpressure_{level}"] for level in ("low", "medium", "critical")
            },
        },
        "reclaim": {
            "direct": vmstat["reclaim_direct"],
            "kswapd": vmstat["reclaim_kswapd"],
            "memcg_limit": vmstat["reclaim_memcg_limit"],
            "memcg_high": vmstat["reclaim_memcg_high"],
            "other": other,
            "pages_reclaimed": vmstat["pages_reclaimed"],
            "slab_pages_reclaimed": vmstat["slab_pages_reclaimed"],
            "slab_freed": vmstat["slab_objects_freed"],
        },
        "dying_memcgs": {
            "max": run.sampler.max_dying,
            "final": sum(1 for m in sim.memcgs.iter() if m.state is MemcgState.DYING),
        },
        "decisions": {
            "count": len(sim.decisions),
            "by_action": dict(sorted(actions.items())),
            "list": [d.as_dict() for d in sim.decisions],
        },
        "plugins": [
            {"name": name, "disabled": name in disabled}
            for name in sorted({n for n, _ in sim.pm.list_name_plugin()} | disabled)
            if not name.startswith("shrinkfw.")
        ],
        "plugin_errors": [
            {"plugin": plugin, "error": error} for plugin, error in sim.disabled_plugins
        ],
        "vmstat": dict(sorted(vmstat.items())),
    }
