"""A userspace OOM killer that acts on sustained vmpressure: the model of oomd and lmkd.

What it models
    Userspace killers do not wait for the kernel's OOM killer. Meta's oomd pairs a detector,
    ``pressure_above`` (a cgroup's memory pressure over a threshold for ``duration``
    seconds; the time it first crossed is kept and forgotten as soon as it drops below), with
    an action, ``kill_by_memory_size_or_growth`` (kill the biggest child cgroup of the ones
    configured, then sleep ``post_action_delay``; ``dry=true`` only logs the kill). Android's
    lmkd, in its vmpressure mode (before PSI), opens ``memory.pressure_level`` eventfds through
    ``cgroup.event_control`` for each level (``init_mp_common``) and, woken by one
    (``mp_event_common``), picks and kills a victim (``find_and_kill_process``) unless a
    previous kill is still pending.

    Here pressure is what the kernel model reports through vmpressure: each watched memcg
    gets a userspace listener (``vmpressure_register_event`` at ``level``), whose reader is
    the daemon waking on its eventfd. oomd itself reads PSI averages rather than vmpressure;
    the model swaps the signal and keeps the policy:

    * **Sustained.** Qualifying events (the kernel delivers only windows at or above the
      listener's level) form one episode while no two are more than ``gap`` seconds apart;
      a longer silence starts a new one. The daemon acts at the first event at which the
      episode has lasted at least ``duration`` seconds.
    * **Asynchronous.** The reader only notes the event and, when it is time to act,
      schedules the action on the simulation clock with no delay: it runs right after the
      kernel work (and the allocation that caused it) returns, as a daemon's ``kill`` runs
      after its ``read`` of the eventfd, never inside reclaim.
    * **Victim.** Candidates are the online leaf memcgs below the watched memcg (online
      memcgs with no online child); a watched memcg with none is its own only candidate,
      except the root, which is never killed. Protected subtrees and memcgs below
      ``min_usage_bytes`` are left out. ``"largest"`` takes the largest ``memory.current``
      (oomd's size rule; ties go to the first in tree order), ``"youngest"`` the most
      recently created (the model's stand-in for lmkd's ``oom_score_adj`` classes, which
      it does not have: the newest container goes first).
      Candidates are looked up at decision time, so containers created or removed meanwhile
      are seen as they are then.
    * **Kill.** ``sim.kill_memcg(victim)`` (``cgroup.kill``: every task of the subtree dies,
      its anonymous memory is freed at once) then ``sim.rmdir(victim)``, as a container
      manager removes the cgroup of a dead container.
    * **Cooldown.** No decision for a watched memcg until ``cooldown`` seconds after its
      previous one (oomd's ``post_action_delay``, lmkd's pending-kill wait). The episode
      itself is not reset: pressure that outlasts a kill leads to the next kill as soon as
      the cooldown ends, as oomd's detector, still above its threshold, fires again.

    A watched memcg that goes away (removed, or killed as its own candidate) stops being
    listened to; the other watched memcgs carry on. A memcg re-created at the same path is a
    new memcg and is not re-attached.

Times are the clock's float sums; comparisons allow :data:`TIME_SLACK` seconds of rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from itertools import count
from typing import TYPE_CHECKING, Any, Final

from shrinkfw import MemcgState, UsageError
from shrinkfw.consumer import Decision
from shrinkfw.memcg import PAGE_SIZE
from shrinkfw.vmpressure import Level

from .settings import CONSUMER_NAME, OomdSettings, parse_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.clock import EventHandle
    from shrinkfw.vmpressure import Listener, PressureEvent

__all__ = [
    "TIME_SLACK",
    "Births",
    "Candidates",
    "Oomd",
    "OomdConsumer",
    "Trigger",
    "Watch",
    "find_candidates",
    "registered_consumer",
    "start_oomd",
]

#: Seconds of float rounding tolerated when comparing times with durations.
TIME_SLACK: Final = 1e-9
_MiB: Final = 1 << 20
_DEFAULT_PLUGIN: Final = "shrinkfw_oomd"


class Births:
    """When each memcg of one simulation came online, in creation order.

    Filled by the plugin's ``shrinkfw_memcg_online`` hook and emptied by
    ``shrinkfw_memcg_free``; ``"youngest"`` compares these records, since memcg ids are
    recycled and do not follow creation order.
    """

    __slots__ = ("_born", "_seq")

    def __init__(self) -> None:
        self._born: dict[MemCgroup, tuple[float, int]] = {}
        self._seq: Iterator[int] = count()

    def note(self, memcg: MemCgroup, time: float) -> None:
        self._born[memcg] = (time, next(self._seq))

    def forget(self, memcg: MemCgroup) -> None:
        self._born.pop(memcg, None)

    def get(self, memcg: MemCgroup) -> tuple[float, int] | None:
        """``(time, sequence number)`` of ``memcg``'s creation, ``None`` if not seen."""
        return self._born.get(memcg)

    def __len__(self) -> int:
        return len(self._born)


@dataclass(frozen=True, slots=True)
class Trigger:
    """The event at which a watched memcg's pressure had lasted long enough.

    :ivar time: when.
    :ivar level: that event's window level.
    :ivar sustained: seconds since the episode's first event.
    :ivar events: qualifying events in the episode so far.
    """

    time: float
    level: Level
    sustained: float
    events: int


@dataclass(slots=True, eq=False)
class Watch:
    """oomd's state for one watched memcg.

    :ivar memcg: the watched memcg.
    :ivar path: its path when the run started.
    :ivar listener: its vmpressure listener; ``None`` once dropped (the memcg went away, or
        the run stopped).
    :ivar events: qualifying events heard in all.
    :ivar episode_start: time of the first event of the current episode.
    :ivar episode_events: events in the current episode.
    :ivar last_event: time of the latest event.
    :ivar cooldown_until: no decision before this time.
    :ivar pending: the scheduled action, while one is scheduled.
    :ivar trigger: what scheduled it.
    :ivar decisions: decisions made for this memcg.
    """

    memcg: MemCgroup
    path: str
    listener: Listener | None = None
    events: int = 0
    episode_start: float | None = None
    episode_events: int = 0
    last_event: float | None = None
    cooldown_until: float = -math.inf
    pending: EventHandle | None = None
    trigger: Trigger | None = None
    decisions: int = 0

    @property
    def gone(self) -> bool:
        """The watched memcg went away (it is no longer online, or its listener was dropped):
        nothing more is decided for it."""
        listener = self.listener
        return (
            listener is None or not listener.registered or self.memcg.state is not MemcgState.ONLINE
        )


@dataclass(frozen=True, slots=True)
class Candidates:
    """Kill candidates below one watched memcg at one moment.

    :ivar memcgs: eligible candidates, in tree order.
    :ivar protected: leaves left out because they are in a protected subtree.
    :ivar small: leaves left out for using less than ``min_usage_bytes``.
    """

    memcgs: tuple[MemCgroup, ...]
    protected: int = 0
    small: int = 0


def _is_protected(path: str, protect: tuple[str, ...]) -> bool:
    for prefix in protect:
        if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
            return True
    return False


def find_candidates(sim: Simulation, watched: MemCgroup, settings: OomdSettings) -> Candidates:
    """The memcgs oomd may kill for pressure on ``watched`` (see the module docstring)."""
    if watched.state is not MemcgState.ONLINE:
        return Candidates(())
    leaves = [
        m
        for m in sim.memcgs.iter(watched, online_only=True)
        if m is not watched and not any(c.state is MemcgState.ONLINE for c in m.children)
    ]
    if not leaves and not watched.is_root:
        leaves = [watched]
    eligible: list[MemCgroup] = []
    protected = small = 0
    for memcg in leaves:
        if _is_protected(memcg.path, settings.protect):
            protected += 1
        elif memcg.usage * PAGE_SIZE < settings.min_usage_bytes:
            small += 1
        else:
            eligible.append(memcg)
    return Candidates(tuple(eligible), protected, small)


def _mib(pages: int) -> str:
    return f"{pages * PAGE_SIZE / _MiB:.1f} MiB"


def _levels(level: Level) -> str:
    """``"medium+"``: the level and those above it (``"critical"`` has none above)."""
    return level.label if level is Level.CRITICAL else f"{level.label}+"


class Oomd:
    """A started ``oomd``: listeners on the watched memcgs and the kill policy.

    Create it with :func:`start_oomd` or through the registered ``oomd`` consumer.

    :ivar sim: the simulation.
    :ivar settings: its validated settings.
    :ivar watches: one :class:`Watch` per watched memcg, in the order given.
    :ivar decisions: every decision of this run (kills, and dry-run kills), oldest first.
    :ivar kills: memcgs killed.
    :ivar dry_run_kills: kills recorded but not done (``dry_run``).
    :ivar freed_pages: pages the kills freed at once.
    :ivar no_victim: times it was time to act and no candidate was left.
    :ivar stopped: :meth:`stop` was called.
    """

    __slots__ = (
        "_births",
        "_plugin",
        "decisions",
        "dry_run_kills",
        "freed_pages",
        "kills",
        "no_victim",
        "settings",
        "sim",
        "stopped",
        "watches",
    )

    def __init__(
        self,
        sim: Simulation,
        settings: OomdSettings,
        *,
        births: Births | None = None,
        plugin: str = _DEFAULT_PLUGIN,
    ) -> None:
        if settings.victim == "youngest" and births is None:
            raise UsageError(
                f"{CONSUMER_NAME}: victim: 'youngest' needs the oomd plugin registered with "
                "the simulation (its memcg_online hook records when memcgs are created)"
            )
        self.sim = sim
        self.settings = settings
        self._births = births
        self._plugin = plugin
        self.decisions: list[Decision] = []
        self.kills = 0
        self.dry_run_kills = 0
        self.freed_pages = 0
        self.no_victim = 0
        self.stopped = False
        self.watches: list[Watch] = []
        for memcg in settings.watch:
            watch = Watch(memcg=memcg, path=memcg.path)
            watch.listener = sim.vmpressure.register_event(
                memcg,
                settings.level,
                name=f"{CONSUMER_NAME}:{memcg.path}",
                reader=partial(self.on_event, watch),
            )
            self.watches.append(watch)

    def __repr__(self) -> str:
        paths = ",".join(w.path for w in self.watches)
        return (
            f"<Oomd {_levels(self.settings.level)} on {paths} kills={self.kills} "
            f"dry_run_kills={self.dry_run_kills}>"
        )

    @property
    def decisions_made(self) -> int:
        """Decisions recorded by this run (kills and dry-run kills)."""
        return len(self.decisions)

    @property
    def events(self) -> int:
        """Qualifying events heard on every watched memcg."""
        return sum(w.events for w in self.watches)

    # -- the eventfd reader ---------------------------------------------------------------

    def on_event(self, watch: Watch, event: PressureEvent) -> None:
        """The daemon wakes on ``watch``'s eventfd: extend or restart the pressure episode
        and, when it has lasted ``duration`` and the cooldown is over, schedule the action."""
        if self.stopped:
            return
        if watch.gone:
            self._drop(watch)
            return
        settings = self.settings
        now = self.sim.now
        watch.events += 1
        last = watch.last_event
        if last is None or watch.episode_start is None or now - last > settings.gap + TIME_SLACK:
            watch.episode_start = now
            watch.episode_events = 0
        watch.episode_events += 1
        watch.last_event = now
        if watch.pending is not None or now < watch.cooldown_until - TIME_SLACK:
            return
        sustained = now - watch.episode_start
        if sustained < settings.duration - TIME_SLACK:
            return
        watch.trigger = Trigger(now, event.level, sustained, watch.episode_events)
        watch.pending = self.sim.schedule(
            0.0, partial(self.act, watch), name=f"{CONSUMER_NAME}:{watch.path}"
        )

    # -- the action -------------------------------------------------------------------------

    def act(self, watch: Watch) -> None:
        """Pick a victim for ``watch`` and kill it (or, in a dry run, only record it); with
        no candidate left, count it in :attr:`no_victim` and do nothing."""
        watch.pending = None
        trigger = watch.trigger
        if self.stopped or trigger is None:
            return
        if watch.gone:
            self._drop(watch)
            return
        sim, settings = self.sim, self.settings
        found = find_candidates(sim, watch.memcg, settings)
        if not found.memcgs:
            self.no_victim += 1
            return
        victim, why = self._pick(found.memcgs)
        skipped = [
            f"{n} {what}"
            for n, what in ((found.protected, "protected"), (found.small, "below min_usage_bytes"))
            if n
        ]
        many = len(found.memcgs)
        reason = (
            f"{_levels(settings.level)} pressure on {watch.path} sustained "
            f"{trigger.sustained:.2f} s (>= {settings.duration:g} s, {trigger.events} events); "
            f"victim {victim.path}: "
            f"{why} of {many} candidate{'s' if many != 1 else ''}"
            + (f" (skipped: {', '.join(skipped)})" if skipped else "")
        )
        freed = 0
        if settings.dry_run:
            self.dry_run_kills += 1
        else:
            freed = sim.kill_memcg(victim)
            sim.rmdir(victim)
            self.kills += 1
            self.freed_pages += freed
        decision = Decision(
            time=sim.now,
            consumer=CONSUMER_NAME,
            plugin=self._plugin,
            action="kill",
            memcg=victim.path,
            reason=reason,
            dry_run=settings.dry_run,
            freed_pages=freed,
        )
        watch.decisions += 1
        watch.cooldown_until = sim.now + settings.cooldown
        self.decisions.append(decision)
        sim.record_decision(decision)
        if victim is watch.memcg and not settings.dry_run:  # it was its own victim
            self._drop(watch)

    def _pick(self, candidates: tuple[MemCgroup, ...]) -> tuple[MemCgroup, str]:
        if self.settings.victim == "youngest":
            births = self._births
            assert births is not None

            def born(memcg: MemCgroup) -> tuple[float, int]:
                return births.get(memcg) or (-math.inf, -1)

            victim = max(candidates, key=born)
            return victim, f"youngest (created at {born(victim)[0]:.2f} s)"
        victim = max(candidates, key=lambda m: m.usage)
        return victim, f"largest usage {_mib(victim.usage)}"

    # -- lifecycle --------------------------------------------------------------------------

    def _drop(self, watch: Watch) -> None:
        """Stop listening on a watched memcg that went away."""
        if watch.listener is not None:
            self.sim.vmpressure.unregister(watch.listener)
            watch.listener = None
        if watch.pending is not None:
            watch.pending.cancel()
            watch.pending = None

    def stop(self) -> None:
        """Unregister every listener and cancel a scheduled action; decisions made stand.
        Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        for watch in self.watches:
            self._drop(watch)


class OomdConsumer:
    """The ``start`` of the ``oomd`` consumer registered with one simulation.

    It owns that simulation's :class:`Births`, so ``victim = "youngest"`` knows the creation
    order of every memcg created since the simulation was built.

    :ivar births: creation records, kept by the plugin's memcg hooks.
    :ivar plugin: the name the plugin registered the consumer under.
    """

    __slots__ = ("births", "plugin")

    def __init__(self) -> None:
        self.births = Births()
        self.plugin = _DEFAULT_PLUGIN

    def __call__(self, sim: Simulation, **params: Any) -> Oomd:
        """Start ``oomd`` on ``sim`` with ``params`` (see :data:`~shrinkfw_oomd.PARAMS`).

        :raises UsageError: a bad or unknown setting, named in the message.
        """
        return Oomd(sim, parse_settings(sim, params), births=self.births, plugin=self.plugin)


def registered_consumer(sim: Simulation) -> OomdConsumer | None:
    """The :class:`OomdConsumer` the plugin registered with ``sim``, if it did."""
    if CONSUMER_NAME not in sim.consumers:
        return None
    start = sim.consumers.get(CONSUMER_NAME).start
    return start if isinstance(start, OomdConsumer) else None


def start_oomd(sim: Simulation, **params: Any) -> Oomd:
    """Start ``oomd`` on ``sim``: through the plugin's registered consumer when the plugin is
    registered with ``sim`` (so ``"youngest"`` works), else standalone.

    :raises UsageError: a bad or unknown setting, named in the message.
    """
    consumer = registered_consumer(sim)
    if consumer is not None:
        return consumer(sim, **params)
    return Oomd(sim, parse_settings(sim, params))
