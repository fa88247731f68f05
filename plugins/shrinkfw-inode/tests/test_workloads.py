"""The ``create-open-close`` and ``read-into-page-cache`` workloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from inode_helpers import FULL, check_books, icache_of, kmem_memcg, mounted, visit
from shrinkfw_inode import (
    CREATE_OPEN_CLOSE,
    DIRTY_EXPIRE,
    I_REFERENCED,
    READ_INTO_PAGE_CACHE,
    CreateOpenClose,
    ReadIntoPageCache,
)

from shrinkfw import MemCgroup, Simulation, UsageError

if TYPE_CHECKING:
    from shrinkfw.vfs import SuperBlock


def _start(
    sim: Simulation, name: str, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> Any:
    return sim.workloads.get(name).start(sim, memcg, sb, **params)


def test_both_workloads_are_registered_with_their_defaults() -> None:
    sim, _ = mounted()
    create = sim.workloads.get(CREATE_OPEN_CLOSE)
    read = sim.workloads.get(READ_INTO_PAGE_CACHE)
    assert create.plugin == "shrinkfw_inode.plugin"
    assert create.needs_fs
    assert read.needs_fs
    assert create.params == {"rate": 100.0, "files": 1000, "lifetime": None, "nid": 0}
    assert read.params == {
        "rate": 100.0,
        "files": 100,
        "pages_per_file": 16,
        "nid": 0,
        "write": False,
    }


@pytest.mark.parametrize(("profile", "state"), [("v3.14-kmemcg-v15", I_REFERENCED), ("v6.7", 0)])
def test_create_open_close_dirty_inodes_join_the_lru_after_writeback(
    profile: str, state: int
) -> None:
    sim, sb = mounted(profile)
    _, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    run = _start(sim, CREATE_OPEN_CLOSE, box, sb, rate=100, files=50)
    assert isinstance(run, CreateOpenClose)
    sim.run(until=0.255)
    assert run.created == 25  # one every 10 ms
    sim.run(until=1.0)
    assert run.created == 50
    assert supers.nr_inodes == 50
    assert supers.nr_unused == 0  # dirty: kept off the LRU
    assert sb.inode_lru.count_one(0, box) == 0
    first = supers.hash[run.inos[0]]
    assert first.ref is not None
    assert first.ref.memcg is box
    sim.run(until=DIRTY_EXPIRE + 0.255)
    assert sim.vmstat["inode_writeback"] == 25
    sim.run(until=DIRTY_EXPIRE + 1.0)
    assert supers.nr_unused == 50
    assert sb.inode_lru.count_one(0, box) == 50
    assert all(i.state == state for i in supers.hash.values())
    # first use: two visits each in v3.14, one in v6.7
    freed = visit(sb, box, nr=50)
    assert freed == (0 if state else 50)
    check_books(sim)


@pytest.mark.parametrize("profile", FULL)
def test_create_open_close_with_a_lifetime_unlinks_every_file(profile: str) -> None:
    sim, sb = mounted(profile)
    icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    run = _start(sim, CREATE_OPEN_CLOSE, box, sb, rate=1000, files=200, lifetime=0.5)
    sim.run(until=0.45)
    assert run.created > 0
    assert run.deleted == 0
    sim.run(until=2.0)
    assert run.created == 200
    assert run.deleted == 200
    assert supers.nr_inodes == 0
    assert sim.vmstat["inode_evicted"] == 200
    assert icache.cache.inuse + sum(c.inuse for c in icache.cache.children.values()) == 0
    sim.run(until=DIRTY_EXPIRE + 5)
    assert sim.vmstat["inode_writeback"] == 0  # evicted before the flusher came
    check_books(sim)


def test_create_open_close_rereads_an_inode_the_shrinker_freed_before_unlinking_it() -> None:
    sim, sb = mounted("v6.7")
    _, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    run = _start(sim, CREATE_OPEN_CLOSE, box, sb, rate=100, files=1, lifetime=40.0)
    sim.run(until=DIRTY_EXPIRE + 1)
    assert supers.nr_unused == 1
    assert visit(sb, box) == 1  # written back, unused, freed
    assert supers.nr_inodes == 0
    sim.run(until=45)
    assert run.deleted == 1
    assert sim.vmstat["inode_alloc"] == 2  # read back in to be unlinked
    assert supers.nr_inodes == 0


def test_create_open_close_stop() -> None:
    sim, sb = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    run = _start(sim, CREATE_OPEN_CLOSE, box, sb, rate=100, files=100, lifetime=1.0)
    sim.run(until=0.205)
    run.stop()
    created = run.created
    sim.run(until=5.0)
    assert run.created == created == 20
    assert run.deleted == 0


@pytest.mark.parametrize("profile", FULL)
def test_read_into_page_cache_reads_once_then_hits(profile: str) -> None:
    sim, sb = mounted(profile)
    _icache, supers = icache_of(sb)
    box = kmem_memcg(sim, "box")
    run = _start(sim, READ_INTO_PAGE_CACHE, box, sb, rate=100, files=10, pages_per_file=8)
    assert isinstance(run, ReadIntoPageCache)
    sim.run(until=0.105)
    assert run.opens == 10
    assert run.pages_read == 80
    assert sim.lruvec(box, 0).file_pages == 80
    assert box.usage_user == 80
    sim.run(until=0.205)
    assert run.opens == 20
    assert run.pages_read == 80  # the second round hits the cache
    assert supers.nr_inodes == 10
    assert [supers.hash[run.first_ino + k].nrpages for k in range(10)] == [8] * 10
    assert all(supers.hash[run.first_ino + k].i_count == 0 for k in range(10))
    run.stop()
    sim.run(until=1.0)
    assert run.opens == 20
    check_books(sim)


@pytest.mark.parametrize("profile", FULL)
def test_writes_enter_the_page_cache_dirty(profile: str) -> None:
    sim, sb = mounted(profile)
    box = kmem_memcg(sim, "box")
    run = _start(
        sim, READ_INTO_PAGE_CACHE, box, sb, rate=100, files=10, pages_per_file=8, write=True
    )
    sim.run(until=0.105)
    assert run.pages_read == 80
    lruvec = sim.lruvec(box, 0)
    assert (lruvec.file_pages, lruvec.nr_dirty) == (80, 80)
    with pytest.raises(UsageError, match="write: expected true or false"):
        _start(sim, READ_INTO_PAGE_CACHE, box, sb, write="yes")


def test_fractional_rates_are_carried_over() -> None:
    sim, sb = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    run = _start(sim, READ_INTO_PAGE_CACHE, box, sb, rate=250, files=5, pages_per_file=1)
    sim.run(until=1.0 + 1e-6)
    assert run.opens == 250
    slow = _start(sim, CREATE_OPEN_CLOSE, box, sb, rate=2.5, files=100)
    sim.run(until=3.0 + 1e-6)
    assert slow.created == 5


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (CREATE_OPEN_CLOSE, {"speed": 1}, "unknown parameter 'speed'"),
        (CREATE_OPEN_CLOSE, {"rate": 0}, "'rate' must be > 0"),
        (CREATE_OPEN_CLOSE, {"rate": "fast"}, "'rate' must be a number"),
        (CREATE_OPEN_CLOSE, {"files": -1}, "'files' must be >= 0"),
        (CREATE_OPEN_CLOSE, {"files": 2.5}, "'files' must be an integer"),
        (CREATE_OPEN_CLOSE, {"lifetime": -1.0}, "'lifetime' must be >= 0"),
        (CREATE_OPEN_CLOSE, {"nid": 1}, "'nid' must be a node"),
        (READ_INTO_PAGE_CACHE, {"files": 0}, "'files' must be > 0"),
        (READ_INTO_PAGE_CACHE, {"pages_per_file": True}, "'pages_per_file' must be an integer"),
        (READ_INTO_PAGE_CACHE, {"rate": float("nan")}, "'rate' must be > 0"),
    ],
)
def test_bad_parameters_are_named(name: str, params: dict[str, Any], message: str) -> None:
    sim, sb = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    with pytest.raises(UsageError, match=message):
        _start(sim, name, box, sb, **params)


@pytest.mark.parametrize("name", [CREATE_OPEN_CLOSE, READ_INTO_PAGE_CACHE])
def test_workloads_need_a_mounted_filesystem(name: str) -> None:
    sim, sb = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    with pytest.raises(UsageError, match="pass a mounted superblock"):
        _start(sim, name, box, None)
    sim.vfs.umount(sb)
    with pytest.raises(UsageError, match="being unmounted"):
        _start(sim, name, box, sb)


def test_a_workload_start_belongs_to_its_simulation() -> None:
    sim_a, sb_a = mounted("v6.7")
    sim_b, _ = mounted("v6.7")
    start = sim_a.workloads.get(CREATE_OPEN_CLOSE).start
    with pytest.raises(UsageError, match="another simulation"):
        start(sim_b, sim_b.memcgs.root, sb_a)


def test_same_seed_same_run() -> None:
    def run() -> tuple[int, ...]:
        sim, sb = mounted("v3.14-kmemcg-v15", seed=5)
        box = kmem_memcg(sim, "box")
        sim.memcgs.set_limit(box, 600)
        reader = _start(sim, READ_INTO_PAGE_CACHE, box, sb, files=3000, pages_per_file=2)
        writer = _start(sim, CREATE_OPEN_CLOSE, box, sb, files=500, lifetime=3.0)
        sim.run(until=40.0)
        _, supers = icache_of(sb)
        return (
            reader.pages_read,
            writer.deleted,
            supers.nr_inodes,
            supers.nr_unused,
            sim.vmstat["inode_evicted"],
            sim.vmstat["inode_pagecache_reclaimed"],
            box.usage,
        )

    first = run()
    assert first == run()
    assert first[4] > 0
