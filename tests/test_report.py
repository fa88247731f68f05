"""``report.html`` and its plots, from synthetic run directories written as the run-directory
document (docs/run-directory.md) specifies them."""

from __future__ import annotations

import json
import struct
from html import escape
from typing import TYPE_CHECKING, Any

import pytest

from shrinkfw.report.html import load_summary, render_report, write_report
from shrinkfw.report.plots import (
    MAX_SERIES,
    PLOT_FILES,
    rank,
    read_metrics,
    read_vmpressure,
    write_plots,
)

if TYPE_CHECKING:
    from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MIB = 1 << 20

#: Names that must come out escaped, and a path longer than a legend label.
ODD_MEMCG = "/a<b&c$x_{1$"  # also invalid mathtext if a label were parsed
ODD_SHRINKER = "dentry<&>:sda1"
LONG_MEMCG = "/system.slice/a-very-long-unit-name-that-goes-on-and-on.service"
ODD_REASON = "usage > 90% & rising for 2 s <fast>"

MACHINE_METRICS = (
    "free_bytes",
    "slab_bytes",
    "dying_memcgs",
    "vmpressure_low",
    "vmpressure_medium",
    "vmpressure_critical",
    "reclaim_direct",
    "reclaim_kswapd",
    "reclaim_memcg",
    "pages_reclaimed",
)


def memcg_paths(n: int) -> list[str]:
    """``n`` memcg paths: the root, the two odd ones, then numbered ones."""
    paths = ["/", ODD_MEMCG, LONG_MEMCG]
    paths += [f"/job{i}" for i in range(n - len(paths))]
    return paths[:n]


def shrinker_names(n: int) -> list[str]:
    names = [ODD_SHRINKER, "super_cache_scan:vda1"]
    names += [f"xfs_buftarg:dm-{i}" for i in range(n - len(names))]
    return names[:n]


def make_run(
    run_dir: Path, *, ticks: int = 8, memcgs: int = 15, shrinkers: int = 14, tick: float = 0.25
) -> Path:
    """Write summary.json, metrics.csv and events.jsonl of a made-up run into ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = memcg_paths(memcgs)
    names = shrinker_names(shrinkers)
    rows = ["time,scope,name,metric,value"]
    events: list[dict[str, Any]] = [
        {"time": 0.0, "event": "memcg_online", "memcg": p, "id": i + 1} for i, p in enumerate(paths)
    ]
    for k in range(1, ticks + 1):
        t = k * tick
        machine = [1 << 30, 200 * MIB, k // 3, k, k // 2, k // 4, k, 2 * k, 3 * k, 100 * k]
        rows += [f"{t},machine,,{m},{v}" for m, v in zip(MACHINE_METRICS, machine, strict=True)]
        rows += [f"{t},node,{nid},free_bytes,{(1 << 29) - k * MIB}" for nid in (0, 1)]
        for i, path in enumerate(paths):
            usage = (memcgs - i) * k * MIB // 2  # the first paths are the largest
            rows += [
                f"{t},memcg,{path},usage_bytes,{usage}",
                f"{t},memcg,{path},kmem_bytes,{usage // 3}",
                f"{t},memcg,{path},objects,{(i + 1) * 1000 * k}",
            ]
        for j, name in enumerate(names):
            i = shrinkers - 1 - j  # the first names do the most work
            rows += [
                f"{t},shrinker,{name},objects,{(i + 1) * 5000 - 100 * k}",
                f"{t},shrinker,{name},invocations,{k * (i + 1)}",
                f"{t},shrinker,{name},scanned,{k * 1000 * (i + 1)}",
                f"{t},shrinker,{name},freed,{k * 600 * (i + 1)}",
                f"{t},shrinker,{name},nr_deferred,{(k % 4) * 50 * i}",
            ]
        events.append(
            {
                "time": t - tick / 2,
                "event": "reclaim",
                "reason": "memcg_limit",
                "target": paths[k % len(paths)],
                "nid": 0,
                "priority": 12,
                "nr_reclaimed": 32,
                "slab_pages": 4,
                "slab_objects": 100,
            }
        )
        for j, level in enumerate(("low", "medium", "critical")[: 1 + k % 3]):
            events.append(
                {
                    "time": t - tick / 3 + j * 0.001,
                    "event": "vmpressure_window",
                    "memcg": paths[(k + j) % len(paths)],
                    "level": level,
                    "pressure": 40 + 30 * j,
                    "scanned": 512,
                    "reclaimed": 300,
                }
            )
    decision = {
        "time": 1.25,
        "consumer": "oomd<test>",
        "plugin": "oomd",
        "action": "kill",
        "memcg": ODD_MEMCG,
        "reason": ODD_REASON,
        "dry_run": True,
        "freed_pages": 0,
        "freed_objects": 0,
    }
    events.append({"event": "decision", **decision})
    summary = {
        "format": 1,
        "shrinkfw": "0.1.0",
        "scenario": "synthetic",
        "scenario_file": None,
        "profile": "v3.14-kmemcg-v15",
        "era": "E1+v15",
        "seed": 7,
        "duration": ticks * tick,
        "tick": tick,
        "ticks": ticks,
        "time": ticks * tick,
        "complete": True,
        "stopped": None,
        "machine": {"nodes": 2, "memory_bytes": 1 << 30, "free_bytes": 1 << 29},
        "memcgs": [
            {
                "path": p,
                "id": i + 1,
                "state": "online",
                "usage_bytes": (i + 1) * MIB,
                "kmem_bytes": MIB // 3,
                "limit_bytes": None if i == 0 else 64 * MIB,
                "objects": 1000 * i,
                "created": 0.0,
                "removed": None,
            }
            for i, p in enumerate(paths)
        ],
        "shrinkers": [
            {
                "name": n,
                "plugin": "dcache",
                "invocations": 10,
                "scanned": 1000,
                "freed": 600,
                "nr_deferred": 5,
                "objects": 4000,
                "registered": True,
            }
            for n in names
        ],
        "vmpressure": {"low": 5, "medium": 3, "critical": 1},
        "reclaim": {
            "direct": 1,
            "kswapd": 2,
            "memcg_limit": ticks,
            "memcg_high": 0,
            "other": 0,
            "pages_reclaimed": 256,
            "slab_pages_reclaimed": 32,
            "slab_freed": 800,
        },
        "dying_memcgs": {"max": 2, "final": 1},
        "decisions": {"count": 1, "by_action": {"kill": 1}, "list": [decision]},
        "plugins": [{"name": "dcache", "disabled": False}],
        "plugin_errors": [],
        "vmstat": {"pgscan": 512, "pgsteal": 300},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_dir / "metrics.csv").write_text("\n".join(rows) + "\n")
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return run_dir


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_pngs(run_dir: Path, min_bytes: int) -> None:
    for name in PLOT_FILES:
        path = run_dir / name
        width, height = png_size(path)
        assert width == 1000
        assert 400 <= height <= 800
        assert path.stat().st_size >= min_bytes, name


def no_tmp_files(run_dir: Path) -> bool:
    return not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A synthetic run rendered once, shared by the tests that only look at the output."""
    run_dir = make_run(tmp_path_factory.mktemp("run"))
    report = write_report(run_dir)
    assert report == run_dir / "report.html"
    return run_dir, report.read_text(encoding="utf-8")


def test_plots_are_pngs(rendered: tuple[Path, str]) -> None:
    run_dir, _ = rendered
    check_pngs(run_dir, min_bytes=10_000)
    assert png_size(run_dir / "memory.png") == (1000, 450)
    assert png_size(run_dir / "shrinker_work.png") == (1000, 750)
    assert no_tmp_files(run_dir)


def test_page_links_every_plot(rendered: tuple[Path, str]) -> None:
    _, page = rendered
    assert page.startswith("<!DOCTYPE html>")
    for name in PLOT_FILES:
        assert f'<img src="{name}"' in page
    assert "<script" not in page
    assert "http" not in page  # no external resource


def test_page_shows_run_and_names_escaped(rendered: tuple[Path, str]) -> None:
    _, page = rendered
    for text in ("synthetic", "v3.14-kmemcg-v15", "E1+v15", "complete", "/job5"):
        assert text in page
    assert LONG_MEMCG in page  # the table keeps names whole; only legends shorten them
    assert "super_cache_scan:vda1" in page
    assert "/a&lt;b&amp;c" in page
    assert "dentry&lt;&amp;&gt;:sda1" in page
    assert "usage &gt; 90% &amp; rising for 2 s &lt;fast&gt;" in page
    assert "oomd&lt;test&gt;" in page
    for raw in (ODD_MEMCG, ODD_SHRINKER, ODD_REASON, "<fast>"):
        assert raw not in page
    assert "unlimited" in page  # the root memcg's limit_bytes is null
    assert "memcg_limit" in page
    assert "critical" in page


def test_same_inputs_same_bytes(rendered: tuple[Path, str], tmp_path: Path) -> None:
    first, _ = rendered
    second = make_run(tmp_path / "again")
    write_report(second)
    for name in (*PLOT_FILES, "report.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert no_tmp_files(second)


def test_single_tick_without_summary(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, ticks=1, memcgs=2, shrinkers=1)
    (run_dir / "summary.json").unlink()
    (run_dir / "memory.png").write_bytes(b"stale")
    page = write_report(run_dir).read_text(encoding="utf-8")
    check_pngs(run_dir, min_bytes=3_000)
    assert "summary.json is missing" in page
    for name in PLOT_FILES:
        assert f'<img src="{name}"' in page
    assert no_tmp_files(run_dir)


def test_empty_run(tmp_path: Path) -> None:
    """Header-only metrics.csv, no events.jsonl, a summary with hardly anything in it."""
    (tmp_path / "summary.json").write_text('{"format": 1, "scenario": "empty"}\n')
    (tmp_path / "metrics.csv").write_text("time,scope,name,metric,value\n")
    written = write_plots(tmp_path)
    assert written == [tmp_path / name for name in PLOT_FILES]
    check_pngs(tmp_path, min_bytes=3_000)
    summary, problem = load_summary(tmp_path / "summary.json")
    assert problem is None
    page = render_report(summary, [p.name for p in written])
    assert "empty" in page
    assert "Memcgs" not in page  # sections without data are left out
    assert no_tmp_files(tmp_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2", "summary.json is not valid JSON"),
        ("[1, 2]", "summary.json does not hold a JSON object"),
        (b"\xff\xfe", "summary.json is not valid JSON"),
    ],
)
def test_unreadable_summary(tmp_path: Path, text: str | bytes, problem: str) -> None:
    path = tmp_path / "summary.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    summary, why = load_summary(path)
    assert summary == {}
    assert why is not None
    assert why.startswith(problem)
    assert escape(why) in render_report(summary, [], why)


def test_metrics_rows_that_do_not_parse_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text(
        "time,scope,name,metric,value\n"
        "0.25,memcg,/x,usage_bytes,100\n"
        "oops,memcg,/x,usage_bytes,1\n"
        "0.5,memcg,/x,usage_bytes,\n"
        "0.5,memcg,/x,usage_bytes,200\n"
        "0.75\n"
    )
    metrics = read_metrics(path)
    series = metrics.get("memcg", "/x", "usage_bytes")
    assert series is not None
    assert (series.times, series.values) == ([0.25, 0.5], [100.0, 200.0])
    assert metrics.tick() == 0.25
    assert read_metrics(tmp_path / "absent.csv").series == {}


def test_vmpressure_windows_counted_by_level_and_bin(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        {"time": 0.1, "event": "vmpressure_window", "memcg": "/a", "level": "low"},
        {"time": 0.2, "event": "vmpressure_window", "memcg": "/a", "level": "critical"},
        {"time": 0.3, "event": "vmpressure", "memcg": "/", "origin": "/a", "level": "low"},
        {"time": 0.6, "event": "vmpressure_window", "memcg": "/b", "level": "medium"},
        {"time": 0.7, "event": "vmpressure_window", "memcg": "/a", "level": "severe"},
        {"time": True, "event": "vmpressure_window", "memcg": "/a", "level": "low"},
        {"time": 0.8, "event": "decision", "reason": "vmpressure critical on /a"},
        {"time": 0.9, "event": "mm_shrink_slab_start", "shrinker": "x"},
    ]
    text = "".join(json.dumps(e) + "\n" for e in lines)
    path.write_text(text + '["vmpressure"]\n{"event": "vmpressure_window", "time": \n')
    pressure = read_vmpressure(path, tick=0.5)
    assert pressure.counts == {0: [1, 0, 1], 1: [0, 1, 0]}
    assert pressure.worst == {("/a", 0): 2, ("/b", 1): 1}
    assert pressure.by_origin == {"/a": 2, "/b": 1}
    assert pressure.last_time == 0.6
    assert read_vmpressure(tmp_path / "absent.jsonl", tick=0.5).total == 0


def test_rank_keeps_the_top_and_sums_the_rest() -> None:
    names = [f"n{i}" for i in range(MAX_SERIES + 8)]
    entries = rank(names, MAX_SERIES)
    assert [e.names for e in entries[:MAX_SERIES]] == [(n,) for n in names[:MAX_SERIES]]
    assert entries[-1].label == "other (8)"
    assert entries[-1].names == tuple(names[MAX_SERIES:])
    assert len({e.color for e in entries}) == len(entries)
    assert len(rank(names[:3], MAX_SERIES)) == 3


def test_stopped_and_partial_summary() -> None:
    decisions = [
        {"time": i * 0.5, "consumer": "c", "action": "reap", "memcg": "/m", "reason": f"r{i}"}
        for i in range(250)
    ]
    summary = {
        "scenario": "partial",
        "complete": False,
        "stopped": "plugin <xfs> raised ValueError: bad & worse",
        "memcgs": [{"path": "/only-a-path"}, "not an object"],
        "shrinkers": [{"name": "s", "scanned": 12_345_678}],
        "decisions": {"list": decisions},
        "plugin_errors": [{"time": 3.0, "plugin": "xfs", "error": "count < 0"}],
    }
    page = render_report(summary, ["memory.png"])
    assert "stopped early: plugin &lt;xfs&gt; raised ValueError: bad &amp; worse" in page
    assert "/only-a-path" in page
    assert "12,345,678" in page
    assert "The first 200 of 250 decisions" in page
    assert "r199" in page
    assert "r200" not in page
    assert "count &lt; 0" in page
    assert '<img src="memory.png"' in page
    assert render_report({}, []).startswith("<!DOCTYPE html>")
