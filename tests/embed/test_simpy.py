"""The SimPy adapter: a SimPy model owns time and drives shrinkfw."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shrinkfw import Simulation, UsageError
from shrinkfw.simpy import SimpyDriver
from shrinkfw.testing import ObjectCacheShrinker

if TYPE_CHECKING:
    from collections.abc import Generator

simpy = pytest.importorskip("simpy")


def test_shrinkfw_events_keep_their_times_between_steps() -> None:
    env = simpy.Environment()
    sim = Simulation.build(profile="v6.7", memory=1 << 30, autoload=False)
    seen: list[float] = []
    sim.every(0.25, lambda: seen.append(sim.now))
    SimpyDriver(env, sim, step=1.0)
    env.run(until=2.5)
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert sim.now == 2.0  # the last catch-up; 2.5 is not reached until someone syncs


def test_a_simpy_process_acts_on_the_model_after_sync() -> None:
    env = simpy.Environment()
    sim = Simulation.build(profile="v6.7", memory=1 << 30, autoload=False)
    dentries = ObjectCacheShrinker(sim, "dentry")
    host = SimpyDriver(env, sim, step=0.5)
    readings: list[tuple[float, int]] = []

    def container() -> Generator[Any, Any, None]:
        yield env.timeout(1.0)
        host.sync()
        box = sim.memcgs.create("box")
        for _ in range(5):
            host.sync()
            dentries.alloc(box, 1000)
            yield env.timeout(0.3)
        host.sync()
        sim.set_high(box, 64)  # memory.high = 256 KiB: reclaim shrinks box's dentries
        readings.append((sim.now, sim.memory_stat(box).slab_reclaimable))

    env.process(container())
    env.run(until=5)
    [(when, slab)] = readings
    assert when == pytest.approx(2.5)
    assert slab < 64 * 4096
    assert dentries.lru.count() < 5000


def test_bad_steps_and_clocks_are_refused() -> None:
    env = simpy.Environment()
    sim = Simulation.build(profile="v6.7", memory=1 << 30, autoload=False)
    with pytest.raises(UsageError, match="step must be a number of seconds > 0"):
        SimpyDriver(env, sim, step=0)
    sim.advance_to(3.0)
    with pytest.raises(UsageError, match=r"SimPy clock \(0\) is behind"):
        SimpyDriver(env, sim)
