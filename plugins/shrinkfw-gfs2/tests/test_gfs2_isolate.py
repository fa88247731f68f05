"""gfs2_qd_isolate per era: the decision table, the return value and the count drift.

The list ``[A (unused), B (referenced), C (unused, lock contended), D (unused)]`` is scanned
with a budget of 4. Every era frees A and D, skips C and leaves B on the list. Before the v6.6
fix B is answered ``LRU_REMOVED``: the scan reports 3, and the walker's bookkeeping drifts
where the era's walker counts on REMOVED:

* E1 (v3.14, the seed): ``list_lru_walk_node`` drops the list's ``nr_items`` itself, so the
  list count (what the shrinker counts) reads 1 with two records on the list;
* v4.0-v4.18: ``list_lru_isolate_move`` drops the count, the walker does not: no drift;
* v4.19+: ``list_lru_isolate_move`` drops the list count, the walker also drops the node's
  ``nlru->nr_items``: the list count is right, ``list_lru_count`` (and the ``s_incoredqs``
  GFS2 reports from it) reads 1.
"""

from __future__ import annotations

import pytest
from gfs2_helpers import count, gfs2_sim, lru_ids, scan, shrinker_of, unused
from shrinkfw_gfs2 import QuotaData, busy_status

from shrinkfw import LRU_REMOVED, LRU_SKIP, Simulation

_ULONG_MAX = (1 << 64) - 1


# profile, scan result, count_one after, count_node / list_lru_count after (the kernel's)
TABLE = [
    pytest.param("v3.14", 3, 1, 1, id="v3.14"),
    pytest.param("v3.14-kmemcg-v15", 3, 1, 1, id="seed"),
    pytest.param("v4.9", 3, 2, 2, id="v4.9"),
    pytest.param("v4.14", 3, 2, 2, id="v4.14"),
    pytest.param("v5.4", 3, 2, 1, id="v5.4"),
    pytest.param("v6.1", 3, 2, 1, id="v6.1"),
    pytest.param("v6.7", 2, 2, 2, id="v6.7"),
]


def _abcd(profile: str) -> tuple[Simulation, list[QuotaData]]:
    sim, cache, sb = gfs2_sim(profile, nr_nodes=1)
    a, b, c, d = unused(cache, sb, range(4))
    again = cache.qd_get(sb, 1, lru_del=False)  # B referenced inside a lookup window
    assert again is b
    c.lock_contended = True
    assert lru_ids(cache) == [("gfs2:sda1", i) for i in range(4)]
    return sim, [a, b, c, d]


@pytest.mark.parametrize(("profile", "reported", "list_count", "node_count"), TABLE)
def test_isolate_table(profile: str, reported: int, list_count: int, node_count: int) -> None:
    sim, (a, b, c, d) = _abcd(profile)
    shrinker = shrinker_of(sim)
    cache = shrinker.cache
    objects = cache.cachep.active_objects
    assert scan(shrinker, 4) == reported
    # A and D freed in every era, B and C stay linked in place
    assert (a.dead, a.freed, d.dead, d.freed) == (True, True, True, True)
    assert (b.dead, b.freed, b.count, c.dead, c.freed) == (False, False, 1, False, False)
    assert lru_ids(cache) == [("gfs2:sda1", 1), ("gfs2:sda1", 2)]
    assert len(cache.lru) == 2
    assert cache.cachep.active_objects == objects - 2
    assert (shrinker.freed, shrinker.reported) == (2, reported)
    # the counts, as the kernel keeps them
    assert cache.lru.count_one(0) == list_count
    assert count(shrinker) == list_count
    assert cache.lru.count_node(0) == node_count
    assert cache.incore_dquots() == node_count


@pytest.mark.parametrize(
    ("profile", "status"),
    [
        ("v3.14", LRU_REMOVED),
        ("v3.14-kmemcg-v15", LRU_REMOVED),
        ("v6.1", LRU_REMOVED),
        ("v6.7", LRU_SKIP),
    ],
)
def test_the_busy_answer_comes_from_the_profile(profile: str, status: object) -> None:
    sim, _cache, _sb = gfs2_sim(profile)
    assert busy_status(sim.profile) is status
    assert shrinker_of(sim)._busy is status


@pytest.mark.parametrize("profile", ["v3.14", "v3.14-kmemcg-v15"])
def test_e1_drift_hides_the_list_and_then_wraps(profile: str) -> None:
    """Each visit to a busy record drops the E1 list count once more: the shrinker first
    counts fewer records than are there, then none, then ~2^64 (an unsigned -1)."""
    sim, (_a, b, c, _d) = _abcd(profile)
    shrinker = shrinker_of(sim)
    cache = shrinker.cache
    assert scan(shrinker, 4) == 3
    assert count(shrinker) == 1
    assert scan(shrinker, 2) == 1  # B again; C skipped
    assert count(shrinker) == 0  # two records on the list, the shrinker sees none
    assert len(cache.lru) == 2
    assert scan(shrinker, 2) == 1
    assert cache.lru.count_one(0) == _ULONG_MAX
    assert count(shrinker) == _ULONG_MAX  # vfs_pressure_ratio of the unsigned count
    # the drift stays: the lookup that unlinks B drops the count once more
    cache.lru_del(b)
    assert cache.lru.count_one(0) == _ULONG_MAX - 1
    cache.qd_put(b)  # B unused again: back on the tail
    c.lock_contended = False
    assert lru_ids(cache) == [("gfs2:sda1", 2), ("gfs2:sda1", 1)]
    assert cache.lru.count_one(0) == _ULONG_MAX


def test_v6_7_never_drifts() -> None:
    sim, (_a, b, c, _d) = _abcd("v6.7")
    shrinker = shrinker_of(sim)
    cache = shrinker.cache
    for _ in range(3):
        assert scan(shrinker, 4) in (2, 0)
        assert cache.lru.count_one(0) == len(cache.lru) == 2
        assert cache.lru.count_node(0) == 2
    cache.lru_del(b)
    cache.qd_put(b)
    c.lock_contended = False
    assert scan(shrinker, 2) == 2
    assert cache.lru.count_one(0) == len(cache.lru) == 0
    assert shrinker.freed == 4


@pytest.mark.parametrize("profile", ["v3.14-kmemcg-v15", "v4.9", "v6.7"])
def test_a_released_record_is_freed_on_the_next_visit(profile: str) -> None:
    """Once B's holder is gone (``qd_put`` leaves it where it is on the list) and C's lock is
    free, the next scan frees both in every era."""
    sim, (_a, b, c, _d) = _abcd(profile)
    shrinker = shrinker_of(sim)
    cache = shrinker.cache
    scan(shrinker, 4)
    cache.qd_put(b)
    assert b.count == 0
    assert lru_ids(cache) == [("gfs2:sda1", 1), ("gfs2:sda1", 2)]
    c.lock_contended = False
    assert scan(shrinker, 2) == 2
    assert (b.freed, c.freed) == (True, True)
    assert len(cache.lru) == 0
    assert shrinker.freed == 4
