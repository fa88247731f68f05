"""Tests of the slab allocator model: orders, min_partial, page charges, reclaim credit, dead
memcgs in each era, objcg byte charging (spec §3.5, §5, §8 test_kmem_basic)."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkfw.errors import UsageError
from shrinkfw.memcg import (
    KMEM_V4_0,
    KMEM_V4_7,
    KMEM_V5_9,
    KMEM_V15,
    PAGE_COUNTER_MAX,
    PAGE_SIZE,
    ChargeKind,
    KmemPolicy,
    MemCgroup,
    MemcgState,
    MemcgTree,
)
from shrinkfw.slab import (
    MAX_ORDER,
    SLAB_V4_0,
    SLAB_V5_9,
    SLAB_V15,
    KmemCache,
    SlabAllocator,
    SlabPolicy,
    SlabRef,
    calculate_order,
    min_partial_for,
)

KMEM = ChargeKind.KMEM
DENTRY_SIZE = 192


@attrs.define(eq=False)
class Machine:
    """The simulation side of the allocator: node pages and kmem charges on a real tree."""

    tree: MemcgTree
    node_pages: list[int]
    fail_alloc: bool = False
    fail_charge: bool = False
    allocs: list[tuple[MemCgroup | None, int, int]] = attrs.field(factory=list)
    frees: list[tuple[MemCgroup | None, int, int]] = attrs.field(factory=list)
    on_alloc: list[object] = attrs.field(factory=list)

    def alloc_page(self, memcg: MemCgroup | None, nid: int, nr_pages: int) -> bool:
        self.allocs.append((memcg, nid, nr_pages))
        for hook in self.on_alloc:
            assert callable(hook)
            hook()
        if self.fail_alloc:
            return False
        if memcg is not None and not self.tree.charge(memcg, nr_pages, kind=KMEM).ok:
            return False
        self.node_pages[nid] += nr_pages
        return True

    def free_page(self, memcg: MemCgroup | None, nid: int, nr_pages: int) -> None:
        self.frees.append((memcg, nid, nr_pages))
        self.node_pages[nid] -= nr_pages
        if memcg is not None:
            self.tree.uncharge(memcg, nr_pages, KMEM)

    def charge(self, memcg: MemCgroup, nr_pages: int) -> bool:
        if self.fail_charge:
            return False
        ok: bool = self.tree.charge(memcg, nr_pages, kind=KMEM).ok
        return ok

    def uncharge(self, memcg: MemCgroup, nr_pages: int) -> None:
        self.tree.uncharge(memcg, nr_pages, KMEM)


def make(
    kmem: KmemPolicy, slab: SlabPolicy, nr_nodes: int = 1
) -> tuple[MemcgTree, Machine, SlabAllocator]:
    tree = MemcgTree(kmem, nr_nodes)
    machine = Machine(tree, [0] * nr_nodes)
    allocator = SlabAllocator(
        tree,
        policy=slab,
        alloc_page=machine.alloc_page,
        free_page=machine.free_page,
        charge_kmem=None if slab.per_memcg_caches else machine.charge,
        uncharge_kmem=None if slab.per_memcg_caches else machine.uncharge,
    )
    return tree, machine, allocator


def active_memcg(tree: MemcgTree, name: str, parent: MemCgroup | None = None) -> MemCgroup:
    memcg = tree.create(name, parent)
    if not memcg.kmem_active:
        tree.set_kmem_limit(memcg, PAGE_COUNTER_MAX)
    return memcg


def state(memcg: MemCgroup) -> MemcgState:
    """The memcg's state, read through a call so that mypy does not narrow it across calls."""
    return memcg.state


def alloc_n(
    allocator: SlabAllocator, cache: KmemCache, memcg: MemCgroup | None, n: int, nid: int = 0
) -> list[SlabRef]:
    refs = []
    for _ in range(n):
        ref = allocator.alloc(cache, memcg, nid)
        assert ref is not None
        refs.append(ref)
    return refs


# -- geometry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(8, 5), (192, 5), (4095, 5), (4096, 6), (1 << 16, 8), (1 << 20, 10), (1 << 30, 10)],
)
def test_min_partial_is_half_ilog2_clamped(size: int, expected: int) -> None:
    assert min_partial_for(size) == expected


@pytest.mark.parametrize(
    ("size", "order", "objects"),
    [
        (8, 0, 512),
        (96, 0, 42),
        (DENTRY_SIZE, 0, 21),
        (256, 0, 16),
        (512, 0, 8),
        (344, 1, 23),
        (700, 1, 11),
        (1024, 1, 8),
        (2048, 2, 8),
        (4096, 3, 8),
        (8192, 3, 4),
        (65536, 4, 1),
    ],
)
def test_calculate_order(size: int, order: int, objects: int) -> None:
    got = calculate_order(size, min_objects=8, max_order=3)
    assert got == order
    assert (PAGE_SIZE << got) // size == objects


def test_calculate_order_limits() -> None:
    assert calculate_order(DENTRY_SIZE, min_objects=1, max_order=3) == 0
    with pytest.raises(UsageError, match="does not fit"):
        calculate_order(PAGE_SIZE << MAX_ORDER, min_objects=8, max_order=3)
    with pytest.raises(UsageError, match="at least 1 byte"):
        calculate_order(0, min_objects=8, max_order=3)


def test_policy_validation() -> None:
    with pytest.raises(UsageError, match="min_objects"):
        SlabPolicy(name="x", per_memcg_caches=True, min_objects=0)
    with pytest.raises(UsageError, match="min_partial"):
        SlabPolicy(name="x", per_memcg_caches=True, min_partial=-1)
    with pytest.raises(UsageError, match="max_order"):
        SlabPolicy(name="x", per_memcg_caches=True, max_order=MAX_ORDER)


def test_cache_geometry_and_overrides() -> None:
    cache = KmemCache("dentry", DENTRY_SIZE, reclaimable=True, account=True, policy=SLAB_V15)
    assert (cache.order, cache.pages_per_slab, cache.objs_per_slab) == (0, 1, 21)
    assert cache.min_partial == 5
    assert cache.charge_size == 200
    assert cache.is_root
    pinned = attrs.evolve(SLAB_V15, min_partial=2)
    assert KmemCache("x", 64, reclaimable=False, account=False, policy=pinned).min_partial == 2


# -- test_kmem_basic at the allocator level (spec §8) -----------------------------------------


def test_kmem_basic_mirror_pages_and_reclaim_credit() -> None:
    tree, machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "kmem_basic")
    dentry = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    refs = alloc_n(allocator, dentry, memcg, 100_000)

    slabs = math.ceil(100_000 / 21)
    assert slabs == 4762
    child = dentry.children[memcg]
    assert child.name == f"dentry({memcg.kmemcg_id}:kmem_basic)"
    assert child.nr_slabs == slabs
    assert dentry.nr_slabs == 0
    assert memcg.own_kmem == memcg.usage_kmem == slabs
    stat = allocator.memcg_stat(memcg)
    assert stat.reclaimable == stat.total == slabs * PAGE_SIZE >= 1 << 20
    info = allocator.slabinfo(dentry)
    assert (info.active_objs, info.num_objs, info.num_slabs) == (100_000, slabs * 21, slabs)
    assert allocator.meminfo() == (slabs, 0)
    assert {m for m, _, _ in machine.allocs} == {memcg}

    # Free in LRU order (oldest first): credit comes in whole slabs only, and only once the
    # node's partial list holds min_partial slabs (the slab itself counted).
    for i, ref in enumerate(refs, start=1):
        returned = allocator.free(dentry, ref)
        full_slabs_emptied = i // 21
        expected_credit = max(0, min(full_slabs_emptied, slabs - 1) - 4)
        assert allocator.reclaimed_slab == expected_credit, i
        emptied_now = i % 21 == 0 and 5 <= i // 21 < slabs
        assert returned == (1 if emptied_now else 0), i
    # Kept: 4 empty partial slabs and the (empty) active slab.
    assert allocator.reclaimed_slab == slabs - 5
    assert child.nr_slabs == child.empty_slabs() == 5
    assert memcg.own_kmem == 5
    allocator.check()

    assert allocator.shrink(dentry, memcg) == 5
    assert allocator.reclaimed_slab == slabs
    assert child.nr_slabs == 0
    assert memcg.own_kmem == 0
    assert machine.node_pages == [0]


def test_objcg_charge_falls_per_object_credit_per_page() -> None:
    tree, _machine, allocator = make(KMEM_V5_9, SLAB_V5_9)
    memcg = tree.create("a")
    dentry = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    refs = alloc_n(allocator, dentry, memcg, 100_000)
    assert dentry.nr_slabs == 4762
    assert allocator.memcg_stat(memcg).reclaimable == 100_000 * 200
    charged = memcg.own_kmem
    assert math.ceil(100_000 * 200 / PAGE_SIZE) <= charged <= 100_000 * 200 // PAGE_SIZE + 1
    for ref in refs[:100]:
        allocator.free(dentry, ref)
    assert allocator.reclaimed_slab == 0
    assert charged - memcg.own_kmem >= 100 * 200 // PAGE_SIZE - 1
    allocator.check()


# -- slab lists -------------------------------------------------------------------------------


def test_allocates_from_most_recently_used_partial_slab() -> None:
    _tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    cache = allocator.create_cache("c", DENTRY_SIZE)
    refs = alloc_n(allocator, cache, None, 63)
    slab0, slab1, slab2 = refs[0].slab, refs[21].slab, refs[42].slab
    assert (slab0.status, slab1.status, slab2.status) == ("full", "full", "active")
    allocator.free(cache, refs[0])
    allocator.free(cache, refs[21])
    assert (slab0.status, slab1.status) == ("partial", "partial")
    ref = allocator.alloc(cache, None)
    assert ref is not None
    assert ref.slab is slab1
    assert slab2.status == "full"
    assert slab1.status == "active"


def test_shrink_discards_empties_and_puts_fullest_first() -> None:
    _tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    cache = allocator.create_cache("c", DENTRY_SIZE)
    refs = alloc_n(allocator, cache, None, 21 * 4)
    slabs = [refs[21 * k].slab for k in range(4)]
    for ref in refs[0:21]:  # slab 0 empty (kept: partial list is short)
        allocator.free(cache, ref)
    for ref in refs[42:44]:  # slab 2: 19 in use
        allocator.free(cache, ref)
    for ref in refs[21:31]:  # slab 1: 11 in use, the most recently used partial slab
        allocator.free(cache, ref)
    assert slabs[0].status == "partial"
    assert slabs[0].inuse == 0
    assert allocator.shrink(cache) == 1
    assert slabs[0].status == "freed"
    assert slabs[3].status == "full"  # the active slab was full: deactivated to the full set
    new = allocator.alloc(cache, None)
    assert new is not None
    assert new.slab is slabs[2]  # after the shrink, the fullest partial slab comes first
    allocator.check()


def test_min_partial_zero_frees_every_empty_slab() -> None:
    _tree, _machine, allocator = make(KMEM_V15, attrs.evolve(SLAB_V15, min_partial=0))
    cache = allocator.create_cache("c", DENTRY_SIZE)
    refs = alloc_n(allocator, cache, None, 42)
    assert [allocator.free(cache, ref) for ref in refs[:21]] == [0] * 20 + [1]
    assert allocator.reclaimed_slab == 1


def test_one_object_slabs_go_from_full_to_freed() -> None:
    _tree, machine, allocator = make(KMEM_V15, attrs.evolve(SLAB_V15, min_partial=1))
    cache = allocator.create_cache("big", 65536)
    assert (cache.order, cache.objs_per_slab) == (4, 1)
    refs = alloc_n(allocator, cache, None, 4)
    assert machine.allocs == [(None, 0, 16)] * 4
    # slab 0 full -> empty: no partial slab yet (the slab itself is not on the list): kept.
    assert allocator.free(cache, refs[0]) == 0
    assert refs[0].slab.status == "partial"
    assert allocator.free(cache, refs[1]) == 16
    assert allocator.reclaimed_slab == 16
    allocator.check()


def test_higher_order_slabs_charge_and_credit_all_pages() -> None:
    tree, machine, allocator = make(KMEM_V4_7, SLAB_V4_0)
    memcg = tree.create("a")
    cache = allocator.create_cache("kmalloc-4k", 4096, account=True)
    refs = alloc_n(allocator, cache, memcg, 9)
    assert machine.allocs == [(memcg, 0, 8), (memcg, 0, 8)]
    assert memcg.own_kmem == 16
    for ref in refs:
        allocator.free(cache, ref)
    assert allocator.shrink(cache, memcg) == 16
    assert allocator.reclaimed_slab == 16
    assert memcg.own_kmem == 0


def test_numa_nodes_have_their_own_slabs() -> None:
    tree, machine, allocator = make(KMEM_V4_7, SLAB_V4_0, nr_nodes=2)
    memcg = tree.create("a")
    recl = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    unrecl = allocator.create_cache("kmalloc-64", 64)
    a0 = alloc_n(allocator, recl, memcg, 1, nid=0)
    a1 = alloc_n(allocator, recl, memcg, 1, nid=1)
    alloc_n(allocator, unrecl, memcg, 1, nid=1)
    assert a0[0].slab is not a1[0].slab
    assert (a0[0].nid, a1[0].nid) == (0, 1)
    assert machine.node_pages == [1, 2]
    assert allocator.meminfo(0) == (1, 0)
    assert allocator.meminfo(1) == (1, 1)
    assert (allocator.sreclaimable, allocator.sunreclaim, allocator.nr_pages) == (2, 1, 3)
    with pytest.raises(UsageError, match="nid 2"):
        allocator.alloc(recl, memcg, 2)
    with pytest.raises(UsageError, match="nid -1"):
        allocator.alloc(recl, memcg, -1)


# -- routing ----------------------------------------------------------------------------------


def test_unaccounted_root_and_inactive_memcgs_use_the_root_cache() -> None:
    tree, machine, allocator = make(KMEM_V15, attrs.evolve(SLAB_V15, account_all=False))
    memcg = tree.create("a")  # v1: not kmem-active until the kmem limit is written
    accounted = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    plain = allocator.create_cache("plain", DENTRY_SIZE)
    for cache, who in ((accounted, memcg), (accounted, tree.root), (plain, memcg)):
        ref = allocator.alloc(cache, who)
        assert ref is not None
        assert ref.cache is cache
        assert ref.memcg is None
    assert all(m is None for m, _, _ in machine.allocs)
    tree.set_kmem_limit(memcg, PAGE_COUNTER_MAX)  # activation: child cache from now on
    ref = allocator.alloc(accounted, memcg)
    assert ref is not None
    assert ref.cache is accounted.children[memcg]
    assert ref.memcg is memcg
    assert memcg.own_kmem == 1


def test_accounting_is_opt_out_before_v4_5() -> None:
    tree, machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    plain = allocator.create_cache("kmalloc-128", 128)
    assert plain.account
    ref = allocator.alloc(plain, memcg)
    assert ref is not None
    assert ref.memcg is memcg
    assert machine.allocs == [(memcg, 0, 1)]
    assert not KmemCache("x", 128, reclaimable=False, account=False, policy=SLAB_V4_0).account


def test_dead_memcg_allocates_from_online_ancestor() -> None:
    tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    parent = active_memcg(tree, "p")
    child = tree.create("c", parent)  # kmem-active by propagation
    assert child.kmem_active
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    pin = allocator.alloc(cache, child)
    assert pin is not None
    tree.offline(child)
    assert state(child) is MemcgState.DYING
    ref = allocator.alloc(cache, child)
    assert ref is not None
    assert ref.cache is cache.children[parent]

    tree5, _m5, allocator5 = make(KMEM_V5_9, SLAB_V5_9)
    p5 = tree5.create("p")
    c5 = tree5.create("c", p5)
    cache5 = allocator5.create_cache("dentry", DENTRY_SIZE, account=True)
    tree5.offline(c5)
    ref5 = allocator5.alloc(cache5, c5)
    assert ref5 is not None
    assert ref5.objcg is not None
    assert ref5.objcg.origin is p5


# -- dead memcgs ------------------------------------------------------------------------------


def test_seed_dead_memcg_pinned_by_live_object_then_by_retained_empty_slab() -> None:
    tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    refs = alloc_n(allocator, cache, memcg, 42)
    child = cache.children[memcg]
    for ref in refs[1:]:
        allocator.free(cache, ref)
    tree.offline(memcg)
    # The offline work shrank the dead cache: only the slab of the live object is left.
    assert state(memcg) is MemcgState.DYING
    assert child.dead
    assert child.nr_slabs == 1
    assert memcg.own_kmem == 1
    assert tree.nr_dying_descendants(tree.root) == 1

    # The last object goes, but v3.14 keeps the empty slab (partial list < min_partial).
    assert allocator.free(cache, refs[0]) == 0
    assert state(memcg) is MemcgState.DYING
    assert child.empty_slabs() == 1

    # The v15 reaper frees it; the last uncharge frees the memcg and its child cache.
    assert allocator.shrink_dead() == 1
    assert state(memcg) is MemcgState.FREED
    assert memcg not in cache.children
    assert tree.nr_dying_descendants(tree.root) == 0
    assert allocator.shrink_dead() == 0
    allocator.check()


def test_v4_0_dead_cache_frees_empty_slab_at_once() -> None:
    tree, _machine, allocator = make(KMEM_V4_0, SLAB_V4_0)
    memcg = active_memcg(tree, "a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    refs = alloc_n(allocator, cache, memcg, 30)
    tree.offline(memcg)
    assert state(memcg) is MemcgState.DYING
    assert cache.children[memcg].min_partial == 0
    for ref in refs[:-1]:
        allocator.free(cache, ref)
    assert state(memcg) is MemcgState.DYING  # one live object pins it
    assert allocator.free(cache, refs[-1]) == 1
    assert state(memcg) is MemcgState.FREED


def test_dead_memcg_without_objects_is_freed_at_offline() -> None:
    tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    for ref in alloc_n(allocator, cache, memcg, 50):
        allocator.free(cache, ref)
    assert memcg.own_kmem == 3  # 2 empty partial slabs + the active one, kept while online
    tree.offline(memcg)
    assert state(memcg) is MemcgState.FREED
    assert cache.children == {}


def test_v5_3_reparented_caches_do_not_pin() -> None:
    kmem = attrs.evolve(KMEM_V4_7, name="v5.3", slab_pins_dying=False)
    tree, machine, allocator = make(kmem, SLAB_V4_0)
    parent = tree.create("p")
    memcg = tree.create("a", parent)
    cache = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    refs = alloc_n(allocator, cache, memcg, 25)
    tree.offline(memcg)
    assert state(memcg) is MemcgState.FREED
    child = cache.children[memcg]
    assert child.owner is parent
    assert parent.own_kmem == 2
    assert allocator.memcg_stat(parent, recursive=False).reclaimable == 2 * PAGE_SIZE
    for ref in refs:
        allocator.free(cache, ref)
    assert machine.frees == [(parent, 0, 1), (parent, 0, 1)]
    assert parent.own_kmem == 0


# -- objcg ------------------------------------------------------------------------------------


def test_objcg_two_memcgs_share_slabs_and_the_stock_switches() -> None:
    tree, machine, allocator = make(KMEM_V5_9, SLAB_V5_9)
    a, b = tree.create("a"), tree.create("b")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    ra1 = allocator.alloc(cache, a)
    rb1 = allocator.alloc(cache, b)
    ra2 = allocator.alloc(cache, a)
    assert ra1 is not None
    assert rb1 is not None
    assert ra2 is not None
    assert ra1.slab is rb1.slab is ra2.slab
    assert ra1 is ra2
    assert ra1 is not rb1
    assert (ra1.memcg, rb1.memcg) == (a, b)
    assert machine.allocs == [(None, 0, 1)]  # the page is charged to nobody
    # A charged 2 pages, then the stock (A's 3896 left + 3896 new) drained one page back.
    assert (a.own_kmem, b.own_kmem) == (1, 1)
    objcg_a, objcg_b = ra1.objcg, rb1.objcg
    assert objcg_a is not None
    assert objcg_b is not None
    assert (objcg_a.live, objcg_a.nr_charged_bytes) == ([0, 400], PAGE_SIZE - 400)
    assert (objcg_b.live, objcg_b.nr_charged_bytes) == ([0, 200], PAGE_SIZE - 200)
    assert allocator.stock == (None, 0)
    assert allocator.memcg_stat(a).reclaimable == 400
    allocator.check()
    for ref in (ra1, rb1, ra2):
        allocator.free(cache, ref)
    allocator.drain_stock()
    allocator.check()
    # Each objcg got exactly a page back through the stock: nothing left charged.
    assert (a.own_kmem, b.own_kmem) == (0, 0)
    assert (objcg_a.nr_charged_bytes, objcg_b.nr_charged_bytes) == (0, 0)


def test_objcg_reparenting_matches_the_6_1_observation() -> None:
    """Spec §5: 30 children × 100 negative dentries, removed: the parent holds 601,888 B on
    6.1; per-object accounting gives 30 × 100 × (192 + 8) = 600,000 B of it."""
    tree, _machine, allocator = make(KMEM_V5_9, SLAB_V5_9)
    parent = tree.create("parent")
    dentry = allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True)
    for i in range(30):
        child = tree.create(f"child_{i}", parent)
        alloc_n(allocator, dentry, child, 100)
        tree.offline(child)
        assert state(child) is MemcgState.FREED
    assert tree.nr_dying_descendants(parent) == 0
    assert allocator.memcg_stat(parent, recursive=False).reclaimable == 600_000
    assert allocator.memcg_stat(tree.root).reclaimable == 600_000
    assert all(objcg.memcg is parent for objcg in allocator.objcgs())
    own = sum(objcg.charged_pages for objcg in allocator.objcgs())
    assert parent.own_kmem == own
    allocator.check()


def test_objcg_needs_charge_callables_and_a_reparenting_tree() -> None:
    tree = MemcgTree(KMEM_V5_9)
    with pytest.raises(UsageError, match="charge_kmem"):
        SlabAllocator(tree, policy=SLAB_V5_9, alloc_page=lambda m, n, p: True, free_page=print)
    with pytest.raises(UsageError, match="slab_pins_dying"):
        SlabAllocator(
            MemcgTree(KMEM_V4_7),
            policy=SLAB_V5_9,
            alloc_page=lambda m, n, p: True,
            free_page=print,
            charge_kmem=lambda m, p: True,
            uncharge_kmem=print,
        )


# -- ENOMEM -----------------------------------------------------------------------------------


def snapshot(allocator: SlabAllocator, cache: KmemCache) -> object:
    caches = [cache, *cache.children.values()]
    return (
        allocator.reclaimed_slab,
        allocator.meminfo(),
        allocator.stock,
        [(c.nr_slabs, c.inuse, [(s.status, s.inuse) for s in c.iter_slabs()]) for c in caches],
        [(o.charged_pages, list(o.live), o.nr_charged_bytes) for o in allocator.objcgs()],
    )


def test_enomem_per_memcg_cache_changes_nothing() -> None:
    tree, machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    alloc_n(allocator, cache, memcg, 21)
    before = snapshot(allocator, cache)
    machine.fail_alloc = True
    assert allocator.alloc(cache, memcg) is None
    assert snapshot(allocator, cache) == before
    machine.fail_alloc = False
    tree.set_kmem_limit(memcg, 1)  # kmem limit K reached: the charge fails
    assert allocator.alloc(cache, memcg) is None
    assert snapshot(allocator, cache) == before
    assert memcg.own_kmem == 1
    allocator.check()


def test_enomem_objcg() -> None:
    tree, machine, allocator = make(KMEM_V5_9, SLAB_V5_9)
    memcg = tree.create("a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    alloc_n(allocator, cache, memcg, 21)
    allocator.drain_stock()
    before = snapshot(allocator, cache)
    own = memcg.own_kmem
    machine.fail_charge = True  # obj_cgroup_charge fails: nothing happens
    assert allocator.alloc(cache, memcg) is None
    assert snapshot(allocator, cache) == before
    machine.fail_charge = False
    machine.fail_alloc = True  # charged, then no slab: the bytes return through the stock
    assert allocator.alloc(cache, memcg) is None
    after = snapshot(allocator, cache)
    assert isinstance(before, tuple)
    assert isinstance(after, tuple)
    assert after[:2] == before[:2]
    assert after[3] == before[3]
    assert memcg.own_kmem - own <= 1
    allocator.check()


# -- misuse and re-entrancy -------------------------------------------------------------------


def test_misuse_is_reported() -> None:
    tree, _machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    one = allocator.create_cache("one", DENTRY_SIZE, account=True)
    two = allocator.create_cache("two", DENTRY_SIZE)
    with pytest.raises(UsageError, match="already exists"):
        allocator.create_cache("one", 64)
    ref = allocator.alloc(one, memcg)
    assert ref is not None
    with pytest.raises(UsageError, match="not an object of cache 'two'"):
        allocator.free(two, ref)
    allocator.free(one, ref)
    with pytest.raises(UsageError, match="double free"):
        allocator.free(one, ref)
    with pytest.raises(UsageError, match="root cache"):
        allocator.alloc(one.children[memcg], memcg)
    with pytest.raises(UsageError, match="root cache"):
        allocator.shrink(one.children[memcg])


def test_reclaim_inside_alloc_page_keeps_state_consistent() -> None:
    tree, machine, allocator = make(KMEM_V15, SLAB_V15)
    memcg = active_memcg(tree, "a")
    cache = allocator.create_cache("dentry", DENTRY_SIZE, account=True)
    refs = alloc_n(allocator, cache, memcg, 21 * 8)

    def reclaim() -> None:  # what a shrinker run from the page allocator would do
        while refs:
            allocator.free(cache, refs.pop())
        allocator.shrink(cache, memcg)

    machine.on_alloc.append(reclaim)
    ref = allocator.alloc(cache, memcg)
    assert ref is not None
    child = cache.children[memcg]
    assert child.nr_slabs == 1
    assert child.inuse == 1
    assert memcg.own_kmem == 1
    allocator.check()


# -- properties -------------------------------------------------------------------------------

_WHO = ("root", "p", "a", "b", "none")
_OPS = st.one_of(
    st.tuples(st.just("alloc"), st.sampled_from(_WHO), st.integers(0, 2)),
    st.tuples(st.just("free"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("offline"), st.sampled_from(("a", "b")), st.just(0)),
    st.tuples(st.just("drain"), st.just(""), st.just(0)),
    st.tuples(st.just("shrink"), st.sampled_from(_WHO), st.integers(0, 2)),
)


def _run(kmem: KmemPolicy, slab: SlabPolicy, ops: list[tuple[str, str, int]]) -> None:
    tree, machine, allocator = make(kmem, slab)
    p = active_memcg(tree, "p")
    memcgs: dict[str, MemCgroup | None] = {
        "root": tree.root,
        "p": p,
        "a": active_memcg(tree, "a", p),
        "b": active_memcg(tree, "b", p),
        "none": None,
    }
    caches = [
        allocator.create_cache("dentry", DENTRY_SIZE, reclaimable=True, account=True),
        allocator.create_cache("kmalloc-5000", 5000, account=True),
        allocator.create_cache("plain", 1000),
    ]
    live: list[tuple[KmemCache, SlabRef]] = []
    for op, who, arg in ops:
        if op == "alloc":
            for _ in range(1 + arg * 7):
                ref = allocator.alloc(caches[arg], memcgs[who])
                assert ref is not None
                live.append((caches[arg], ref))
        elif op == "free" and live:
            cache, ref = live.pop(arg % len(live))
            allocator.free(cache, ref)
        elif op == "offline":
            memcg = memcgs[who]
            assert memcg is not None
            if memcg.state is MemcgState.ONLINE:
                tree.offline(memcg)
        elif op == "drain":
            allocator.drain_stock()
            allocator.shrink_dead()
        elif op == "shrink":
            allocator.shrink(caches[arg], memcgs[who])
        allocator.check()
        pages_of: dict[MemCgroup, int] = {}
        if slab.per_memcg_caches:
            for cache in allocator.iter_caches():
                if cache.owner is not None:
                    pages_of[cache.owner] = pages_of.get(cache.owner, 0) + cache.nr_pages
        else:
            for objcg in allocator.objcgs():
                pages_of[objcg.memcg] = pages_of.get(objcg.memcg, 0) + objcg.charged_pages
                precharge = objcg.charged_pages * PAGE_SIZE - sum(objcg.live)
                assert 0 <= precharge <= PAGE_SIZE
        for memcg in (p, memcgs["a"], memcgs["b"]):
            assert memcg is not None
            if memcg.state is not MemcgState.FREED:
                assert memcg.own_kmem == pages_of.get(memcg, 0), (op, who, memcg)
                if memcg.state is MemcgState.DYING and slab.per_memcg_caches:
                    assert memcg.own_kmem > 0  # pinned by slab pages only
        assert sum(machine.node_pages) == allocator.nr_pages
        object_bytes = sum(c.inuse * c.object_size for c in allocator.iter_caches())
        assert allocator.nr_pages * PAGE_SIZE >= object_bytes
    for cache, ref in live:
        allocator.free(cache, ref)
    allocator.drain_stock()
    for cache in allocator.iter_caches():
        assert cache.inuse == 0
    allocator.shrink_dead()
    for cache in list(allocator.iter_caches()):
        if cache.is_root:
            allocator.shrink(cache)
            for memcg in list(cache.children):
                allocator.shrink(cache, memcg)
    assert allocator.nr_pages == 0
    assert sum(machine.node_pages) == 0
    for memcg in (memcgs["a"], memcgs["b"]):
        assert memcg is not None
        assert memcg.state is not MemcgState.DYING
    allocator.check()


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(_OPS, max_size=60))
def test_objcg_charges_are_conserved(ops: list[tuple[str, str, int]]) -> None:
    """Σ charged pages × PAGE_SIZE == live bytes + precharge, 0..PAGE_SIZE per objcg; every
    memcg's own kmem equals the pages its objcgs charge."""
    _run(KMEM_V5_9, SLAB_V5_9, ops)


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(_OPS, max_size=60),
    era=st.sampled_from(
        [
            (KMEM_V4_7, SLAB_V15),
            (KMEM_V4_0, SLAB_V4_0),
            (attrs.evolve(KMEM_V4_7, slab_pins_dying=False), SLAB_V4_0),
        ]
    ),
)
def test_per_memcg_pages_are_conserved(
    ops: list[tuple[str, str, int]], era: tuple[KmemPolicy, SlabPolicy]
) -> None:
    """Each memcg's own kmem is exactly the pages of the child caches charged to it; dying
    memcgs live exactly as long as those pages."""
    _run(era[0], era[1], ops)


def test_seed_tree_and_v15_slab_policy_together() -> None:
    _run(KMEM_V15, SLAB_V15, [("alloc", "a", 0), ("offline", "a", 0), ("drain", "", 0)])
