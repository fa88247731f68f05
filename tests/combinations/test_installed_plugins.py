"""Run by tox in every plugin combination: the installed plugins are exactly the expected
ones, each loads through its entry point, and a simulation with all of them reclaims."""

from __future__ import annotations

import os

import pytest

from shrinkfw import Simulation
from shrinkfw.plugininfo import installed_plugins

EXPECTED = os.environ.get("SHRINKFW_EXPECT_PLUGINS")
BUILTIN = {"shrinkfw.vfs", "shrinkfw.vmscan"}

pytestmark = pytest.mark.skipif(
    EXPECTED is None, reason="tox sets SHRINKFW_EXPECT_PLUGINS for the combination under test"
)


@pytest.fixture(autouse=True)
def _autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHRINKFW_DISABLE_PLUGIN_AUTOLOAD", raising=False)


def expected() -> set[str]:
    return {name for name in (EXPECTED or "").split(",") if name}


def test_exactly_the_expected_plugins_load() -> None:
    names = {info.name for info in installed_plugins()} - BUILTIN
    assert names == expected()


def test_each_plugin_comes_from_its_distribution() -> None:
    for info in installed_plugins():
        if info.name in BUILTIN:
            continue
        assert info.distribution == f"shrinkfw-{info.name}"
        assert info.version


def test_the_combination_reclaims_through_drop_caches() -> None:
    sim = Simulation.build(profile="v6.7", memory=1 << 30)
    fs_types = [fs.name for fs in sim.vfs.fs_types]
    for fs in fs_types:
        sim.vfs.mount(fs, "combo")
    box = sim.memcgs.create("box")
    for workload in sim.workloads:
        sb = next(
            (s for s in sim.vfs.supers if s.fs_type.plugin == workload.plugin),
            sim.vfs.supers[0],
        )
        workload.start(sim, box, sb)
    sim.run(until=2.0)
    sim.drop_caches()
    assert sim.reclaims[-1].reason == "drop_caches"


def test_unmount_releases_dentries_before_evicting_inodes() -> None:
    if not {"dcache", "inode"} <= expected():
        pytest.skip("needs the dcache and inode plugins together")
    sim = Simulation.build(profile="v6.7", memory=1 << 30)
    sb = sim.vfs.mount("ext4", "vda1")
    box = sim.memcgs.create("box")
    sim.workloads.get("path-walk").start(sim, box, sb, walks=50)
    sim.run(until=5.0)
    assert sim.vmstat["inode_alloc"] > 0
    sim.vfs.umount(sb)
    assert sim.vmstat["inode_evicted"] == sim.vmstat["inode_alloc"]
    assert sim.vmstat["inode_busy_at_umount"] == 0
