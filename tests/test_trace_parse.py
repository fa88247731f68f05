"""Reading mm_shrink_slab_start / _end lines: every era's layout, prefixes, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrinkfw.errors import TraceError, UsageError
from shrinkfw.trace.format import format_end, format_start
from shrinkfw.trace.parse import (
    LineFormat,
    ParseStats,
    ShrinkEnd,
    ShrinkStart,
    iter_events,
    parse_file,
    parse_line,
)

DATA = Path(__file__).parent / "data" / "ftrace"
TRACE_49 = DATA / "kswapd-4.9-lru-zero.trace"
TRACE_54 = DATA / "kswapd-5.4-xfs-server.trace"
TRACE_61 = DATA / "linux-6.1-memcg-max-negative-dentries.trace"
SYNTHETIC = DATA / "synthetic-eras.trace"

START_54 = (
    "kswapd1-137   [011] .... 66671.878236: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 "
    "000000003e89d20a: nid: 1 objects to shrink 824 gfp_flags GFP_KERNEL cache items 1065515 "
    "delta 520 total_scan 1344 priority 12"
)
END_54 = (
    "kswapd1-137   [007] .... 66707.247798: mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 "
    "000000003e89d20a: nid: 1 unused scan count 824 new scan count 320 total_scan 320 "
    "last shrinker return val 1021"
)


def events(path: Path) -> list[ShrinkStart | ShrinkEnd]:
    return list(parse_file(str(path)))


# -- the sample traces ---------------------------------------------------------------------


def test_49_ratio_layout() -> None:
    stats = ParseStats()
    found = list(parse_file(str(TRACE_49), stats=stats))
    assert [e.lineno for e in found] == [4, 5, 6]
    assert (stats.starts, stats.ends, stats.comments, stats.blank) == (3, 0, 3, 0)
    first = found[0]
    assert isinstance(first, ShrinkStart)
    assert first.line_format is LineFormat.START_RATIO
    assert (first.task, first.pid, first.cpu, first.timestamp) == (
        "kswapd0-93",
        93,
        5,
        "49736.760169",
    )
    assert (first.shrinker, first.pointer, first.module) == (
        "scan_shadow_nodes",
        "ffffffff94e6e460",
        None,
    )
    assert (first.nid, first.objects_to_shrink, first.gfp_flags) == (0, 59291940, "GFP_KERNEL")
    assert (first.pgs_scanned, first.lru_pgs, first.priority) == (32, 0, None)
    assert (first.cache_items, first.delta, first.total_scan) == (20, 1280, 40)


def test_54_priority_layout_and_hashed_pointer() -> None:
    stats = ParseStats()
    found = list(parse_file(str(TRACE_54), stats=stats))
    assert [(e.lineno, e.event) for e in found] == [
        (5, "start"),
        (6, "end"),
        (7, "start"),
        (8, "end"),
    ]
    assert stats.other == 2  # mm_vmscan_kswapd_wake / _sleep
    start, end = found[0], found[1]
    assert isinstance(start, ShrinkStart)
    assert isinstance(end, ShrinkEnd)
    assert start.line_format is LineFormat.START_PRIORITY
    assert (start.priority, start.pgs_scanned, start.lru_pgs) == (12, None, None)
    assert start.pointer == "000000003e89d20a"
    assert end.line_format is LineFormat.END
    assert (end.nid, end.unused_scan_count, end.new_scan_count, end.total_scan, end.retval) == (
        1,
        824,
        320,
        320,
        1021,
    )
    assert end.cpu == 7


def test_61_ptrval_and_flags_column() -> None:
    stats = ParseStats()
    found = list(parse_file(str(TRACE_61), stats=stats))
    assert stats.starts == stats.ends == 24
    assert stats.other == 4  # memcg reclaim begin/end
    first = found[0]
    assert first.lineno == 9
    assert first.pointer == "(____ptrval____)"
    assert (first.task, first.pid, first.cpu, first.timestamp) == ("init-1", 1, 0, "6.768864")
    # ".N..." flags (need-resched) on a start line
    flagged = next(e for e in found if e.lineno == 53)
    assert isinstance(flagged, ShrinkStart)
    assert flagged.priority == 3


# -- the layouts and prefixes of other tools -----------------------------------------------


def test_synthetic_layouts() -> None:
    by_line = {e.lineno: e for e in events(SYNTHETIC)}
    nonid = by_line[7]
    assert isinstance(nonid, ShrinkStart)
    assert nonid.line_format is LineFormat.START_RATIO_NO_NID
    assert nonid.nid is None
    end = by_line[8]
    assert isinstance(end, ShrinkEnd)
    assert end.line_format is LineFormat.END_NO_NID
    assert (end.nid, end.total_scan) == (None, -122)
    assert by_line[10].shrinker == "prune_super"
    # trace-cmd report without a flags column
    assert (by_line[13].task, by_line[13].cpu) == ("trace-cmd-302", 1)
    # perf script: "comm pid [cpu] ts: vmscan:event:"
    assert (by_line[15].task, by_line[15].pid, by_line[15].timestamp) == (
        "kswapd0-303",
        303,
        "1001.000001",
    )
    # tgid column and a 5-character flags column
    assert (by_line[18].pid, by_line[18].cpu) == (304, 0)
    # task names with '/' and ':'
    assert by_line[21].task == "kworker/u16:2-305"
    # a module symbol
    assert (by_line[24].shrinker, by_line[24].module) == ("i915_gem_shrinker_scan", "i915")


@pytest.mark.parametrize(
    ("head", "function", "module"),
    [
        ("super_cache_scan+0x0/0x1a0", "super_cache_scan", None),
        ("super_cache_scan+0x0", "super_cache_scan", None),  # trace-cmd without the size
        ("super_cache_scan", "super_cache_scan", None),
        ("0xffffffffc0a1b2c3", "0xffffffffc0a1b2c3", None),  # unresolved address
        ("nfs_access_cache_scan+0x0/0x60 [nfs]", "nfs_access_cache_scan", "nfs"),
    ],
)
def test_symbol_forms(head: str, function: str, module: str | None) -> None:
    line = START_54.replace("super_cache_scan+0x0/0x1a0", head)
    event = parse_line(line, lineno=1)
    assert event is not None
    assert (event.shrinker, event.module) == (function, module)


def test_no_prefix_and_crlf() -> None:
    body = START_54[START_54.index("mm_shrink_slab_start") :]
    event = parse_line(body, lineno=3)
    assert isinstance(event, ShrinkStart)
    assert (event.task, event.pid, event.cpu, event.timestamp) == (None, None, None, None)
    crlf = list(parse_file(str(DATA / "crlf-5.4.trace")))
    assert [e.lineno for e in crlf] == [2, 3]
    assert crlf[1].extra == ""


def test_trailing_fields_are_kept() -> None:
    event = parse_line(START_54 + " memcg 42", lineno=1)
    assert isinstance(event, ShrinkStart)
    assert (event.priority, event.extra) == (12, "memcg 42")


def test_other_lines_are_not_events() -> None:
    stats = ParseStats()
    lines = [
        "# tracer: nop\n",
        "#  mm_shrink_slab_start: a comment that names the event\n",
        "\n",
        "kswapd0-93 [005] .... 1.0: mm_vmscan_kswapd_wake: nid=0 order=0\n",
        "kswapd0-93 [005] .... 1.0: mm_shrink_slab_startup: not this event\n",
        "cat-1 [000] .... 1.0: bprint: mm_shrink_slab_start text in a message\n",
    ]
    assert list(iter_events(lines, stats=stats)) == []
    assert (stats.lines, stats.blank, stats.comments, stats.other) == (6, 1, 2, 3)
    assert stats.ignored == 5


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("delta 520", "delta 52O"), "delta"),
        (("priority 12", "priority"), "priority"),
        (("total_scan 1344 priority 12", "total_scan 1344"), "priority"),
        (("nid: 1 ", "nid: x "), "nid"),
        (("cache items 1065515", "cache itemz 1065515"), "cache_items"),
        (("super_cache_scan+0x0/0x1a0 000000003e89d20a:", "junk"), "shrinker"),
    ],
)
def test_malformed_start_names_the_field(change: tuple[str, str], field: str) -> None:
    line = START_54.replace(*change)
    with pytest.raises(TraceError) as info:
        list(iter_events(["# header\n", line + "\n"], file="t.trace"))
    err = info.value
    assert (err.file, err.line, err.field) == ("t.trace", 2, field)
    assert str(err).startswith(f"t.trace:2: {field}: ")


def test_malformed_end_names_the_field() -> None:
    line = END_54.replace("new scan count 320", "new scan count -")
    with pytest.raises(TraceError) as info:
        parse_line(line, lineno=7, file="x")
    assert (info.value.line, info.value.field) == (7, "new_scan_count")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot open"):
        list(parse_file(str(tmp_path / "absent.trace")))


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot open"):
        list(parse_file(str(tmp_path)))


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "trace.dat"
    path.write_bytes(b"\x17\x08Dtracing6\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(TraceError, match="binary") as info:
        list(parse_file(str(path)))
    assert info.value.line == 1


def test_non_utf8_task_name(tmp_path: Path) -> None:
    path = tmp_path / "latin1.trace"
    path.write_bytes(START_54.replace("kswapd1", "caf\xe9").encode("latin-1") + b"\n")
    (event,) = list(parse_file(str(path)))
    assert event.task == "caf\ufffd-137"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (START_54 + "\n" + END_54 + "\n").encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert [e.event for e in parse_file("-")] == ["start", "end"]


# -- format -> parse round trip --------------------------------------------------------------

values = st.integers(min_value=0, max_value=2**62)
small = st.integers(min_value=0, max_value=12)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True)


@given(
    style=st.sampled_from(["priority", "ratio", "ratio-no-nid"]),
    shrinker=names,
    nid=st.integers(min_value=0, max_value=1023),
    nr=values,
    cache=values,
    delta=values,
    total=values,
    prio=small,
    ts=st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_start_round_trip(
    style: str,
    shrinker: str,
    nid: int,
    nr: int,
    cache: int,
    delta: int,
    total: int,
    prio: int,
    ts: float,
) -> None:
    line = format_start(
        shrinker=shrinker,
        nid=nid,
        objects_to_shrink=nr,
        gfp_flags="GFP_KERNEL|__GFP_NOWARN",
        cache_items=cache,
        delta=delta,
        total_scan=total,
        pgs_scanned=32,
        lru_pgs=nr,
        priority=prio,
        style=style,
        timestamp=ts,
        task="kswapd0",
        pid=93,
        cpu=5,
    )
    event = parse_line(line, lineno=1)
    assert isinstance(event, ShrinkStart)
    assert event.shrinker == shrinker
    assert event.nid == (None if style == "ratio-no-nid" else nid)
    assert (event.objects_to_shrink, event.cache_items, event.delta, event.total_scan) == (
        nr,
        cache,
        delta,
        total,
    )
    assert event.priority == (prio if style == "priority" else None)
    assert event.gfp_flags == "GFP_KERNEL|__GFP_NOWARN"
    assert (event.task, event.cpu) == ("kswapd0-93", 5)
    assert event.timestamp is not None
    assert abs(float(event.timestamp) - ts) < 1e-6


@given(
    style=st.sampled_from(["priority", "ratio", "ratio-no-nid"]),
    nr=values,
    new=values,
    left=values,
    ret=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
def test_end_round_trip(style: str, nr: int, new: int, left: int, ret: int) -> None:
    line = format_end(
        shrinker="super_cache_scan",
        nid=3,
        unused_scan_count=nr,
        new_scan_count=new,
        total_scan=left,
        retval=ret,
        style=style,
        module="xfs",
    )
    event = parse_line(line, lineno=1)
    assert isinstance(event, ShrinkEnd)
    assert (event.unused_scan_count, event.new_scan_count, event.retval) == (nr, new, ret)
    assert event.module == "xfs"
    if style == "ratio-no-nid":
        assert (event.nid, event.total_scan) == (None, new - nr)
    else:
        assert (event.nid, event.total_scan) == (3, left)


def test_format_matches_the_sample_layout() -> None:
    line = format_start(
        shrinker="super_cache_scan",
        nid=1,
        objects_to_shrink=824,
        gfp_flags="GFP_KERNEL",
        cache_items=1065515,
        delta=520,
        total_scan=1344,
        priority=12,
        pointer="000000003e89d20a",
        symbol_size=0x1A0,
        task="kswapd1",
        pid=137,
        cpu=11,
        timestamp=66671.878236,
        flags="....",
    )
    assert line.split("mm_shrink_slab_start: ")[1] == START_54.split("mm_shrink_slab_start: ")[1]
    assert line.startswith("         kswapd1-137     [011] .... 66671.878236: ")


def test_format_record_of_simulator_and_parsed_records() -> None:
    from shrinkfw.shrinker import GFP_NOFS
    from shrinkfw.trace.format import format_record
    from shrinkfw.tracepoints import ShrinkSlabEnd, ShrinkSlabStart

    start = ShrinkSlabStart(
        shrinker="sb-ext4",
        nid=0,
        memcg=None,
        nr_objects_to_shrink=126,
        gfp_flags=GFP_NOFS,
        pgs_scanned=32,
        lru_pgs=100000,
        cache_items=10000,
        delta=6,
        total_scan=132,
        priority=12,
    )
    line = format_record(start, style="E1", shrinker="super_cache_scan", pid=7)
    parsed = parse_line(line, lineno=1)
    assert isinstance(parsed, ShrinkStart)
    assert parsed.line_format is LineFormat.START_RATIO_NO_NID
    assert (parsed.shrinker, parsed.gfp_flags, parsed.total_scan) == (
        "super_cache_scan",
        "GFP_NOFS",
        132,
    )
    assert parse_line(format_record(parsed, style="E1", pid=7), lineno=1) == parsed

    end = ShrinkSlabEnd(
        shrinker="sb-ext4",
        nid=0,
        memcg=None,
        unused_scan_cnt=126,
        new_scan_cnt=4,
        total_scan=4,
        retval=100,
        scanned=128,
    )
    parsed_end = parse_line(format_record(end, style="E2"), lineno=2)
    assert isinstance(parsed_end, ShrinkEnd)
    assert (parsed_end.shrinker, parsed_end.nid, parsed_end.total_scan) == ("sb-ext4", 0, 4)
    with pytest.raises(UsageError):
        format_record(object())
    with pytest.raises(UsageError, match="unknown trace style"):
        format_record(parsed, style="E9")
