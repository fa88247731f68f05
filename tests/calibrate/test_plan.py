"""From a scenario to the guest's timeline: what maps, to how many operations, and what is
refused (with the file, line and field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shrinkfw.calibrate.plan import (
    HELPER,
    MAX_TREE_ENTRIES,
    GuestPlan,
    Mkdir,
    Mount,
    Reclaim,
    Rmdir,
    Run,
    Umount,
    plan_guest,
)
from shrinkfw.errors import ScenarioError
from shrinkfw.scenario import load_scenario, parse_scenario

EXAMPLE = Path(__file__).parents[2] / "examples" / "calibrate-negative-dentries.toml"

BASE = """\
name = "t"
duration = 10.0
seed = 3
[machine]
memory = "256MiB"
[[mount]]
fs = "ext4"
device = "vdb"
[[memcg]]
path = "/box"
high = "8MiB"
max = "16MiB"
"""


def plan(text: str) -> GuestPlan:
    return plan_guest(parse_scenario(text, file="cal.toml"))


def refused(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        plan(text)
    return info.value


def test_the_example_is_100k_lookups_in_box() -> None:
    p = plan_guest(load_scenario(EXAMPLE))
    mount, mkdir, run = p.actions
    assert isinstance(mount, Mount)
    assert mount.target == "/mnt/nvme0n1"
    assert isinstance(mkdir, Mkdir)
    assert (mkdir.path, mkdir.high, mkdir.max) == ("/box", 8 << 20, 16 << 20)
    assert isinstance(run, Run)
    assert run.ops == 100_000
    assert run.argv == (HELPER, "lookup", "/mnt/nvme0n1", "", "16", "100000", "0", "0")
    assert p.memory == 512 << 20
    assert p.final_memcgs == ("/box",)
    assert p.disk is not None
    assert p.disk.device == "nvme0n1"
    assert p.disk.files == ()


def test_storm_names_width_limit_and_random_names() -> None:
    p = plan(
        BASE
        + """
[[workload]]
type = "negative-dentry-storm"
memcg = "/box"
mount = "vdb"
start = 2.0
stop = 6.0
params = { rate = 1000.0, prefix = "ab", name_len = 40, names = 500, lookups = 3000 }
"""
    )
    (run,) = p.runs
    assert (run.start, run.end, run.ops) == (2.0, 6.0, 3000)  # 4000 by rate, capped
    _, op, where, prefix, width, count, names, _seed = run.argv
    assert (op, where, prefix, width, count, names) == (
        "lookup",
        "/mnt/vdb",
        "ab",
        "38",
        "3000",
        "500",
    )


def test_phases_cut_segments_with_their_parameters() -> None:
    p = plan(
        BASE
        + """
[[workload]]
type = "negative-dentry-storm"
memcg = "/box"
mount = "vdb"
params = { rate = 10000.0 }
[[workload.phases]]
at = 5.0
params = { rate = 2000.0 }
"""
    )
    first, second = p.runs
    assert (first.segment, first.start, first.end, first.ops) == (0, 0.0, 5.0, 50_000)
    assert (second.segment, second.start, second.end, second.ops) == (1, 5.0, 10.0, 10_000)
    assert first.argv[-1] != second.argv[-1]  # each segment its own seed


def test_memcg_lives_respawns_and_workloads_follow_them() -> None:
    p = plan(
        BASE
        + """
[[memcg]]
path = "/tmp1"
max = "8MiB"
create = 1.0
lifetime = 2.0
respawn = 1.0
[[workload]]
type = "create-open-close"
memcg = "/tmp1"
mount = "vdb"
params = { rate = 100.0, files = 150, lifetime = 0.5 }
"""
    )
    kinds = [(a.time, type(a).__name__, getattr(a, "path", "")) for a in p.actions]
    assert kinds == [
        (0.0, "Mount", ""),
        (0.0, "Mkdir", "/box"),
        (1.0, "Mkdir", "/tmp1"),
        (1.0, "Run", ""),
        (3.0, "Rmdir", "/tmp1"),
        (4.0, "Mkdir", "/tmp1"),
        (4.0, "Run", ""),
        (6.0, "Rmdir", "/tmp1"),
        (7.0, "Mkdir", "/tmp1"),
        (7.0, "Run", ""),
        (9.0, "Rmdir", "/tmp1"),
    ]
    runs = p.runs
    assert [r.ops for r in runs] == [150, 150, 150]  # min(files, rate x 2 s)
    assert [r.argv[3] for r in runs] == ["s0-", "s1-", "s2-"]  # names never collide
    assert runs[0].argv[2] == "/mnt/vdb/shrinkfw-create-0"
    assert runs[0].argv[5] == "50"  # rate x lifetime files live at once
    assert p.final_memcgs == ("/box",)
    assert p.disk is not None
    assert "shrinkfw-create-0" in p.disk.dirs


def test_a_memcg_removed_after_the_end_is_final() -> None:
    p = plan(BASE + '[[memcg]]\npath = "/x"\ncreate = 5.0\nlifetime = 5.0\n')
    assert p.final_memcgs == ("/box", "/x")
    assert not any(isinstance(a, Rmdir) for a in p.actions)


def test_nested_memcgs_enable_the_controller_for_children() -> None:
    p = plan(BASE + '[[memcg]]\npath = "/box/inner"\nmax = "4MiB"\n')
    mkdirs = [a for a in p.actions if isinstance(a, Mkdir)]
    assert [(m.path, m.subtree) for m in mkdirs] == [("/box", True), ("/box/inner", False)]
    assert "echo +memory > $CG/box/cgroup.subtree_control" in "\n".join(mkdirs[0].shell())


def test_read_and_walk_put_files_on_the_disk() -> None:
    p = plan(
        BASE
        + """
[[workload]]
type = "read-into-page-cache"
memcg = "/box"
mount = "vdb"
stop = 2.0
params = { rate = 50.0, files = 10, pages_per_file = 4, write = true }
[[workload]]
type = "path-walk"
memcg = "/box"
mount = "vdb"
stop = 1.0
params = { rate = 300.0, depth = 2, fanout = 3, files = 2, prefix = "p" }
"""
    )
    read, walk = p.runs
    assert read.argv == (HELPER, "read", "/mnt/vdb/shrinkfw-read-0", "10", "100", "16384", "1")
    assert walk.argv[:7] == (HELPER, "walk", "/mnt/vdb", "p", "2", "3", "2")
    assert walk.ops == 300
    disk = p.disk
    assert disk is not None
    sizes = {f.path: f.size for f in disk.files}
    assert sizes["shrinkfw-read-0/f9"] == 4 * 4096
    assert sizes["pd2/pd1/pf1"] == 0
    assert len([d for d in disk.dirs if d.startswith("pd")]) == 3 + 9
    assert disk.dirs.index("pd0") < disk.dirs.index("pd0/pd0")
    assert disk.inodes > len(disk.files) + len(disk.dirs)
    assert disk.size >= 64 << 20


def test_memory_reclaim_is_one_write_at_start() -> None:
    p = plan(
        BASE
        + '[[workload]]\ntype = "memory-reclaim"\nmemcg = "/box"\nstart = 4.0\n'
        + 'params = { amount = "2MiB" }\n'
    )
    (reclaim,) = [a for a in p.actions if isinstance(a, Reclaim)]
    assert (reclaim.time, reclaim.amount) == (4.0, 2 << 20)
    assert reclaim.shell() == ["echo 2097152 > $CG/box/memory.reclaim"]


def test_same_time_order_mount_mkdir_run_rmdir_umount() -> None:
    p = plan(
        BASE.replace('device = "vdb"', 'device = "vdb"\numount = 5.0')
        + '[[memcg]]\npath = "/a"\nlifetime = 5.0\n'
        + '[[workload]]\ntype = "negative-dentry-storm"\nmemcg = "/a"\nmount = "vdb"\n'
        + "stop = 5.0\n"
    )
    at5 = [type(a) for a in p.actions if a.time == 5.0]
    assert at5 == [Rmdir, Umount]
    at0 = [type(a) for a in p.actions if a.time == 0.0]
    assert at0 == [Mount, Mkdir, Mkdir, Run]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("[[consumer]]\ntype = \"oomd\"\n", "consumer[0].type", "not run in a calibration guest"),
        (
            '[[workload]]\ntype = "rm-rf"\nmemcg = "/box"\nmount = "vdb"\n',
            "workload[0].type",
            "cannot run workload 'rm-rf'",
        ),
        (
            '[[workload]]\ntype = "negative-dentry-storm"\nmemcg = "/box"\n',
            "workload[0].mount",
            "needs a mount",
        ),
        (
            '[[workload]]\ntype = "negative-dentry-storm"\nmemcg = "/box"\nmount = "vdb"\n'
            "params = { ratee = 1.0 }\n",
            "workload[0].params.ratee",
            "has no parameter 'ratee'",
        ),
        (
            '[[workload]]\ntype = "negative-dentry-storm"\nmemcg = "/box"\nmount = "vdb"\n'
            'params = { prefix = "a b" }\n',
            "workload[0].params.prefix",
            "prefix uses letters",
        ),
        (
            '[[workload]]\ntype = "path-walk"\nmemcg = "/box"\nmount = "vdb"\n'
            "params = { depth = 9, fanout = 10 }\n",
            "workload[0].params.depth",
            f"at most {MAX_TREE_ENTRIES}",
        ),
        (
            '[[workload]]\ntype = "memory-reclaim"\nmemcg = "/box"\n',
            "workload[0].params.amount",
            "needs amount",
        ),
        ('[[memcg]]\npath = "/box/c"\n[[workload]]\ntype = "negative-dentry-storm"\n'
         'memcg = "/box"\nmount = "vdb"\n', "workload[0].memcg", "has child memcgs"),
        ('[[memcg]]\npath = "/v1"\nkmem_limit = "1GiB"\n', "memcg[1].kmem_limit", "cgroup v2"),
        ('[[mount]]\nfs = "ext4"\ndevice = "vdc"\n', "mount[1].fs", "one disk"),
    ],
)  # fmt: skip
def test_refused_fields_are_named(extra: str, field: str, message: str) -> None:
    error = refused(BASE + extra)
    assert error.field == field
    assert error.file == "cal.toml"
    assert error.line is not None
    assert message in str(error)


def test_refused_machine_and_mount() -> None:
    assert refused(BASE.replace('memory = "256MiB"', "nodes = 2")).field == "machine.nodes"
    assert refused(BASE.replace('memory = "256MiB"', "swap = true")).field == "machine.swap"
    error = refused(BASE.replace('memory = "256MiB"', 'memory = "64MiB"'))
    assert error.field == "machine.memory"
    assert "at least 128 MiB" in str(error)
    error = refused(BASE.replace('fs = "ext4"', 'fs = "xfs"'))
    assert (error.field, error.line) == ("mount[0].fs", 7)
    assert str(error) == "cal.toml:7: mount[0].fs: a calibration guest mounts ext4 only, got 'xfs'"


def test_odd_memcg_names_are_refused() -> None:
    error = refused(BASE.replace('path = "/box"', 'path = "/b$x"'))
    assert error.field == "memcg[0].path"
