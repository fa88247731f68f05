"""shrinkfw-oomd: a userspace OOM killer (oomd / lmkd style) acting on sustained vmpressure.

Register :mod:`shrinkfw_oomd.plugin` (the ``oomd`` entry point) with a simulation, then start
the ``oomd`` consumer through ``sim.consumers`` or with :func:`start_oomd`.
"""

from __future__ import annotations

from .oomd import (
    TIME_SLACK,
    Births,
    Candidates,
    Oomd,
    OomdConsumer,
    Trigger,
    Watch,
    find_candidates,
    registered_consumer,
    start_oomd,
)
from .settings import CONSUMER_NAME, PARAMS, VICTIM_POLICIES, OomdSettings, parse_settings

__all__ = [
    "CONSUMER_NAME",
    "PARAMS",
    "TIME_SLACK",
    "VICTIM_POLICIES",
    "Births",
    "Candidates",
    "Oomd",
    "OomdConsumer",
    "OomdSettings",
    "Trigger",
    "Watch",
    "find_candidates",
    "parse_settings",
    "registered_consumer",
    "start_oomd",
]
