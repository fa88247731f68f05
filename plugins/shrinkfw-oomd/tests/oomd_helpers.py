"""Helpers for the oomd plugin's tests: simulations with only this plugin, containers that
allocate on a clock, and a memcg under a limit to put them in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import shrinkfw_oomd.plugin
from shrinkfw_oomd import Oomd

from shrinkfw import MemCgroup, Simulation
from shrinkfw.lruvec import LruKind

if TYPE_CHECKING:
    from shrinkfw.consumer import Decision

SEED: Final = "v3.14-kmemcg-v15"
V6_7: Final = "v6.7"
#: The profiles that model reclaim, hence pressure.
FULL: Final = (SEED, V6_7)
MiB: Final = 1 << 20
#: Seconds between two allocation rounds of the containers.
TICK: Final = 0.1


def build(profile: str = V6_7, **kw: Any) -> Simulation:
    """A simulation with the oomd plugin only."""
    kw.setdefault("autoload", False)
    kw.setdefault("plugins", [shrinkfw_oomd.plugin])
    kw.setdefault("memory", 256 * MiB)
    return Simulation.build(profile=profile, **kw)


def start(sim: Simulation, **settings: Any) -> Oomd:
    """Start the ``oomd`` consumer the way a scenario does: through the registry."""
    run = sim.consumers.get("oomd").start(sim, **settings)
    assert isinstance(run, Oomd)
    return run


def limit(sim: Simulation, memcg: MemCgroup, pages: int) -> None:
    """The era's hard limit: v1 ``memory.limit_in_bytes`` on the seed, ``memory.max`` on
    v6.7."""
    if sim.profile.name == SEED:
        sim.memcgs.set_limit(memcg, pages)
    else:
        sim.set_max(memcg, pages)


class Containers:
    """Processes in memcgs that each allocate a fixed number of pages every :data:`TICK`
    seconds, as long as their memcg is online. A failed allocation (the memcg at its limit,
    the machine out of memory) is retried on the next tick.

    :ivar rates: pages per tick, by memcg.
    :ivar failures: allocations that failed.
    :ivar pause: ``(start, end)``: no allocation while ``start <= now < end``.
    """

    def __init__(self, sim: Simulation, *, kind: LruKind = LruKind.ANON) -> None:
        self.sim = sim
        self.kind = kind
        self.rates: dict[MemCgroup, int] = {}
        self.failures = 0
        self.pause: tuple[float, float] | None = None
        self.series = sim.every(TICK, self.tick, name="containers")

    def add(self, memcg: MemCgroup, pages_per_tick: int) -> MemCgroup:
        self.rates[memcg] = pages_per_tick
        return memcg

    def tick(self) -> None:
        now = self.sim.now
        if self.pause is not None and self.pause[0] - 1e-9 <= now < self.pause[1] - 1e-9:
            return
        for memcg, pages in list(self.rates.items()):
            if memcg.online and self.sim.alloc_user_pages(memcg, pages, kind=self.kind) is None:
                self.failures += 1


#: Pages per tick of the three jobs: 25.0, 12.5 and 6.25 MiB/s.
JOB_RATES: Final = {"a": 640, "b": 320, "c": 160}
#: ``/jobs``'s limit in pages (32 MiB).
JOBS_LIMIT: Final = 8192


def jobs_scenario(
    profile: str, *, kind: LruKind = LruKind.ANON
) -> tuple[Simulation, MemCgroup, dict[str, MemCgroup], Containers]:
    """``/jobs`` limited to 32 MiB with three jobs ``a``, ``b``, ``c`` allocating 640, 320 and
    160 pages per tick.

    With anonymous memory and no swap: after seven ticks the jobs hold 4480, 2240 and 1120
    pages (7840); at 0.8 s ``b`` still fits (8160) and nothing else ever does. From then on
    every tick's failed charges run limit reclaim that finds nothing to reclaim, down to
    priority 0: CRITICAL windows on ``/jobs``.
    """
    sim = build(profile)
    jobs = sim.memcgs.create("jobs")
    limit(sim, jobs, JOBS_LIMIT)
    containers = Containers(sim, kind=kind)
    kids = {
        name: containers.add(sim.memcgs.create(name, jobs), rate)
        for name, rate in JOB_RATES.items()
    }
    return sim, jobs, kids, containers


def when(decisions: list[Decision]) -> list[tuple[float, str]]:
    """``(time rounded to 1 ms, victim path)`` of each decision."""
    return [(round(d.time, 3), d.memcg) for d in decisions]
