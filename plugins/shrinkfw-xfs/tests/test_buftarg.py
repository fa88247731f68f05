"""The xfs_buf shrinker: spec §7.4 and acceptance scenario 12, in both isolate eras."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from shrinkfw_xfs import XBF_STATE_DISPOSE, XFS_BUF_REF, XfsBuf, XfsBuftarg, XfsBufType

from shrinkfw import GFP_KERNEL, ShrinkControl, ShrinkerFlags, UsageError

if TYPE_CHECKING:
    from conftest import Mounted

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"


def visit(bt: XfsBuftarg, nr: int = 1, nid: int = 0) -> int:
    """One ``scan_objects`` call with a walk budget of ``nr``."""
    sc = ShrinkControl(gfp_mask=GFP_KERNEL, nid=nid, nr_to_scan=nr, nr_scanned=nr)
    return bt.scan_objects(sc)


def unused(bt: XfsBuftarg, bno: int, lru_ref: int) -> XfsBuf:
    """A buffer released by its last user, now on the LRU with ``b_lru_ref = lru_ref`` (set
    after the release when 0, as xfs_buf_rele frees a buffer at 0): the LRU's hold is its
    only one."""
    bp = bt.get(bno, XfsBufType.DIR_BTREE)
    assert bp is not None
    bp.lru_ref = max(lru_ref, 1)
    bt.rele(bp)
    bp.lru_ref = lru_ref
    assert bp.hold == 1
    assert bp in bt.lru  # type: ignore[operator]
    return bp


def lru_order(bt: XfsBuftarg, nid: int = 0) -> list[int]:
    assert bt.lru is not None
    return [bp.bno for bp in bt.lru.items(nid)]


def test_registration(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(MODERN, nr_nodes=2)
    entry = mount.bt.entry
    assert entry is not None
    assert entry.name == "xfs-buf:vda1"
    assert entry.flags == ShrinkerFlags.NUMA_AWARE
    assert not entry.memcg_aware
    assert entry.seeks == 2
    assert entry.batch == 0
    assert mount.bt.lru is not None
    assert not mount.bt.lru.memcg_aware
    assert mount.bt.lru in sim.lrus


def test_scenario_12_v4_16_and_later(mounted: Mounted) -> None:
    """b_lru_ref 2, sole hold the LRU's: visits 1-2 rotate (2→1→0), visit 3 frees it; the
    shrinker reports 1 in total."""
    sim, _sb, mount = mounted(MODERN)
    bt = mount.bt
    bp = unused(bt, 7, 2)
    reports = []
    refs = []
    for _ in range(3):
        reports.append(visit(bt))
        refs.append(bp.lru_ref)
    assert reports == [0, 0, 1]
    assert refs == [1, 0, 0]
    assert bt.freed == 1
    assert bt.reported == 1
    assert 7 not in bt.hash
    assert bp.lru_link is None
    assert bt.cache.inuse == 0
    assert sim.vmstat["xfs_buf_freed"] == 1


def test_scenario_12_inverted_e1(mounted: Mounted) -> None:
    """E1: visit 1 isolates (2→1) and reports 1, xfs_buf_rele puts it back; visit 2
    isolates (1→0), reports 1 and frees it; 2 reported in total."""
    _sim, _sb, mount = mounted(SEED)
    bt = mount.bt
    bp = unused(bt, 7, 2)
    assert visit(bt) == 1
    assert bp.lru_ref == 1
    assert bp in bt.lru  # type: ignore[operator]
    assert bp.hold == 1  # the LRU's new hold
    assert not bp.state & XBF_STATE_DISPOSE
    assert bt.freed == 0
    assert visit(bt) == 1
    assert bt.freed == 1
    assert 7 not in bt.hash
    assert bt.reported == 2
    assert visit(bt) == 0  # nothing left


def test_inverted_release_goes_to_the_lru_tail(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(SEED)
    bt = mount.bt
    unused(bt, 1, 2)
    unused(bt, 2, 2)
    assert lru_order(bt) == [1, 2]
    assert visit(bt) == 1
    assert lru_order(bt) == [2, 1]


@pytest.mark.parametrize(("profile", "report"), [(SEED, 0), (MODERN, 1)])
def test_b_lru_ref_zero_on_the_lru(mounted: Mounted, profile: str, report: int) -> None:
    """A buffer left on the LRU with b_lru_ref 0 rotates forever in E1 and is freed on the
    first visit from v4.16."""
    _sim, _sb, mount = mounted(profile)
    bt = mount.bt
    bp = unused(bt, 3, 0)
    reports = [visit(bt) for _ in range(20)]
    if profile == SEED:
        assert reports == [0] * 20
        assert bp in bt.lru  # type: ignore[operator]
        assert bp.hold == 1
        assert bt.freed == 0
    else:
        assert reports == [1] + [0] * 19
        assert bt.freed == 1


@pytest.mark.parametrize("profile", [SEED, MODERN])
def test_held_buffer_is_isolated_but_freed_by_its_last_user(mounted: Mounted, profile: str) -> None:
    """A buffer the shrinker disposes of while someone holds it is only freed by the last
    xfs_buf_rele; with DISPOSE set it is not looked for on the LRU."""
    _sim, _sb, mount = mounted(profile)
    bt = mount.bt
    bp = unused(bt, 9, 1 if profile == SEED else 0)
    bt.hold_buf(bp)  # a user takes it: LRU + user
    assert visit(bt) == 1
    assert bp.lru_link is None
    assert bp.hold == 1
    assert bp.state & XBF_STATE_DISPOSE
    assert bt.freed == 0
    bt.rele(bp)
    assert bt.freed == 1
    assert 9 not in bt.hash


def test_lock_contention_skips(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN)
    bt = mount.bt
    a = unused(bt, 1, 0)
    unused(bt, 2, 0)
    a.lock_contended = True
    assert visit(bt, 2) == 1
    assert lru_order(bt) == [1]
    assert a.lru_ref == 0


def test_new_buffers_and_set_ref(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN)
    bt = mount.bt
    bp = bt.get(11, XfsBufType.AGF)
    assert bp is not None
    assert (bp.hold, bp.lru_ref) == (1, 1)  # _xfs_buf_alloc
    bt.rele(bp)
    assert {t.name: XFS_BUF_REF[t] for t in XfsBufType} == {
        "AGF": 4,
        "AGI": 4,
        "AGFL": 3,
        "INO_BTREE": 3,
        "ALLOC_BTREE": 2,
        "BMAP_BTREE": 2,
        "DIR_BTREE": 2,
        "INO": 2,
        "ATTR_BTREE": 1,
        "DQUOT": 1,
    }
    for n, btype in enumerate(XfsBufType):
        got = bt.read(100 + n, btype)
        assert got is not None
        assert got.lru_ref == XFS_BUF_REF[btype]
        bt.rele(got)


def test_a_hit_takes_a_hold_and_keeps_the_buffer(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN)
    bt = mount.bt
    bp = unused(bt, 5, 2)
    again = bt.read(5, XfsBufType.DIR_BTREE)
    assert again is bp
    assert bp.hold == 2
    assert bt.cache.inuse == 1


def test_stale_buffer_leaves_the_lru_and_is_freed_on_release(mounted: Mounted) -> None:
    _sim, _sb, mount = mounted(MODERN)
    bt = mount.bt
    bp = unused(bt, 4, 2)
    got = bt.get(4, XfsBufType.DIR_BTREE)
    assert got is bp
    assert bp.hold == 2
    bt.stale_buf(bp)  # drops the LRU's hold
    assert bp.lru_link is None
    assert (bp.hold, bp.lru_ref, bp.stale) == (1, 0, True)
    bt.rele(bp)
    assert bt.freed == 1
    with pytest.raises(UsageError, match="no hold"):
        bt.rele(bp)


def test_buffers_are_charged_to_no_memcg(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(SEED)
    a = sim.memcgs.create("a")
    if not a.kmem_active:  # a v1 kernel accounts kmem once a kmem limit is written
        sim.memcgs.set_kmem_limit(a, 1 << 30)
    run = sim.workloads.get("metadata-copy-hardlinks").start(sim, a, mount.sb, files=300)
    sim.run(until=1.0)
    assert run.links_made == 300  # type: ignore[attr-defined]
    assert mount.bt.cache.inuse == len(mount.bt.hash) > 0
    assert all(child.memcg is not a for child in mount.bt.cache.children.values())
    assert all(bp.ref.memcg is None for bp in mount.bt.hash.values())


@pytest.mark.parametrize("profile", [SEED, MODERN])
def test_numa_lists_are_scanned_alone(mounted: Mounted, profile: str) -> None:
    _sim, _sb, mount = mounted(profile, nr_nodes=2)
    bt = mount.bt
    assert bt.populate(5, nid=1) == 5
    assert bt.populate(3, nid=0) == 3
    assert bt.count_objects(ShrinkControl(nid=1)) == 5
    assert bt.count_objects(ShrinkControl(nid=0)) == 3
    # v6.7: a budget of 100 goes round the 5 rotating buffers until all are freed
    # (list_for_each_safe); E1: all 5 are isolated once (2→1) and put back by xfs_buf_rele
    assert visit(bt, 100, nid=1) == 5
    assert bt.count_objects(ShrinkControl(nid=1)) == (5 if profile == SEED else 0)
    assert bt.count_objects(ShrinkControl(nid=0)) == 3
