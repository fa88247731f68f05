"""Run a scenario: build the simulation, drive its clock tick by tick, write the run directory.

:class:`ScenarioDriver` turns a :class:`~shrinkfw.scenario.Scenario` into events on a new
simulation's clock (memcgs created and removed, filesystems mounted and unmounted, workloads
started, phased and stopped, consumers started) and nothing else: it is what a host
simulator embeds, driving ``driver.sim`` from its own clock.

:class:`ScenarioRun` is ``shrinkfw run``: a driver plus the recorder, the per-tick sampler and
the writer. It advances the clock tick by tick and streams ``events.jsonl``, ``metrics.csv``
and ``ftrace.txt`` through :class:`~shrinkfw.report.writer.RunWriter`. At the end, or when the
run stops early (Ctrl-C, a misbehaving plugin), it writes ``summary.json`` and the report for
the ticks that completed.

Nothing is written before the first tick completes: a scenario that fails while it is being
set up (a bad workload parameter, a missing plugin) leaves no output directory behind.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
import pluggy

from ._log import get_logger
from .errors import PluginError, ScenarioError, ShrinkfwError, UsageError
from .memcg import PAGE_SIZE, MemcgState
from .report.metrics import Sampler
from .report.recorder import RunRecorder
from .report.summary import build_summary
from .report.writer import RunWriter
from .scenario import check_plugins
from .sim import Simulation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .consumer import ConsumerRun
    from .memcg import MemCgroup
    from .scenario import MemcgSpec, MountSpec, Scenario, WorkloadSpec
    from .vfs import SuperBlock
    from .workload import WorkloadRun

__all__ = ["ON_PLUGIN_ERROR", "Incarnation", "RunResult", "ScenarioDriver", "ScenarioRun"]

hookimpl = pluggy.HookimplMarker("shrinkfw")

#: what ``--on-plugin-error`` accepts
ON_PLUGIN_ERROR: Final = ("stop", "disable")


@attrs.define(eq=False)
class Incarnation:
    """One life of a scenario memcg: created at ``created``, removed at ``removed``."""

    spec: MemcgSpec
    memcg: MemCgroup
    created: float
    removed: float | None = None
    #: the memcg id it had while online (ids are released and reused)
    id: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.id = self.memcg.id


@attrs.frozen
class RunResult:
    """How a run ended.

    :ivar out: the run directory (``None`` when nothing was written).
    :ivar summary: the content of ``summary.json``.
    :ivar stopped: why it stopped early; ``None`` when it completed.
    :ivar error: the plugin error that stopped it, if one did.
    """

    out: Path | None
    summary: dict[str, Any]
    stopped: str | None = None
    error: ShrinkfwError | None = None

    @property
    def complete(self) -> bool:
        return self.stopped is None


class ScenarioDriver:
    """A scenario's events on a new simulation's clock.

    Builds the simulation the scenario describes (machine, profile, plugins), checks what the
    scenario asks of plugins and of the profile, and schedules its memcgs, mounts, workloads
    and consumers. Time is the caller's: ``driver.sim.advance_to(t)`` (or ``run(until=)``)
    plays the scenario up to ``t``. Workloads stop when their memcg goes offline, as tasks do
    not outlive their cgroup.

    :param scenario: the validated scenario.
    :param profile: a profile name overriding the scenario's.
    :param seed: a seed overriding the scenario's.
    :param plugins: extra plugin objects to register (tests, embedding).
    :param autoload: load the ``shrinkfw`` entry points (default: yes, unless disabled by
        the environment).
    :param on_plugin_error: ``"stop"`` raises a plugin's broken contract out of the clock;
        ``"disable"`` unregisters the plugin and goes on.
    :raises ScenarioError: the scenario asks for what the plugins or the profile lack.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        profile: str | None = None,
        seed: int | None = None,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        on_plugin_error: str = "stop",
    ) -> None:
        if on_plugin_error not in ON_PLUGIN_ERROR:
            raise UsageError(
                f"on_plugin_error must be one of {', '.join(ON_PLUGIN_ERROR)}, "
                f"got {on_plugin_error!r}"
            )
        self.scenario = scenario
        self.profile_name = profile or scenario.profile
        self.seed = seed if seed is not None else (scenario.seed or 0)
        self.on_plugin_error = on_plugin_error
        self.log = get_logger("shrinkfw.run")
        self.sim = self._build(plugins, autoload)
        self.sim.pm.register(self, name="shrinkfw.scenario")
        #: every life of every scenario memcg, in creation order
        self.incarnations: list[Incarnation] = []
        #: called with each memcg the scenario creates
        self.on_create: list[Callable[[MemCgroup], None]] = []
        #: called with (event, fields) for workload starts and stops
        self.on_event: list[Callable[[str, dict[str, Any]], None]] = []
        self.supers: dict[str, SuperBlock] = {}
        self.runs: dict[int, tuple[MemCgroup, WorkloadRun]] = {}
        self.consumer_runs: list[ConsumerRun] = []
        self._schedule()

    def _emit(self, event: str, **fields: Any) -> None:
        for listener in self.on_event:
            listener(event, fields)

    # -- building ----------------------------------------------------------------------------

    def _build(self, plugins: Iterable[object], autoload: bool | None) -> Simulation:
        scenario = self.scenario
        kwargs: dict[str, Any] = {}
        if self.profile_name is not None:
            kwargs["profile"] = self.profile_name
        try:
            sim = Simulation.build(
                seed=self.seed,
                nr_nodes=scenario.machine.nodes,
                memory=scenario.machine.memory,
                swap=scenario.machine.swap,
                plugins=plugins,
                autoload=autoload,
                **kwargs,
            )
        except UsageError as exc:
            raise scenario.error("machine", str(exc)) from None
        sim.require_full_profile()
        sim.on_plugin_error = self.on_plugin_error
        check_plugins(scenario, sim)
        return sim

    def _schedule(self) -> None:
        at = self.sim.clock.schedule_at
        for mount in self.scenario.mounts:
            at(mount.at, partial(self._mount, mount), name="mount")
            if mount.umount is not None:
                at(mount.umount, partial(self._umount, mount), name="umount")
        for spec in self.scenario.memcgs:
            at(spec.create, partial(self._create, spec), name="mkdir")
        for i, wl in enumerate(self.scenario.workloads):
            at(wl.start, partial(self._start_workload, i), name="wl-start")
            for phase in wl.phases:
                if wl.start < phase.at < (wl.stop or math.inf):
                    at(phase.at, partial(self._rephase, i), name="wl-phase")
            if wl.stop is not None:
                at(wl.stop, partial(self._stop_workload, i), name="wl-stop")
        for i, cs in enumerate(self.scenario.consumers):
            at(cs.start, partial(self._start_consumer, i), name="consumer")

    # -- scenario events ---------------------------------------------------------------------

    def _mount(self, spec: MountSpec) -> None:
        self.supers[spec.device] = self.sim.vfs.mount(spec.fs, spec.device)

    def _umount(self, spec: MountSpec) -> None:
        sb = self.supers.pop(spec.device)
        self.sim.vfs.umount(sb)

    def _create(self, spec: MemcgSpec) -> None:
        sim = self.sim
        parent = self._online(spec.parent_path)
        if parent is None:
            # a consumer (oomd) removed the parent: the scenario's container is gone for good
            self.log.info("memcg not created", memcg=spec.path, reason="parent removed")
            self._emit("memcg_not_created", memcg=spec.path, reason="its parent was removed")
            return
        try:
            memcg = sim.memcgs.create(spec.name, parent)
            self._limits(spec, memcg)
        except UsageError as exc:
            raise self.scenario.error(spec.field, str(exc)) from None
        self.incarnations.append(Incarnation(spec, memcg, sim.now))
        self.log.debug("memcg created", memcg=memcg.path, id=memcg.id, time=sim.now)
        for listener in self.on_create:
            listener(memcg)
        for i, wl in enumerate(self.scenario.workloads):
            if wl.memcg == spec.path and wl.start <= sim.now < (wl.stop or math.inf):
                self._start_workload(i)
        if spec.lifetime is not None:
            sim.schedule(spec.lifetime, partial(self._remove, spec, memcg), name="rmdir")

    def _limits(self, spec: MemcgSpec, memcg: MemCgroup) -> None:
        sim = self.sim
        tree = sim.memcgs
        v1 = sim.profile.kmem.activation == "limit_write"
        if spec.kmem_limit is not None:
            tree.set_kmem_limit(memcg, spec.kmem_limit // PAGE_SIZE)
        if spec.max is not None:
            if v1:
                tree.set_limit(memcg, spec.max // PAGE_SIZE)
            else:
                sim.set_max(memcg, spec.max // PAGE_SIZE)
        if spec.high is not None:
            sim.set_high(memcg, spec.high // PAGE_SIZE)
        if spec.low is not None:
            tree.set_low(memcg, spec.low // PAGE_SIZE)
        if spec.min is not None:
            tree.set_min(memcg, spec.min // PAGE_SIZE)

    def _remove(self, spec: MemcgSpec, memcg: MemCgroup) -> None:
        sim = self.sim
        if memcg.state is MemcgState.ONLINE:
            sim.rmdir(memcg)
        if spec.respawn is not None and sim.now + spec.respawn < self.scenario.duration:
            sim.schedule(spec.respawn, partial(self._create, spec), name="mkdir")

    def _online(self, path: str) -> MemCgroup | None:
        try:
            return self.sim.memcgs.get(path)
        except UsageError:
            return None

    def _start_workload(self, i: int) -> None:
        wl = self.scenario.workloads[i]
        if i in self.runs:
            return
        memcg = self._online(wl.memcg)
        if memcg is None:
            return  # starts when its memcg is created
        sim = self.sim
        kind = sim.workloads.get(wl.type)
        sb = self.supers.get(wl.mount) if wl.mount is not None else None
        if wl.mount is not None and sb is None:
            raise self.scenario.error(
                f"{wl.field}.mount", f"{wl.mount} is not mounted yet at {sim.now:g} s"
            )
        params = wl.params_at(sim.now)
        try:
            run = kind.start(sim, memcg, sb, **params)
        except UsageError as exc:
            raise self.scenario.error(f"{wl.field}.params", str(exc)) from None
        self.runs[i] = (memcg, run)
        self._emit("workload_start", workload=wl.type, memcg=memcg.path, mount=wl.mount)

    def _stop_workload(self, i: int) -> None:
        entry = self.runs.pop(i, None)
        if entry is None:
            return
        memcg, run = entry
        run.stop()
        wl: WorkloadSpec = self.scenario.workloads[i]
        self._emit("workload_stop", workload=wl.type, memcg=memcg.path, mount=wl.mount)

    def _rephase(self, i: int) -> None:
        if i in self.runs:
            self._stop_workload(i)
            self._start_workload(i)

    def _start_consumer(self, i: int) -> None:
        cs = self.scenario.consumers[i]
        kind = self.sim.consumers.get(cs.type)
        try:
            run = kind.start(self.sim, **cs.settings)
        except UsageError as exc:
            raise self.scenario.error(f"{cs.field}.settings", str(exc)) from None
        self.consumer_runs.append(run)

    @hookimpl
    def shrinkfw_memcg_offline(self, memcg: MemCgroup) -> None:
        """Tasks do not outlive their cgroup: stop the workloads running in it."""
        for i, (where, _run) in list(self.runs.items()):
            if where is memcg:
                self._stop_workload(i)
        for inc in self.incarnations:
            if inc.memcg is memcg and inc.removed is None:
                inc.removed = self.sim.now


class ScenarioRun:
    """One run of a scenario.

    :param scenario: the validated scenario.
    :param profile: a profile name overriding the scenario's.
    :param seed: a seed overriding the scenario's.
    :param out: the run directory.
    :param on_plugin_error: ``"stop"`` ends the run at a plugin's broken contract;
        ``"disable"`` unregisters the plugin and goes on.
    :param plugins: extra plugin objects to register (tests, embedding).
    :param autoload: load the ``shrinkfw`` entry points (default: yes, unless disabled by
        the environment).
    :param trace: write ``ftrace.txt``.
    :param report: write ``report.html`` and the plots.
    :param progress: called after every tick with (ticks done, ticks in all).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        profile: str | None = None,
        seed: int | None = None,
        out: str | Path = "shrinkfw-run",
        on_plugin_error: str = "stop",
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        trace: bool = True,
        report: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        out_path = Path(out)
        if out_path.exists() and not out_path.is_dir():
            raise UsageError(f"--out {out_path}: exists and is not a directory")
        self.scenario = scenario
        self.out = out_path
        self.trace = trace
        self.report = report
        self.progress = progress
        self.log = get_logger("shrinkfw.run")
        self.driver = ScenarioDriver(
            scenario,
            profile=profile,
            seed=seed,
            plugins=plugins,
            autoload=autoload,
            on_plugin_error=on_plugin_error,
        )
        self.sim = self.driver.sim
        self.recorder = RunRecorder(self.sim, trace=trace)
        self.sim.pm.register(self.recorder, name="shrinkfw.recorder")
        self.driver.on_event.append(lambda event, fields: self.recorder.emit(event, **fields))
        self.sampler = Sampler(self.sim)
        self.sampler.track(self.sim.memcgs.root)
        self.driver.on_create.append(self.sampler.track)
        self.ticks_done = 0
        self.nr_ticks = max(1, math.ceil(scenario.duration / scenario.tick - 1e-9))
        self._last_summary: dict[str, Any] = {}

    @property
    def incarnations(self) -> list[Incarnation]:
        """Every life of every scenario memcg, in creation order."""
        return self.driver.incarnations

    # -- running -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run every tick; on Ctrl-C or a plugin error, finish the files for the ticks done.

        The summary of a run that stopped early is the one of its last complete tick, like
        the other files.

        :raises ScenarioError: the scenario asked for something it cannot have (a bad
            workload parameter, found when the workload starts); nothing was written.
        :raises KeyboardInterrupt: interrupted before the first tick completed.
        :raises Exception: a failure no plugin is to blame for; the temporary files are
            removed and files of an earlier run in the directory stay as they were.
        """
        sim = self.sim
        writer = RunWriter(self.out, trace=self.trace, report=self.report)
        stopped: str | None = None
        error: ShrinkfwError | None = None
        try:
            self._run_ticks(writer)
        except KeyboardInterrupt:
            if not writer.started:
                raise
            stopped = "interrupted"
        except ScenarioError:
            writer.abandon()
            raise
        except PluginError as exc:
            if not writer.started:
                raise
            stopped, error = str(exc), exc
        except Exception as exc:
            culprit = sim.blame(exc)
            if culprit is None:
                writer.abandon()
                raise
            error = PluginError(f"plugin {culprit!r}: {type(exc).__name__}: {exc}")
            error.plugin = culprit
            if not writer.started:
                raise error from exc
            stopped = str(error)
        if stopped is not None:
            self.recorder.drop()
            writer.events([self.recorder_line("run_stopped", reason=stopped)])
            self.log.warning("run stopped early", reason=stopped, ticks=self.ticks_done)
            summary = {**self._last_summary, "complete": False, "stopped": stopped}
        else:
            summary = build_summary(self, None)
        writer.finish(summary)
        self.log.info("run finished", ticks=self.ticks_done, time=sim.now, stopped=stopped)
        if self.report:
            from .report.html import write_report

            write_report(self.out)
        return RunResult(self.out, summary, stopped, error)

    def recorder_line(self, event: str, **fields: Any) -> str:
        self.recorder.emit(event, **fields)
        events, _ = self.recorder.take()
        return events[-1]

    def _run_ticks(self, writer: RunWriter) -> None:
        sim = self.sim
        tick = self.scenario.tick
        duration = self.scenario.duration
        self.log.info(
            "run started",
            scenario=self.scenario.name,
            profile=sim.profile.name,
            seed=sim.seed,
            ticks=self.nr_ticks,
            out=str(self.out),
        )
        sim.run(until=0.0)
        writer.start()
        self._flush(writer)
        for n in range(1, self.nr_ticks + 1):
            sim.run(until=duration if n == self.nr_ticks else n * tick)
            self.ticks_done = n
            self._flush(writer)
            self.log.debug("tick", n=n, time=sim.now, reclaims=sim.vmstat["pages_reclaimed"])
            if self.progress is not None:
                self.progress(n, self.nr_ticks)

    def _flush(self, writer: RunWriter) -> None:
        events, ftrace = self.recorder.take()
        writer.tick(events, ftrace, self.sampler.sample())
        self._last_summary = build_summary(self, None)
