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
