"""The run recorder: a plugin that turns the simulation's hooks into the run's event stream
and its ``ftrace.txt``.

It only observes (ARCHITECTURE §2): every notification hook becomes one JSON object for
``events.jsonl``; the ``mm_shrink_slab_start`` / ``_end`` tracepoints also become kernel
text lines in the profile's era layout. Lines are buffered per tick and handed to the
writer only when the tick is complete (:meth:`RunRecorder.take`), so a run stopped mid-tick
leaves files that end at a tick boundary.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import attrs
import pluggy

from ..shrinker import gfp_name
from ..trace.format import format_record

if TYPE_CHECKING:
    from ..consumer import Decision
    from ..memcg import MemCgroup
    from ..sim import Simulation
    from ..tracepoints import ShrinkSlabEnd, ShrinkSlabStart
    from ..vfs import SuperBlock
    from ..vmpressure import PressureEvent, Window
    from ..vmscan import ReclaimRecord

__all__ = ["RunRecorder"]

hookimpl = pluggy.HookimplMarker("shrinkfw")

#: pid the trace prints for kswapd of node 0 (the rest follow); other tasks get their own
_KSWAPD_PID: Final = 40
_TASK_PIDS: Final = {"direct": 1000, "memcg_limit": 1001, "memcg_high": 1002}
#: the header of a ``trace`` file read from tracefs
_FTRACE_HEADER: Final = (
    "# tracer: nop\n"
    "#\n"
    "#                                _-----=> irqs-off\n"
    "#                               / _----=> need-resched\n"
    "#                              | / _---=> hardirq/softirq\n"
    "#                              || / _--=> preempt-depth\n"
    "#                              ||| /     delay\n"
    "#           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION\n"
    "#              | |         |   ||||      |         |\n"
)


def _path(memcg: MemCgroup | None) -> str | None:
    return None if memcg is None else memcg.path


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class RunRecorder:
    """Collects one run's events and trace lines, tick by tick.

    :param sim: the simulation it is registered with (``sim.pm.register(recorder)``).
    :param trace: write ``ftrace.txt`` lines (the most voluminous output).
    """

    def __init__(self, sim: Simulation, *, trace: bool = True) -> None:
        self.sim = sim
        self.trace = trace
        self.style = sim.profile.trace_format.value
        self.flags = "....." if self.style == "priority" else "...."
        self.events: list[str] = []
        self.ftrace: list[str] = []
        self._functions: dict[str, str] = {}

    # -- buffers -----------------------------------------------------------------------------

    def emit(self, event: str, **fields: Any) -> None:
        """Add one event at the current simulated time."""
        self.events.append(_dumps({"time": round(self.sim.now, 6), "event": event, **fields}))

    def take(self) -> tuple[list[str], list[str]]:
        """The complete tick's event and trace lines; the buffers start empty again."""
        events, ftrace = self.events, self.ftrace
        self.events, self.ftrace = [], []
        return events, ftrace

    def drop(self) -> None:
        """Forget what an unfinished tick recorded."""
        self.events.clear()
        self.ftrace.clear()

    @staticmethod
    def ftrace_header() -> str:
        return _FTRACE_HEADER

    # -- the tracepoints ---------------------------------------------------------------------

    def _function(self, name: str) -> str:
        fn = self._functions.get(name)
        if fn is None:
            try:
                shrinker = self.sim.shrinkers.get(name).shrinker
            except KeyError:
                return name
            fn = self._functions[name] = str(getattr(shrinker, "scan_fn", name))
        return fn

    def _task(self) -> tuple[str, int, int]:
        sc = self.sim.current_reclaim
        if sc is None:
            return "shrinkfw", 1, 0
        if sc.is_kswapd:
            nid = sc.nodes[0] if sc.nodes else 0
            return f"kswapd{nid}", _KSWAPD_PID + nid, nid
        reason = sc.reason[:15]
        return reason, _TASK_PIDS.get(reason, 1003), 0

    def _tracepoint(self, name: str, event: ShrinkSlabStart | ShrinkSlabEnd) -> None:
        """One tracepoint: its fields as an event, and (with ``trace``) its kernel text line,
        naming the shrinker by its scan function as ``%pS`` does."""
        fields = attrs.asdict(event, recurse=False)
        fields["memcg"] = _path(event.memcg)
        if "gfp_flags" in fields:
            fields["gfp_flags"] = gfp_name(fields["gfp_flags"])
        self.emit(name, **fields)
        if self.trace:
            task, pid, cpu = self._task()
            self.ftrace.append(
                format_record(
                    event,
                    style=self.style,
                    shrinker=self._function(event.shrinker),
                    task=task,
                    pid=pid,
                    cpu=cpu,
                    timestamp=self.sim.now,
                    flags=self.flags,
                )
            )

    @hookimpl
    def shrinkfw_shrink_slab_start(self, event: ShrinkSlabStart) -> None:
        self._tracepoint("mm_shrink_slab_start", event)

    @hookimpl
    def shrinkfw_shrink_slab_end(self, event: ShrinkSlabEnd) -> None:
        self._tracepoint("mm_shrink_slab_end", event)

    # -- the rest ----------------------------------------------------------------------------

    @hookimpl
    def shrinkfw_reclaim_done(self, record: ReclaimRecord) -> None:
        self.emit(
            "reclaim",
            reason=record.reason,
            target=_path(record.target),
            nr_to_reclaim=record.nr_to_reclaim,
            nr_reclaimed=record.nr_reclaimed,
            nr_scanned=record.nr_scanned,
            slab_pages=record.slab_pages,
            slab_objects=record.slab_objects,
            priority=record.priority,
            memcgs_walked=record.memcgs_walked,
            shrink_slab_calls=record.shrink_slab_calls,
            count_calls=record.count_calls,
        )

    @hookimpl
    def shrinkfw_vmpressure(self, event: PressureEvent) -> None:
        label = event.level.label
        self.emit(
            "vmpressure",
            memcg=event.memcg.path,
            origin=event.origin.path,
            level=label,
            pressure=event.pressure,
            scanned=event.scanned,
            reclaimed=event.reclaimed,
            listener=event.listener.name,
        )

    @hookimpl
    def shrinkfw_vmpressure_window(self, window: Window) -> None:
        self.emit(
            "vmpressure_window",
            memcg=window.memcg.path,
            level=window.level.label,
            pressure=window.pressure,
            scanned=window.scanned,
            reclaimed=window.reclaimed,
        )

    @hookimpl
    def shrinkfw_memcg_online(self, memcg: MemCgroup) -> None:
        self.emit("memcg_online", memcg=memcg.path, id=memcg.id)

    @hookimpl
    def shrinkfw_memcg_offline(self, memcg: MemCgroup) -> None:
        self.emit("memcg_offline", memcg=memcg.path, id=memcg.id)

    @hookimpl
    def shrinkfw_memcg_free(self, memcg: MemCgroup) -> None:
        self.emit("memcg_free", memcg=memcg.path, id=memcg.id)

    @hookimpl
    def shrinkfw_mount(self, sb: SuperBlock) -> None:
        self.emit("mount", fs=sb.fs_type.name, device=sb.s_id.partition(":")[2])

    @hookimpl
    def shrinkfw_umount(self, sb: SuperBlock) -> None:
        self.emit("umount", fs=sb.fs_type.name, device=sb.s_id.partition(":")[2])

    @hookimpl
    def shrinkfw_consumer_decision(self, decision: Decision) -> None:
        fields = decision.as_dict()
        fields.pop("time")
        self.emit("decision", **fields)

    @hookimpl
    def shrinkfw_plugin_disabled(self, plugin: str, error: str) -> None:
        self.emit("plugin_disabled", plugin=plugin, error=error)
