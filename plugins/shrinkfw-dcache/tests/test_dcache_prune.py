"""``shrink_dentry_list``: ancestor pruning and dispose order by era; unmount."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from shrinkfw_dcache import (
    DCACHE_LRU_LIST,
    ROOT_INO,
    AncestorRule,
    Dcache,
    Dentry,
    dcache_of,
    dentry_state,
)

import shrinkfw
from shrinkfw import ShrinkControl, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw.vfs import Inode, SuperBlock

FULL = ("v3.14-kmemcg-v15", "v6.7")


class IputRecorder:
    """Records the inode numbers ``iput`` sees, then lets the core's default drop the
    reference; optionally calls ``during(inode)`` on the first call."""

    name = "iput-recorder"

    def __init__(self, during: Callable[[Inode], None] | None = None) -> None:
        self.inos: list[int] = []
        self.during = during

    @shrinkfw.hookimpl
    def shrinkfw_iput(self, inode: Inode) -> None:
        self.inos.append(inode.ino)
        during, self.during = self.during, None
        if during is not None:
            during(inode)


def _walk(dcache: Dcache, path: list[str], memcg: Any = None) -> list[Dentry]:
    """Look up every component as a positive dentry, then release them as a path walk does:
    each parent once its child is found, the last at the end."""
    cur = dcache.dget(dcache.root)
    ino = 2
    out = []
    for name in path:
        ino = dcache.ino(ino, name)
        child = dcache.lookup(cur, name, memcg, ino=ino)
        assert child is not None
        dcache.dput(cur)
        cur = child
        out.append(child)
    dcache.dput(cur)
    return out


@pytest.mark.parametrize("profile", FULL)
def test_pruning_a_leaf_prunes_the_ancestors_it_held(
    profile: str, mounted: Callable[..., Any], prune: Callable[..., int]
) -> None:
    _sim, _sb, dcache = mounted(profile)
    a, b, c = _walk(dcache, ["a", "b", "c"])
    assert (a.count, b.count, c.count) == (1, 1, 0)
    assert [d.flags & DCACHE_LRU_LIST for d in (a, b)] == [0, 0]  # never on the LRU
    inodes = [d.d_inode for d in (a, b, c)]
    if dcache.rules.first_put_referenced:
        assert prune(dcache, None, 1) == 0  # the rotation of the first-put reference

    assert prune(dcache, None, 1) == 1  # only c was isolated ...

    assert c.dead
    assert b.dead  # ... but its ancestors went with it
    assert a.dead
    assert dcache.nr_dentry == 1
    assert dcache.root.count == 1  # only s_root's reference left
    assert dcache.root.children is None
    assert [i.i_count for i in inodes if i is not None] == [0, 0, 0]  # each dentry's iput ran


@pytest.mark.parametrize(("profile", "parent_stays_on_lru"), [(FULL[0], True), (FULL[1], False)])
def test_a_parent_that_stays_busy_leaves_the_lru_only_in_the_dispose_list_era(
    profile: str,
    parent_stays_on_lru: bool,
    mounted: Callable[..., Any],
    prune: Callable[..., int],
    lru_order: Callable[..., list[str]],
) -> None:
    """v3.14 drops the parent's reference and leaves it where it is; v5.x-v6.7
    ``__dput_to_list`` also takes a still-referenced parent off the LRU."""
    _sim, _sb, dcache = mounted(profile)
    (a,) = _walk(dcache, ["a"])  # a on the LRU, unused
    _walk(dcache, ["a", "x"])
    _walk(dcache, ["a", "y"])
    assert a.count == 2  # x and y hold it; the LRU keeps it (lazy)
    assert lru_order(dcache, None) == ["a", "x", "y"]
    a.lock_contended = True
    if dcache.rules.first_put_referenced:
        assert prune(dcache, None, 3) == 0  # a skipped, x and y rotated once
        assert lru_order(dcache, None) == ["a", "x", "y"]

    assert prune(dcache, None, 2) == 1  # a skipped, x isolated and killed

    assert a.count == 1
    assert not a.dead
    assert bool(a.flags & DCACHE_LRU_LIST) is parent_stays_on_lru
    assert lru_order(dcache, None) == (["a", "y"] if parent_stays_on_lru else ["y"])
    assert dcache.state().nr_unused == (2 if parent_stays_on_lru else 1)


@pytest.mark.parametrize(("profile", "order"), [(FULL[0], [13, 12, 11]), (FULL[1], [11, 12, 13])])
def test_dispose_order_by_era(
    profile: str, order: list[int], mounted: Callable[..., Any], prune: Callable[..., int]
) -> None:
    """v3.14 moves isolated dentries to the dispose list's tail and frees from the tail:
    newest first. v4.0+ ``list_lru_isolate_move`` adds at the head: oldest first."""
    recorder = IputRecorder()
    _sim, _sb, dcache = mounted(profile, plugins=(recorder,))
    for name in ("f1", "f2", "f3"):
        _walk(dcache, [name])  # inodes 11, 12, 13
    if dcache.rules.first_put_referenced:
        assert prune(dcache, None, 3) == 0
    assert prune(dcache, None, 3) == 3
    assert recorder.inos == order


def test_era_rules_of_the_full_profiles(mounted: Callable[..., Any]) -> None:
    seed = mounted(FULL[0])[2].rules
    modern = mounted(FULL[1])[2].rules
    assert (seed.ancestors, seed.dispose_lifo, seed.external_name_header) == (
        AncestorRule.KILL_AT_ONCE,
        True,
        1,
    )
    assert (modern.ancestors, modern.dispose_lifo, modern.external_name_header) == (
        AncestorRule.DISPOSE_LIST,
        False,
        17,
    )


@pytest.mark.parametrize("profile", FULL)
def test_unhashed_dentry_is_killed_by_its_last_dput_and_its_parent_kept(
    profile: str, mounted: Callable[..., Any]
) -> None:
    _sim, _sb, dcache = mounted(profile)
    a, b = _walk(dcache, ["a", "b"])
    dcache.dget(b)
    dcache.d_drop(b)
    dcache.dput(b)
    assert b.dead
    assert dcache.d_lookup(dcache.root, "a") is a
    dcache.dput(a)
    # the parent's last reference went through the normal dput: cached on the LRU
    assert a.count == 0
    assert a.flags & DCACHE_LRU_LIST
    assert a in dcache.sb.dentry_lru


@pytest.mark.parametrize("profile", FULL)
def test_umount_frees_every_dentry(
    profile: str,
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., Any],
    negative: Callable[..., Any],
) -> None:
    sim, sb, dcache = mounted(profile)
    box = kmem_memcg(sim, "box")
    negative(dcache, [f"{i:064d}" for i in range(300)], box)
    _walk(dcache, ["a", "b", "c"], box)
    held = _walk(dcache, ["a", "held"], box)[1]
    dcache.dget(held)  # still referenced at unmount
    root_inode = dcache.root.d_inode
    assert dentry_state(sim).nr_dentry == 1 + 300 + 4

    sim.vfs.umount(sb)

    assert dcache.dead
    assert dcache.nr_dentry == 0
    assert dentry_state(sim).nr_dentry == 0
    assert sim.slab.slabinfo(dcache.cache).active_objs == 0
    names = [c for c in sim.slab.caches if c.name.startswith("kmalloc")]
    assert names
    assert all(sim.slab.slabinfo(c).active_objs == 0 for c in names)
    assert root_inode is not None
    assert root_inode.i_count == 0
    assert sim.vmstat["dcache_umount_busy"] == 1
    with pytest.raises(UsageError, match="unmounted"):
        dcache.lookup(dcache.root, "x", None)
    sim.slab.check()


@pytest.mark.parametrize("profile", FULL)
def test_umount_from_inside_a_prune_frees_each_dentry_once(
    profile: str, build: Callable[..., Any], prune: Callable[..., int]
) -> None:
    """An ``iput`` during ``shrink_dentry_list`` unmounts the filesystem: the dentries still
    on the dispose list are freed by the unmount and skipped by the list."""
    sbs: list[SuperBlock] = []
    recorder = IputRecorder(during=lambda inode: inode.sb.vfs.umount(sbs[0]))
    sim = build(profile, plugins=(recorder,))
    sb = sim.vfs.mount("ext4", "vda1")
    sbs.append(sb)
    dcache = dcache_of(sb)
    for name in ("f1", "f2", "f3", "f4"):
        _walk(dcache, [name])
    if dcache.rules.first_put_referenced:
        assert prune(dcache, None, 4) == 0  # rotations only: no iput yet
    assert sb.shrinker is not None
    sb.shrinker.shrinker.scan_objects(ShrinkControl(nr_to_scan=1024))

    assert dcache.dead
    assert dcache.nr_dentry == 0
    assert sim.slab.slabinfo(dcache.cache).active_objs == 0
    assert sb.torn_down
    sim.slab.check()


class _NoInodes:
    """An inode cache out of memory: every ``iget`` but the root's fails with ENOMEM."""

    name = "no-inodes"

    @shrinkfw.hookimpl(tryfirst=True)
    def shrinkfw_iget(self, ino: int) -> None:
        if ino != ROOT_INO:
            raise shrinkfw.AllocationError("inode_cache allocation failed (test)")


def test_lookup_discards_its_dentry_when_iget_fails(mounted: Callable[..., Any]) -> None:
    sim, _, dcache = mounted("v6.7", plugins=(_NoInodes(),))
    root = dcache.root
    before = dentry_state(sim).nr_dentry
    assert dcache.lookup(root, "file", None, 0, ino=42) is None
    assert dcache.d_lookup(root, "file") is None  # no negative dentry left for a real file
    assert dentry_state(sim).nr_dentry == before
