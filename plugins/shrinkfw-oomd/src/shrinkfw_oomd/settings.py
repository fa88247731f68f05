"""The ``oomd`` consumer's settings: defaults, meaning and validation.

Every setting is checked before the consumer registers anything; a bad one raises
``UsageError`` whose message starts with ``oomd: <setting>:``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from shrinkfw import UsageError
from shrinkfw.vmpressure import Level

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shrinkfw import MemCgroup, Simulation

__all__ = ["CONSUMER_NAME", "PARAMS", "VICTIM_POLICIES", "OomdSettings", "parse_settings"]

#: The consumer's registered name, and the ``Decision.consumer`` of its decisions.
CONSUMER_NAME: Final = "oomd"
#: How a victim is chosen among the candidates.
VICTIM_POLICIES: Final = ("largest", "youngest")
#: Settings and their defaults (a scenario's TOML table uses the same names).
PARAMS: Final[dict[str, object]] = {
    "watch": ["/"],
    "level": "medium",
    "duration": 1.0,
    "gap": 0.5,
    "cooldown": 2.0,
    "victim": "largest",
    "protect": [],
    "dry_run": False,
    "min_usage_bytes": 0,
}
_LEVELS: Final = {level.label: level for level in Level}


def default_params() -> dict[str, object]:
    """A fresh copy of :data:`PARAMS` (its lists are not shared)."""
    return copy.deepcopy(PARAMS)


@dataclass(frozen=True, slots=True)
class OomdSettings:
    """Validated settings of one ``oomd`` run.

    :ivar watch: the watched memcgs, in the order given: each one's pressure is observed, and
        its descendants are the kill candidates.
    :ivar level: the lowest vmpressure level that counts as pressure.
    :ivar duration: seconds pressure must have lasted before oomd acts (``pressure_above``'s
        ``duration``).
    :ivar gap: the longest silence, in seconds, between two qualifying events for the
        pressure to count as one sustained episode.
    :ivar cooldown: seconds after a decision on a watched memcg before the next decision on
        it (``post_action_delay`` of oomd's kill plugins).
    :ivar victim: ``"largest"`` or ``"youngest"``.
    :ivar protect: paths never killed, with everything below them.
    :ivar dry_run: record the decisions, kill nothing (oomd's ``dry=true``).
    :ivar min_usage_bytes: a memcg using less than this is never killed.
    """

    watch: tuple[MemCgroup, ...]
    level: Level
    duration: float
    gap: float
    cooldown: float
    victim: str
    protect: tuple[str, ...]
    dry_run: bool
    min_usage_bytes: int


def _bad(setting: str, message: str) -> UsageError:
    return UsageError(f"{CONSUMER_NAME}: {setting}: {message}")


def _seconds(values: Mapping[str, object], name: str, *, zero_ok: bool) -> float:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(name, f"must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        raise _bad(name, f"must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
    return float(value)


def _paths(values: Mapping[str, object], name: str) -> tuple[str, ...]:
    value = values[name]
    if not isinstance(value, list | tuple):
        raise _bad(name, f"must be a list of memcg paths, got {value!r}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.startswith("/"):
            raise _bad(name, f"{item!r} is not a memcg path (they start with '/')")
        path = "/" + item.strip("/") if item.strip("/") else "/"
        if path in out:
            raise _bad(name, f"{item!r} is listed twice")
        out.append(path)
    return tuple(out)


def parse_settings(sim: Simulation, params: Mapping[str, object]) -> OomdSettings:
    """Check ``params`` against :data:`PARAMS` and resolve the watched memcgs in ``sim``.

    :raises UsageError: an unknown setting, a value of the wrong type or range, or a watched
        path with no online memcg; the message names the setting.
    """
    unknown = [name for name in params if name not in PARAMS]
    if unknown:
        raise UsageError(
            f"{CONSUMER_NAME}: unknown setting {unknown[0]!r} (known: {', '.join(PARAMS)})"
        )
    values = {**PARAMS, **params}
    watch_paths = _paths(values, "watch")
    if not watch_paths:
        raise _bad("watch", "must name at least one memcg")
    watch = []
    for path in watch_paths:
        try:
            watch.append(sim.memcgs.get(path))
        except UsageError as exc:
            raise _bad("watch", str(exc)) from None
    level = values["level"]
    if isinstance(level, str) and level in _LEVELS:
        level = _LEVELS[level]
    if not isinstance(level, Level):
        raise _bad("level", f"must be one of {', '.join(_LEVELS)}, got {level!r}")
    duration = _seconds(values, "duration", zero_ok=False)
    gap = _seconds(values, "gap", zero_ok=False)
    cooldown = _seconds(values, "cooldown", zero_ok=True)
    victim = values["victim"]
    if victim not in VICTIM_POLICIES:
        raise _bad("victim", f"must be one of {', '.join(VICTIM_POLICIES)}, got {victim!r}")
    assert isinstance(victim, str)
    protect = _paths(values, "protect")
    dry_run = values["dry_run"]
    if not isinstance(dry_run, bool):
        raise _bad("dry_run", f"must be true or false, got {dry_run!r}")
    floor = values["min_usage_bytes"]
    if isinstance(floor, bool) or not isinstance(floor, int) or floor < 0:
        raise _bad("min_usage_bytes", f"must be an integer >= 0, got {floor!r}")
    return OomdSettings(
        watch=tuple(watch),
        level=level,
        duration=duration,
        gap=gap,
        cooldown=cooldown,
        victim=victim,
        protect=protect,
        dry_run=dry_run,
        min_usage_bytes=floor,
    )
