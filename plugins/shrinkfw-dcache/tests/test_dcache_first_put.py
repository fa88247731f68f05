"""Spec scenario 10 for dentries: how many shrinker visits a dentry used once needs, by era,
and the ``dput`` / ``retain_dentry`` rules behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from shrinkfw_dcache import DCACHE_LRU_LIST, DCACHE_REFERENCED

from shrinkfw import GFP_KERNEL, PROFILES, ShrinkControl

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("profile", "visits"), [("v3.14-kmemcg-v15", [0, 1]), ("v3.14", [0, 1]), ("v6.7", [1])]
)
def test_scenario_10_released_once_never_touched_again(
    profile: str,
    visits: list[int],
    mounted: Callable[..., Any],
    negative: Callable[..., Any],
    prune: Callable[..., int],
) -> None:
    _sim, _sb, dcache = mounted(profile)
    (d,) = negative(dcache, ["once"])
    results: list[int] = []
    while not d.dead:
        assert len(results) < 5, "never freed"
        results.append(prune(dcache, None, 1))
    assert results == visits  # v3.14: ROTATE, then REMOVED; modern: REMOVED at once


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_first_put_rule_follows_the_profile(
    profile: str, mounted: Callable[..., Any], negative: Callable[..., Any]
) -> None:
    _sim, _sb, dcache = mounted(profile)
    (d,) = negative(dcache, ["x"])
    expected = DCACHE_LRU_LIST | (
        DCACHE_REFERENCED if PROFILES[profile].first_put_referenced else 0
    )
    assert d.flags == expected
    assert d.count == 0
    assert d in dcache.sb.dentry_lru


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v4.9", "v4.14", "v6.7"])
def test_a_dentry_used_again_on_the_lru_is_referenced_in_every_era(
    profile: str, mounted: Callable[..., Any], negative: Callable[..., Any]
) -> None:
    _sim, _sb, dcache = mounted(profile)
    (d,) = negative(dcache, ["x"])
    d.flags &= ~DCACHE_REFERENCED  # as after a shrinker pass
    again = dcache.d_lookup(dcache.root, "x")
    assert again is d
    assert d.count == 1
    assert d in dcache.sb.dentry_lru  # the LRU is lazy: a lookup does not take it off
    dcache.dput(d)
    assert d.flags == DCACHE_LRU_LIST | DCACHE_REFERENCED


@pytest.mark.parametrize(("profile", "first"), [("v3.14-kmemcg-v15", 0), ("v6.7", 1)])
def test_scenario_10_through_the_superblock_shrinker(
    profile: str, first: int, mounted: Callable[..., Any], negative: Callable[..., Any]
) -> None:
    _sim, sb, dcache = mounted(profile)
    (d,) = negative(dcache, ["once"])
    shrinker = sb.shrinker.shrinker
    assert shrinker.count_objects(ShrinkControl(nid=0)) == 1
    # super_cache_scan gives the dcache mult_frac(1024, 1, 2) = 512 (+1 from v4.0)
    assert shrinker.scan_objects(ShrinkControl(gfp_mask=GFP_KERNEL, nr_to_scan=1024)) == first
    assert d.dead == bool(first)
    assert sb.last_split[0] == (512 if profile.startswith("v3.14") else 513)
