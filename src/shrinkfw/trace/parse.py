"""Read ``mm_shrink_slab_start`` / ``mm_shrink_slab_end`` events from ftrace text.

Accepted input is what ``/sys/kernel/tracing/trace``, ``trace_pipe``, ``trace-cmd report`` and
``perf script`` print: a per-line prefix (task-pid, an optional tgid column, ``[cpu]``, an
optional irq-flags column, the timestamp), then the event name and its ``TP_printk`` text.
Comments (``#``) and every other event are counted and skipped. A line that names one of the
two events but does not read as any era's layout raises :class:`~shrinkfw.errors.TraceError`
naming the file, the line and the first field that failed.

The layouts (``include/trace/events/vmscan.h``; see :class:`LineFormat`):

- start, v3.0-v3.15: ``%pF %p: objects to shrink %ld gfp_flags %s pgs_scanned %ld
  lru_pgs %ld cache items %ld delta %lld total_scan %ld``
- start, v3.16-v4.15: the same with ``nid: %d`` after the pointer
  ("mm: shrinker: add nid to tracepoint output", D. Hansen, merged for v3.16)
- start, v4.16+: ``%pS %p: nid: %d objects to shrink %ld gfp_flags %s cache items %ld
  delta %lld total_scan %ld priority %d`` (commit 9092c71bb724 dropped the page counts)
- end, v3.0-v3.15: ``%pF %p: unused scan count %ld new scan count %ld total_scan %ld
  last shrinker return val %d``; the tracepoint itself computed ``total_scan`` as
  ``new - unused`` (it is not the loop remainder, and can be negative)
- end, v3.16+: ``nid: %d`` after the pointer, and ``total_scan`` is the loop remainder
  ("mm: shrinker trace points: fix negatives", D. Hansen, v3.16)

``%pF`` / ``%pS`` print ``symbol+0xoff/0xsize`` with `` [module]`` for module code (the
``+...`` part is dropped here; ``trace-cmd`` may print ``symbol`` or ``symbol+0xoff`` alone,
and an unresolved address stays hex). ``%p`` prints the raw pointer before v4.15, a hashed
value after (``000000003e89d20a``), or ``(____ptrval____)`` while the hash key is not ready
yet (older kernels print ``(null)`` for NULL); the pointer is read as hex or as such a
parenthesized word, kept as text, and never used to pair lines.

Notes against the spec
----------------------

Section 9.1 of the spec gives one ratio layout for v3.12-v4.15 with ``nid``. The tracepoint
text of v3.12-v3.15 has no ``nid`` in either event (the shrinker conversion to
``scan_objects`` kept the v3.0 text), and its end event computed ``total_scan`` as
``new_scan_cnt - unused_scan_cnt`` inside the tracepoint; both changed in v3.16 (the two
D. Hansen patches in the mm tree's since-3.15 shortlog). So the spec's E1 target, v3.14, prints
the no-nid layout. Also, ``%pF`` became ``%pS`` in the source later; both print
``symbol+0xoff/0xsize`` (the 4.9, 5.4 and 6.1 samples show it).

Files are read as bytes line by line (constant memory), CRLF or LF; text that is not UTF-8 is
decoded with replacement characters (task names are arbitrary bytes); a NUL byte means the
input is binary (a ``trace.dat`` from ``trace-cmd record``) and is refused.
"""

from __future__ import annotations

import enum
import re
import sys
from typing import TYPE_CHECKING, Final, Literal

import attrs

from ..errors import TraceError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "FIELD_SPECS",
    "LineFormat",
    "ParseStats",
    "ShrinkEnd",
    "ShrinkEvent",
    "ShrinkStart",
    "iter_events",
    "parse_file",
    "parse_line",
    "read_lines",
]


class LineFormat(enum.Enum):
    """The ``TP_printk`` layout a line was printed with."""

    #: v3.0-v3.15 start: ratio fields, no ``nid``.
    START_RATIO_NO_NID = "start-ratio-no-nid"
    #: v3.16-v4.15 start: ``nid``, ``pgs_scanned``, ``lru_pgs``.
    START_RATIO = "start-ratio"
    #: v4.16+ start: ``nid``, ``priority``.
    START_PRIORITY = "start-priority"
    #: v3.0-v3.15 end: no ``nid``; ``total_scan`` printed as ``new - unused``.
    END_NO_NID = "end-no-nid"
    #: v3.16+ end: ``nid``; ``total_scan`` is what the batch loop left.
    END = "end"

    @property
    def event(self) -> Literal["start", "end"]:
        """``"start"`` or ``"end"``."""
        return "end" if self in (LineFormat.END, LineFormat.END_NO_NID) else "start"

    @property
    def has_nid(self) -> bool:
        """Whether the layout prints ``nid:``."""
        return self not in (LineFormat.START_RATIO_NO_NID, LineFormat.END_NO_NID)

    @property
    def pressure(self) -> Literal["ratio", "priority", "none"]:
        """How a start line states reclaim pressure (``"none"`` for end lines)."""
        if self is LineFormat.START_PRIORITY:
            return "priority"
        if self.event == "start":
            return "ratio"
        return "none"


_INT: Final = "int"
_WORD: Final = "word"

_START_HEAD: Final = ((" objects to shrink ", "objects_to_shrink", _INT),)
_GFP: Final = ((" gfp_flags ", "gfp_flags", _WORD),)
_RATIO: Final = ((" pgs_scanned ", "pgs_scanned", _INT), (" lru_pgs ", "lru_pgs", _INT))
_COUNTS: Final = (
    (" cache items ", "cache_items", _INT),
    (" delta ", "delta", _INT),
    (" total_scan ", "total_scan", _INT),
)
_NID: Final = ((" nid: ", "nid", _INT),)
_END_BODY: Final = (
    (" unused scan count ", "unused_scan_count", _INT),
    (" new scan count ", "new_scan_count", _INT),
    (" total_scan ", "total_scan", _INT),
    (" last shrinker return val ", "retval", _INT),
)

#: For each layout, the fields after ``<function> <pointer>:`` in printed order, as
#: ``(text before the value, record attribute, "int" | "word")``. The parser, its error
#: messages and :mod:`shrinkfw.trace.format` are all derived from this table.
FIELD_SPECS: Final[dict[LineFormat, tuple[tuple[str, str, str], ...]]] = {
    LineFormat.START_RATIO_NO_NID: _START_HEAD + _GFP + _RATIO + _COUNTS,
    LineFormat.START_RATIO: _NID + _START_HEAD + _GFP + _RATIO + _COUNTS,
    LineFormat.START_PRIORITY: (
        *_NID,
        *_START_HEAD,
        *_GFP,
        *_COUNTS,
        (" priority ", "priority", _INT),
    ),
    LineFormat.END_NO_NID: _END_BODY,
    LineFormat.END: _NID + _END_BODY,
}

_VALUE_RE: Final = {_INT: r"-?\d+", _WORD: r"\S+"}
_HEAD_RE: Final = (
    r"(?P<fn>[^\s+]+)(?:\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?)?"
    r"(?: \[(?P<module>[^\]\s]+)\])? (?P<ptr>\(\w+\)|(?:0x)?[0-9a-fA-F]+):"
)
_HEAD: Final = re.compile(_HEAD_RE)


def _body_regex(spec: tuple[tuple[str, str, str], ...]) -> re.Pattern[str]:
    parts = [_HEAD_RE]
    for text, name, kind in spec:
        parts.append(f"{re.escape(text)}(?P<{name}>{_VALUE_RE[kind]})")
    parts.append(r"(?P<extra>\s.*)?")
    return re.compile("".join(parts))


_BODY: Final = {fmt: _body_regex(spec) for fmt, spec in FIELD_SPECS.items()}
_START_FORMATS: Final = (
    LineFormat.START_PRIORITY,
    LineFormat.START_RATIO,
    LineFormat.START_RATIO_NO_NID,
)
_END_FORMATS: Final = (LineFormat.END, LineFormat.END_NO_NID)

_EVENT: Final = re.compile(r"(?:^|(?<=[\s:]))mm_shrink_slab_(start|end):(?=\s|$)")
_PREFIX: Final = re.compile(
    r"\s*(?P<task>.+?)(?:-|\s+)(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]"
    r"(?:\s+(?P<flags>[^\s\d]\S*))?\s+(?P<ts>\d+(?:\.\d+)?):?"
)


@attrs.define(kw_only=True)
class ShrinkStart:
    """One ``mm_shrink_slab_start`` line.

    :ivar lineno: 1-based line number in the input.
    :ivar task: ``comm-pid`` from the prefix, ``None`` without a readable prefix.
    :ivar pid: the pid from the prefix.
    :ivar cpu: the CPU column.
    :ivar timestamp: the timestamp as printed (seconds, kept as text to stay exact).
    :ivar shrinker: the scan function's symbol, without ``+0xoff/0xsize``.
    :ivar module: the module of the scan function when ``%pS`` names one.
    :ivar pointer: the shrinker pointer as printed (raw, hashed or ``(____ptrval____)``).
    :ivar nid: the node; ``None`` for v3.0-v3.15 lines.
    :ivar objects_to_shrink: ``nr`` taken from ``nr_deferred``.
    :ivar gfp_flags: the gfp mask as ``show_gfp_flags`` printed it.
    :ivar pgs_scanned: ratio layouts: the pressure numerator.
    :ivar lru_pgs: ratio layouts: the pressure denominator.
    :ivar cache_items: ``freeable``.
    :ivar delta: new work.
    :ivar total_scan: the scan target after the clamps.
    :ivar priority: priority layout: the reclaim priority.
    :ivar line_format: the layout the line was printed with.
    :ivar extra: any text after the last known field (kept, not checked).
    """

    lineno: int
    task: str | None
    pid: int | None
    cpu: int | None
    timestamp: str | None
    shrinker: str
    module: str | None
    pointer: str
    nid: int | None
    objects_to_shrink: int
    gfp_flags: str
    pgs_scanned: int | None
    lru_pgs: int | None
    cache_items: int
    delta: int
    total_scan: int
    priority: int | None
    line_format: LineFormat
    extra: str = ""

    @property
    def event(self) -> Literal["start"]:
        return "start"


@attrs.define(kw_only=True)
class ShrinkEnd:
    """One ``mm_shrink_slab_end`` line.

    :ivar unused_scan_count: ``nr`` the call took from ``nr_deferred`` at its start.
    :ivar new_scan_count: ``nr_deferred`` after the put-back (or as read, if nothing was
        added).
    :ivar total_scan: v3.16+: what the batch loop left; v3.0-v3.15: ``new - unused``.
    :ivar retval: objects freed by the whole call ("last shrinker return val").

    The other attributes are those of :class:`ShrinkStart`.
    """

    lineno: int
    task: str | None
    pid: int | None
    cpu: int | None
    timestamp: str | None
    shrinker: str
    module: str | None
    pointer: str
    nid: int | None
    unused_scan_count: int
    new_scan_count: int
    total_scan: int
    retval: int
    line_format: LineFormat
    extra: str = ""

    @property
    def event(self) -> Literal["end"]:
        return "end"


ShrinkEvent = ShrinkStart | ShrinkEnd


@attrs.define
class ParseStats:
    """Counts of what a pass over the input saw.

    :ivar lines: lines read.
    :ivar blank: empty lines.
    :ivar comments: lines starting with ``#``.
    :ivar other: lines of other events (or any other text).
    :ivar starts: ``mm_shrink_slab_start`` lines.
    :ivar ends: ``mm_shrink_slab_end`` lines.
    """

    lines: int = 0
    blank: int = 0
    comments: int = 0
    other: int = 0
    starts: int = 0
    ends: int = 0

    @property
    def ignored(self) -> int:
        """Non-empty lines that are not one of the two events."""
        return self.comments + self.other


def _optional_int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _diagnose(body: str, formats: tuple[LineFormat, ...]) -> tuple[str, str]:
    """Find the field a line fails at, for the layout it follows furthest."""
    best: tuple[int, str, str] = (-1, "", "")
    for fmt in formats:
        head = _HEAD.match(body)
        if head is None:
            word = body.split(" ", 1)[0] if body else ""
            found = (0, "shrinker", f"expected '<function> <pointer>:', got {word!r}")
        else:
            found = _diagnose_fields(body, head.end(), FIELD_SPECS[fmt])
        if found[0] > best[0]:
            best = found
    return best[1], best[2]


def _diagnose_fields(
    body: str, pos: int, spec: tuple[tuple[str, str, str], ...]
) -> tuple[int, str, str]:
    for text, name, kind in spec:
        if not body.startswith(text, pos):
            got = body[pos : pos + len(text) + 8]
            return pos, name, f"expected {text.strip()!r}, got {got!r}"
        pos += len(text)
        value = re.compile(_VALUE_RE[kind]).match(body, pos)
        if value is None:
            got = body[pos:].split(" ", 1)[0]
            what = "an integer" if kind == _INT else "a value"
            return pos, name, f"expected {what}, got {got!r}"
        end = value.end()
        if end < len(body) and not body[end].isspace():
            got = body[pos:].split(" ", 1)[0]
            return pos, name, f"expected an integer, got {got!r}"
        pos = end
    return pos, spec[-1][1], "unexpected text after the last field"


def parse_line(line: str, *, lineno: int, file: str = "<trace>") -> ShrinkEvent | None:
    """Parse one line; ``None`` when it is not a shrink_slab event.

    :raises TraceError: the line names ``mm_shrink_slab_start`` or ``_end`` as its event but
        its text does not read as any layout.
    """
    if "mm_shrink_slab_" not in line:
        return None
    event = _EVENT.search(line)
    if event is None:
        return None
    body = line[event.end() :].strip()
    prefix = line[: event.start()].rstrip()
    if prefix.endswith("vmscan:"):  # perf script prints the system: "vmscan:mm_shrink_..."
        prefix = prefix[: -len("vmscan:")].rstrip()
    if prefix.startswith("#"):
        return None
    is_end = event.group(1) == "end"
    formats = _END_FORMATS if is_end else _START_FORMATS
    match = None
    fmt = formats[0]
    for fmt in formats:
        match = _BODY[fmt].fullmatch(body)
        if match is not None:
            break
    if match is None:
        field, message = _diagnose(body, formats)
        raise TraceError(message, file=file, line=lineno, field=field)

    head = _PREFIX.fullmatch(prefix) if prefix else None
    if head is not None:
        task: str | None = f"{head['task'].strip()}-{head['pid']}"
        pid: int | None = int(head["pid"])
        cpu: int | None = int(head["cpu"])
        timestamp: str | None = head["ts"]
    else:
        task = prefix or None
        pid = cpu = None
        timestamp = None
    g = match.groupdict()
    common = {
        "lineno": lineno,
        "task": task,
        "pid": pid,
        "cpu": cpu,
        "timestamp": timestamp,
        "shrinker": g["fn"],
        "module": g["module"],
        "pointer": g["ptr"],
        "nid": _optional_int(g.get("nid")),
        "total_scan": int(g["total_scan"]),
        "line_format": fmt,
        "extra": (g["extra"] or "").strip(),
    }
    if is_end:
        return ShrinkEnd(
            unused_scan_count=int(g["unused_scan_count"]),
            new_scan_count=int(g["new_scan_count"]),
            retval=int(g["retval"]),
            **common,  # type: ignore[arg-type]
        )
    return ShrinkStart(
        objects_to_shrink=int(g["objects_to_shrink"]),
        gfp_flags=g["gfp_flags"],
        pgs_scanned=_optional_int(g.get("pgs_scanned")),
        lru_pgs=_optional_int(g.get("lru_pgs")),
        cache_items=int(g["cache_items"]),
        delta=int(g["delta"]),
        priority=_optional_int(g.get("priority")),
        **common,  # type: ignore[arg-type]
    )


def iter_events(
    lines: Iterable[str], *, file: str = "<trace>", stats: ParseStats | None = None
) -> Iterator[ShrinkEvent]:
    """Yield the shrink_slab events of ``lines`` (text lines, any line ending).

    :param stats: filled in while iterating, when given.
    :raises TraceError: on a malformed event line.
    """
    counts = stats if stats is not None else ParseStats()
    for lineno, raw in enumerate(lines, 1):
        counts.lines += 1
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            counts.blank += 1
            continue
        if stripped.startswith("#"):
            counts.comments += 1
            continue
        event = parse_line(line, lineno=lineno, file=file)
        if event is None:
            counts.other += 1
        elif isinstance(event, ShrinkStart):
            counts.starts += 1
            yield event
        else:
            counts.ends += 1
            yield event


def read_lines(path: str) -> Iterator[str]:
    """Yield the text lines of ``path`` (``-`` is standard input), one at a time.

    :raises TraceError: the file cannot be opened or read, or holds binary data.
    """
    if path == "-":
        yield from _decode(sys.stdin.buffer, "<stdin>")
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 -- closed below, errors reported as TraceError
    except OSError as exc:
        raise TraceError(f"cannot open: {exc.strerror or exc}", file=path) from None
    with handle:
        yield from _decode(handle, path)


def _decode(handle: Iterable[bytes], name: str) -> Iterator[str]:
    lineno = 0
    try:
        for lineno, raw in enumerate(handle, 1):
            if b"\0" in raw:
                raise TraceError(
                    "binary data (a NUL byte): not ftrace text; for a trace-cmd .dat file "
                    "run 'trace-cmd report' first",
                    file=name,
                    line=lineno,
                )
            yield raw.decode("utf-8", errors="replace")
    except OSError as exc:
        raise TraceError(f"read error: {exc.strerror or exc}", file=name, line=lineno + 1) from None


def parse_file(path: str, *, stats: ParseStats | None = None) -> Iterator[ShrinkEvent]:
    """Yield the shrink_slab events of the file at ``path`` (``-`` for standard input)."""
    name = "<stdin>" if path == "-" else path
    return iter_events(read_lines(path), file=name, stats=stats)
