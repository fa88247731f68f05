"""Read what a calibration guest printed on its serial console.

The guest's ``/init`` (:mod:`shrinkfw.calibrate.guest`) talks to the host in lines that start
with ``@@shrinkfw``; everything else (kernel messages, shell noise) is kept only where it was
printed during an action. The protocol::

    @@shrinkfw mark NAME key=value ...          a point in time (uptime=<guest seconds>)
    @@shrinkfw begin SECTION key=value ...      the lines up to the matching end are a file
    ...                                         (/proc/vmstat, memory.stat, the trace, ...)
    @@shrinkfw end SECTION
    @@shrinkfw event NAME on|missing            a tracepoint was enabled, or does not exist
    @@shrinkfw result op=lookup ops=N ...       the helper's tally of the running action
    @@shrinkfw warn MESSAGE                     something went wrong that does not stop it
    @@shrinkfw error MESSAGE                    the guest gives up (then powers off)
    @@shrinkfw done                             the script finished

A marker is recognised anywhere in a line, so a line a printk interrupted still parses (the
part before the marker belongs to the open section). Serial line ends (``\\r\\n``) are
accepted. :func:`parse_console` turns the text into a :class:`GuestResult`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from pathlib import Path

    from ..trace.check import CheckReport
    from .plan import GuestPlan

__all__ = [
    "MARKER",
    "ActionRecord",
    "GuestResult",
    "MemcgCounters",
    "parse_console",
    "parse_counters",
]

#: what starts every line the guest prints for the host
MARKER: Final = "@@shrinkfw"
_PREFIX: Final = MARKER + " "


def parse_counters(lines: list[str]) -> dict[str, int]:
    """``key value`` (or ``key: value [kB]``) lines as a dict; other lines are skipped."""
    out: dict[str, int] = {}
    for line in lines:
        parts = line.replace(":", " ", 1).split() if ":" in line else line.split()
        if len(parts) < 2 or len(parts) > 3:
            continue
        try:
            out[parts[0]] = int(parts[1])
        except ValueError:
            continue
    return out


def _single(lines: list[str]) -> int | None:
    for line in lines:
        text = line.strip()
        if text:
            try:
                return int(text)
            except ValueError:
                return None
    return None


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@attrs.frozen(kw_only=True)
class MemcgCounters:
    """One memcg's cgroup v2 files as the guest printed them.

    :ivar path: the memcg (``/`` is the root cgroup).
    :ivar when: ``"final"`` (after the workloads) or ``"removed"`` (just before its ``rmdir``).
    :ivar uptime: guest seconds when they were read.
    :ivar memory_stat: ``memory.stat`` (bytes and event counts).
    :ivar memory_events: ``memory.events`` (``low``, ``high``, ``max``, ``oom``, ...).
    :ivar memory_events_local: ``memory.events.local``.
    :ivar cgroup_stat: ``cgroup.stat`` (``nr_descendants``, ``nr_dying_descendants``).
    :ivar memory_current: ``memory.current``, bytes.
    :ivar memory_peak: ``memory.peak``, bytes (kernels that have it).
    """

    path: str
    when: str
    uptime: float | None = None
    memory_stat: dict[str, int] = attrs.field(factory=dict)
    memory_events: dict[str, int] = attrs.field(factory=dict)
    memory_events_local: dict[str, int] = attrs.field(factory=dict)
    cgroup_stat: dict[str, int] = attrs.field(factory=dict)
    memory_current: int | None = None
    memory_peak: int | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class ActionRecord:
    """One action of the guest's timeline as it ran.

    :ivar index: its index in the plan's actions.
    :ivar kind: ``mount``, ``umount``, ``mkdir``, ``rmdir``, ``run`` or ``reclaim``.
    :ivar label: the plan's description of it ("" without a plan).
    :ivar begin: guest uptime when it began, seconds.
    :ivar end: guest uptime when it ended (``None``: it never ended).
    :ivar status: the shell status of its last command (``None``: it never ended).
    :ivar result: the helper's tally for a ``run``: ``ops``, ``found``, ``missing``,
        ``failed``, ``errno``, ``usec`` (and ``op`` is in :attr:`op`).
    :ivar op: the helper operation (``lookup``, ``create``, ``read``, ``write``, ``walk``).
    :ivar output: other lines printed while it ran (error messages, kernel messages).
    """

    index: int
    kind: str
    label: str = ""
    begin: float | None = None
    end: float | None = None
    status: int | None = None
    result: dict[str, int] = attrs.field(factory=dict)
    op: str = ""
    output: tuple[str, ...] = ()

    @property
    def seconds(self) -> float | None:
        """How long it ran in the guest."""
        if self.begin is None or self.end is None:
            return None
        return self.end - self.begin

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["output"] = list(self.output)
        data["seconds"] = self.seconds
        return data


@attrs.frozen(kw_only=True)
class GuestResult:
    """What a calibration guest printed, parsed.

    :ivar kernel: the guest's ``/proc/version`` line.
    :ivar release: ``uname -r`` (``6.1.0-56-cloud-amd64``).
    :ivar complete: the script reached its end (``@@shrinkfw done``).
    :ivar error: what the guest reported when it gave up ("" when it did not).
    :ivar warnings: ``warn`` lines (a failed ``rmdir``, ...).
    :ivar events: tracepoint name -> enabled (``False``: it does not exist in this kernel).
    :ivar memcgs: every memcg counter snapshot, in the order printed (removed ones at their
        ``rmdir``, then the final ones, root first).
    :ivar vmstat_start: ``/proc/vmstat`` before the first action.
    :ivar vmstat: ``/proc/vmstat`` after the last action.
    :ivar meminfo: ``/proc/meminfo`` after the last action (kB values, as printed).
    :ivar trace: the ftrace text (``/sys/kernel/tracing/trace``).
    :ivar trace_stats: the per-CPU ring buffer statistics summed over CPUs (``entries``,
        ``overrun``, ``dropped events``, ...).
    :ivar actions: the timeline as it ran.
    :ivar marks: every mark name -> guest uptime of its last occurrence (``init``,
        ``timeline-begin``, ``timeline-end``, ``done``).
    :ivar host_seconds: wall-clock seconds qemu ran (set by
        :func:`~shrinkfw.calibrate.guest.run_guest`).
    :ivar console_path: the raw console log, when written.
    :ivar trace_path: the trace written as a file, for ``shrinkfw trace check``.
    :ivar plan: the plan the guest ran (``actions[i].index`` indexes ``plan.actions``).
    """

    kernel: str = ""
    release: str = ""
    complete: bool = False
    error: str = ""
    warnings: tuple[str, ...] = ()
    events: dict[str, bool] = attrs.field(factory=dict)
    memcgs: tuple[MemcgCounters, ...] = ()
    vmstat_start: dict[str, int] = attrs.field(factory=dict)
    vmstat: dict[str, int] = attrs.field(factory=dict)
    meminfo: dict[str, int] = attrs.field(factory=dict)
    trace: str = attrs.field(default="", repr=False)
    trace_stats: dict[str, int] = attrs.field(factory=dict)
    actions: tuple[ActionRecord, ...] = ()
    marks: dict[str, float] = attrs.field(factory=dict)
    host_seconds: float | None = None
    console_path: Path | None = None
    trace_path: Path | None = None
    plan: GuestPlan | None = attrs.field(default=None, repr=False, eq=False)

    # -- convenience -----------------------------------------------------------------------

    @property
    def boot_seconds(self) -> float | None:
        """Guest uptime when ``/init`` started: the kernel's boot."""
        return self.marks.get("init")

    @property
    def timeline_seconds(self) -> float | None:
        """Guest seconds from the first action's start to the last one's end."""
        a, b = self.marks.get("timeline-begin"), self.marks.get("timeline-end")
        return None if a is None or b is None else b - a

    @property
    def trace_lost(self) -> int:
        """Events the ring buffer lost (overwritten or dropped): 0 for a whole trace."""
        return self.trace_stats.get("overrun", 0) + self.trace_stats.get("dropped events", 0)

    def memcg(self, path: str, when: str | None = None) -> MemcgCounters:
        """The last snapshot of memcg ``path`` (of kind ``when`` if given).

        :raises KeyError: none was printed.
        """
        for snap in reversed(self.memcgs):
            if snap.path == path and (when is None or snap.when == when):
                return snap
        raise KeyError(f"no counters of memcg {path}" + (f" ({when})" if when else ""))

    @property
    def vmstat_delta(self) -> dict[str, int]:
        """``/proc/vmstat`` after minus before, for the counters printed both times."""
        return {
            k: v - self.vmstat_start[k] for k, v in self.vmstat.items() if k in self.vmstat_start
        }

    def trace_lines(self, event: str) -> list[str]:
        """The trace lines of ``event`` (``mm_shrink_slab_start``, ...)."""
        needle = f" {event}: "
        return [line for line in self.trace.splitlines() if needle in line]

    def trace_check(self, profile: str = "auto") -> CheckReport:
        """``shrinkfw trace check`` of the trace file (:attr:`trace_path`).

        :raises ValueError: the trace was not written to a file.
        """
        from ..trace.check import check_file

        if self.trace_path is None:
            raise ValueError("the trace was not written to a file (trace_path is None)")
        return check_file(str(self.trace_path), profile=profile)

    def to_json(self) -> dict[str, Any]:
        """Everything but the trace text, for ``guest.json``."""
        return {
            "kernel": self.kernel,
            "release": self.release,
            "complete": self.complete,
            "error": self.error,
            "warnings": list(self.warnings),
            "events": self.events,
            "boot_seconds": self.boot_seconds,
            "timeline_seconds": self.timeline_seconds,
            "host_seconds": self.host_seconds,
            "marks": self.marks,
            "memcgs": [m.to_json() for m in self.memcgs],
            "vmstat_start": self.vmstat_start,
            "vmstat": self.vmstat,
            "meminfo": self.meminfo,
            "trace_stats": self.trace_stats,
            "trace_lines": self.trace.count("\n"),
            "actions": [a.to_json() for a in self.actions],
            "console": str(self.console_path) if self.console_path else None,
            "trace": str(self.trace_path) if self.trace_path else None,
        }


# -- parsing -------------------------------------------------------------------------------


def _fields(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            out[key] = value
    return out


@attrs.define
class _Section:
    name: str
    fields: dict[str, str]
    lines: list[str] = attrs.field(factory=list)


@attrs.define
class _Action:
    index: int
    kind: str
    begin: float | None
    end: float | None = None
    status: int | None = None
    result: dict[str, int] = attrs.field(factory=dict)
    op: str = ""
    output: list[str] = attrs.field(factory=list)


class _Parser:
    def __init__(self) -> None:
        self.section: _Section | None = None
        self.sections: list[_Section] = []
        self.actions: list[_Action] = []
        self.current: _Action | None = None
        self.marks: dict[str, float] = {}
        self.events: dict[str, bool] = {}
        self.warnings: list[str] = []
        self.error = ""
        self.release = ""
        self.done = False

    def feed(self, raw: str) -> None:
        line = raw.rstrip("\r")
        at = line.find(_PREFIX)
        if at < 0:
            self.content(line)
            return
        if at > 0:
            self.content(line[:at])
        self.marker(line[at + len(_PREFIX) :].strip().split())

    def content(self, line: str) -> None:
        if self.section is not None:
            self.section.lines.append(line)
        elif self.current is not None and line.strip():
            self.current.output.append(line)

    def marker(self, words: list[str]) -> None:
        if not words:
            return
        verb, rest = words[0], words[1:]
        if verb == "begin" and rest:
            if self.section is not None:
                self.warnings.append(f"section {self.section.name} not ended before {rest[0]}")
                self.sections.append(self.section)
            self.section = _Section(rest[0], _fields(rest[1:]))
        elif verb == "end":
            if self.section is not None:
                self.sections.append(self.section)
            self.section = None
        elif verb == "mark" and rest:
            self.mark(rest[0], _fields(rest[1:]))
        elif verb == "event" and len(rest) >= 2:
            self.events[rest[0]] = rest[1] == "on"
        elif verb == "result":
            fields = _fields(rest)
            if self.current is not None:
                self.current.op = fields.pop("op", "")
                for key, value in fields.items():
                    try:
                        self.current.result[key] = int(value)
                    except ValueError:
                        continue
        elif verb == "release" and rest:
            self.release = rest[0]
        elif verb == "warn":
            self.warnings.append(" ".join(rest))
        elif verb == "error":
            self.error = " ".join(rest) or "the guest reported an error"
        elif verb == "done":
            self.done = True

    def mark(self, name: str, fields: dict[str, str]) -> None:
        uptime = _float(fields.get("uptime"))
        if uptime is not None:
            self.marks[name] = uptime
        if name == "begin":
            try:
                index = int(fields.get("action", ""))
            except ValueError:
                return
            self.current = _Action(index=index, kind=fields.get("kind", ""), begin=uptime)
            self.actions.append(self.current)
        elif name == "end" and self.current is not None:
            self.current.end = uptime
            try:
                self.current.status = int(fields.get("status", ""))
            except ValueError:
                self.current.status = None
            self.current = None


def parse_console(text: str, *, plan: GuestPlan | None = None) -> GuestResult:
    """Parse the guest's console output. With ``plan`` (the one the guest ran), actions get
    their labels. Never raises: what is missing stays empty, and :attr:`GuestResult.complete`
    says whether the script finished."""
    parser = _Parser()
    for line in text.splitlines():
        parser.feed(line)
    if parser.section is not None:  # cut off mid-section
        parser.sections.append(parser.section)
    kernel = ""
    vmstat_start: dict[str, int] = {}
    vmstat: dict[str, int] = {}
    meminfo: dict[str, int] = {}
    trace_lines: list[str] = []
    stats: dict[str, int] = {}
    snaps: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for section in parser.sections:
        name, fields, lines = section.name, section.fields, section.lines
        if name == "version":
            kernel = next((ln.strip() for ln in lines if ln.strip()), "")
        elif name == "vmstat":
            (vmstat_start if fields.get("when") == "start" else vmstat).update(
                parse_counters(lines)
            )
        elif name == "meminfo":
            meminfo.update(parse_counters(lines))
        elif name == "trace":
            trace_lines.extend(lines)
        elif name == "trace-stats":
            for key, value in _stats(lines).items():
                stats[key] = stats.get(key, 0) + value
        elif name == "memcg":
            where = (fields.get("path", "?"), fields.get("when", "final"), fields.get("uptime"))
            snap = snaps.setdefault(where, {})
            file = fields.get("file", "")
            if file in ("memory.current", "memory.peak"):
                snap[file.replace(".", "_")] = _single(lines)
            elif file in ("memory.stat", "memory.events", "memory.events.local", "cgroup.stat"):
                snap[file.replace(".", "_")] = parse_counters(lines)
    memcgs = tuple(
        MemcgCounters(path=path, when=when, uptime=_float(uptime), **values)
        for (path, when, uptime), values in snaps.items()
    )
    labels = {i: a.label for i, a in enumerate(plan.actions)} if plan is not None else {}
    actions = tuple(
        ActionRecord(
            index=a.index,
            kind=a.kind,
            label=labels.get(a.index, ""),
            begin=a.begin,
            end=a.end,
            status=a.status,
            result=dict(a.result),
            op=a.op,
            output=tuple(a.output),
        )
        for a in parser.actions
    )
    release = parser.release
    if not release and kernel.startswith("Linux version "):
        release = kernel.split()[2]
    trace = "\n".join(trace_lines) + "\n" if trace_lines else ""
    return GuestResult(
        kernel=kernel,
        release=release,
        complete=parser.done,
        error=parser.error,
        warnings=tuple(parser.warnings),
        events=parser.events,
        memcgs=memcgs,
        vmstat_start=vmstat_start,
        vmstat=vmstat,
        meminfo=meminfo,
        trace=trace,
        trace_stats=stats,
        actions=actions,
        marks=parser.marks,
        plan=plan,
    )


def _stats(lines: list[str]) -> dict[str, int]:
    """A ring buffer ``per_cpu/cpuN/stats`` file: ``name: number`` lines (times skipped)."""
    out: dict[str, int] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            continue
        try:
            out[key.strip()] = int(value.strip())
        except ValueError:
            continue
    return out
