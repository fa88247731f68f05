"""The console parser: markers, sections, actions, and what is left when a guest dies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shrinkfw.calibrate.console import GuestResult, parse_console, parse_counters
from shrinkfw.scenario import parse_scenario

if TYPE_CHECKING:
    from pathlib import Path

START = (
    "   shrinkfw-load-99      [001] .....     3.755327: mm_shrink_slab_start: "
    "super_cache_scan+0x0/0x1f0 00000000ec90572b: nid: 0 objects to shrink 0 gfp_flags "
    "GFP_HIGHUSER_MOVABLE cache items 83308 delta 40 total_scan 40 priority 12"
)
END = (
    "   shrinkfw-load-99      [001] .....     3.755452: mm_shrink_slab_end: "
    "super_cache_scan+0x0/0x1f0 00000000ec90572b: nid: 0 unused scan count 0 new scan count "
    "40 total_scan 40 last shrinker return val 0"
)

# What a guest prints, trimmed (serial line ends, firmware noise and one printk included).
CONSOLE = f"""\
\x1bc\x1b[?7l\x1b[2JSeaBIOS (version 1.16.2-debian-1.16.2-1)\r
Booting from ROM..\r
@@shrinkfw mark init uptime=1.93\r
@@shrinkfw release 6.1.0-56-cloud-amd64\r
@@shrinkfw begin version\r
Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.192-2\r
@@shrinkfw end version\r
@@shrinkfw mark disk uptime=1.96\r
@@shrinkfw event mm_shrink_slab_start on\r
@@shrinkfw event mm_shrink_slab_end on\r
@@shrinkfw event mm_vmscan_kswapd_wake missing\r
@@shrinkfw begin vmstat when=start\r
nr_free_pages 108470\r
nr_slab_reclaimable 3000\r
@@shrinkfw end vmstat\r
@@shrinkfw mark timeline-begin uptime=2.11\r
@@shrinkfw mark begin action=0 kind=mount uptime=2.11\r
@@shrinkfw mark end action=0 status=0 uptime=2.14\r
@@shrinkfw mark begin action=1 kind=run uptime=2.15\r
[    3.1] a kernel message printed during the run\r
@@shrinkfw result op=lookup ops=100000 found=0 missing=100000 failed=0 errno=0 usec=1893512\r
@@shrinkfw mark end action=1 status=0 uptime=4.09\r
@@shrinkfw mark begin action=2 kind=rmdir uptime=4.09\r
@@shrinkfw begin memcg path=/old when=removed file=memory.current uptime=4.10\r
4096\r
@@shrinkfw end memcg\r
@@shrinkfw warn rmdir failed: /sys/fs/cgroup/old\r
@@shrinkfw mark end action=2 status=1 uptime=4.11\r
@@shrinkfw mark timeline-end uptime=4.12\r
@@shrinkfw begin memcg path=/box when=final file=memory.current uptime=4.13\r
13684736\r
@@shrinkfw end memcg\r
@@shrinkfw begin memcg path=/box when=final file=memory.stat uptime=4.13\r
anon 0\r
file 4096\r
slab_reclaimable 13448440\r
@@shrinkfw end memcg\r
@@shrinkfw begin memcg path=/box when=final file=memory.events uptime=4.13\r
low 0\r
high 4\r
max 0\r
@@shrinkfw end memcg\r
@@shrinkfw begin memcg path=/box when=final file=cgroup.stat uptime=4.13\r
nr_descendants 0\r
nr_dying_descendants 0\r
@@shrinkfw end memcg\r
@@shrinkfw begin vmstat when=final\r
nr_free_pages 100000\r
nr_slab_reclaimable 6000\r
pgscan_direct 12\r
@@shrinkfw end vmstat\r
@@shrinkfw begin meminfo when=final\r
MemTotal:         502000 kB\r
@@shrinkfw end meminfo\r
@@shrinkfw begin trace-stats cpu=0\r
entries: 20\r
overrun: 0\r
oldest event ts:     3.753901\r
dropped events: 0\r
@@shrinkfw end trace-stats\r
@@shrinkfw begin trace-stats cpu=1\r
entries: 2\r
overrun: 3\r
@@shrinkfw end trace-stats\r
@@shrinkfw begin trace\r
# tracer: nop\r
{START}\r
{END}\r
@@shrinkfw end trace\r
@@shrinkfw mark done uptime=4.21\r
@@shrinkfw done\r
[    4.2] reboot: Power down\r
"""


@pytest.fixture(scope="module")
def result() -> GuestResult:
    return parse_console(CONSOLE)


def test_kernel_release_and_events(result: GuestResult) -> None:
    assert result.complete
    assert result.error == ""
    assert result.kernel.startswith("Linux version 6.1.0-56-cloud-amd64 ")
    assert result.release == "6.1.0-56-cloud-amd64"
    assert result.events == {
        "mm_shrink_slab_start": True,
        "mm_shrink_slab_end": True,
        "mm_vmscan_kswapd_wake": False,
    }


def test_times(result: GuestResult) -> None:
    assert result.boot_seconds == pytest.approx(1.93)
    assert result.timeline_seconds == pytest.approx(4.12 - 2.11)
    assert result.marks["done"] == pytest.approx(4.21)


def test_memcg_counters(result: GuestResult) -> None:
    box = result.memcg("/box")
    assert box.when == "final"
    assert box.uptime == pytest.approx(4.13)
    assert box.memory_current == 13684736
    assert box.memory_stat == {"anon": 0, "file": 4096, "slab_reclaimable": 13448440}
    assert box.memory_events == {"low": 0, "high": 4, "max": 0}
    assert box.cgroup_stat == {"nr_descendants": 0, "nr_dying_descendants": 0}
    assert box.memory_peak is None
    old = result.memcg("/old", "removed")
    assert old.memory_current == 4096
    with pytest.raises(KeyError, match="/old"):
        result.memcg("/old", "final")


def test_vmstat_meminfo_and_delta(result: GuestResult) -> None:
    assert result.vmstat_start["nr_free_pages"] == 108470
    assert result.vmstat["pgscan_direct"] == 12
    assert result.vmstat_delta == {"nr_free_pages": -8470, "nr_slab_reclaimable": 3000}
    assert result.meminfo == {"MemTotal": 502000}


def test_actions(result: GuestResult) -> None:
    mount, run, rmdir = result.actions
    assert (mount.index, mount.kind, mount.status) == (0, "mount", 0)
    assert mount.seconds == pytest.approx(0.03)
    assert run.op == "lookup"
    assert run.result == {
        "ops": 100000,
        "found": 0,
        "missing": 100000,
        "failed": 0,
        "errno": 0,
        "usec": 1893512,
    }
    assert run.output == ("[    3.1] a kernel message printed during the run",)
    assert rmdir.status == 1
    assert result.warnings == ("rmdir failed: /sys/fs/cgroup/old",)


def test_trace_and_ring_buffer(result: GuestResult, tmp_path: Path) -> None:
    assert result.trace.startswith("# tracer: nop\n")
    assert "\r" not in result.trace
    assert len(result.trace_lines("mm_shrink_slab_start")) == 1
    assert len(result.trace_lines("mm_shrink_slab_end")) == 1
    assert result.trace_stats["entries"] == 22
    assert result.trace_lost == 3
    path = tmp_path / "trace.txt"
    path.write_text(result.trace)
    import attrs

    report = attrs.evolve(result, trace_path=path).trace_check()
    assert report.summary.checked == 2
    assert report.summary.mismatched == 0


def test_trace_check_needs_a_file(result: GuestResult) -> None:
    with pytest.raises(ValueError, match="trace_path"):
        result.trace_check()


def test_to_json_has_no_trace_text(result: GuestResult) -> None:
    import json

    data = json.loads(json.dumps(result.to_json()))
    assert data["release"] == "6.1.0-56-cloud-amd64"
    assert data["trace_lines"] == 3
    assert "super_cache_scan" not in json.dumps(data)
    assert data["actions"][1]["seconds"] == pytest.approx(1.94)


def test_a_marker_after_a_printk_on_the_same_line() -> None:
    text = (
        "@@shrinkfw begin vmstat when=final\n"
        "nr_free_pages 5\n"
        "[    9.9] oops half a line@@shrinkfw end vmstat\n"
        "@@shrinkfw done\n"
    )
    result = parse_console(text)
    assert result.vmstat == {"nr_free_pages": 5}
    assert result.complete


def test_a_guest_that_died_midway() -> None:
    text = CONSOLE.split("@@shrinkfw mark begin action=1")[0] + (
        "@@shrinkfw mark begin action=1 kind=run uptime=2.15\n"
        "Kernel panic - not syncing: Attempted to kill init!\n"
    )
    result = parse_console(text)
    assert not result.complete
    assert result.actions[-1].end is None
    assert result.actions[-1].status is None
    assert result.actions[-1].output == ("Kernel panic - not syncing: Attempted to kill init!",)
    assert result.memcgs == ()
    assert result.trace == ""


def test_an_error_the_guest_reported() -> None:
    result = parse_console("@@shrinkfw error cannot mount /dev/nvme0n1 on /mnt/x\n")
    assert result.error == "cannot mount /dev/nvme0n1 on /mnt/x"
    assert not result.complete


def test_a_section_cut_off_is_kept() -> None:
    result = parse_console("@@shrinkfw begin trace\n# tracer: nop\n   init-1 [000] ...")
    assert result.trace == "# tracer: nop\n   init-1 [000] ...\n"


def test_labels_come_from_the_plan() -> None:
    from shrinkfw.calibrate.plan import plan_guest

    scenario = parse_scenario(
        '[machine]\nmemory = "256MiB"\n[[memcg]]\npath = "/box"\n', file="s.toml"
    )
    plan = plan_guest(scenario)
    result = parse_console("@@shrinkfw mark begin action=0 kind=mkdir uptime=1\n", plan=plan)
    assert result.actions[0].label == "mkdir /box"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["anon 4096", "file 0"], {"anon": 4096, "file": 0}),
        (["MemFree:   1000 kB"], {"MemFree": 1000}),
        (["garbage", "key notanumber", "a b c d", ""], {}),
        (["nr_dying_descendants 2"], {"nr_dying_descendants": 2}),
    ],
)
def test_parse_counters(lines: list[str], expected: dict[str, int]) -> None:
    assert parse_counters(lines) == expected
