"""Calibration against a real kernel: run a scenario's workloads on Linux under qemu.

- :mod:`shrinkfw.calibrate.toolchain` finds (or, asked to, installs) qemu, a static busybox,
  ``mkfs.ext4``, gcc and a Debian kernel, and says what is missing;
- :mod:`shrinkfw.calibrate.plan` maps a scenario to the guest's timeline and disk;
- :mod:`shrinkfw.calibrate.guest` builds the initramfs and the disk, boots qemu and runs it
  all (:func:`run_guest`; ``python -m shrinkfw.calibrate.guest SCENARIO --out DIR``);
- :mod:`shrinkfw.calibrate.console` parses the serial console into a :class:`GuestResult`.

Only the standard library and the host tools are needed. Names are imported lazily, so
``python -m shrinkfw.calibrate.guest`` runs the module once.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .console import ActionRecord, GuestResult, MemcgCounters, parse_console
    from .errors import CalibrateError, GuestFailed, GuestTimeout, ToolchainError
    from .guest import run_guest
    from .plan import GuestPlan, plan_guest
    from .toolchain import Kernel, ToolchainReport, check, install, resolve_kernel

__all__ = [
    "ActionRecord",
    "CalibrateError",
    "GuestFailed",
    "GuestPlan",
    "GuestResult",
    "GuestTimeout",
    "Kernel",
    "MemcgCounters",
    "ToolchainError",
    "ToolchainReport",
    "check",
    "install",
    "parse_console",
    "plan_guest",
    "resolve_kernel",
    "run_guest",
]

_WHERE = {
    "ActionRecord": "console",
    "GuestResult": "console",
    "MemcgCounters": "console",
    "parse_console": "console",
    "CalibrateError": "errors",
    "GuestFailed": "errors",
    "GuestTimeout": "errors",
    "ToolchainError": "errors",
    "run_guest": "guest",
    "GuestPlan": "plan",
    "plan_guest": "plan",
    "Kernel": "toolchain",
    "ToolchainReport": "toolchain",
    "check": "toolchain",
    "install": "toolchain",
    "resolve_kernel": "toolchain",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
