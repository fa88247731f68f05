"""shrinkfw-reaper: the kmemcg v15 dead-memcg reaper (13/13) as a configurable consumer.

Register :mod:`shrinkfw_reaper.plugin` (the ``reaper`` entry point) with a simulation, then
start the ``reaper`` consumer with :func:`start_reaper` or through ``sim.consumers``.
"""

from __future__ import annotations

from .reaper import CONSUMER_NAME, PARAMS, DeadMemcgReaper, start_reaper

__all__ = ["CONSUMER_NAME", "PARAMS", "DeadMemcgReaper", "start_reaper"]
