"""The core's pressure-consumer contract, run against ``reaper`` on both full profiles.

The pressure: dead memcgs, and page cache filling the machine. Each dead memcg held 100
dentries, one of them in use across its removal and freed afterwards, and 16 pages of
anonymous memory. On the seed the empty slab page the busy dentry leaves in the memcg's own
cache pins it (the anonymous pages move to the parent at removal); on v6.7 slab is charged
through the parent's object cgroup after removal, and the anonymous memory, which cannot be
reclaimed without swap, pins it. One more such memcg dies every 0.5 s. A hog allocates
4 MiB of page cache every 0.1 s: global reclaim fills LOW root windows from 1.6 s on v6.7
and 1.7 s on the seed, and the first reap is a decision right then.

``record = "all"``: on v6.7 a reap has no per-memcg slab to release, and only with that
setting is an empty reap a decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pytest
import shrinkfw_reaper.plugin

from shrinkfw.lruvec import LruKind
from shrinkfw.testing import (
    ConsumerSetup,
    ObjectCacheShrinker,
    VmpressureConsumerContract,
    make_kmem_memcg,
)

if TYPE_CHECKING:
    from shrinkfw import Simulation


def _dead_memcgs_and_page_cache(sim: Simulation) -> None:
    cache = ObjectCacheShrinker(sim, "dentry")
    made = 0

    def make_dead() -> None:
        nonlocal made
        made += 1
        memcg = make_kmem_memcg(sim, f"dead{made}")
        objs = cache.alloc(memcg, 100)
        objs[0].busy = True
        assert sim.alloc_user_pages(memcg, 16, kind=LruKind.ANON) is not None
        sim.rmdir(memcg)
        cache.free(objs[0])

    for _ in range(3):
        make_dead()
    sim.every(0.5, make_dead, name="dead memcgs")
    hog = sim.memcgs.create("hog")

    def fill() -> None:
        sim.alloc_user_pages(hog, 1024)

    sim.every(0.1, fill, name="hog")


class TestReaperContract(VmpressureConsumerContract):
    """The reaper may act inside the kernel's reclaim path: it models the seed's in-kernel
    vmpressure callback (kmemcg v15 12/13), which reaps from the vmpressure work that the
    model runs at the end of reclaim. On profiles without in-kernel events it becomes a
    userspace eventfd whose reader reaps at once, from the same place."""

    acts_in_kernel: ClassVar[bool] = True

    @pytest.fixture
    def consumer_setup(self) -> ConsumerSetup:
        return ConsumerSetup(
            name="reaper",
            plugins=[shrinkfw_reaper.plugin],
            pressure=_dead_memcgs_and_page_cache,
            settings={"record": "all"},
            duration=3.0,
        )
