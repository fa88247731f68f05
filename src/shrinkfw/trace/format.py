"""Render shrink_slab events in the kernel's ftrace text layout of each era.

The inverse of :mod:`shrinkfw.trace.parse`: a line written here parses back to the same
fields, so a simulated run can write an ``ftrace.txt`` that ``shrinkfw trace check`` reads like
a real trace. The field order and labels come from :data:`~shrinkfw.trace.parse.FIELD_SPECS`.

The prefix follows ``trace_print_context`` of current kernels: the task name right-aligned in
16 columns, ``-pid`` left-aligned in 7, ``[cpu]`` with three digits, the irq-flags column, and
the timestamp as ``%5lu.%06lu``::

    kswapd0-93      [005] .....  4736.760169: mm_shrink_slab_start: ...

Styles (``style=``):

- ``"priority"`` (v4.16+, eras E3-E5), ``"ratio"`` (v3.16-v4.15, E2 and late E1), and
  ``"ratio-no-nid"`` (v3.12-v3.15, including the v3.14 target of E1);
- an era tag: ``"E1"`` is ``"ratio-no-nid"`` (its target, v3.14, predates the nid field),
  ``"E2"`` is ``"ratio"``, ``"E3"``-``"E5"`` are ``"priority"``;
- an arithmetic variant name of :data:`~shrinkfw.shrink_arith.ARITH_VARIANTS` (``"v3.12"``
  and ``"v3.14"`` print without nid, ``"v3.19"``-``"v4.14"`` ratio, later ones priority).

In the no-nid style the end line's ``total_scan`` is ``new - unused``, which is what those
kernels' tracepoint computed; the loop remainder passed in is not printed.
"""

from __future__ import annotations

from typing import Any, Final

from ..errors import UsageError
from ..shrink_arith import ARITH_VARIANTS, DeltaRule
from .parse import FIELD_SPECS, LineFormat

__all__ = [
    "STYLES",
    "format_end",
    "format_prefix",
    "format_record",
    "format_start",
    "line_formats",
]

_STYLE_FORMATS: Final = {
    "priority": (LineFormat.START_PRIORITY, LineFormat.END),
    "ratio": (LineFormat.START_RATIO, LineFormat.END),
    "ratio-no-nid": (LineFormat.START_RATIO_NO_NID, LineFormat.END_NO_NID),
}
_ERA_STYLE: Final = {
    "E1": "ratio-no-nid",
    "E2": "ratio",
    "E3": "priority",
    "E4": "priority",
    "E5": "priority",
}

#: Every accepted ``style`` value.
STYLES: Final = tuple(_STYLE_FORMATS) + tuple(_ERA_STYLE) + tuple(ARITH_VARIANTS)


def line_formats(style: str) -> tuple[LineFormat, LineFormat]:
    """The (start, end) layouts of a style, era tag or variant name.

    :raises UsageError: for an unknown style.
    """
    if style in _STYLE_FORMATS:
        return _STYLE_FORMATS[style]
    if style in _ERA_STYLE:
        return _STYLE_FORMATS[_ERA_STYLE[style]]
    arith = ARITH_VARIANTS.get(style)
    if arith is None:
        raise UsageError(f"unknown trace style {style!r}; expected one of {', '.join(STYLES)}")
    if arith.delta_rule is DeltaRule.PRIORITY:
        return _STYLE_FORMATS["priority"]
    return _STYLE_FORMATS["ratio-no-nid" if arith.era == "E1" else "ratio"]


def format_prefix(
    *,
    task: str = "shrinkfw",
    pid: int = 1,
    cpu: int = 0,
    timestamp: float = 0.0,
    flags: str = ".....",
) -> str:
    """The ``task-pid [cpu] flags timestamp: `` prefix of one line."""
    micros = round(timestamp * 1_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    return f"{task:>16}-{pid:<7} [{cpu:03d}] {flags} {seconds:5d}.{micros:06d}: "


def _head(shrinker: str, pointer: str, module: str | None, symbol_size: int) -> str:
    module_text = f" [{module}]" if module else ""
    return f"{shrinker}+0x0/{symbol_size:#x}{module_text} {pointer}:"


def _render(fmt: LineFormat, head: str, values: dict[str, object]) -> str:
    parts = [head]
    for text, name, _kind in FIELD_SPECS[fmt]:
        value = values[name]
        if value is None:
            raise UsageError(f"{fmt.value} line needs a value for {name!r}")
        parts.append(f"{text}{value}")
    return "".join(parts)


def format_start(
    *,
    shrinker: str,
    nid: int | None,
    objects_to_shrink: int,
    gfp_flags: str,
    cache_items: int,
    delta: int,
    total_scan: int,
    pgs_scanned: int | None = None,
    lru_pgs: int | None = None,
    priority: int | None = None,
    style: str = "priority",
    pointer: str = "(____ptrval____)",
    module: str | None = None,
    symbol_size: int = 0x100,
    task: str = "shrinkfw",
    pid: int = 1,
    cpu: int = 0,
    timestamp: float = 0.0,
    flags: str = ".....",
) -> str:
    """One ``mm_shrink_slab_start`` line (no newline).

    :param shrinker: the scan function's name (what ``%pS`` resolves to).
    :param style: see the module docstring; ratio styles need ``pgs_scanned`` and
        ``lru_pgs``, the priority style needs ``priority``.
    :raises UsageError: unknown style, or a field the style prints is missing.
    """
    fmt = line_formats(style)[0]
    values: dict[str, object] = {
        "nid": nid,
        "objects_to_shrink": objects_to_shrink,
        "gfp_flags": gfp_flags,
        "pgs_scanned": pgs_scanned,
        "lru_pgs": lru_pgs,
        "cache_items": cache_items,
        "delta": delta,
        "total_scan": total_scan,
        "priority": priority,
    }
    prefix = format_prefix(task=task, pid=pid, cpu=cpu, timestamp=timestamp, flags=flags)
    body = _render(fmt, _head(shrinker, pointer, module, symbol_size), values)
    return f"{prefix}mm_shrink_slab_start: {body}"


def format_end(
    *,
    shrinker: str,
    nid: int | None,
    unused_scan_count: int,
    new_scan_count: int,
    total_scan: int,
    retval: int,
    style: str = "priority",
    pointer: str = "(____ptrval____)",
    module: str | None = None,
    symbol_size: int = 0x100,
    task: str = "shrinkfw",
    pid: int = 1,
    cpu: int = 0,
    timestamp: float = 0.0,
    flags: str = ".....",
) -> str:
    """One ``mm_shrink_slab_end`` line (no newline).

    :param total_scan: what the batch loop left; the no-nid style prints
        ``new_scan_count - unused_scan_count`` instead, as those kernels did.
    :raises UsageError: unknown style, or ``nid`` missing for a style that prints it.
    """
    fmt = line_formats(style)[1]
    if fmt is LineFormat.END_NO_NID:
        total_scan = new_scan_count - unused_scan_count
    values: dict[str, object] = {
        "nid": nid,
        "unused_scan_count": unused_scan_count,
        "new_scan_count": new_scan_count,
        "total_scan": total_scan,
        "retval": retval,
    }
    prefix = format_prefix(task=task, pid=pid, cpu=cpu, timestamp=timestamp, flags=flags)
    body = _render(fmt, _head(shrinker, pointer, module, symbol_size), values)
    return f"{prefix}mm_shrink_slab_end: {body}"


def format_record(
    record: object,
    *,
    style: str = "priority",
    shrinker: str | None = None,
    **prefix: object,
) -> str:
    """Render a start or end record of :mod:`shrinkfw.trace.parse` or :mod:`shrinkfw.tracepoints`.

    Records of the simulator (``ShrinkSlabStart`` / ``ShrinkSlabEnd``) name the shrinker, not
    its scan function: pass ``shrinker=`` to print the function the checker should look up.
    The gfp mask of a simulator record is printed the way ``show_gfp_flags`` prints it.

    :param prefix: ``task``, ``pid``, ``cpu``, ``timestamp``, ``flags``, ``pointer``, ``module``
        passed through to :func:`format_start` / :func:`format_end`.
    :raises UsageError: the record is neither kind.
    """

    def get(*names: str) -> Any:
        for attr in names:
            if hasattr(record, attr):
                return getattr(record, attr)
        raise UsageError(f"cannot format {type(record).__name__}: it has no {names[0]!r}")

    is_start = hasattr(record, "cache_items")
    if not is_start and not hasattr(record, "retval"):
        raise UsageError(f"cannot format {type(record).__name__}: not a shrink_slab start or end")
    name = shrinker if shrinker is not None else get("shrinker")
    if is_start:
        gfp = get("gfp_flags")
        if not isinstance(gfp, str):
            from ..shrinker import Gfp, gfp_name

            gfp = gfp_name(Gfp(gfp))
        return format_start(
            shrinker=name,
            nid=get("nid"),
            objects_to_shrink=get("objects_to_shrink", "nr_objects_to_shrink"),
            gfp_flags=gfp,
            cache_items=get("cache_items"),
            delta=get("delta"),
            total_scan=get("total_scan"),
            pgs_scanned=get("pgs_scanned"),
            lru_pgs=get("lru_pgs"),
            priority=get("priority"),
            style=style,
            **prefix,  # type: ignore[arg-type]
        )
    return format_end(
        shrinker=name,
        nid=get("nid"),
        unused_scan_count=get("unused_scan_count", "unused_scan_cnt"),
        new_scan_count=get("new_scan_count", "new_scan_cnt"),
        total_scan=get("total_scan"),
        retval=get("retval"),
        style=style,
        **prefix,  # type: ignore[arg-type]
    )
