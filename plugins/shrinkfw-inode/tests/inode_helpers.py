"""Helpers shared by the inode plugin's tests (imported by name; pytest puts this directory
on ``sys.path``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw_inode.plugin
from shrinkfw_inode import I_CLEAR, I_FREEING, Icache, SuperInodes, VfsInode, get_icache

import shrinkfw
from shrinkfw import GFP_KERNEL, MemCgroup, ShrinkControl, Simulation

if TYPE_CHECKING:
    from shrinkfw import ShrinkerEntry
    from shrinkfw.vfs import SuperBlock, SuperShrinker

MiB = 1 << 20
#: The profiles that model reclaim end to end.
FULL = ("v3.14-kmemcg-v15", "v6.7")
#: v3.14: a released inode is marked REFERENCED.
E1 = ("v3.14", "v3.14-kmemcg-v15")
#: Later kernels: only a re-referenced inode is.
MODERN = ("v4.14", "v5.4", "v6.1", "v6.7")


def build(profile: str = "v3.14-kmemcg-v15", **kw: object) -> Simulation:
    kw.setdefault("autoload", False)
    kw.setdefault("plugins", [shrinkfw_inode.plugin])
    return Simulation.build(profile=profile, **kw)  # type: ignore[arg-type]


def kmem_memcg(sim: Simulation, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    """A memcg with kmem accounting on (v1 kernels need a kmem limit written first)."""
    memcg = sim.memcgs.create(name, parent)
    if not memcg.kmem_active:
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    return memcg


def mounted(profile: str = "v3.14-kmemcg-v15", **kw: object) -> tuple[Simulation, SuperBlock]:
    sim = build(profile, **kw)
    return sim, sim.vfs.mount("ext4", "sda1")


def sb_shrinker(sb: SuperBlock) -> tuple[ShrinkerEntry, SuperShrinker]:
    """The superblock's registered shrinker entry and its ``SuperShrinker``."""
    entry = sb.shrinker
    assert entry is not None
    return entry, entry.shrinker  # type: ignore[return-value]


def icache_of(sb: SuperBlock) -> tuple[Icache, SuperInodes]:
    icache = get_icache(sb.sim)
    return icache, icache.supers(sb)


def scan(nr: int, *, nid: int = 0, memcg: MemCgroup | None = None) -> ShrinkControl:
    return ShrinkControl(gfp_mask=GFP_KERNEL, nid=nid, memcg=memcg, nr_to_scan=nr, nr_scanned=nr)


def visit(sb: SuperBlock, memcg: MemCgroup | None = None, nr: int = 1) -> int:
    """One ``prune_icache_sb`` with a walk budget of ``nr``: ``nr`` isolate visits."""
    return sb.sim.hooks.prune_icache_sb(sb, scan(nr, memcg=memcg), sb.sim)


def released(
    sb: SuperBlock, memcg: MemCgroup | None = None, *, nid: int = 0, pages: int = 0
) -> VfsInode:
    """A new inode, read ``pages`` pages of, released once (open, read, close)."""
    icache, supers = icache_of(sb)
    inode = icache.iget(sb, supers.alloc_ino(), memcg, nid)
    assert inode is not None
    if pages:
        assert icache.read_pages(inode, memcg, pages, nid=nid) == pages
    icache.iput(inode)
    return inode


def lru_order(sb: SuperBlock, memcg: MemCgroup | None = None, nid: int = 0) -> list[int]:
    return [inode.ino for inode in sb.inode_lru.items(nid, memcg)]


def check_books(sim: Simulation) -> None:
    """The inode plugin's counters agree with the lists and the slab cache."""
    icache = get_icache(sim)
    icache.pages.check()
    live = 0
    for sb in sim.vfs.supers:
        supers = icache.supers(sb)
        assert supers.nr_unused == len(sb.inode_lru), (supers.nr_unused, len(sb.inode_lru))
        for inode in supers.hash.values():
            assert inode.ref is not None
            assert inode.nrpages == sum((inode.mapping or {}).values())
        live += supers.nr_inodes
    assert _objects_in_use(icache) == live


def _objects_in_use(icache: Icache) -> int:
    cache = icache.cache
    children = [c for c in cache.children.values() if c is not cache]
    return cache.inuse + sum(c.inuse for c in children)


class EvictRecorder:
    """A filesystem-like plugin that sees every evicted inode (as XFS takes them over)."""

    name = "evict-recorder"

    def __init__(self) -> None:
        self.evicted: list[tuple[str, int, int]] = []

    @shrinkfw.hookimpl
    def shrinkfw_evict_inode(self, inode: VfsInode) -> None:
        # announced intact: the slab object is freed after the hook returns
        assert inode.ref is not None
        assert inode.state == I_FREEING | I_CLEAR
        self.evicted.append((inode.sb.s_id, inode.ino, inode.nrpages))
