"""The ``negative-dentry-storm`` and ``path-walk`` workloads: parameters, what they allocate,
determinism."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from shrinkfw_dcache import DCACHE_LRU_LIST, ROOT_INO, Dentry, dcache_of, dentry_state

import shrinkfw
from shrinkfw import MemCgroup, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw.vfs import Inode, SuperBlock

STORM = "negative-dentry-storm"
WALK = "path-walk"


class IgetCounter:
    """Counts ``iget`` calls and lets the core's default answer."""

    name = "iget-counter"

    def __init__(self) -> None:
        self.calls: list[int] = []

    @shrinkfw.hookimpl
    def shrinkfw_iget(self, sb: SuperBlock, ino: int) -> Inode | None:
        self.calls.append(ino)
        return None


def test_both_workloads_are_registered(build: Callable[..., Any]) -> None:
    sim = build("v6.7")
    storm, walk = sim.workloads.get(STORM), sim.workloads.get(WALK)
    assert storm.needs_fs
    assert walk.needs_fs
    assert storm.plugin == walk.plugin == "shrinkfw_dcache.plugin"
    assert set(storm.params) == {
        "rate",
        "names",
        "name_len",
        "interval",
        "lookups",
        "nid",
        "prefix",
    }
    assert set(walk.params) == {
        "rate",
        "depth",
        "fanout",
        "files",
        "interval",
        "walks",
        "nid",
        "prefix",
    }


@pytest.mark.parametrize(
    ("workload", "params", "named"),
    [
        (STORM, {"speed": 5}, "speed"),
        (STORM, {"rate": 0}, "rate"),
        (STORM, {"rate": float("inf")}, "rate"),
        (STORM, {"rate": "fast"}, "rate"),
        (STORM, {"names": -1}, "names"),
        (STORM, {"names": True}, "names"),
        (STORM, {"name_len": 0}, "name_len"),
        (STORM, {"name_len": 256}, "name_len"),
        (STORM, {"interval": -0.1}, "interval"),
        (STORM, {"nid": 2}, "nid"),
        (STORM, {"lookups": 1.5}, "lookups"),
        (STORM, {"prefix": "a/b"}, "prefix"),
        (STORM, {"prefix": "x" * 16}, "prefix"),
        (WALK, {"depth": -1}, "depth"),
        (WALK, {"fanout": 0}, "fanout"),
        (WALK, {"files": -2}, "files"),
        (WALK, {"walks": -1}, "walks"),
        (WALK, {"rate": 0.0}, "rate"),
        (WALK, {"width": 3}, "width"),
    ],
)
def test_bad_parameters_are_refused_by_name(
    workload: str, params: dict[str, Any], named: str, mounted: Callable[..., Any]
) -> None:
    sim, sb, _ = mounted("v6.7", nr_nodes=2)
    kind = sim.workloads.get(workload)
    with pytest.raises(UsageError, match=f"'{named}'"):
        kind.start(sim, sim.memcgs.root, sb, **params)


@pytest.mark.parametrize("workload", [STORM, WALK])
def test_workloads_need_a_filesystem(workload: str, build: Callable[..., Any]) -> None:
    sim = build("v6.7")
    with pytest.raises(UsageError, match="needs a mounted filesystem"):
        sim.workloads.get(workload).start(sim, sim.memcgs.root, None)


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v6.7"])
def test_storm_makes_one_negative_dentry_per_new_name_charged_to_its_memcg(
    profile: str, mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    sim, sb, dcache = mounted(profile, nr_nodes=2)
    box = kmem_memcg(sim, "box")
    run = sim.workloads.get(STORM).start(sim, box, sb, rate=1000, interval=0.1, nid=1)
    sim.run(until=1.0)
    assert (run.lookups, run.misses, run.hits, run.enomem) == (1000, 1000, 0, 0)
    assert dcache.nr_dentry == 1001
    assert dentry_state(sim).line() == "1001\t1000\t45\t0\t0\t0"
    node = 0 if sim.profile.lru_layout.name == "MEMCG_ARRAY_V15" else 1  # v15: one list
    assert sb.dentry_lru.count_one(node, box) == 1000
    assert sb.dentry_lru.count_one(0, None) == 0  # nothing on the root's lists
    assert all(d.negative and d.nid == 1 and d.memcg is box for d in _children(dcache.root))
    run.stop()
    sim.run(until=2.0)
    assert run.lookups == 1000


def _children(d: Dentry) -> list[Dentry]:
    return list(d.children or ())


def test_storm_with_a_lookup_limit_stops_itself(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    sim, sb, dcache = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    run = sim.workloads.get(STORM).start(sim, box, sb, rate=1000, lookups=250)
    sim.run(until=5.0)
    assert run.lookups == 250
    assert dcache.nr_dentry == 251
    assert sim.peek() == float("inf")  # nothing left scheduled


def test_storm_over_a_bounded_name_set_hits_the_cache(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    def run_once(seed: int) -> tuple[int, int, list[str]]:
        sim, sb, dcache = mounted("v6.7", seed=seed)
        box = kmem_memcg(sim, "box")
        run = sim.workloads.get(STORM).start(sim, box, sb, names=50, lookups=1000, rate=10000)
        sim.run(until=1.0)
        assert run.lookups == 1000
        assert run.hits + run.misses == 1000
        assert dcache.nr_dentry == 1 + run.misses
        # every name hit again was on the LRU: now REFERENCED
        assert all(d.flags & DCACHE_LRU_LIST for d in _children(dcache.root))
        return run.misses, run.hits, sorted(d.name for d in _children(dcache.root))

    first = run_once(7)
    assert first == run_once(7)  # sim.rng only: same seed, same names
    assert first[0] == 50  # 1000 draws out of 50 names find them all
    assert first[2] == [f"{i:016d}" for i in range(50)]


@pytest.mark.parametrize(
    ("profile", "cache", "name_len", "external"),
    [
        ("v6.7", "kmalloc-rcl-96", 64, True),  # 17 + 64 = 81 bytes -> 96
        ("v6.7", "kmalloc-rcl-64", 32, True),  # 17 + 32 = 49 -> 64: one past the inline 31
        ("v6.7", "kmalloc-rcl-96", 48, True),  # 17 + 48 = 65 -> 96
        ("v6.7", None, 31, False),
        ("v3.14-kmemcg-v15", "kmalloc-64", 48, True),  # 48 + 1 = 49 -> 64
        ("v3.14-kmemcg-v15", "kmalloc-96", 64, True),  # 64 + 1 = 65 -> 96
        ("v3.14-kmemcg-v15", "kmalloc-64", 32, True),  # 33 -> 64
    ],
)
def test_long_names_allocate_an_external_name(
    profile: str,
    cache: str | None,
    name_len: int,
    external: bool,
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., MemCgroup],
) -> None:
    sim, sb, dcache = mounted(profile)
    box = kmem_memcg(sim, "box")
    sim.workloads.get(STORM).start(sim, box, sb, lookups=100, rate=1000, name_len=name_len)
    sim.run(until=1.0)
    kmalloc = [c for c in sim.slab.caches if c.name.startswith("kmalloc")]
    if not external:
        assert kmalloc == []
        assert all(d.name_ref is None for d in _children(dcache.root))
        return
    assert [c.name for c in kmalloc] == [cache]
    assert sim.slab.slabinfo(kmalloc[0]).active_objs == 100
    assert all(len(d.name) == name_len for d in _children(dcache.root))
    # freeing the dentries frees their names
    sim.drop_caches()
    assert sim.slab.slabinfo(kmalloc[0]).active_objs == 0
    assert dcache.nr_dentry == 1


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v6.7"])
def test_path_walk_builds_a_tree_of_positive_dentries(
    profile: str, mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    counter = IgetCounter()
    sim, sb, dcache = mounted(profile, plugins=(counter,))
    box = kmem_memcg(sim, "box")
    run = sim.workloads.get(WALK).start(
        sim, box, sb, depth=2, fanout=2, files=3, walks=400, rate=1000
    )
    sim.run(until=1.0)
    assert run.walks == 400
    # 2 + 4 directories and 4 * 3 files exist; 400 random walks find them all
    assert dcache.nr_dentry == 1 + 2 + 4 + 12
    assert run.misses == 18
    assert run.hits == 400 * 3 - 18
    assert len(counter.calls) == 1 + 18  # the root's inode, then one iget per miss
    assert counter.calls[0] == ROOT_INO
    dentries = list(dcache.dentries())
    assert all(not d.negative for d in dentries)
    inos = [d.d_inode.ino for d in dentries if d.d_inode is not None]
    assert len(set(inos)) == len(inos) == 19
    # directories stay referenced by their children; only the files are cached unused
    files = [d for d in dentries if d.name.startswith("f")]
    assert sorted(d.name for d in dcache.sb.dentry_lru.items(0, box)) == sorted(
        d.name for d in files
    )
    assert all(d.count == 0 for d in files)
    assert all(d.count == len(d.children or ()) for d in dentries if d.name.startswith("d"))


def test_path_walk_is_deterministic(mounted: Callable[..., Any]) -> None:
    def run_once(seed: int) -> list[str]:
        sim, sb, dcache = mounted("v6.7", seed=seed)
        sim.workloads.get(WALK).start(
            sim, sim.memcgs.root, sb, depth=3, fanout=5, files=20, walks=40, rate=1000
        )
        sim.run(until=1.0)
        return [d.path() for d in dcache.dentries()]

    assert run_once(1) == run_once(1)
    assert run_once(1) != run_once(2)


def test_workloads_stop_when_the_filesystem_goes(
    mounted: Callable[..., Any], kmem_memcg: Callable[..., MemCgroup]
) -> None:
    sim, sb, dcache = mounted("v6.7")
    box = kmem_memcg(sim, "box")
    storm = sim.workloads.get(STORM).start(sim, box, sb, rate=100)
    walk = sim.workloads.get(WALK).start(sim, box, sb, rate=100)
    sim.run(until=0.5)
    sim.vfs.umount(sb)
    lookups, walks = storm.lookups, walk.walks
    sim.run(until=1.0)
    assert (storm.lookups, walk.walks) == (lookups, walks)
    assert dcache_of(sb) is dcache
    assert dcache.dead
    assert sim.peek() == float("inf")
