"""The superblock shrinker (spec 7.1, scenarios 7 and 8) and mount / unmount."""

from __future__ import annotations

import attrs
import pytest

import shrinkfw
from conftest import make_sim
from shrinkfw import (
    GFP_KERNEL,
    GFP_NOFS,
    SHRINK_EMPTY,
    SHRINK_STOP,
    LRUItem,
    Pressure,
    ShrinkControl,
    Simulation,
    UsageError,
)
from shrinkfw.vfs import FsTypeRegistry, SuperBlock, mult_frac


class Item(LRUItem):
    __slots__ = ()


@attrs.define
class Pruners:
    """Records the budget each pruner gets; frees nothing."""

    name: str = "pruners"
    calls: list[tuple[str, int]] = attrs.field(factory=list)
    during: object = None

    @shrinkfw.hookimpl
    def shrinkfw_prune_dcache_sb(self, sb: SuperBlock, sc: ShrinkControl) -> int:
        self.calls.append(("dcache", sc.nr_to_scan))
        if self.during is not None:
            self.during(sb)  # type: ignore[operator]
        return 0

    @shrinkfw.hookimpl
    def shrinkfw_prune_icache_sb(self, sc: ShrinkControl) -> int:
        self.calls.append(("icache", sc.nr_to_scan))
        return 0

    @shrinkfw.hookimpl
    def shrinkfw_umount(self, sb: SuperBlock) -> None:
        self.calls.append(("umount", sb.in_scan))


@attrs.define
class FsObjects:
    count: int
    calls: list[int] = attrs.field(factory=list)

    def nr_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int:
        return self.count

    def free_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int:
        self.calls.append(sc.nr_to_scan)
        return 0


class Xfsish:
    name = "xfsish"

    def __init__(self, fs_objects: int) -> None:
        self.ops = FsObjects(fs_objects)

    @shrinkfw.hookimpl
    def shrinkfw_register_fs_types(self, registry: FsTypeRegistry) -> None:
        registry.add("xfsish", super_ops=lambda sb: self.ops)


def mounted(
    profile: str, dentries: int, inodes: int, fs_objects: int
) -> tuple[Simulation, SuperBlock, Pruners, FsObjects]:
    pruners, fs = Pruners(), Xfsish(fs_objects)
    sim = make_sim(profile, plugins=[pruners, fs])
    sb = sim.vfs.mount("xfsish", "vda1")
    for _ in range(dentries):
        sb.dentry_lru.add(Item(), 0, None)
    for _ in range(inodes):
        sb.inode_lru.add(Item(), 0, None)
    return sim, sb, pruners, fs.ops


def test_mult_frac() -> None:
    assert mult_frac(1024, 3000, 4501) == 682
    assert mult_frac(10**18, 3, 7) == 3 * 10**18 // 7


@pytest.mark.parametrize(
    ("profile", "split"), [("v3.14-kmemcg-v15", (682, 227, 113)), ("v6.7", (683, 228, 114))]
)
def test_scenario_8_proportional_split(profile: str, split: tuple[int, int, int]) -> None:
    _sim, sb, pruners, fs = mounted(profile, 3000, 1000, 500)
    assert sb.shrinker is not None
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=0, memcg=None, nr_to_scan=1024)
    sb.shrinker.shrinker.scan_objects(sc)
    assert pruners.calls == [("dcache", split[0]), ("icache", split[1])]
    assert fs.calls == [split[2]]


@pytest.mark.parametrize(
    ("profile", "split"), [("v3.14-kmemcg-v15", (767, 255)), ("v6.7", (768, 256))]
)
def test_scenario_8_without_fs_objects(profile: str, split: tuple[int, int]) -> None:
    _sim, sb, pruners, fs = mounted(profile, 3000, 1000, 0)
    assert sb.shrinker is not None
    sb.shrinker.shrinker.scan_objects(ShrinkControl(nr_to_scan=1024))
    assert pruners.calls == [("dcache", split[0]), ("icache", split[1])]
    assert fs.calls == []  # free_cached_objects is not called


def test_superblock_shrinker_registration() -> None:
    _sim, sb, _, _ = mounted("v6.7", 0, 0, 0)
    entry = sb.shrinker
    assert entry is not None
    assert entry.name == "sb-xfsish:vda1"
    assert entry.batch == 1024
    assert entry.memcg_aware
    assert entry.seeks == 2
    assert entry.plugin == "xfsish"


@pytest.mark.parametrize(("profile", "seeks"), [("v6.7", 0), ("v3.14-kmemcg-v15", 2)])
def test_procfs_is_zero_seek_from_v4_20(profile: str, seeks: int) -> None:
    sim = make_sim(profile)
    sb = sim.vfs.mount("proc", "proc")
    assert sb.shrinker is not None
    assert sb.shrinker.seeks == seeks


def test_count_applies_vfs_cache_pressure_and_shrink_empty() -> None:
    sim, sb, _, _ = mounted("v6.7", 300, 100, 0)
    assert sb.shrinker is not None
    shrinker = sb.shrinker.shrinker
    sc = ShrinkControl(nid=0)
    assert shrinker.count_objects(sc) == 400
    sim.vfs.vfs_cache_pressure = 50
    assert shrinker.count_objects(sc) == 200
    empty = mounted("v6.7", 0, 0, 0)[1]
    assert empty.shrinker is not None
    assert empty.shrinker.shrinker.count_objects(sc) == SHRINK_EMPTY
    seed_empty = mounted("v3.14-kmemcg-v15", 0, 0, 0)[1]
    assert seed_empty.shrinker is not None
    assert seed_empty.shrinker.shrinker.count_objects(sc) == 0


def test_scenario_7_super_cache_scan_without_gfp_fs() -> None:
    sim, sb, pruners, _ = mounted("v6.7", 1000, 0, 0)
    assert sb.shrinker is not None
    assert sb.shrinker.shrinker.scan_objects(ShrinkControl(gfp_mask=GFP_NOFS)) == SHRINK_STOP
    assert pruners.calls == []
    sc = ShrinkControl(gfp_mask=GFP_NOFS, nid=0, memcg=sim.memcgs.root)
    assert sim.hooks.do_shrink_slab(sc, sb.shrinker, Pressure(priority=0), sim) == 0
    assert sim.memcgs.root.shrinker_info[0].nr_deferred[sb.shrinker.id] == 2000


def test_umount_during_a_scan_waits_for_the_scan() -> None:
    seen: list[bool] = []

    def umount_now(sb: SuperBlock) -> None:
        sb.vfs.umount(sb)
        seen.append(sb.dentry_lru in sb.sim.lrus)

    sim, sb, pruners, _ = mounted("v6.7", 10, 10, 0)
    pruners.during = umount_now
    assert sb.shrinker is not None
    sb.shrinker.shrinker.scan_objects(ShrinkControl(nr_to_scan=10))
    assert seen == [True]  # not torn down inside the walk
    assert pruners.calls[-1] == ("umount", 0)  # caches emptied only after the scan returned
    assert sb.torn_down
    assert sb.dentry_lru not in sim.lrus
    assert sb not in sim.vfs.supers
    assert "sb-xfsish:vda1" not in sim.shrinkers


def test_unknown_filesystem_type_names_the_known_ones() -> None:
    sim = make_sim("v6.7")
    with pytest.raises(
        UsageError, match=r"unknown filesystem type 'xfs' \(registered: ext4, proc\)"
    ):
        sim.vfs.mount("xfs", "vda1")
