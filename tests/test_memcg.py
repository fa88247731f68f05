"""Tests of the memcg model: tree, kmem ids (spec §12 scenario 15), lifecycle, charging."""

from __future__ import annotations

import attrs
import pytest

from shrinkfw.errors import UsageError
from shrinkfw.memcg import (
    KMEM_V4_0,
    KMEM_V4_7,
    KMEM_V5_9,
    KMEM_V5_18,
    KMEM_V15,
    PAGE_COUNTER_MAX,
    ROOT_MEMCG_ID,
    ChargeKind,
    KmemPolicy,
    LimitKind,
    MemCgroup,
    MemcgState,
    MemcgTree,
    ShrinkerInfo,
    memcg_caches_array_size,
)

USER = ChargeKind.USER
KMEM = ChargeKind.KMEM


def kmem_active_memcgs(tree: MemcgTree, count: int, prefix: str = "m") -> list[MemCgroup]:
    """``count`` children of the root, each activated by a kmem limit write (v1 eras)."""
    memcgs = []
    for i in range(count):
        memcg = tree.create(f"{prefix}{i}")
        tree.set_kmem_limit(memcg, PAGE_COUNTER_MAX)
        memcgs.append(memcg)
    return memcgs


# -- tree -------------------------------------------------------------------------------------


def test_root_defaults() -> None:
    tree = MemcgTree(KMEM_V15, 2)
    root = tree.root
    assert root.id == ROOT_MEMCG_ID == 1
    assert root.path == "/"
    assert root.is_root
    assert root.online
    assert root.state is MemcgState.ONLINE
    assert root.kmemcg_id == -1
    assert not root.kmem_active
    assert root.memory_limit == root.max == root.high == root.kmem_limit == PAGE_COUNTER_MAX
    assert root.low == root.min == 0
    assert len(root.shrinker_info) == 2
    assert root.events == {"low": 0, "high": 0, "max": 0, "oom": 0, "oom_kill": 0}
    assert tree.get("/") is root
    assert len(tree) == 1
    assert tree.kmem_array_size == 0


def test_create_ids_paths_and_lookup() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    b = tree.create("b", a)
    assert (a.id, b.id) == (2, 3)
    assert (a.path, b.path) == ("/a", "/a/b")
    assert b.parent is a
    assert a.children == [b]
    assert tree.get("/a/b") is b
    assert tree.get("/a/b/") is b
    assert tree.from_id(3) is b
    assert tree.from_id(99) is None
    assert b.is_descendant_of(a)
    assert b.is_descendant_of(tree.root)
    assert not a.is_descendant_of(b)
    assert list(b.iter_ancestors()) == [b, a, tree.root]
    assert list(b.iter_ancestors(include_self=False)) == [a, tree.root]
    with pytest.raises(UsageError, match="EEXIST"):
        tree.create("b", a)
    for bad in ("", "x/y", ".", ".."):
        with pytest.raises(UsageError, match="invalid"):
            tree.create(bad)
    with pytest.raises(UsageError, match="no online memcg"):
        tree.get("/a/nope")
    with pytest.raises(UsageError, match="must start"):
        tree.get("a")


def test_name_reusable_after_rmdir_while_old_one_is_dying() -> None:
    tree = MemcgTree(KMEM_V4_0, 1)
    old = tree.create("job")
    tree.charge(old, 1, kind=USER)
    tree.offline(old)
    assert old.state is MemcgState.DYING
    new = tree.create("job")
    assert tree.get("/job") is new
    assert new is not old
    with pytest.raises(UsageError, match="under"):
        tree.create("x", old)


def test_preorder_walk_with_creation_order_siblings() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("A")
    a1 = tree.create("A1", a)
    b = tree.create("B")
    a2 = tree.create("A2", a)
    root = tree.root
    assert list(tree.iter()) == [root, a, a1, a2, b]
    assert list(tree) == [root, a, a1, a2, b]
    assert list(tree.iter(a)) == [a, a1, a2]
    assert list(tree.iter(b)) == [b]
    assert [tree.preorder_index(m) for m in (root, a, a1, a2, b)] == [0, 1, 2, 3, 4]
    a11 = tree.create("A11", a1)
    assert tree.preorder_index(a11) == 3
    assert tree.preorder_index(b) == 5
    # sorting a sparse set into walk order
    assert sorted([b, a11, root], key=tree.preorder_index) == [root, a11, b]


def test_walk_includes_dying_unless_online_only_and_drops_freed() -> None:
    tree = MemcgTree(KMEM_V4_0, 1)
    a = tree.create("a")
    b = tree.create("b")
    tree.charge(a, 1, kind=USER)
    tree.offline(a)
    tree.offline(b)
    assert b.state is MemcgState.FREED
    assert list(tree.iter()) == [tree.root, a]
    assert list(tree.iter(online_only=True)) == [tree.root]
    with pytest.raises(UsageError):
        tree.preorder_index(b)
    with pytest.raises(UsageError, match="freed"):
        tree.iter(b)


def test_walk_is_a_snapshot() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    seen = []
    for memcg in tree.iter():
        seen.append(memcg)
        if memcg is a:
            tree.create("late")
    assert seen == [tree.root, a]


# -- scenario 15: kmemcg_id growth and reuse --------------------------------------------------


@pytest.mark.parametrize("policy", [KMEM_V15, KMEM_V4_0, KMEM_V4_7])
def test_scenario15_array_growth(policy: KmemPolicy) -> None:
    tree = MemcgTree(policy, 1)
    grown: list[int] = []
    tree.on_array_grow.append(grown.append)
    if policy.activation == "online":
        memcgs = [tree.create(f"m{i}") for i in range(11)]
    else:
        memcgs = kmem_active_memcgs(tree, 11)
        assert grown == [4, 10, 22]
    assert [m.kmemcg_id for m in memcgs] == list(range(11))
    assert grown == [4, 10, 22]
    assert tree.kmem_array_size == 22


def test_array_size_clamp() -> None:
    assert [memcg_caches_array_size(n) for n in (0, 1, 2, 4, 5, 11, 23)] == [0, 4, 4, 8, 10, 22, 46]
    assert memcg_caches_array_size(40000) == 65535


def test_scenario15_e1_id_held_until_last_kmem_page_is_uncharged() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    freed: list[MemCgroup] = []
    tree.on_free.append(freed.append)
    m = kmem_active_memcgs(tree, 4)
    victim = m[1]
    assert victim.kmemcg_id == 1
    assert tree.kmem_array_size == 4
    tree.charge(victim, 5, kind=KMEM)
    tree.offline(victim)
    assert victim.state is MemcgState.DYING
    assert victim.kmemcg_id == 1
    assert victim.kmem_active
    assert tree.nr_dying_descendants(tree.root) == 1
    (new,) = kmem_active_memcgs(tree, 1, prefix="new")
    assert new.kmemcg_id == 4
    assert tree.kmem_array_size == 10
    tree.uncharge(victim, 3, KMEM)
    assert victim.state is MemcgState.DYING
    assert not freed
    tree.uncharge(victim, 2, KMEM)
    assert victim.state is MemcgState.FREED
    assert freed == [victim]
    assert victim.kmemcg_id == -1
    assert victim not in tree.root.children
    assert tree.nr_dying_descendants(tree.root) == 0
    later = tree.create("later")
    tree.set_kmem_limit(later, PAGE_COUNTER_MAX)
    assert later.kmemcg_id == 1


def test_scenario15_e2_id_freed_at_offline_and_reused() -> None:
    tree = MemcgTree(KMEM_V4_0, 1)
    m = kmem_active_memcgs(tree, 4)
    victim = m[1]
    tree.charge(victim, 5, kind=KMEM)
    seen_ids: list[int] = []
    tree.on_offline.append(lambda memcg: seen_ids.append(memcg.kmemcg_id))
    tree.offline(victim)
    assert seen_ids == [1]  # the offline work (list_lru reparenting) still sees the old id
    assert victim.state is MemcgState.DYING  # slab still pins it
    assert victim.kmemcg_id == -1
    assert not victim.kmem_active
    new = tree.create("new")
    tree.set_kmem_limit(new, PAGE_COUNTER_MAX)
    assert new.kmemcg_id == 1


def test_e2_offline_rewrites_the_subtree_to_the_parents_id() -> None:
    tree = MemcgTree(KMEM_V4_0, 1)
    p = tree.create("p")
    tree.set_kmem_limit(p, PAGE_COUNTER_MAX)
    c = tree.create("c", p)  # memcg_propagate_kmem
    g = tree.create("g", c)
    assert (p.kmemcg_id, c.kmemcg_id, g.kmemcg_id) == (0, 1, 2)
    tree.charge(g, 1, kind=KMEM)
    tree.offline(g)
    assert g.state is MemcgState.DYING
    assert g.kmemcg_id == 1
    tree.offline(c)
    assert c.state is MemcgState.DYING  # pinned by its dying child
    assert (c.kmemcg_id, g.kmemcg_id) == (0, 0)
    assert tree.nr_dying_descendants(p) == 2
    other = tree.create("other")
    tree.set_kmem_limit(other, PAGE_COUNTER_MAX)
    assert other.kmemcg_id == 1
    tree.uncharge(g, 1, KMEM)
    assert g.state is MemcgState.FREED
    assert c.state is MemcgState.FREED
    assert tree.nr_dying_descendants(p) == 0


def test_scenario15_e4_kmemcg_id_is_the_memcg_id() -> None:
    tree = MemcgTree(KMEM_V5_18, 1)
    grown: list[int] = []
    tree.on_array_grow.append(grown.append)
    a = tree.create("a")
    b = tree.create("b", a)
    assert tree.root.kmemcg_id == -1
    assert (a.kmemcg_id, b.kmemcg_id) == (a.id, b.id) == (2, 3)
    assert grown == []
    assert tree.kmem_array_size == 0
    # page cache pins; the memcg id is released at offline (v4.7+), kmemcg_id is kept
    tree.charge(b, 4, kind=USER)
    tree.offline(b)
    assert b.state is MemcgState.DYING
    assert b.id == 0
    assert b.kmemcg_id == 3
    c = tree.create("c")
    assert c.id == 3
    assert c.kmemcg_id == 3
    assert tree.from_id(3) is c
    tree.uncharge(b, 4, USER)
    assert b.state is MemcgState.FREED
    assert b.kmemcg_id == -1


def test_activate_kmem_directly_and_propagation() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    activated: list[MemCgroup] = []
    tree.on_kmem_activate.append(activated.append)
    plain = tree.create("plain")
    child_of_plain = tree.create("c", plain)
    assert not child_of_plain.kmem_active
    active = tree.create("active")
    assert tree.activate_kmem(active) == 0
    assert tree.activate_kmem(active) == 0  # already active: same id
    child = tree.create("child", active)
    assert child.kmem_active
    assert child.kmemcg_id == 1
    assert activated == [active, child]
    with pytest.raises(UsageError, match="root"):
        tree.activate_kmem(tree.root)


def test_kmem_limit_write_rules() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    tree.create("kid", p)
    with pytest.raises(UsageError, match="EBUSY"):
        tree.set_kmem_limit(p, 100)
    assert not p.kmem_active
    assert p.kmem_limit == PAGE_COUNTER_MAX
    q = tree.create("q")
    tree.set_kmem_limit(q, 100)
    tree.charge(q, 50, kind=KMEM)
    with pytest.raises(UsageError, match="EBUSY"):
        tree.set_kmem_limit(q, 40)
    tree.set_kmem_limit(q, 60)
    assert q.kmem_limit == 60
    with pytest.raises(UsageError, match="root"):
        tree.set_kmem_limit(tree.root, 10)
    v2 = MemcgTree(KMEM_V5_18, 1)
    with pytest.raises(UsageError, match="no kmem limit"):
        v2.set_kmem_limit(v2.create("a"), 10)


def test_kmem_ids_exhaust_cleanly() -> None:
    tree = MemcgTree(KMEM_V4_7, 1)
    tree._kmem_ids._limit = 2  # shrink the id space for the test
    tree.create("a")
    tree.create("b")
    with pytest.raises(UsageError, match="ENOSPC"):
        tree.create("c")


# -- lifecycle -------------------------------------------------------------------------------


def test_lifecycle_online_offline_dying_freed() -> None:
    tree = MemcgTree(KMEM_V4_0, 1)
    log: list[tuple[str, str, MemcgState]] = []
    tree.on_online.append(lambda m: log.append(("online", m.name, m.state)))
    tree.on_offline.append(lambda m: log.append(("offline", m.name, m.state)))
    tree.on_free.append(lambda m: log.append(("free", m.name, m.state)))
    a = tree.create("a")
    tree.charge(a, 3, kind=USER)
    tree.offline(a)
    assert a.state is MemcgState.DYING
    assert not a.online
    tree.uncharge(a, 3, USER)
    assert log == [
        ("online", "a", MemcgState.ONLINE),
        ("offline", "a", MemcgState.OFFLINE),
        ("free", "a", MemcgState.FREED),
    ]
    assert len(tree) == 1


def test_unpinned_memcg_is_freed_at_offline() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    tree.offline(a)
    assert a.state is MemcgState.FREED
    assert a.id == 0
    assert tree.create("b").id == 2  # memcg id reused once freed


def test_offline_rules() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    c = tree.create("c", p)
    with pytest.raises(UsageError, match="EBUSY"):
        tree.offline(p)
    with pytest.raises(UsageError, match="root"):
        tree.offline(tree.root)
    tree.offline(c)
    with pytest.raises(UsageError, match="freed"):
        tree.offline(c)
    # E1 moved user pages to the parent: a late charge or uncharge follows them there
    assert tree.charge(c, 1, kind=USER).charged is p
    tree.offline(p)
    assert tree.root.own_user == 1
    e2 = MemcgTree(KMEM_V4_0, 1)
    gone = e2.create("gone")
    e2.offline(gone)
    with pytest.raises(UsageError, match="freed"):
        e2.charge(gone, 1, kind=USER)


def test_dying_child_pins_parent_and_frees_it_on_last_uncharge() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    tree.set_kmem_limit(p, PAGE_COUNTER_MAX)
    c = tree.create("c", p)
    tree.charge(c, 2, kind=KMEM)
    tree.offline(c)
    tree.offline(p)
    assert p.state is MemcgState.DYING
    assert c.state is MemcgState.DYING
    assert tree.nr_dying_descendants(tree.root) == 2
    assert tree.nr_dying_descendants(p) == 1
    assert not tree.try_free(p)
    freed: list[MemCgroup] = []
    tree.on_free.append(freed.append)
    tree.uncharge(c, 2, KMEM)
    assert freed == [c, p]
    assert tree.nr_dying_descendants(tree.root) == 0
    assert tree.try_free(p)


def test_e1_user_pages_are_reparented_at_offline() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    a = tree.create("a", p)
    tree.charge(a, 10, kind=USER)
    tree.offline(a)
    assert a.state is MemcgState.FREED
    assert (p.own_user, p.usage_user, tree.root.usage_user) == (10, 10, 10)
    tree.uncharge(a, 4, USER)  # follows the pages to the nearest online ancestor
    assert p.own_user == 6
    assert tree.root.usage_user == 6


def test_v5_9_slab_is_reparented_page_cache_pins() -> None:
    tree = MemcgTree(KMEM_V5_9, 1)
    p = tree.create("p")
    a = tree.create("a", p)
    tree.charge(a, 7, kind=KMEM)
    tree.charge(a, 1, kind=USER)
    tree.offline(a)
    assert a.state is MemcgState.DYING
    assert (a.own_kmem, a.usage_kmem, p.own_kmem, p.usage_kmem) == (0, 0, 7, 7)
    result = tree.charge(a, 2, kind=KMEM)  # objcg now points at the parent
    assert result.charged is p
    tree.uncharge(a, 9, KMEM)
    assert p.usage_kmem == 0
    assert a.state is MemcgState.DYING
    tree.uncharge(a, 1, USER)
    assert a.state is MemcgState.FREED


# -- charging --------------------------------------------------------------------------------


def test_hierarchical_charge_conservation() -> None:
    tree = MemcgTree(KMEM_V4_7, 1)
    a = tree.create("A")
    a1 = tree.create("A1", a)
    root = tree.root
    assert tree.charge(a1, 10, kind=USER).ok
    assert tree.charge(a, 5, kind=KMEM).ok
    assert tree.charge(root, 2, kind=USER).ok
    assert (a1.usage_user, a1.usage_kmem, a1.usage) == (10, 0, 10)
    assert (a.own_user, a.own_kmem, a.usage_user, a.usage_kmem, a.usage) == (0, 5, 10, 5, 15)
    assert (root.own_user, root.usage) == (2, 17)
    tree.uncharge(a1, 10, USER)
    tree.uncharge(a, 5, KMEM)
    tree.uncharge(root, 2, USER)
    assert root.usage == a.usage == a1.usage == 0
    with pytest.raises(UsageError, match="holds 0"):
        tree.uncharge(a, 1, USER)


def test_kmem_of_a_memcg_without_kmem_accounting_goes_to_the_root() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    result = tree.charge(a, 3, kind=KMEM)
    assert result.ok
    assert result.charged is tree.root
    assert a.usage_kmem == 0
    assert tree.root.own_kmem == 3
    tree.uncharge(a, 3, KMEM)
    assert tree.root.usage_kmem == 0


def test_kmem_limit_below_user_limit_fails_without_charging() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    tree.set_limit(a, 100)
    tree.set_kmem_limit(a, 20)
    assert tree.charge(a, 15, kind=KMEM).ok
    result = tree.charge(a, 10, kind=KMEM)
    assert not result.ok
    assert result.charged is None
    assert result.breach is not None
    assert (result.breach.memcg, result.breach.limit, result.breach.over) == (
        a,
        LimitKind.KMEM_LIMIT,
        5,
    )
    assert (a.usage_kmem, a.usage, tree.root.usage) == (15, 15, 15)
    assert a.kmem_failcnt == 1
    assert a.events["max"] == 0
    assert tree.margin(a, KMEM) == 5
    assert tree.margin(a) == 85


def test_ancestor_kmem_limit_fails_a_descendants_charge() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    tree.set_kmem_limit(p, 10)
    c = tree.create("c", p)
    result = tree.charge(c, 11, kind=KMEM)
    assert not result.ok
    assert result.breach is not None
    assert (result.breach.memcg, result.breach.limit) == (p, LimitKind.KMEM_LIMIT)


def test_user_limit_reports_memory_limit_and_kmem_with_k_above_u_reclaims() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    a = tree.create("a")
    tree.set_limit(a, 100)
    tree.set_kmem_limit(a, 200)  # K >= U: K only enables accounting
    assert tree.charge(a, 90, kind=USER).ok
    result = tree.charge(a, 20, kind=USER)
    assert not result.ok
    assert result.breach is not None
    assert (result.breach.memcg, result.breach.limit, result.breach.over) == (
        a,
        LimitKind.MEMORY_LIMIT,
        10,
    )
    assert a.usage == 90
    assert a.events["max"] == 1
    kmem = tree.charge(a, 20, kind=KMEM)
    assert not kmem.ok
    assert kmem.breach is not None
    assert kmem.breach.limit is LimitKind.MEMORY_LIMIT
    assert tree.charge(a, 10, kind=KMEM).ok  # exactly at the limit is fine
    assert a.usage == 100
    assert tree.margin(a) == 0


def test_ancestor_memory_limit_is_reported_at_the_ancestor() -> None:
    tree = MemcgTree(KMEM_V15, 1)
    p = tree.create("p")
    c = tree.create("c", p)
    tree.set_limit(p, 50)
    tree.set_limit(c, 80)
    result = tree.charge(c, 60, kind=USER)
    assert result.breach is not None
    assert result.breach.memcg is p
    assert tree.margin(c) == 50


def test_v2_high_breach_charges_and_lists_every_memcg_over_high() -> None:
    tree = MemcgTree(KMEM_V5_18, 1)
    p = tree.create("p")
    a = tree.create("a", p)
    tree.set_high(a, 10)
    tree.set_high(p, 5)
    result = tree.charge(a, 12, kind=KMEM)
    assert result.ok
    assert result.charged is a
    assert [(b.memcg, b.limit, b.over) for b in result.high] == [
        (a, LimitKind.HIGH, 2),
        (p, LimitKind.HIGH, 7),
    ]
    assert result.breach == result.high[0]
    assert a.usage == 12
    assert a.events["high"] == 1
    assert p.events["high"] == 1


def test_v2_max_breach_not_charged_unless_forced() -> None:
    tree = MemcgTree(KMEM_V5_18, 1)
    a = tree.create("a")
    tree.set_max(a, 10)
    assert tree.charge(a, 10, kind=USER).ok
    result = tree.charge(a, 1, kind=USER)
    assert not result.ok
    assert result.breach is not None
    assert (result.breach.limit, result.breach.over) == (LimitKind.MAX, 1)
    assert a.usage == 10
    assert a.events["max"] == 1
    forced = tree.charge(a, 1, kind=USER, force=True)
    assert forced.ok
    assert forced.breach is not None
    assert forced.breach.limit is LimitKind.MAX
    assert a.usage == 11
    assert tree.margin(a) == 0


def test_plain_ok_results_carry_the_charged_memcg() -> None:
    tree = MemcgTree(KMEM_V4_7, 1)
    a = tree.create("a")
    first = tree.charge(a, 1, kind=USER)
    assert first.ok
    assert first.breach is None
    assert first.high == ()
    assert first.charged is a
    assert tree.charge(a, 0, kind=USER) == first
    with pytest.raises(UsageError, match="negative"):
        tree.charge(a, -1, kind=USER)


def test_knobs_and_protection() -> None:
    tree = MemcgTree(KMEM_V5_18, 1)
    a = tree.create("a")
    tree.set_min(a, 5)
    tree.set_low(a, 10)
    tree.charge(a, 5, kind=USER)
    assert tree.below_min(a)
    assert tree.below_low(a)
    assert not tree.below_min(a, target=a)
    tree.charge(a, 3, kind=USER)
    assert not tree.below_min(a)
    assert tree.below_low(a)
    assert not tree.below_low(tree.root)
    for setter in (tree.set_high, tree.set_max, tree.set_low, tree.set_min, tree.set_limit):
        with pytest.raises(UsageError, match="root"):
            setter(tree.root, 1)
        with pytest.raises(UsageError, match="PAGE_COUNTER_MAX"):
            setter(a, -1)
    tree.memory_event(a, "oom")
    assert a.events["oom"] == 1
    with pytest.raises(UsageError, match="unknown"):
        tree.memory_event(a, "bogus")


# -- small pieces ----------------------------------------------------------------------------


def test_shrinker_info_bits() -> None:
    info = ShrinkerInfo()
    for bit in (64, 5, 0, 3):
        info.set_bit(bit)
    assert list(info.iter_bits()) == [0, 3, 5, 64]
    assert info.test_bit(64)
    assert not info.test_bit(4)
    for bit in info.iter_bits():  # clearing during the walk is safe
        info.clear_bit(bit)
    assert info.map == 0
    assert list(info.iter_bits()) == []
    info.nr_deferred[3] = 7
    assert ShrinkerInfo().nr_deferred == {}


def test_policies() -> None:
    assert KMEM_V15.activation == "limit_write"
    assert KMEM_V15.id_release == "free"
    assert KMEM_V4_0.id_release == "offline"
    assert KMEM_V4_0.user_pins_dying
    assert KMEM_V5_18.id_source == "memcg_id"
    assert not KMEM_V5_18.kmem_feeds_user
    with pytest.raises(UsageError, match="growth"):
        attrs.evolve(KMEM_V5_18, array_growth=True)
    with pytest.raises(ValueError, match="activation"):
        attrs.evolve(KMEM_V15, activation="sometimes")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="nr_nodes"):
        MemcgTree(KMEM_V15, 0)
