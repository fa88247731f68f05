"""The exceptions of :mod:`shrinkfw.calibrate`; each derives from
:class:`~shrinkfw.errors.ShrinkfwError`, so the ``shrinkfw`` command prints them as one line.

A scenario that asks for what the guest cannot do raises the core's
:class:`~shrinkfw.errors.ScenarioError` (file, line and field), not one of these.
"""

from __future__ import annotations

from ..errors import ShrinkfwError

__all__ = ["CalibrateError", "GuestFailed", "GuestTimeout", "ToolchainError"]


class CalibrateError(ShrinkfwError):
    """Base class of the calibration errors."""


class ToolchainError(CalibrateError):
    """A host part is missing or unusable (qemu, busybox, mkfs.ext4, gcc, the kernel); the
    message says which and the command that fixes it."""


class GuestFailed(CalibrateError):
    """The guest did not finish its script: qemu failed to start, the kernel panicked, or
    ``/init`` reported an error. ``console_tail`` holds the last lines it printed.

    :ivar console_tail: the last lines of the serial console ("" when nothing was printed).
    """

    def __init__(self, message: str, *, console_tail: str = "") -> None:
        if console_tail:
            message = f"{message}\n--- last lines of the guest console ---\n{console_tail}"
        super().__init__(message)
        self.console_tail = console_tail


class GuestTimeout(GuestFailed):
    """The guest ran past its time limit and qemu was killed."""
