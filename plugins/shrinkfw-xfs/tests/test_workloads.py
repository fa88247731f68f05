"""The workloads: metadata-copy-hardlinks (cp -al) and rm-rf."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from shrinkfw_xfs import XFS_BUF_REF, MetadataCopy, RmRf, XfsBufType

from shrinkfw import UsageError

if TYPE_CHECKING:
    from shrinkfw_xfs import XfsMount

    from conftest import Mounted
    from shrinkfw import Simulation

SEED = "v3.14-kmemcg-v15"
MODERN = "v6.7"


def copy(sim: Simulation, mount: XfsMount, **params: object) -> MetadataCopy:
    memcg = sim.memcgs.create(f"cp{len(sim.memcgs)}")
    run = sim.workloads.get("metadata-copy-hardlinks").start(sim, memcg, mount.sb, **params)
    assert isinstance(run, MetadataCopy)
    return run


def test_registered_with_defaults(mounted: Mounted) -> None:
    sim, _sb, _mount = mounted(MODERN)
    cp = sim.workloads.get("metadata-copy-hardlinks")
    rm = sim.workloads.get("rm-rf")
    assert cp.needs_fs
    assert rm.needs_fs
    assert set(cp.params) == {
        "files",
        "rate",
        "depth",
        "fanout",
        "users",
        "attr_fraction",
        "interval",
        "nid",
    }
    assert set(rm.params) == {"files", "rate", "users", "interval", "nid"}
    assert cp.plugin == rm.plugin


@pytest.mark.parametrize("profile", [SEED, MODERN])
def test_metadata_copy_builds_the_tree(mounted: Mounted, profile: str) -> None:
    """1280 files in fanout 2, depth 1: 2 leaf directories of 640 entries (10 blocks each,
    so their block maps become btrees), 1280 source inodes read in and 2 new directories."""
    sim, _sb, mount = mounted(profile)
    run = copy(sim, mount, files=1280, depth=1, fanout=2, rate=1000.0, attr_fraction=1.0)
    sim.run(until=1.0)
    assert (run.links_made, run.dirs_made) == (1000, 2)
    assert not run.finished
    sim.run(until=2.0)
    assert (run.links_made, run.dirs_made) == (1280, 2)
    assert run.finished
    assert len(mount.icache.inodes) == 1282
    assert mount.icache.count() == 0  # all in use
    assert all(ip.memcg is run.memcg for ip in mount.icache.inodes.values())
    kinds = {bp.type for bp in mount.bt.hash.values()}
    assert kinds == set(XfsBufType)
    # every buffer on the LRU carries the b_lru_ref of its type
    assert mount.bt.lru is not None
    assert all(bp.lru_ref == XFS_BUF_REF[bp.type] for bp in mount.bt.lru.items(0))
    assert 1 <= len(mount.qi.tree) <= 16
    sim.run(until=5.0)
    assert run.links_made == 1280  # stopped by itself


def test_rm_rf_hands_the_old_tree_to_reclaim(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(MODERN)
    run = copy(sim, mount, files=200, depth=1, fanout=2)
    sim.run(until=1.0)
    old = [ip for ip in mount.icache.inodes.values() if not ip.reclaimable]
    assert len(old) == 202
    rm = sim.workloads.get("rm-rf").start(sim, run.memcg, mount.sb, files=150, rate=1500.0)
    assert isinstance(rm, RmRf)
    sim.run(until=1.1)
    assert rm.removed == 150
    assert rm.dirs_removed == 2  # one per 64 entries
    assert mount.icache.count() == 150
    gone = old[:150]  # oldest first
    assert all(ip.reclaimable and ip.dirty and ip.pinned for ip in gone)
    assert all(not ip.reclaimable for ip in old[150:])
    assert all(dq.dirty for dq in mount.qi.logged)


def test_rm_rf_reads_in_a_cold_tree(mounted: Mounted) -> None:
    sim, _sb, mount = mounted(SEED)
    a = sim.memcgs.create("a")
    rm = sim.workloads.get("rm-rf").start(sim, a, mount.sb, files=100, rate=1000.0)
    sim.run(until=0.1)
    assert rm.removed == 100  # type: ignore[attr-defined]
    assert mount.icache.count() == 100
    assert sorted({ip.agno for ip in mount.icache.inodes.values()}) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"filez": 3}, "unknown parameter 'filez'"),
        ({"files": 0}, "'files' must be > 0"),
        ({"files": 2.5}, "'files' must be an integer"),
        ({"rate": "fast"}, "'rate' must be a number"),
        ({"attr_fraction": 1.5}, r"'attr_fraction' must be in \[0, 1\]"),
        ({"nid": 3}, "'nid' must be a node"),
        ({"interval": True}, "'interval' must be a number"),
    ],
)
def test_bad_parameters_are_named(mounted: Mounted, params: dict[str, object], match: str) -> None:
    sim, sb, _mount = mounted(MODERN)
    kind = sim.workloads.get("metadata-copy-hardlinks")
    with pytest.raises(UsageError, match=match):
        kind.start(sim, sim.memcgs.root, sb, **params)


def test_needs_an_xfs_mount(mounted: Mounted) -> None:
    sim, _sb, _mount = mounted(MODERN)
    ext4 = sim.vfs.mount("ext4", "vdb")
    for name in ("metadata-copy-hardlinks", "rm-rf"):
        with pytest.raises(UsageError, match="mounted xfs filesystem; got ext4:vdb"):
            sim.workloads.get(name).start(sim, sim.memcgs.root, ext4)
        with pytest.raises(UsageError, match="no superblock"):
            sim.workloads.get(name).start(sim, sim.memcgs.root, None)


def test_stop_and_unmount_stop_the_work(mounted: Mounted) -> None:
    sim, sb, mount = mounted(MODERN)
    run = copy(sim, mount, files=10_000, rate=100.0)
    sim.run(until=1.0)
    made = run.links_made
    run.stop()
    sim.run(until=2.0)
    assert run.links_made == made
    again = copy(sim, mount, files=10_000, rate=100.0)
    sim.vfs.umount(sb)
    sim.run(until=3.0)
    assert again.links_made == 0
    assert again.finished
