"""``memory.stat``: the counters a host simulator reads each step."""

from __future__ import annotations

import pytest

from shrinkfw import Simulation
from shrinkfw.lruvec import LruKind
from shrinkfw.memcg import PAGE_SIZE
from shrinkfw.memstat import MemoryStat
from shrinkfw.testing import ObjectCacheShrinker


def test_counters_of_a_memcg_and_its_child_are_hierarchical() -> None:
    sim = Simulation.build(profile="v6.7", memory=1 << 30, autoload=False, swap=True)
    dentries = ObjectCacheShrinker(sim, "dentry")  # 192-byte reclaimable objects
    parent = sim.memcgs.create("parent")
    child = sim.memcgs.create("child", parent)
    sim.alloc_user_pages(parent, 100, kind=LruKind.FILE)
    sim.alloc_user_pages(child, 30, kind=LruKind.FILE, dirty=True)
    sim.alloc_user_pages(child, 50, kind=LruKind.ANON)
    dentries.alloc(child, 1000)

    own = sim.memory_stat(child, recursive=False)
    assert (own.anon, own.file, own.file_dirty) == (50 * PAGE_SIZE, 30 * PAGE_SIZE, 30 * PAGE_SIZE)
    # objcg charging (v5.9+): object_size + 8 bytes per object
    assert (own.slab_reclaimable, own.slab_unreclaimable) == (1000 * 200, 0)
    assert own.slab == 200_000
    assert (own.pgscan, own.pgsteal) == (0, 0)

    tree = sim.memory_stat(parent)
    assert tree.file == 130 * PAGE_SIZE
    assert tree.anon == 50 * PAGE_SIZE
    assert tree.slab_reclaimable == 200_000
    assert sim.memory_stat(parent, recursive=False).file == 100 * PAGE_SIZE


def test_reclaim_shows_up_as_pgscan_and_pgsteal() -> None:
    sim = Simulation.build(profile="v6.7", memory=1 << 30, autoload=False)
    box = sim.memcgs.create("box")
    sim.alloc_user_pages(box, 4096, kind=LruKind.FILE)
    before = sim.memory_stat(box)
    reclaimed = sim.memory_reclaim(box, 1024)
    after = sim.memory_stat(box)
    assert reclaimed >= 1024
    assert after.pgsteal == reclaimed
    assert after.pgscan >= after.pgsteal
    assert after.pgscan_direct == after.pgscan  # memory.reclaim runs in the writer's context
    assert after.pgscan_kswapd == 0
    assert after.file == before.file - reclaimed * PAGE_SIZE


def test_the_file_format_and_the_dict() -> None:
    stat = MemoryStat(
        anon=4096,
        file=8192,
        file_dirty=0,
        file_writeback=0,
        slab_reclaimable=100,
        slab_unreclaimable=20,
        pgscan=5,
        pgsteal=3,
        pgscan_kswapd=5,
        pgscan_direct=0,
        pgsteal_kswapd=3,
        pgsteal_direct=0,
    )
    assert stat.as_dict()["slab"] == 120
    lines = stat.format().splitlines()
    assert lines[:2] == ["anon 4096", "file 8192"]
    assert "pgsteal 3" in lines
    assert lines[-1] == "slab 120"


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v6.7"])
def test_a_freed_memcg_reads_as_zeros(profile: str) -> None:
    sim = Simulation.build(profile=profile, memory=1 << 30, autoload=False)
    box = sim.memcgs.create("box")
    sim.rmdir(box)
    stat = sim.memory_stat(box)
    assert (stat.anon, stat.file, stat.slab) == (0, 0, 0)
