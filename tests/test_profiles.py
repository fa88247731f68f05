"""Profile data: every profile is complete and consistent with the trace formats."""

from __future__ import annotations

import pytest

from shrinkfw import PROFILES, ProfileError, get_profile
from shrinkfw.profiles import ReclaimStyle, TraceFormat
from shrinkfw.shrink_arith import DeltaRule
from shrinkfw.trace.format import line_formats


@pytest.mark.parametrize("name", list(PROFILES))
def test_trace_format_matches_the_arithmetic(name: str) -> None:
    profile = PROFILES[name]
    start, _ = line_formats(profile.trace_format.value)
    priority = profile.arith.delta_rule is DeltaRule.PRIORITY
    assert (profile.trace_format is TraceFormat.PRIORITY) == priority
    assert start is not None


def test_the_seed_prints_v3_14_lines_without_nid() -> None:
    assert get_profile("v3.14-kmemcg-v15").trace_format is TraceFormat.RATIO_NO_NID
    assert get_profile("v4.9").trace_format is TraceFormat.RATIO


def test_full_profiles_are_the_seed_and_v6_7() -> None:
    full = {name for name, p in PROFILES.items() if p.scope == "full"}
    assert full == {"v3.14-kmemcg-v15", "v6.1", "v6.7"}
    for name, profile in PROFILES.items():
        assert (profile.reclaim is not ReclaimStyle.NONE) == (name in full)
        assert profile.not_modelled, name


def test_unknown_profile_lists_the_valid_ones() -> None:
    with pytest.raises(ProfileError, match=r"choose one of: v3\.14, v3\.14-kmemcg-v15"):
        get_profile("v2.6")


def test_tight_mem_loop_switch_renames_the_profile() -> None:
    off = get_profile("v3.14").with_options(tight_mem_loop=False)
    assert not off.arith.tight_mem_loop
    assert off.name == "v3.14+tight_mem_loop=0"
    assert get_profile("v3.14").with_options(tight_mem_loop=True) is get_profile("v3.14")
