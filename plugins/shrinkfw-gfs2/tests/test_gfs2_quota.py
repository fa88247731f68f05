"""Quota records: lookup and release, the LRU they wait on, two mounts, unmount."""

from __future__ import annotations

import pytest
from gfs2_helpers import build, gfs2_sim, lru_ids, scan, shrinker_of, unused
from shrinkfw_gfs2 import Gfs2Sbd, gfs2_quota

from shrinkfw import SHRINK_EMPTY, ShrinkControl, UsageError


def test_a_record_reaches_the_lru_on_its_last_put_and_leaves_it_on_lookup() -> None:
    sim, cache, sb = gfs2_sim()
    qd = cache.qd_get(sb, 42)
    assert qd is not None
    assert (qd.count, qd.dead, qd.nid, qd.lru_link) == (1, False, 0, None)
    assert sim.vmstat["gfs2_qd_alloc"] == 1
    again = cache.qd_get(sb, 42)
    assert again is qd
    assert qd.count == 2
    cache.qd_put(qd)
    assert (qd.count, len(cache.lru)) == (1, 0)  # not the last reference
    cache.qd_put(qd)
    assert (qd.count, len(cache.lru)) == (0, 1)
    assert cache.lru.count_one(0) == 1
    hit = cache.qd_get(sb, 42)  # lockref_get_not_dead + list_lru_del
    assert hit is qd
    assert (qd.count, len(cache.lru), qd.lru_link) == (1, 0, None)
    assert sim.vmstat["gfs2_qd_alloc"] == 1
    assert sim.vmstat["gfs2_qd_lookup_hit"] == 2


def test_unused_records_queue_in_release_order() -> None:
    _sim, cache, sb = gfs2_sim()
    made = [cache.qd_get(sb, qid) for qid in (5, 1, 9, 3)]
    for qd in (made[2], made[0], made[3], made[1]):
        assert qd is not None
        cache.qd_put(qd)
    assert [qid for _, qid in lru_ids(cache)] == [9, 5, 3, 1]


def test_a_put_without_a_reference_is_refused() -> None:
    _sim, cache, sb = gfs2_sim()
    (qd,) = unused(cache, sb, [1])
    with pytest.raises(UsageError, match="holds no reference"):
        cache.qd_put(qd)


def test_records_go_on_the_list_of_their_slab_node() -> None:
    _sim, cache, sb = gfs2_sim(nr_nodes=2)
    unused(cache, sb, [1, 2], nid=1)
    unused(cache, sb, [3], nid=0)
    assert [qid for _, qid in lru_ids(cache, 1)] == [1, 2]
    assert [qid for _, qid in lru_ids(cache, 0)] == [3]


def test_a_lookup_window_leaves_a_referenced_record_on_the_lru() -> None:
    sim, cache, sb = gfs2_sim("v6.7")
    (qd,) = unused(cache, sb, [1])
    assert cache.qd_get(sb, 1, lru_del=False) is qd
    assert (qd.count, len(cache.lru)) == (1, 1)
    assert scan(shrinker_of(sim), 1) == 0  # v6.7: busy, skipped
    assert cache.lru_del(qd)
    assert len(cache.lru) == 0
    cache.qd_put(qd)
    assert len(cache.lru) == 1


def test_two_mounts_share_one_global_lru() -> None:
    sim = build(nr_nodes=1)
    cache = gfs2_quota(sim)
    a = sim.vfs.mount("gfs2", "a")
    b = sim.vfs.mount("gfs2", "b")
    qa = [cache.qd_get(a, qid) for qid in range(3)]
    qb = [cache.qd_get(b, qid) for qid in range(3)]  # same ids, different filesystems
    assert all(x is not y for x, y in zip(qa, qb, strict=True))
    for x, y in zip(qa, qb, strict=True):
        assert x is not None
        assert y is not None
        cache.qd_put(x)
        cache.qd_put(y)
    assert lru_ids(cache) == [
        ("gfs2:a", 0),
        ("gfs2:b", 0),
        ("gfs2:a", 1),
        ("gfs2:b", 1),
        ("gfs2:a", 2),
        ("gfs2:b", 2),
    ]
    assert [s.name for s in sim.shrinkers].count("gfs2-qd") == 1
    assert scan(shrinker_of(sim), 4) == 4  # one walk across both filesystems
    assert lru_ids(cache) == [("gfs2:a", 2), ("gfs2:b", 2)]
    assert (cache.sbd(a).sd_quota_count, cache.sbd(b).sd_quota_count) == (1, 1)
    assert cache.incore_dquots() == 2
    # a superblock's own shrinker does not see the quota records
    assert a.shrinker is not None
    assert a.shrinker.shrinker.count_objects(ShrinkControl()) == SHRINK_EMPTY


def test_unmount_disposes_of_its_records_only() -> None:
    sim = build()
    cache = gfs2_quota(sim)
    a = sim.vfs.mount("gfs2", "a")
    b = sim.vfs.mount("gfs2", "b")
    gone = unused(cache, a, range(3))
    held = cache.qd_get(a, 10)
    kept = unused(cache, b, range(2))
    assert held is not None
    sim.vfs.umount(a)
    assert all(qd.dead and qd.freed for qd in [*gone, held])
    assert not any(qd.freed for qd in kept)
    assert lru_ids(cache) == [("gfs2:b", 0), ("gfs2:b", 1)]
    assert "gfs2" not in a.private
    assert cache.cachep.active_objects == 2
    cache.qd_put(held)  # a holder finishing after the unmount: nothing left to do
    assert len(cache.lru) == 2
    with pytest.raises(UsageError, match="not a mounted gfs2 filesystem"):
        cache.qd_get(a, 1)


def test_other_filesystems_get_no_quota_state() -> None:
    sim = build()
    cache = gfs2_quota(sim)
    ext4 = sim.vfs.mount("ext4", "sdb1")
    assert "gfs2" not in ext4.private
    with pytest.raises(UsageError, match="not a mounted gfs2 filesystem"):
        cache.qd_get(ext4, 1)
    gfs2 = sim.vfs.mount("gfs2", "sdc1")
    assert isinstance(gfs2.private["gfs2"], Gfs2Sbd)
    assert [sbd.sb for sbd in [cache.sbd(gfs2)]] == [gfs2]


def test_enomem_allocates_nothing() -> None:
    sim, cache, sb = gfs2_sim("v3.14-kmemcg-v15")
    memcg = sim.memcgs.create("tight")
    sim.memcgs.set_kmem_limit(memcg, 1)  # one page: 14 records
    made = [cache.qd_get(sb, qid, memcg=memcg) for qid in range(15)]
    assert made[-1] is None
    assert all(qd is not None for qd in made[:14])
    assert sim.vmstat["gfs2_qd_enomem"] == 1
    assert cache.sbd(sb).sd_quota_count == 14
    assert list(cache.records()) == made[:14]
