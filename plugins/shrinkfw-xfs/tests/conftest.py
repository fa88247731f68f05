"""Fixtures for the shrinkfw-xfs tests: simulations with only this plugin, and a mount."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import shrinkfw_xfs.plugin as xfs_plugin
from shrinkfw_xfs import XfsMount

from shrinkfw import Simulation
from shrinkfw.vfs import SuperBlock

#: The kmemcg v15 seed (E1+v15: inverted xfs_buf test, SYNC_WAIT inode reclaim).
SEED = "v3.14-kmemcg-v15"
#: v6.7 (E5: fixed xfs_buf test, non-blocking inode reclaim, FREEING dquots skipped).
MODERN = "v6.7"

MakeSim = Callable[..., Simulation]
Mounted = Callable[..., tuple[Simulation, SuperBlock, XfsMount]]


@pytest.fixture
def make_sim() -> MakeSim:
    """``make_sim(profile, **build_kwargs)``: a simulation with only the xfs plugin."""

    def make(profile: str = MODERN, **kw: object) -> Simulation:
        kw.setdefault("autoload", False)
        return Simulation.build(profile=profile, plugins=[xfs_plugin], **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def mounted(make_sim: MakeSim) -> Mounted:
    """``mounted(profile, **build_kwargs)``: (sim, sb, mount) with ``xfs:vda1`` mounted."""

    def make(profile: str = MODERN, **kw: object) -> tuple[Simulation, SuperBlock, XfsMount]:
        sim = make_sim(profile, **kw)
        sb = sim.vfs.mount("xfs", "vda1")
        mount = XfsMount.of(sb)
        assert mount is not None
        return sim, sb, mount

    return make
