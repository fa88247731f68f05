"""A SimPy container host that embeds shrinkfw for its kernel memory.

The host model is SimPy's: containers arrive at random, each runs a job for a while and is
removed. What each job does to kernel memory is shrinkfw's: a container that stat()s missing
names grows negative dentries charged to its memcg; one that walks a directory tree grows
dentries and inodes; memory.high makes each reclaim its own slab. Every second the host
reads each container's memory.stat, as a node agent would, and prints a line.

Needs shrinkfw with the simpy extra and the dcache and inode plugins:

    pip install '.[simpy]' ./plugins/shrinkfw-dcache ./plugins/shrinkfw-inode
    python examples/simpy_host.py
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import simpy

from shrinkfw import Simulation
from shrinkfw.memcg import PAGE_SIZE
from shrinkfw.simpy import SimpyDriver

if TYPE_CHECKING:
    from collections.abc import Generator

SEED = 7
RUN_FOR = 20.0
MiB = 1 << 20

env = simpy.Environment()
sim = Simulation.build(profile="v6.7", seed=SEED, nr_nodes=2, memory=512 * MiB)
host = SimpyDriver(env, sim, step=0.1)
rootfs = sim.vfs.mount("ext4", "sda1")
rng = random.Random(SEED)
running: dict[str, Any] = {}


def container(name: str, job: str, params: dict[str, Any], lifetime: float) -> Generator[Any]:
    """One container: mkdir, set memory.high, run the job, stop it, rmdir."""
    host.sync()
    memcg = sim.memcgs.create(name)
    sim.set_high(memcg, 16 * MiB // PAGE_SIZE)
    job_run = sim.workloads.get(job).start(sim, memcg, rootfs, prefix=name, **params)
    running[name] = memcg
    yield env.timeout(lifetime)
    host.sync()
    job_run.stop()
    del running[name]
    sim.rmdir(memcg)


def arrivals() -> Generator[Any]:
    """A container every 2 s on average, alternating between the two kinds of job."""
    for n in range(1, 1000):
        yield env.timeout(rng.expovariate(0.5))
        if n % 2:
            job, params = "negative-dentry-storm", {"rate": 20_000.0}
        else:
            job, params = "path-walk", {"rate": 2_000.0, "files": 32}
        env.process(container(f"c{n}", job, params, lifetime=rng.uniform(3.0, 8.0)))


def monitor() -> Generator[Any]:
    """The node agent: memory.stat of every running container, every second."""
    print(f"{'time':>5}  {'container':<9} {'slab KiB':>9} {'file KiB':>9} {'pgscan':>7}  dying")
    while True:
        yield env.timeout(1.0)
        host.sync()
        dying = sim.memcgs.nr_dying_descendants(sim.memcgs.root)
        for name, memcg in sorted(running.items()):
            stat = sim.memory_stat(memcg)
            print(
                f"{env.now:5.1f}  {name:<9} {stat.slab // 1024:9d} {stat.file // 1024:9d} "
                f"{stat.pgscan:7d}  {dying}"
            )


env.process(arrivals())
env.process(monitor())
env.run(until=RUN_FOR)
print(
    f"{sim.vmstat['reclaim_memcg_high']} memory.high reclaims freed "
    f"{sim.vmstat['slab_objects_freed']} slab objects in {RUN_FOR:g} s"
)
