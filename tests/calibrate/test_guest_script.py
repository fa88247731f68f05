"""The guest's /init script, the initramfs and the qemu command line, without qemu.

The script's functions and actions are also run for real with the host's ``/bin/sh`` against
a scratch directory standing in for ``/sys/fs/cgroup``, and what they print is fed to the
console parser: the two halves of the protocol must agree.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from shrinkfw.calibrate.console import parse_console
from shrinkfw.calibrate.guest import (
    DISK_DEVICE,
    EVENTS,
    KERNEL_CMDLINE,
    build_initramfs,
    qemu_command,
    render_init,
)
from shrinkfw.calibrate.plan import HELPER, GuestPlan, Mkdir, Run, plan_guest
from shrinkfw.scenario import parse_scenario

SCENARIO = """\
name = "script"
duration = 4.0
[machine]
memory = "256MiB"
[[mount]]
fs = "ext4"
device = "disk"
[[memcg]]
path = "/box"
high = "8MiB"
max = "16MiB"
[[memcg]]
path = "/tmp1"
create = 1.0
lifetime = 1.0
[[workload]]
type = "negative-dentry-storm"
memcg = "/box"
mount = "disk"
params = { rate = 1000.0 }
[[workload]]
type = "memory-reclaim"
memcg = "/box"
start = 3.0
params = { amount = "1MiB" }
"""


@pytest.fixture(scope="module")
def plan() -> GuestPlan:
    return plan_guest(parse_scenario(SCENARIO, file="script.toml"))


@pytest.fixture(scope="module")
def script(plan: GuestPlan) -> str:
    return render_init(plan, trace_buffer_kb=4096)


def test_script_sets_up_the_guest(script: str) -> None:
    lines = script.splitlines()
    assert lines[0] == "#!/bin/sh"
    for needed in (
        "mount -t proc proc /proc",
        "mount -t sysfs sysfs /sys",
        "mount -t devtmpfs devtmpfs /dev",
        "mount -t tracefs tracefs $T",
        "mount -t cgroup2 cgroup2 $CG",
        "echo +memory > $CG/cgroup.subtree_control",
        "echo 4096 > $T/buffer_size_kb",
        f"DISK={DISK_DEVICE}",
        "section version /proc/version",
        "section trace $T/trace",
        "poweroff -f",
    ):
        assert any(line.startswith(needed) for line in lines), needed
    assert f"for e in {' '.join(EVENTS)}; do" in script
    # tracing is on exactly around the timeline
    assert script.index("echo 1 > $T/tracing_on") < script.index("mark timeline-begin")
    assert script.index("mark timeline-end") < script.index("echo 0 > $T/tracing_on\n\n#")
    assert script.index("section vmstat /proc/vmstat when=start") < script.index(
        "mark timeline-begin"
    )


def test_script_runs_the_actions_in_order_between_marks(plan: GuestPlan, script: str) -> None:
    timeline = script[script.index("# -- timeline") : script.index("# -- results")]
    begins = [line for line in timeline.splitlines() if line.startswith("mark begin")]
    assert begins == [f"mark begin action={i} kind={a.kind}" for i, a in enumerate(plan.actions)]
    assert timeline.count("status=$?") == len(plan.actions)
    assert "in_memcg $CG/box /bin/shrinkfw-load lookup /mnt/disk '' 16 4000 0 " in timeline
    assert "snapshot /tmp1 removed\nrmdir $CG/tmp1" in timeline
    assert "echo 1048576 > $CG/box/memory.reclaim" in timeline
    results = script[script.index("# -- results") :]
    assert "snapshot / final\nsnapshot /box final\n" in results
    assert "snapshot /tmp1 final" not in results


def test_no_disk_no_wait() -> None:
    plan = plan_guest(parse_scenario('[machine]\nmemory = "256MiB"\n'))
    assert plan.disk is None
    assert "$DISK" not in render_init(plan).split("# -- setup")[1]


@pytest.mark.parametrize("shell", ["busybox", "sh"])
def test_script_is_valid_shell(script: str, shell: str, tmp_path: Path) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"no {shell}")
    argv = [exe, "sh", "-n"] if shell == "busybox" else [exe, "-n"]
    path = tmp_path / "init"
    path.write_text(script)
    done = subprocess.run([*argv, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_functions_and_actions_speak_the_console_protocol(tmp_path: Path) -> None:
    """Run the script's functions and a few actions with /bin/sh against a scratch cgroup
    directory, and parse what they print."""
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    scenario = parse_scenario(SCENARIO, file="script.toml")
    plan = plan_guest(scenario)
    script = render_init(plan)
    functions = script[script.index("# -- functions") : script.index("# -- setup")]
    cg = tmp_path / "cgroup"
    cg.mkdir()
    (cg / "cgroup.stat").write_text("nr_descendants 1\nnr_dying_descendants 0\n")
    proc = tmp_path / "uptime"
    proc.write_text("12.50 20.00\n")
    mkdir = next(a for a in plan.actions if isinstance(a, Mkdir) and a.path == "/box")
    at = plan.actions.index(mkdir)
    run = Run(
        time=0.0,
        label="echo",
        memcg="/box",
        workload=0,
        segment=0,
        type="negative-dentry-storm",
        start=0.0,
        end=1.0,
        ops=3,
        argv=("echo", "@@shrinkfw", "result", "op=lookup", "ops=3", "missing=3"),
    )
    body = [
        functions.replace("< /proc/uptime", f"< {proc}"),
        f"CG={cg}",
        f"mark begin action={at} kind=mkdir",
        *mkdir.shell(),
        f"mark end action={at} status=$?",
        "printf 'anon 0\\nslab_reclaimable 8192\\n' > $CG/box/memory.stat",
        "echo 4096 > $CG/box/memory.current",
        "mark begin action=99 kind=run",
        *run.shell(),
        "mark end action=99 status=$?",
        "snapshot / final",
        "snapshot /box final",
        "say done",
    ]
    done = subprocess.run(
        [sh, "-c", "\n".join(body)], capture_output=True, text=True, check=False, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert (cg / "box" / "memory.high").read_text() == f"{8 << 20}\n"
    assert (cg / "box" / "memory.max").read_text() == f"{16 << 20}\n"
    assert (cg / "box" / "cgroup.procs").read_text().strip().isdigit()
    result = parse_console(done.stdout, plan=plan)
    assert result.complete
    assert [(a.index, a.kind, a.status) for a in result.actions] == [
        (at, "mkdir", 0),
        (99, "run", 0),
    ]
    assert result.actions[0].label == "mkdir /box"  # labels are the plan's, by index
    assert result.actions[1].label == ""
    assert result.actions[1].result == {"ops": 3, "missing": 3}
    assert result.actions[1].begin == pytest.approx(12.5)
    box = result.memcg("/box", "final")
    assert box.memory_current == 4096
    assert box.memory_stat == {"anon": 0, "slab_reclaimable": 8192}
    assert result.memcg("/").cgroup_stat == {"nr_descendants": 1, "nr_dying_descendants": 0}


def _read_newc(data: bytes) -> dict[str, tuple[int, bytes, int, int]]:
    """name -> (mode, data, rdevmajor, rdevminor) of a newc archive."""
    out: dict[str, tuple[int, bytes, int, int]] = {}
    pos = 0
    while True:
        assert data[pos : pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_at = pos + 110
        name = data[name_at : name_at + namesize - 1].decode()
        body_at = name_at + namesize + (-(110 + namesize) % 4)
        body = data[body_at : body_at + filesize]
        pos = body_at + filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            return out
        out[name] = (fields[1], body, fields[9], fields[10])


def test_initramfs_holds_init_busybox_applets_helper_and_console(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"#!/bin/sh\necho sh; echo mount; echo ls\n")  # answers --list
    busybox.chmod(0o755)
    helper = tmp_path / "helper"
    helper.write_bytes(b"\x7fELF helper")
    out = build_initramfs(
        "#!/bin/sh\necho hi\n", busybox=busybox, helper=helper, out=tmp_path / "i.gz"
    )
    entries = _read_newc(gzip.decompress(out.read_bytes()))
    assert entries["init"][0] == 0o100755
    assert entries["init"][1] == b"#!/bin/sh\necho hi\n"
    assert entries["bin/busybox"][1] == busybox.read_bytes()
    assert entries[HELPER.lstrip("/")] == (0o100755, b"\x7fELF helper", 0, 0)
    assert entries["bin/sh"] == (0o120777, b"busybox", 0, 0)
    assert entries["bin/poweroff"][1] == b"busybox"  # always linked
    assert entries["dev/console"] == (0o020600, b"", 5, 1)
    for d in ("proc", "sys", "dev", "mnt", "tmp"):
        assert entries[d][0] == 0o040755
    # reproducible: no timestamps
    again = build_initramfs(
        "#!/bin/sh\necho hi\n", busybox=busybox, helper=helper, out=tmp_path / "j.gz"
    )
    assert again.read_bytes() == out.read_bytes()


def test_qemu_command_line(tmp_path: Path) -> None:
    argv = qemu_command(
        Path("/usr/bin/qemu-system-x86_64"),
        kernel=Path("/k/vmlinuz"),
        initrd=Path("/w/initrd"),
        memory=512 << 20,
        disk=Path("/w,x/disk.img"),
    )
    text = " ".join(argv)
    assert argv[0] == "/usr/bin/qemu-system-x86_64"
    for part in (
        "-machine q35",
        "-accel tcg",
        "-cpu max",
        "-m 512M",
        "-smp 2",
        "-nographic",
        "-no-reboot",
        "-kernel /k/vmlinuz",
        "-initrd /w/initrd",
        "-drive file=/w,,x/disk.img,if=none,id=d0,format=raw",
        "-device nvme,drive=d0,serial=shrinkfw",
    ):
        assert part in text
    assert argv[argv.index("-append") + 1] == KERNEL_CMDLINE
    assert "-drive" not in qemu_command(
        Path("q"), kernel=Path("k"), initrd=Path("i"), memory=256 << 20
    )


def _fake_qemu(code: str) -> list[str]:
    import sys

    return [sys.executable, "-c", code]


def test_boot_streams_marks_and_kills_a_guest_past_its_time(tmp_path: Path) -> None:
    from shrinkfw.calibrate.errors import GuestTimeout
    from shrinkfw.calibrate.guest import _boot

    marks: list[str] = []
    argv = _fake_qemu(
        "import time\n"
        "print('\\x1bc\\x1b[2JSeaBIOS', flush=True)\n"
        "print('@@shrinkfw mark init uptime=1.50', flush=True)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(GuestTimeout) as info:
        _boot(
            argv,
            console=tmp_path / "console.log",
            qemu_log=tmp_path / "qemu.log",
            timeout=1.5,
            progress=marks.append,
        )
    assert "time limit of 1.5 s" in str(info.value)
    assert info.value.console_tail == "SeaBIOS\n@@shrinkfw mark init uptime=1.50"
    assert marks == ["init uptime=1.50"]


def test_boot_returns_the_exit_status(tmp_path: Path) -> None:
    from shrinkfw.calibrate.guest import _boot

    code, seconds = _boot(
        _fake_qemu("import sys; print('@@shrinkfw done'); sys.exit(3)"),
        console=tmp_path / "console.log",
        qemu_log=tmp_path / "qemu.log",
        timeout=30,
        progress=None,
    )
    assert code == 3
    assert 0 < seconds < 30
    assert (tmp_path / "console.log").read_text() == "@@shrinkfw done\n"


def test_module_main_reports_bad_scenarios_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shrinkfw.calibrate.guest import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[machine]\nmemory = "256MiB"\n[[mount]]\nfs = "xfs"\ndevice = "d"\n')
    assert main([str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"shrinkfw calibrate: error: {bad}:4: mount[0].fs: a calibration guest mounts ext4 "
        "only, got 'xfs'\n"
    )
    assert not (tmp_path / "out").exists()


def test_run_guest_checks_its_arguments(tmp_path: Path) -> None:
    from shrinkfw.calibrate.guest import run_guest
    from shrinkfw.errors import UsageError

    scenario = parse_scenario('[machine]\nmemory = "256MiB"\n')
    with pytest.raises(UsageError, match="cpus=0"):
        run_guest(scenario, out_dir=tmp_path, cpus=0)
