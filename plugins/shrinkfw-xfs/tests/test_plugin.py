"""The plugin on its own: registration, a full metadata workload cycle under reclaim,
unmount, determinism, packaging."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import shrinkfw_xfs.plugin as xfs_plugin

from shrinkfw import Pressure

if TYPE_CHECKING:
    from conftest import MakeSim, Mounted

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"


def test_registers_the_fs_type_and_workloads(make_sim: MakeSim) -> None:
    sim = make_sim(MODERN)
    assert "xfs" in sim.vfs.fs_types
    assert sim.vfs.fs_types.get("xfs").super_ops is not None
    assert "metadata-copy-hardlinks" in sim.workloads
    assert "rm-rf" in sim.workloads
    assert len(sim.shrinkers) == 0  # shrinkers come with mounts


@pytest.mark.parametrize("profile", [SEED, MODERN])
def test_full_cycle_with_only_xfs(mounted: Mounted, profile: str) -> None:
    """cp -al, rm -rf, then drop_caches and the background worker empty the caches; the
    unmount frees what is left and unregisters the shrinkers."""
    sim, sb, mount = mounted(profile)
    a = sim.memcgs.create("a")
    cp = sim.workloads.get("metadata-copy-hardlinks").start(sim, a, sb, files=3000, rate=3000.0)
    sim.run(until=1.5)
    assert cp.finished  # type: ignore[attr-defined]
    in_core = len(mount.icache.inodes)
    assert in_core == 3000 + cp.dirs_made  # type: ignore[attr-defined]
    sim.workloads.get("rm-rf").start(sim, a, sb, files=3000, rate=3000.0)
    sim.run(until=3.0)
    assert mount.icache.count() == 3000
    buffers, dquots = len(mount.bt.hash), len(mount.qi.tree)
    assert buffers > 100
    assert dquots > 0
    assert sim.drop_caches() > 0
    assert len(mount.bt.hash) < buffers
    sim.run(until=60.0)  # the log worker cleans what is dirty; the reclaim worker frees it
    assert mount.icache.count() == 0
    assert len(mount.icache.inodes) == in_core - 3000
    sim.vfs.umount(sb)
    assert [e.name for e in sim.shrinkers] == []
    assert mount.bt.lru not in sim.lrus
    assert mount.qi.lru not in sim.lrus
    for cache in (mount.bt.cache, mount.qi.cache, mount.icache.cache):
        assert cache.inuse == 0
        assert all(child.inuse == 0 for child in cache.children.values())


def test_e1_shrinker_flushes_while_v6_7_waits_for_the_ail(mounted: Mounted) -> None:
    """After rm -rf every reclaimable inode is dirty: v3.14's drop_caches frees them all with
    synchronous writes; v6.7's frees none (the pushes clean them for the worker)."""
    results = {}
    for profile in (SEED, MODERN):
        sim, sb, mount = mounted(profile)
        sim.workloads.get("rm-rf").start(sim, sim.memcgs.root, sb, files=500, rate=5000.0)
        sim.run(until=0.1)
        sim.drop_caches()
        results[profile] = (mount.icache.count(), mount.icache.sync_writes)
    assert results == {SEED: (0, 500), MODERN: (500, 0)}


def test_memcg_pressure_reclaims_every_memcgs_xfs_inodes(mounted: Mounted) -> None:
    """The seed's slab flush of memcg a (target a) reaches the superblock shrinker for a;
    XFS counts all 1000 reclaimable inodes, all charged to b, frees them and reports 0."""
    sim, sb, mount = mounted(SEED)
    a = sim.memcgs.create("a")
    b = sim.memcgs.create("b")
    for memcg in (a, b):
        sim.memcgs.set_kmem_limit(memcg, 1 << 30)
    icache = mount.icache
    for i in range(1000):
        ip = icache.alloc_inode(icache.new_ino(i % 4), b)
        assert ip is not None
        icache.mark_reclaimable(ip)
    charged = b.usage_kmem
    assert charged == 250  # 960-byte objects, 8 per 2-page slab: 125 slabs
    freed = sim.shrink_slab(
        nid=0, target_mem_cgroup=a, pressure=Pressure.drop_caches(), nodes_to_scan=(0,)
    )
    assert freed == 0
    assert icache.count() == 0
    assert sb.shrinker is not None
    assert sb.shrinker.invocations == 1
    assert b.usage_kmem == 10  # SLUB keeps min_partial = 5 empty slabs of b's cache


def test_same_seed_same_run(mounted: Mounted) -> None:
    def run() -> tuple[object, ...]:
        sim, sb, mount = mounted(MODERN, seed=7)
        a = sim.memcgs.create("a")
        sim.workloads.get("metadata-copy-hardlinks").start(sim, a, sb, files=2000)
        sim.run(until=1.0)
        sim.workloads.get("rm-rf").start(sim, a, sb, files=800)
        sim.run(until=2.0)
        sim.drop_caches()
        return (
            sorted(sim.vmstat.items()),
            sorted(mount.bt.hash),
            sorted(mount.qi.tree),
            sorted(mount.icache.inodes),
        )

    assert run() == run()


def test_packaging() -> None:
    root = Path(__file__).resolve().parents[1]
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "shrinkfw-xfs"
    assert meta["project"]["entry-points"]["shrinkfw"] == {"xfs": "shrinkfw_xfs.plugin"}
    assert xfs_plugin.__name__ == "shrinkfw_xfs.plugin"
    assert (root / "src" / "shrinkfw_xfs" / "py.typed").exists()
