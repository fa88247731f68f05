"""A small pressure consumer for the consumer contract's own tests, with switches that break
one rule of the contract each.

As it behaves by default it is a minimal correct userspace consumer: one eventfd at
``level`` on ``memcg``, whose reader defers the action to the clock; the action records a
``"note"`` decision about the memcg whose window filled. Its :func:`pressure` is a 4 MiB
memcg ``/box`` filled with page cache every 0.1 s: limit reclaim and LOW windows; the first
decision comes at 0.5 s on v6.7, 0.8 s on the seed.

This file is also copied into the inner pytest sessions of ``test_consumer_contract.py``,
so it imports nothing from the tests.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import shrinkfw
from shrinkfw import UsageError
from shrinkfw.consumer import Decision
from shrinkfw.vmpressure import Level

if TYPE_CHECKING:
    from shrinkfw import Simulation
    from shrinkfw.consumer import ConsumerRegistry
    from shrinkfw.vmpressure import PressureEvent

NAME = "fake"
PARAMS: dict[str, object] = {"level": "low", "memcg": "/"}
#: The rules one can break, each by its switch.
BREAKS = (
    "in_reader",  # decides in its eventfd reader, inside the kernel's reclaim path
    "wrong_time",  # stamps decisions with the time of the window, not when it records them
    "keeps_listening",  # stop() forgets to unregister the eventfd
    "acts_after_stop",  # acts 0.3 s after each event, and stop() does not cancel that
    "accepts_anything",  # unknown settings are ignored
    "restless",  # the reason counts across simulations: not deterministic
    "bypasses_record",  # appends to sim.decisions instead of calling sim.record_decision
    "bad_memcg",  # names a memcg that never existed
    "undocumented",  # registers no params
)
_serial = itertools.count()


class FakeRun:
    def __init__(self, sim: Simulation, settings: dict[str, Any], breaks: frozenset[str]):
        self.sim = sim
        self.breaks = breaks
        self.plugin = sim.consumers.get(NAME).plugin
        level = {lv.label: lv for lv in Level}[settings["level"]]
        self.listener = sim.vmpressure.register_event(
            sim.memcgs.get(settings["memcg"]), level, name=NAME, reader=self.read
        )
        self.stopped = False

    def read(self, event: PressureEvent) -> None:
        if self.stopped:
            return
        if "in_reader" in self.breaks:
            self.act(event)
        elif "acts_after_stop" in self.breaks:
            self.sim.schedule(0.3, lambda: self.act(event), name=NAME)
        else:
            self.sim.schedule(0.0, lambda: self.act(event), name=NAME)

    def act(self, event: PressureEvent) -> None:
        if self.stopped and not self.breaks & {"keeps_listening", "acts_after_stop"}:
            return
        sim = self.sim
        reason = f"{event.level.label} window on {event.origin.path}"
        if "restless" in self.breaks:
            reason += f" (#{next(_serial)})"
        decision = Decision(
            time=event.time - 0.01 if "wrong_time" in self.breaks else sim.now,
            consumer=NAME,
            plugin=self.plugin,
            action="note",
            memcg="/nowhere" if "bad_memcg" in self.breaks else event.origin.path,
            reason=reason,
        )
        if "bypasses_record" in self.breaks:
            sim.decisions.append(decision)
        else:
            sim.record_decision(decision)

    def stop(self) -> None:
        if "keeps_listening" in self.breaks:
            return
        self.stopped = True
        self.sim.vmpressure.unregister(self.listener)


class FakeConsumerPlugin:
    """Registers the ``fake`` consumer; ``breaks`` names the rules it breaks."""

    def __init__(self, *breaks: str) -> None:
        unknown = set(breaks) - set(BREAKS)
        assert not unknown, unknown
        self.breaks = frozenset(breaks)
        self.name = "fake-consumer" + "".join(f"-{b}" for b in sorted(breaks))

    def start(self, sim: Simulation, **settings: Any) -> FakeRun:
        unknown = [k for k in settings if k not in PARAMS]
        if unknown and "accepts_anything" not in self.breaks:
            raise UsageError(f"{NAME}: unknown setting {unknown[0]!r}")
        return FakeRun(sim, {**PARAMS, **settings}, self.breaks)

    @shrinkfw.hookimpl
    def shrinkfw_register_consumers(self, registry: ConsumerRegistry) -> None:
        params = {} if "undocumented" in self.breaks else dict(PARAMS)
        registry.add(NAME, self.start, description="notes pressure windows", params=params)


def pressure(sim: Simulation) -> None:
    """``/box``, 4 MiB, filled with 256 pages of page cache every 0.1 s."""
    box = sim.memcgs.create("box")
    if sim.profile.name == "v3.14-kmemcg-v15":
        sim.memcgs.set_limit(box, 1024)
    else:
        sim.set_max(box, 1024)

    def fill() -> None:
        sim.alloc_user_pages(box, 256)

    sim.every(0.1, fill, name="box")
