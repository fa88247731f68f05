"""Fixtures of the dcache plugin's tests.

Helpers are fixtures returning callables, not importable functions, so the tests run the same
whether pytest imports them with ``prepend`` or ``importlib`` mode and next to other plugins'
test directories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import shrinkfw_dcache.plugin
from shrinkfw_dcache import Dcache, Dentry, dcache_of

from shrinkfw import MemCgroup, ShrinkControl, Simulation
from shrinkfw.vfs import SuperBlock

if TYPE_CHECKING:
    from collections.abc import Callable

Mounted = tuple[Simulation, SuperBlock, Dcache]


@pytest.fixture
def build() -> Callable[..., Simulation]:
    """``build(profile, plugins=(), **kw)``: a simulation with this plugin, no entry points."""

    def make(profile: str, *, plugins: tuple[object, ...] = (), **kw: Any) -> Simulation:
        kw.setdefault("memory", 1 << 30)
        return Simulation.build(
            profile=profile,
            plugins=[shrinkfw_dcache.plugin, *plugins],
            autoload=False,
            **kw,
        )

    return make


@pytest.fixture
def mounted(build: Callable[..., Simulation]) -> Callable[..., Mounted]:
    """``mounted(profile, **kw)``: a simulation with ``ext4:vda1`` mounted and its dcache."""

    def make(profile: str, **kw: Any) -> Mounted:
        sim = build(profile, **kw)
        sb = sim.vfs.mount("ext4", "vda1")
        return sim, sb, dcache_of(sb)

    return make


@pytest.fixture
def kmem_memcg() -> Callable[..., MemCgroup]:
    """``kmem_memcg(sim, name, parent=None)``: a memcg with kmem accounting on (a v1 kernel
    needs a kmem limit written first)."""

    def make(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
        memcg = sim.memcgs.create(name, parent)
        if not memcg.kmem_active:
            sim.memcgs.set_kmem_limit(memcg, 1 << 40)
        return memcg

    return make


@pytest.fixture
def negative() -> Callable[..., list[Dentry]]:
    """``negative(dcache, names, memcg=None, nid=0)``: look each name up in the root
    (a miss makes a negative dentry) and release it, as ``stat()`` of a missing file does."""

    def make(
        dcache: Dcache, names: list[str], memcg: MemCgroup | None = None, nid: int = 0
    ) -> list[Dentry]:
        out = []
        for name in names:
            d = dcache.lookup(dcache.root, name, memcg, nid)
            assert d is not None
            dcache.dput(d)
            out.append(d)
        return out

    return make


@pytest.fixture
def lru_order() -> Callable[[Dcache, MemCgroup | None, int], list[str]]:
    """``lru_order(dcache, memcg, nid)``: names on the (nid, memcg) dentry LRU, head first."""

    def order(dcache: Dcache, memcg: MemCgroup | None, nid: int = 0) -> list[str]:
        return [d.name for d in dcache.sb.dentry_lru.items(nid, memcg)]

    return order


@pytest.fixture
def prune() -> Callable[[Dcache, MemCgroup | None, int], int]:
    """``prune(dcache, memcg, budget)``: one ``prune_dcache_sb`` of node 0 through the hook."""

    def run(dcache: Dcache, memcg: MemCgroup | None, budget: int) -> int:
        sim = dcache.sim
        sc = ShrinkControl(nid=0, memcg=memcg, nr_to_scan=budget)
        return sim.hooks.prune_dcache_sb(dcache.sb, sc, sim)

    return run
