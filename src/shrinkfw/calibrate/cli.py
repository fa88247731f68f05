"""``shrinkfw calibrate``: run a scenario on a real kernel under qemu and in the simulator.

``shrinkfw calibrate --check`` says which host parts are there and how to get the others;
``shrinkfw calibrate --setup`` installs them (apt, as root) and fetches a Debian cloud
kernel; ``shrinkfw calibrate SCENARIO`` runs both sides and writes the comparison. Exit codes:
0 the calibration ran (whatever the verdicts), 1 ``--check`` found parts missing, 2 bad
input, a missing part or a guest that failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``calibrate`` to the ``shrinkfw`` sub-command parser."""
    cal = sub.add_parser(
        "calibrate",
        help="run a scenario on a real Linux kernel under qemu and compare with the model",
        description="Run a scenario's workloads on a real Linux kernel (qemu, busybox "
        "initramfs, ext4 on emulated NVMe) and in the simulator, and compare them.",
    )
    cal.add_argument("scenario", nargs="?", help="a calibration scenario (TOML)")
    cal.add_argument(
        "--kernel", metavar="PATH-or-PACKAGE", help="a vmlinuz, a .deb, or a Debian package name"
    )
    cal.add_argument("--profile", help="simulator profile (default: the kernel's version's)")
    cal.add_argument(
        "--out",
        default="shrinkfw-calibration",
        help="output directory (default: ./shrinkfw-calibration/)",
    )
    cal.add_argument("--timeout", type=float, default=300.0, help="seconds for the guest")
    cal.add_argument("--check", action="store_true", help="report the host parts and exit")
    cal.add_argument(
        "--setup", action="store_true", help="install the host parts (apt) and fetch a kernel"
    )
    cal.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    cal.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from . import toolchain

    if args.check or args.setup:
        report = (
            toolchain.install(args.kernel, log=lambda line: print(f"+ {line}"))
            if args.setup
            else toolchain.check(args.kernel)
        )
        print(report.describe())
        return 0 if report.ok else 1
    if args.scenario is None:
        raise UsageError("shrinkfw calibrate: give a SCENARIO, or --check / --setup")
    from ..scenario import load_scenario
    from .run import calibrate

    scenario = load_scenario(args.scenario)

    def show(message: str) -> None:
        if not args.quiet:
            print(f"calibrate: {message}", file=sys.stderr, flush=True)

    show("booting the guest")
    result = calibrate(
        scenario,
        out=Path(args.out),
        kernel=args.kernel,
        profile=args.profile,
        timeout=args.timeout,
        progress=show,
    )
    v, check = result["verdicts"], result["real_trace_check"]
    print(f"kernel: {result['kernel']}")
    print(f"profile: {result['profile']}  {result['profile_note']}".rstrip())
    print(
        f"real trace: {check['matched']}/{check['checked']} lines match the model's "
        f"arithmetic ({', '.join(check['eras'])})"
    )
    for c in result["comparisons"]:
        mark = "agree " if c["verdict"] == "agree" else "DIFFER"
        print(f"  {mark} {c['quantity']}" + (f" [{c['memcg']}]" if c["memcg"] else ""))
        if c["verdict"] != "agree":
            print(f"         real {c['real']}  simulated {c['simulated']}")
    print(f"{v['agree']} agree, {v['differ']} differ; report: {Path(args.out) / 'report.html'}")
    return 0
