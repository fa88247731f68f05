"""Spec scenario 9: the ``dentry_lru_isolate`` decision table, on both full profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from shrinkfw_dcache import DCACHE_LRU_LIST, DCACHE_REFERENCED, DCACHE_SHRINK_LIST, Dcache

if TYPE_CHECKING:
    from collections.abc import Callable

FULL = ("v3.14-kmemcg-v15", "v6.7")


def _scenario_9_lru(
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., Any],
    negative: Callable[..., Any],
    prune: Callable[..., int],
    lru_order: Callable[..., list[str]],
    profile: str,
) -> tuple[Dcache, Any, dict[str, Any]]:
    """LRU [A(count 0, REFERENCED), B(count 2), C(count 0), D(count 0)] in memcg ``box``."""
    sim, _sb, dcache = mounted(profile)
    box = kmem_memcg(sim, "box")
    a, b, c, d = negative(dcache, ["A", "B", "C", "D"], box)
    if dcache.rules.first_put_referenced:
        # v3.14: every first put sets REFERENCED; one pass over the list clears them
        assert prune(dcache, box, 4) == 0
    assert [x.flags for x in (a, b, c, d)] == [DCACHE_LRU_LIST] * 4
    dcache.dput(dcache.dget(a))  # used again while on the LRU: REFERENCED in every era
    dcache.dget(b)
    dcache.dget(b)
    assert lru_order(dcache, box) == ["A", "B", "C", "D"]
    assert a.flags == DCACHE_LRU_LIST | DCACHE_REFERENCED
    assert (b.count, c.count, d.count) == (2, 0, 0)
    return dcache, box, {"A": a, "B": b, "C": c, "D": d}


@pytest.mark.parametrize("profile", FULL)
def test_scenario_9_isolate_table(
    profile: str,
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., Any],
    negative: Callable[..., Any],
    prune: Callable[..., int],
    lru_order: Callable[..., list[str]],
) -> None:
    dcache, box, x = _scenario_9_lru(mounted, kmem_memcg, negative, prune, lru_order, profile)
    sim = dcache.sim
    objs_before = sim.slab.slabinfo(dcache.cache).active_objs
    nr_dentry = dcache.nr_dentry

    assert prune(dcache, box, 3) == 2  # B (busy, only taken off) and C (freed)

    a, b, c = x["A"], x["B"], x["C"]
    # A: rotated, REFERENCED cleared
    assert a.flags == DCACHE_LRU_LIST
    assert not a.dead
    # B: off the LRU, not freed, still hashed and found by lookups
    assert b.flags == 0
    assert b.count == 2
    assert not b.dead
    assert dcache.d_lookup(dcache.root, "B") is b
    # C: isolated and freed
    assert c.dead
    assert dcache.d_lookup(dcache.root, "C") is None
    assert sim.slab.slabinfo(dcache.cache).active_objs == objs_before - 1
    assert dcache.nr_dentry == nr_dentry - 1
    # the list: [D, A], two items, two unused dentries
    assert lru_order(dcache, box) == ["D", "A"]
    assert dcache.sb.dentry_lru.count_one(0, box) == 2
    assert dcache.state().nr_unused == 2


@pytest.mark.parametrize("profile", FULL)
def test_scenario_9_contended_d_lock_is_skipped(
    profile: str,
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., Any],
    negative: Callable[..., Any],
    prune: Callable[..., int],
    lru_order: Callable[..., list[str]],
) -> None:
    dcache, box, x = _scenario_9_lru(mounted, kmem_memcg, negative, prune, lru_order, profile)
    x["C"].lock_contended = True

    assert prune(dcache, box, 3) == 1  # only B

    assert not x["C"].dead
    assert x["C"].flags == DCACHE_LRU_LIST  # skipped, untouched
    assert x["A"].flags == DCACHE_LRU_LIST
    assert x["B"].flags == 0
    assert lru_order(dcache, box) == ["C", "D", "A"]
    assert dcache.sb.dentry_lru.count_one(0, box) == 3


@pytest.mark.parametrize("profile", FULL)
def test_isolate_never_touches_another_memcgs_list(
    profile: str,
    mounted: Callable[..., Any],
    kmem_memcg: Callable[..., Any],
    negative: Callable[..., Any],
    prune: Callable[..., int],
    lru_order: Callable[..., list[str]],
) -> None:
    sim, _sb, dcache = mounted(profile)
    box, other = kmem_memcg(sim, "box"), kmem_memcg(sim, "other")
    negative(dcache, [f"b{i}" for i in range(10)], box)
    mine = negative(dcache, [f"o{i}" for i in range(10)], other)
    for _ in range(3):
        prune(dcache, box, 100)
    assert dcache.sb.dentry_lru.count_one(0, box) == 0
    assert lru_order(dcache, other) == [f"o{i}" for i in range(10)]
    assert not any(d.dead for d in mine)
    assert all(not d.flags & DCACHE_SHRINK_LIST for d in mine)
