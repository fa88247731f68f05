"""The one place that reads the era: xfs_behaviour."""

from __future__ import annotations

import attrs
import pytest
from shrinkfw_xfs import xfs_behaviour

from shrinkfw import PROFILES, ProfileError, get_profile


@pytest.mark.parametrize(
    ("profile", "inverted", "sync", "skip_freeing"),
    [
        ("v3.14", True, True, False),
        ("v3.14-kmemcg-v15", True, True, False),
        ("v4.9", True, True, False),
        ("v4.14", True, True, False),
        ("v5.4", False, True, False),
        ("v6.1", False, False, False),
        ("v6.7", False, False, True),
    ],
)
def test_rules_by_profile(profile: str, inverted: bool, sync: bool, skip_freeing: bool) -> None:
    rules = xfs_behaviour(get_profile(profile))
    assert rules.buf_isolate_inverted is inverted
    assert rules.inode_reclaim_sync_wait is sync
    assert rules.dquot_skip_freeing is skip_freeing
    assert rules.dquot_dirty_rotates is False


def test_every_profile_is_covered() -> None:
    for profile in PROFILES.values():
        xfs_behaviour(profile)


def test_unknown_era() -> None:
    odd = attrs.evolve(get_profile("v6.7"), era="E9", name="future")
    with pytest.raises(ProfileError, match="era 'E9'"):
        xfs_behaviour(odd)
