"""Drive a shrinkfw simulation from a SimPy model (the ``simpy`` extra).

A host simulator (a container scheduler, a node agent) owns time; shrinkfw is a part of its
world. :class:`SimpyDriver` keeps one :class:`~shrinkfw.Simulation` in step with one
``simpy.Environment``: a SimPy process advances the simulation every ``step`` seconds, and
any SimPy process that is about to act on the model (create a memcg, start a workload, read
``memory.stat``) first calls :meth:`SimpyDriver.sync`, which plays shrinkfw's own events up to
``env.now``. shrinkfw's events always run at their own times, in order; ``step`` only decides
how often the SimPy side sees the results when nobody calls :meth:`~SimpyDriver.sync`::

    env = simpy.Environment()
    sim = shrinkfw.Simulation.build(profile="v6.7")
    host = SimpyDriver(env, sim, step=0.1)

    def container(env):
        host.sync()
        box = sim.memcgs.create("box")
        ...
        yield env.timeout(5)
        host.sync()
        print(sim.memory_stat(box).slab_reclaimable)

    env.process(container(env))
    env.run(until=10)

Install with ``pip install shrinkfw[simpy]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Generator

    import simpy

    from .sim import Simulation

__all__ = ["DEFAULT_STEP", "SimpyDriver"]

#: Seconds between two catch-ups when the caller names no step.
DEFAULT_STEP: Final = 0.1


class SimpyDriver:
    """Keeps ``sim`` in step with ``env``.

    :param env: the SimPy environment that owns time. Its clock must not be behind the
        simulation's (both usually start at 0).
    :param sim: the shrinkfw simulation it drives.
    :param step: seconds between two catch-ups of the driving process (> 0).
    :ivar process: the SimPy process that does the catching up.
    :raises UsageError: a step that is not a positive number, or an environment whose clock
        is behind the simulation's.
    """

    def __init__(self, env: simpy.Environment, sim: Simulation, *, step: float = DEFAULT_STEP):
        if isinstance(step, bool) or not isinstance(step, int | float) or not step > 0:
            raise UsageError(f"step must be a number of seconds > 0, got {step!r}")
        if env.now < sim.now:
            raise UsageError(
                f"the SimPy clock ({env.now}) is behind the simulation's ({sim.now}); "
                "start both at the same time"
            )
        self.env = env
        self.sim = sim
        self.step = float(step)
        self.syncs = 0
        self.process = env.process(self._run())

    def sync(self) -> None:
        """Play the simulation's events up to ``env.now`` (``Simulation.advance_to``)."""
        self.syncs += 1
        self.sim.advance_to(float(self.env.now))

    def _run(self) -> Generator[simpy.Event, object, None]:
        env = self.env
        while True:
            self.sync()
            yield env.timeout(self.step)
