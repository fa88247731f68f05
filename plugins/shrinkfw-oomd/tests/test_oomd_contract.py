"""The core's pressure-consumer contract, run against ``oomd`` on both full profiles.

The pressure is the README's: ``/jobs`` limited to 32 MiB, jobs ``a``, ``b`` and ``c``
allocating anonymous memory (no swap) every 0.1 s. From 0.8 s every tick's limit reclaim
fills CRITICAL windows on ``/jobs``. With ``duration = 0.5`` and ``cooldown = 0.5`` (shorter
than the defaults, to keep the suite quick) oomd kills ``a`` at 1.3 s and ``b`` at 2.8 s on
both profiles: within the suite's 1.6 s there is one decision, and the 1.6 s the suite runs
on after stopping oomd at its first decision would include the second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import shrinkfw_oomd.plugin
from oomd_helpers import JOB_RATES, JOBS_LIMIT, Containers, limit

from shrinkfw.testing import ConsumerSetup, VmpressureConsumerContract

if TYPE_CHECKING:
    from shrinkfw import Simulation


def _jobs(sim: Simulation) -> None:
    jobs = sim.memcgs.create("jobs")
    limit(sim, jobs, JOBS_LIMIT)
    containers = Containers(sim)
    for name, rate in JOB_RATES.items():
        containers.add(sim.memcgs.create(name, jobs), rate)


class TestOomdContract(VmpressureConsumerContract):
    """oomd is a userspace daemon: its eventfd reader only notes the event and the kill is
    scheduled on the clock, so the suite's rule against acting inside reclaim applies."""

    @pytest.fixture
    def consumer_setup(self) -> ConsumerSetup:
        return ConsumerSetup(
            name="oomd",
            plugins=[shrinkfw_oomd.plugin],
            pressure=_jobs,
            settings={"watch": ["/jobs"], "duration": 0.5, "cooldown": 0.5},
            duration=1.6,
        )
