"""The dead-memcg reaper of kmemcg v15 13/13, as a consumer that can be configured and moved.

The seed patch set ends with "memcg: reap dead memcgs upon global memory pressure" (13/13).
On the seed, a removed memcg stays allocated ("dangling", ``DYING`` here) for as long as any
slab page of its per-memcg caches is still charged to it, and an empty slab page can sit in a
cache's partial list indefinitely. The patch puts each removed memcg on a ``dangling_memcgs``
list and registers an in-kernel vmpressure callback on the root memcg
(``memcg_register_kmem_events``, the v15 12/13 ``vmpressure_register_kernel_event`` API). On
every root window the callback walks the list and calls ``kmem_cache_shrink`` on each cache of
each dead memcg (``memcg_vmpressure_shrink_dead``, spec §5 and §6.5). Once the last empty
slab page is released the last kmem uncharge frees the memcg.

The core already runs that callback on the seed profile (``Simulation._reap_dead``, reachable
as ``sim.dead_memcg_reaper``). This consumer is the same mechanism with its knobs exposed:

* where the listener sits (``memcg``), and so which windows reach it under the era's
  propagation rules;
* which level it waits for (``level``): at ``"low"`` on a profile with in-kernel events it is
  a kernel callback that runs for every window, like the patch; at ``"medium"`` or
  ``"critical"``, or on a profile without in-kernel events, it is a userspace eventfd
  (``vmpressure_register_event``) whose reader does the reaping, i.e. a daemon that reacts to
  ``memory.pressure_level`` notifications;
* whether it takes over from the kernel's own reaper (``replace_builtin``);
* a minimum interval between two reaps (``min_interval``);
* which reaps become decisions (``record``): ``"freed"`` (the default) only those that
  released slab pages or freed a memcg, ``"all"`` every reap that found dead memcgs. A dead
  memcg whose objects are still in use is found again by every window; reaping it in vain
  is counted on the run (``empty_reaps``) but is not news.

``kmem_cache_shrink`` frees no live object; it releases empty slab pages. A reap therefore
reports pages (``Decision.freed_pages``, what ``SlabAllocator.shrink_dead`` returns) and no
objects. On profiles whose slab has no per-memcg caches (objcg, v5.9+; the v6.7 profile) the
shrink releases nothing: dead memcgs there are pinned by page cache, which only page reclaim
frees.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from shrinkfw import MemcgState, UsageError
from shrinkfw.consumer import Decision
from shrinkfw.vmpressure import Level

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.vmpressure import Listener, PressureEvent

__all__ = ["CONSUMER_NAME", "PARAMS", "DeadMemcgReaper", "start_reaper"]

#: The consumer's registered name, and the ``Decision.consumer`` of its decisions.
CONSUMER_NAME: Final = "reaper"
#: Settings and their defaults.
PARAMS: Final[dict[str, object]] = {
    "level": "low",
    "memcg": "/",
    "replace_builtin": True,
    "min_interval": 0.0,
    "record": "freed",
}
_RECORD: Final = ("freed", "all")
#: ``Decision.plugin`` when the consumer is started without being registered.
_DEFAULT_PLUGIN: Final = "shrinkfw_reaper"
_LEVELS: Final = {level.label: level for level in Level}


class DeadMemcgReaper:
    """A started reaper: one vmpressure listener that shrinks dead memcgs' caches.

    Create it with :func:`start_reaper`.

    :ivar sim: the simulation.
    :ivar memcg: the memcg the listener sits on; dead memcgs of its subtree are reaped (all
        of them with the default ``"/"``, as the patch does).
    :ivar level: the lowest window level that makes it reap.
    :ivar min_interval: seconds that must pass after a reap before the next one.
    :ivar listener: its vmpressure listener (a kernel callback or a userspace eventfd).
    :ivar replaced: the kernel's built-in reaper listener that this run unregistered, if any.
    :ivar deliveries: windows delivered to the listener.
    :ivar record: ``"freed"``: only reaps that released something are decisions; ``"all"``.
    :ivar reaps: deliveries that found dead memcgs and shrank their caches.
    :ivar empty_reaps: reaps that released no page and freed no memcg.
    :ivar rate_limited: deliveries ignored because of ``min_interval``.
    :ivar nested: deliveries that arrived while a reap was running (a memcg freed by the
        reap flushes its own pending vmpressure work) and were ignored.
    :ivar freed_pages: slab pages released by all reaps.
    :ivar memcgs_freed: dead memcgs freed by all reaps.
    :ivar decisions: this run's decisions, oldest first.
    :ivar last_reap: time of the last reap, ``None`` before the first.
    :ivar stopped: :meth:`stop` was called.
    """

    __slots__ = (
        "_plugin",
        "_reaping",
        "decisions",
        "deliveries",
        "empty_reaps",
        "freed_pages",
        "last_reap",
        "level",
        "listener",
        "memcg",
        "memcgs_freed",
        "min_interval",
        "nested",
        "rate_limited",
        "reaps",
        "record",
        "replaced",
        "sim",
        "stopped",
    )

    def __init__(
        self,
        sim: Simulation,
        *,
        memcg: MemCgroup,
        level: Level,
        replace_builtin: bool,
        min_interval: float,
        record: str = "freed",
        plugin: str = _DEFAULT_PLUGIN,
    ) -> None:
        self.sim = sim
        self.memcg = memcg
        self.level = level
        self.min_interval = min_interval
        self.record = record
        self.empty_reaps = 0
        self._plugin = plugin
        self._reaping = False
        self.deliveries = 0
        self.reaps = 0
        self.rate_limited = 0
        self.nested = 0
        self.freed_pages = 0
        self.memcgs_freed = 0
        self.decisions: list[Decision] = []
        self.last_reap: float | None = None
        self.stopped = False
        self.replaced: Listener | None = None
        builtin = sim.dead_memcg_reaper
        if replace_builtin and builtin is not None and builtin.registered:
            sim.vmpressure.unregister(builtin)
            self.replaced = builtin
        vmpressure = sim.vmpressure
        if level is Level.LOW and vmpressure.policy.kernel_events:
            self.listener = vmpressure.register_kernel_event(
                memcg, self.deliver, name=CONSUMER_NAME
            )
        else:
            self.listener = vmpressure.register_event(
                memcg, level, name=CONSUMER_NAME, reader=self.deliver
            )

    def __repr__(self) -> str:
        kind = "kernel" if self.listener.kernel else self.level.label
        return (
            f"<DeadMemcgReaper {kind} on {self.memcg.path} reaps={self.reaps} "
            f"freed_pages={self.freed_pages} memcgs_freed={self.memcgs_freed}>"
        )

    @property
    def kernel(self) -> bool:
        """Whether the listener is an in-kernel callback (the patch's own form)."""
        return self.listener.kernel

    def deliver(self, event: PressureEvent) -> None:
        """One window reached the listener: shrink the caches of the dead memcgs below it.

        Models the v15 13/13 callback: walk the dead memcgs (the patch's ``dangling_memcgs``
        list; here the ``DYING`` memcgs of the listener's subtree, in pre-order) and
        ``kmem_cache_shrink`` every cache each of them created (``sim.slab.shrink_dead``).
        Records a ``"reap"`` decision when the reap released something (with
        ``record="all"``: whenever there was something to reap).
        """
        if self.stopped:
            return
        self.deliveries += 1
        if self._reaping:
            self.nested += 1
            return
        sim = self.sim
        now = sim.now
        if self.last_reap is not None and now - self.last_reap < self.min_interval:
            self.rate_limited += 1
            return
        scope = self.memcg
        if scope.state is MemcgState.FREED:
            return
        dead = [m for m in sim.memcgs.iter(scope) if m.state is MemcgState.DYING]
        if not dead:
            return
        self._reaping = True
        try:
            pages = sim.slab.shrink_dead(dead)
        finally:
            self._reaping = False
        freed = sum(1 for m in dead if m.state is MemcgState.FREED)
        self.reaps += 1
        self.last_reap = now
        self.freed_pages += pages
        self.memcgs_freed += freed
        if not pages and not freed:
            self.empty_reaps += 1
            if self.record == "freed":
                return
        origin = f" of {event.origin.path}" if event.ancestor else ""
        decision = Decision(
            time=now,
            consumer=CONSUMER_NAME,
            plugin=self._plugin,
            action="reap",
            memcg=scope.path,
            reason=(
                f"{event.level.label} pressure on {event.memcg.path} (window{origin} "
                f"{event.scanned} scanned, {event.reclaimed} reclaimed): "
                f"{_plural(len(dead), 'dead memcg')}, {freed} freed, "
                f"{_plural(pages, 'slab page')} released"
            ),
            freed_pages=pages,
        )
        self.decisions.append(decision)
        sim.record_decision(decision)

    def stop(self) -> None:
        """Unregister the listener and give the kernel back the built-in reaper this run
        replaced (a new kernel callback with the same function on the same memcg, which
        becomes ``sim.dead_memcg_reaper``). Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        sim = self.sim
        sim.vmpressure.unregister(self.listener)
        old = self.replaced
        self.replaced = None
        if old is None or old.fn is None or sim.dead_memcg_reaper is not old:
            return
        if old.memcg.state is MemcgState.FREED:
            return
        sim.dead_memcg_reaper = sim.vmpressure.register_kernel_event(
            old.memcg, old.fn, name=old.name
        )


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _bad(setting: str, message: str) -> UsageError:
    return UsageError(f"{CONSUMER_NAME}: {setting}: {message}")


def _plugin_name(sim: Simulation) -> str:
    """The name the consumer was registered under by the running simulation, if it was."""
    if CONSUMER_NAME in sim.consumers:
        registered = sim.consumers.get(CONSUMER_NAME)
        if registered.start is start_reaper:
            return registered.plugin
    return _DEFAULT_PLUGIN


def start_reaper(sim: Simulation, **params: Any) -> DeadMemcgReaper:
    """Start the reaper on ``sim`` (the ``start`` of the ``reaper`` consumer).

    Settings (defaults in :data:`PARAMS`): ``level`` (``"low"``, ``"medium"`` or
    ``"critical"``), ``memcg`` (path of an online memcg), ``replace_builtin`` (bool),
    ``min_interval`` (seconds, finite, >= 0), ``record`` (``"freed"`` or ``"all"``).
    Everything is checked before anything is registered.

    :raises UsageError: an unknown setting or a bad value; the message names the setting.
    """
    unknown = [name for name in params if name not in PARAMS]
    if unknown:
        raise UsageError(
            f"{CONSUMER_NAME}: unknown setting {unknown[0]!r} (known: {', '.join(PARAMS)})"
        )
    values = {**PARAMS, **params}
    level = _level(values["level"])
    path = values["memcg"]
    if not isinstance(path, str):
        raise _bad("memcg", f"must be a memcg path such as '/', got {path!r}")
    try:
        memcg = sim.memcgs.get(path)
    except UsageError as exc:
        raise _bad("memcg", str(exc)) from None
    replace = values["replace_builtin"]
    if not isinstance(replace, bool):
        raise _bad("replace_builtin", f"must be true or false, got {replace!r}")
    interval = values["min_interval"]
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not math.isfinite(interval)
        or interval < 0
    ):
        raise _bad("min_interval", f"must be a number of seconds >= 0, got {interval!r}")
    record = values["record"]
    if record not in _RECORD:
        raise _bad("record", f"must be one of {', '.join(_RECORD)}, got {record!r}")
    return DeadMemcgReaper(
        sim,
        memcg=memcg,
        level=level,
        replace_builtin=replace,
        min_interval=float(interval),
        record=str(record),
        plugin=_plugin_name(sim),
    )


def _level(value: object) -> Level:
    if isinstance(value, Level):
        return value
    if isinstance(value, str) and value in _LEVELS:
        return _LEVELS[value]
    raise _bad("level", f"must be one of {', '.join(_LEVELS)}, got {value!r}")
