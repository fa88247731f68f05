"""A plugin for the run tests: a slab cache with a shrinker, a workload that fills it and
the memcg's page cache, a consumer that records a decision per pressure event, and a
shrinker that breaks its contract on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shrinkfw
from shrinkfw import SHRINK_STOP, ShrinkerFlags
from shrinkfw.consumer import Decision
from shrinkfw.lruvec import LruKind
from shrinkfw.testing.fakes import ObjectCacheShrinker
from shrinkfw.vmpressure import Level

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, ShrinkControl, Simulation
    from shrinkfw.consumer import ConsumerRegistry
    from shrinkfw.vfs import SuperBlock
    from shrinkfw.vmpressure import PressureEvent
    from shrinkfw.workload import WorkloadRegistry

NAME = "toy"
NO_FLAGS = ShrinkerFlags(0)


class Filler:
    """Allocates ``rate`` objects and ``pages`` page-cache pages per 0.1 s."""

    def __init__(
        self, sim: Simulation, cache: ObjectCacheShrinker, memcg: MemCgroup, rate: int, pages: int
    ) -> None:
        self.sim, self.cache, self.memcg, self.rate, self.pages = sim, cache, memcg, rate, pages
        self.series = sim.every(0.1, self.tick, name="toy-fill")

    def tick(self) -> None:
        self.cache.alloc(self.memcg, self.rate)
        if self.pages:
            self.sim.alloc_user_pages(self.memcg, self.pages, kind=LruKind.FILE)

    def stop(self) -> None:
        self.series.cancel()


class Broken:
    """A shrinker that breaks one rule once ``armed``."""

    name = "broken"
    flags = ShrinkerFlags(0)
    seeks = 2
    batch = 0
    scan_fn = "broken_scan"

    def __init__(self, rule: str, flags: ShrinkerFlags = NO_FLAGS) -> None:
        self.rule = rule
        self.armed = False
        self.flags = flags

    def count_objects(self, sc: ShrinkControl) -> Any:
        if self.armed and self.rule == "negative":
            return -5
        if self.armed and self.rule == "float":
            return 1.5
        return 1000

    def scan_objects(self, sc: ShrinkControl) -> int:
        if not self.armed:
            return SHRINK_STOP
        if self.rule == "raise":
            raise KeyError("no such dentry")
        if self.rule == "overfree":
            return 1_000_000
        if self.rule == "stall":
            sc.nr_scanned = 0
            return 0
        return 0


class ToyPlugin:
    """Registered under the name ``toy``."""

    name = NAME

    def __init__(
        self,
        broken: str | None = None,
        arm_at: float = 1.0,
        broken_flags: ShrinkerFlags = NO_FLAGS,
    ) -> None:
        self.broken_rule = broken
        self.broken_flags = broken_flags
        self.arm_at = arm_at
        self.cache: ObjectCacheShrinker | None = None
        self.broken: Broken | None = None

    @shrinkfw.hookimpl
    def shrinkfw_configure(self, sim: Simulation) -> None:
        self.cache = ObjectCacheShrinker(sim, "toy-cache", plugin=NAME)
        if self.broken_rule is not None:
            broken = self.broken = Broken(self.broken_rule, self.broken_flags)
            sim.shrinkers.add(broken, plugin=NAME)

            def arm() -> None:
                broken.armed = True

            sim.clock.schedule_at(self.arm_at, arm, name="arm")

    @shrinkfw.hookimpl
    def shrinkfw_register_workloads(self, registry: WorkloadRegistry) -> None:
        def start(
            sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
        ) -> Filler:
            rate = params.get("rate", 100)
            if not isinstance(rate, int) or rate < 0:
                raise shrinkfw.UsageError(f"fill: rate: must be an integer >= 0, got {rate!r}")
            assert self.cache is not None
            return Filler(sim, self.cache, memcg, rate, params.get("pages", 0))

        registry.add("fill", start, params={"rate": 100, "pages": 0}, plugin=NAME)

    @shrinkfw.hookimpl
    def shrinkfw_register_consumers(self, registry: ConsumerRegistry) -> None:
        def start(sim: Simulation, **settings: Any) -> Any:
            memcg = sim.memcgs.get(settings.get("memcg", "/"))

            def read(event: PressureEvent) -> None:
                sim.record_decision(
                    Decision(
                        time=sim.now,
                        consumer="echo",
                        plugin=NAME,
                        action="note",
                        memcg=event.memcg.path,
                        reason=f"{event.level.label} pressure",
                        dry_run=True,
                    )
                )

            listener = sim.vmpressure.register_event(memcg, Level.LOW, reader=read, name="echo")

            class Run:
                def stop(self) -> None:
                    sim.vmpressure.unregister(listener)

            return Run()

        registry.add("echo", start, params={"memcg": "/"}, plugin=NAME)


#: for ``shrinkfw run -p <this module>:PLUGIN``
PLUGIN = ToyPlugin()
