"""The comparison of a real and a simulated run (no qemu: traces written by hand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shrinkfw.calibrate.compare import (
    compare_counters,
    compare_sequences,
    compare_value,
    invocations,
)
from shrinkfw.calibrate.run import profile_for
from shrinkfw.trace.format import format_end, format_start

if TYPE_CHECKING:
    from pathlib import Path


def _trace(path: Path, calls: list[tuple[int, int, int, int, int, int]]) -> Path:
    """Write super_cache_scan calls: (priority, items, to_shrink, delta, total, freed)."""
    lines = []
    for priority, items, nr, delta, total, freed in calls:
        common = {"shrinker": "super_cache_scan", "nid": 0, "task": "box", "pid": 7}
        lines.append(
            format_start(
                **common,
                objects_to_shrink=nr,
                gfp_flags="GFP_KERNEL",
                cache_items=items,
                delta=delta,
                total_scan=total,
                priority=priority,
            )
        )
        lines.append(
            format_end(
                **common,
                unused_scan_count=nr,
                new_scan_count=nr + delta,
                total_scan=0,
                retval=freed,
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


REAL = [
    (12, 41365, 0, 20, 20, 0),
    (11, 41365, 20, 40, 40, 0),
    (10, 41365, 60, 80, 80, 0),
    (9, 40341, 140, 160, 160, 1024),
    (8, 38293, 300, 322, 323, 2048),
    (12, 39885, 2744, 18, 18, 0),  # a second reclaim starts over at 12
]
SIM = [
    (12, 41943, 0, 20, 20, 0),
    (11, 41943, 20, 40, 40, 0),
    (10, 41943, 60, 80, 81, 0),
    (9, 41943, 140, 162, 165, 1024),
]


def test_invocations_restart_at_the_default_priority(tmp_path: Path) -> None:
    real = invocations(_trace(tmp_path / "real.txt", REAL), "super_cache_scan")
    assert [len(i.steps) for i in real] == [5, 1]
    assert real[0].lowest_priority == 8
    assert real[0].freed == 3072
    assert invocations(tmp_path / "real.txt", "xfs_buftarg_shrink_scan") == []


def test_the_first_reclaim_is_judged_where_both_sides_went(tmp_path: Path) -> None:
    real = invocations(_trace(tmp_path / "real.txt", REAL), "super_cache_scan")
    sim = invocations(_trace(tmp_path / "sim.txt", SIM), "super_cache_scan")
    rows, comparisons = compare_sequences(real, sim, shrinker="super_cache_scan")
    verdicts = {c.quantity.split(": ", 1)[1]: c.verdict for c in comparisons}
    # cache items 41365 vs 41943 (1.4 %), delta 160 vs 162, total_scan 160 vs 165: within 5 %
    assert (
        verdicts[
            "first reclaim, cache items / objects to shrink / delta / total_scan at "
            "each priority both visited (4)"
        ]
        == "agree"
    )
    assert verdicts["first reclaim, lowest priority reached"] == "differ"  # 8 vs 9
    assert verdicts["first reclaim, objects freed"] == "differ"  # 3072 vs 1024
    assert verdicts["reclaim invocations"] == "agree"  # 2 vs 1: within the absolute slack
    assert [(r.invocation, r.priority, r.verdict) for r in rows] == [
        (1, 12, "agree"),
        (1, 11, "agree"),
        (1, 10, "agree"),
        (1, 9, "agree"),
        (1, 8, "one side only"),
        (2, 12, "one side only"),
    ]


def test_a_field_off_by_more_than_the_tolerance_differs(tmp_path: Path) -> None:
    off = [(p, items, nr, delta * 2, total, freed) for p, items, nr, delta, total, freed in SIM]
    real = invocations(_trace(tmp_path / "real.txt", REAL), "super_cache_scan")
    sim = invocations(_trace(tmp_path / "sim.txt", off), "super_cache_scan")
    rows, comparisons = compare_sequences(real, sim, shrinker="super_cache_scan")
    assert comparisons[0].verdict == "differ"
    assert rows[3].verdict == "differ"  # delta 160 vs 324


def test_counters_and_values() -> None:
    out = compare_counters(
        "/box",
        {"memory_current": 8_093_696, "memory_stat": {"slab": 7_917_040}, "memory_events": {}},
        {"memory_current": 8_327_168, "memory_stat": {"slab": 8_326_400}, "memory_events": {}},
    )
    verdict = {c.quantity: c.verdict for c in out}
    assert verdict["memory.current (bytes, end)"] == "agree"
    assert verdict["memory.stat slab (bytes, end)"] == "agree"
    assert verdict["memory.events high"] == "differ"  # no value on either side
    assert compare_value("x", 3, 4, 0.05).verdict == "agree"  # within the absolute slack
    assert compare_value("x", 100, 104, 0.05).verdict == "agree"
    assert compare_value("x", 100, 106, 0.05).verdict == "differ"
    assert compare_value("x", 3, 4, 0).verdict == "differ"  # 0: exactly equal


def test_the_profile_of_a_kernel_release() -> None:
    assert profile_for("6.1.0-56-cloud-amd64") == "v6.1"
    assert profile_for("6.8.12") == "v6.7"
    assert profile_for("5.10.0") is None
    assert profile_for("garbage") is None
