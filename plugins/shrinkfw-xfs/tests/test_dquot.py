"""The dquot shrinker: spec §7.5, the xfs_qm_dquot_isolate table and the gfp rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest
from shrinkfw_xfs import Dquot, XfsBufType, XfsQuotaInfo
from shrinkfw_xfs.dquot import DQUOT_BNO_BASE

from shrinkfw import GFP_KERNEL, GFP_NOFS, Gfp, Pressure, ShrinkControl, ShrinkerFlags, UsageError
from shrinkfw.shrinker import GFP_NOIO

if TYPE_CHECKING:
    from conftest import Mounted

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"


def scan(qi: XfsQuotaInfo, nr: int, gfp: Gfp = GFP_KERNEL) -> int:
    return qi.scan_objects(ShrinkControl(gfp_mask=gfp, nid=0, nr_to_scan=nr, nr_scanned=nr))


def on_lru(qi: XfsQuotaInfo) -> list[int]:
    assert qi.lru is not None
    return [dq.id for dq in qi.lru.items(0)]


def test_registration(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN, nr_nodes=2)
    entry = mount.qi.entry
    assert entry is not None
    assert entry.name == "xfs-qm:vda1"
    assert entry.flags == ShrinkerFlags.NUMA_AWARE
    assert (entry.seeks, entry.batch) == (2, 0)
    assert mount.qi.lru is not None
    assert not mount.qi.lru.memcg_aware


@pytest.mark.parametrize("profile", [SEED, MODERN])
def test_isolate_table(mounted: Mounted, profile: str) -> None:
    """LRU [A clean, B referenced, C dirty, D flush-locked, E lock contended], budget 5:
    A disposed of, B taken off the LRU, C flushed → LRU_RETRY (the walk restarts at the
    head), C now flush-locked → skip, D skip; 2 isolated. The write completes before the
    scan returns; the next scan frees C."""
    _sim, _sb, mount = mounted(profile)
    qi = mount.qi
    a, b, c, d, e = qi.populate(5)
    assert qi.dqget(b.id) is b  # a lookup references it; it stays on the LRU
    qi.log_dquot(c)
    d.flush_locked = True
    e.lock_contended = True
    assert on_lru(qi) == [0, 1, 2, 3, 4]

    assert scan(qi, 5) == 2
    assert a.id not in qi.tree
    assert qi.freed == 1
    assert b.lru_link is None
    assert b.nrefs == 1
    assert qi.tree[b.id] is b
    assert on_lru(qi) == [2, 3, 4]
    assert (c.dirty, c.pinned, c.flush_locked) == (False, False, False)
    assert (qi.flushed, qi.wants, qi.misses) == (1, 1, 3)
    buf = mount.bt.hash[DQUOT_BNO_BASE]  # the cluster buffer of ids 0-29 was written
    assert buf.type is XfsBufType.DQUOT
    assert buf.lru_ref == 1

    assert scan(qi, 5) == 1
    assert c.id not in qi.tree
    assert on_lru(qi) == [3, 4]

    qi.dqput(b)  # the last reference puts it back on the LRU
    assert on_lru(qi) == [3, 4, 1]


@pytest.mark.parametrize("profile", [SEED, MODERN])
@pytest.mark.parametrize(
    "gfp",
    [GFP_NOFS, GFP_NOIO, Gfp.FS | Gfp.IO | Gfp.KSWAPD_RECLAIM],
    ids=["nofs", "noio", "no-direct-reclaim"],
)
def test_no_fs_or_no_direct_reclaim_scans_nothing(mounted: Mounted, profile: str, gfp: Gfp) -> None:
    _sim, _sb, mount = mounted(profile)
    qi = mount.qi
    qi.populate(10)
    assert scan(qi, 10, gfp) == 0
    assert on_lru(qi) == list(range(10))
    assert scan(qi, 10, GFP_KERNEL) == 10


def test_zero_is_not_shrink_stop(mounted: Mounted) -> None:
    """0 from the scan, unlike SHRINK_STOP, lets do_shrink_slab run its whole batch loop and
    drop the deferred work: v6.7, 1000 dquots, priority 0 under GFP_NOFS: 15 batches of 128
    'scanned', 2000 - 1920 = 80 deferred (SHRINK_STOP would defer 2000)."""
    sim, _sb, mount = mounted(MODERN)
    qi = mount.qi
    qi.populate(1000)
    entry = qi.entry
    assert entry is not None
    sc = ShrinkControl(gfp_mask=GFP_NOFS, nid=0, memcg=sim.memcgs.root)
    assert sim.hooks.do_shrink_slab(sc, entry, Pressure(priority=0), sim) == 0
    assert entry.scanned == 1920
    assert entry.nr_deferred == [80]
    assert len(on_lru(qi)) == 1000


@pytest.mark.parametrize(("profile", "freed"), [(SEED, 1), (MODERN, 0)])
def test_freeing_dquot_skipped_from_v6_2(mounted: Mounted, profile: str, freed: int) -> None:
    _sim, _sb, mount = mounted(profile)
    qi = mount.qi
    (dq,) = qi.populate(1)
    dq.freeing = True  # another path (dqpurge) is tearing it down
    assert scan(qi, 1) == freed
    assert (dq.lru_link is None) == bool(freed)


def test_2024_variant_rotates_dirty_and_pinned(mounted: Mounted) -> None:
    """The 2024 isolate rotates dirty or pinned dquots instead of flushing (no profile has
    it yet; built with an explicit behaviour)."""
    sim, _sb, mount = mounted(MODERN)
    rules = attrs.evolve(mount.behaviour, dquot_dirty_rotates=True)
    qi = XfsQuotaInfo.register(sim, "vdb", rules, mount.bt, plugin="test")
    a, _b, c = qi.populate(3)
    qi.log_dquot(a)
    c.pinned = True
    assert scan(qi, 3) == 1
    assert on_lru(qi) == [0, 2]
    assert a.dirty
    assert qi.flushed == 0
    assert scan(qi, 2) == 0  # still dirty / pinned: rotated again
    qi.ail_written()  # a is written back
    assert scan(qi, 2) == 1
    c.pinned = False  # the log force completes
    assert scan(qi, 1) == 1
    assert on_lru(qi) == []


def test_dqput_without_reference(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN)
    qi = mount.qi
    (dq,) = qi.populate(1)
    assert isinstance(dq, Dquot)
    with pytest.raises(UsageError, match="no reference"):
        qi.dqput(dq)


def test_dquots_are_charged_to_no_memcg(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(MODERN)
    a = sim.memcgs.create("a")
    run = sim.workloads.get("rm-rf").start(sim, a, mount.sb, files=200, users=40)
    sim.run(until=1.0)
    assert run.removed == 200  # type: ignore[attr-defined]
    assert 0 < len(mount.qi.tree) <= 40
    assert all(dq.ref.memcg is None for dq in mount.qi.tree.values())
