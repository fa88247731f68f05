"""The exceptions shrinkfw raises; every one derives from :class:`ShrinkfwError`."""

from __future__ import annotations

__all__ = [
    "AllocationError",
    "ContractViolation",
    "PluginError",
    "ProfileError",
    "ScenarioError",
    "ShrinkfwError",
    "TraceError",
    "UsageError",
]


class ShrinkfwError(Exception):
    """Base class of every error shrinkfw raises on purpose."""


class AllocationError(ShrinkfwError, MemoryError):
    """A simulated allocation failed (``-ENOMEM``): a memcg at its limit that reclaim could
    not bring down, or a machine out of free memory. Raised where the kernel would return
    ``NULL`` to a caller that must handle it (``iget``)."""


class UsageError(ShrinkfwError, ValueError):
    """A caller used an API or the command line wrongly; the message says how to fix it."""


class ProfileError(ShrinkfwError, LookupError):
    """An unknown kernel profile or era, or a profile asked for something it does not model."""


class PluginError(ShrinkfwError):
    """A plugin failed; the message names the plugin and the hook or shrinker."""

    plugin: str = ""


class ContractViolation(PluginError):
    """A shrinker or isolate callback broke the contract (negative count, freed > held, …).

    :ivar plugin: the plugin held responsible ("" when unknown).
    :ivar shrinker: the shrinker that was running ("" outside a shrinker call).
    :ivar rule: the broken rule in a few words.
    """

    def __init__(self, message: str, *, plugin: str = "", shrinker: str = "", rule: str = ""):
        super().__init__(message)
        self.plugin = plugin
        self.shrinker = shrinker
        self.rule = rule or message


class _LocatedError(ShrinkfwError, ValueError):
    """An input error that points at a place: the file, the line and the field."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, field: str = ""
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ScenarioError(_LocatedError):
    """A scenario file is malformed: names the file, the line and the field path."""


class TraceError(_LocatedError):
    """An ftrace text file cannot be read: names the file and the line."""
