"""The reaper plugin's hook implementations (the module registered as the ``reaper`` plugin).

It registers one consumer type, ``reaper``. Nothing runs until a scenario, a test or a host
simulator starts it (``sim.consumers.get("reaper").start(sim, **settings)``); the kernel's
own reaper on the seed profile is left alone until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw

from .reaper import CONSUMER_NAME, PARAMS, start_reaper

if TYPE_CHECKING:
    from shrinkfw import Simulation
    from shrinkfw.consumer import ConsumerRegistry

__all__ = ["shrinkfw_register_consumers"]


@shrinkfw.hookimpl
def shrinkfw_register_consumers(registry: ConsumerRegistry, sim: Simulation) -> None:
    """Register the ``reaper`` consumer: kmemcg v15 13/13, ``memcg_vmpressure_shrink_dead``
    on the windows of a vmpressure listener."""
    registry.add(
        CONSUMER_NAME,
        start_reaper,
        description="kmemcg v15 13/13: shrink dead memcgs' slab caches on vmpressure events",
        params=dict(PARAMS),
    )
