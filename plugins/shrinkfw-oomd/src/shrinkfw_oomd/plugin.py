"""The oomd plugin's hook implementations (the module registered as the ``oomd`` plugin).

It registers the ``oomd`` consumer, whose ``start`` (an :class:`~shrinkfw_oomd.OomdConsumer`
made for each simulation) keeps that simulation's memcg creation records; the memcg hooks
below fill and empty them. Nothing is kept at module level: each simulation's records are
found through its consumer registry. Nothing is killed until the consumer is started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw

from .oomd import OomdConsumer, registered_consumer
from .settings import CONSUMER_NAME, default_params

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.consumer import ConsumerRegistry

__all__ = ["shrinkfw_memcg_free", "shrinkfw_memcg_online", "shrinkfw_register_consumers"]


@shrinkfw.hookimpl
def shrinkfw_register_consumers(registry: ConsumerRegistry, sim: Simulation) -> None:
    """Register ``oomd``: a userspace killer (oomd ``pressure_above`` +
    ``kill_by_memory_size_or_growth``, lmkd's vmpressure mode) on vmpressure eventfds."""
    consumer = OomdConsumer()
    registered = registry.add(
        CONSUMER_NAME,
        consumer,
        description="userspace OOM killer (oomd / lmkd): kill a memcg below a watched one "
        "after sustained vmpressure",
        params=default_params(),
    )
    consumer.plugin = registered.plugin


@shrinkfw.hookimpl
def shrinkfw_memcg_online(memcg: MemCgroup, sim: Simulation) -> None:
    """``mkdir`` of a cgroup: note when, for ``victim = "youngest"``."""
    consumer = registered_consumer(sim)
    if consumer is not None:
        consumer.births.note(memcg, sim.now)


@shrinkfw.hookimpl
def shrinkfw_memcg_free(memcg: MemCgroup, sim: Simulation) -> None:
    """The memcg is gone for good: forget its creation record."""
    consumer = registered_consumer(sim)
    if consumer is not None:
        consumer.births.forget(memcg)
