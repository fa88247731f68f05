"""The core's shrinker contract, run against the mount's buftarg and dquot shrinkers on the
seed and on v6.7."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import shrinkfw_xfs.plugin as xfs_plugin
from shrinkfw_xfs import XfsMount

from shrinkfw.testing.contract import ContractFactory, ContractSubject, ShrinkerContract

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation


def _mount(sim: Simulation) -> XfsMount:
    mount = XfsMount.of(sim.vfs.mount("xfs", "vda1"))
    assert mount is not None
    return mount


def _buftarg(sim: Simulation) -> ContractSubject:
    mount = _mount(sim)
    bt = mount.bt
    assert bt.entry is not None

    def populate(memcg: MemCgroup | None, nid: int, n: int) -> int:
        # buffers are charged to nobody, so the memcg does not matter
        return bt.populate(n, nid)

    return ContractSubject(entry=bt.entry, populate=populate, needs_fs=False)


def _dquots(sim: Simulation) -> ContractSubject:
    mount = _mount(sim)
    qi = mount.qi
    assert qi.entry is not None

    def populate(memcg: MemCgroup | None, nid: int, n: int) -> object:
        return qi.populate(n, nid)

    # without __GFP_FS the scan returns 0, not SHRINK_STOP (tested in test_dquot.py)
    return ContractSubject(entry=qi.entry, populate=populate, needs_fs=False)


class TestBuftargShrinker(ShrinkerContract):
    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _buftarg

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [xfs_plugin]


class TestBuftargShrinkerSeed(TestBuftargShrinker):
    contract_profile = "v3.14-kmemcg-v15"


class TestDquotShrinker(ShrinkerContract):
    @pytest.fixture
    def shrinker_factory(self) -> ContractFactory:
        return _dquots

    @pytest.fixture
    def contract_plugins(self) -> list[object]:
        return [xfs_plugin]


class TestDquotShrinkerSeed(TestDquotShrinker):
    contract_profile = "v3.14-kmemcg-v15"
