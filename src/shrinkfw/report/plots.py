"""The PNG plots of a run directory, drawn from ``metrics.csv`` and ``events.jsonl``.

:func:`write_plots` writes the five files the run-directory document names (:data:`PLOT_FILES`)
beside the inputs. Drawing uses Matplotlib's object-oriented API on the Agg canvas, without
pyplot and its global figure registry, under Matplotlib's default style whatever the user's
``matplotlibrc`` says, at a fixed size and resolution, and saves without the ``Software``
PNG tag: the same inputs give byte-identical files.

Inputs are read leniently: a missing file, a row or line that does not parse, or a metric a
file does not have gives a plot saying "no data" instead of an error. ``events.jsonl`` can be
hundreds of megabytes; it is streamed line by line and only ``vmpressure`` events are decoded,
then counted into time bins on the fly, so memory stays bounded by the number of bins.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter, MaxNLocator

from shrinkfw.report.files import atomic_write_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

__all__ = ["PLOT_FILES", "write_plots"]

#: The plot files :func:`write_plots` writes, in the order it returns them.
PLOT_FILES: Final = (
    "memory.png",
    "slab_objects.png",
    "shrinker_work.png",
    "vmpressure.png",
    "dying_memcgs.png",
)

#: Lines drawn one by one on a plot; the others are summed into one "other (N)" line.
MAX_SERIES: Final = 12
#: Memcgs given a row of their own in the origin strip of ``vmpressure.png``.
MAX_ORIGINS: Final = 8
#: At most this many bars in ``vmpressure.png``: bins are whole multiples of the tick.
MAX_BINS: Final = 120
#: Longest series label; longer ones keep their tail (the leaf of a memcg path).
MAX_LABEL: Final = 28

DPI: Final = 100
WIDE: Final = (10.0, 4.5)
TALL: Final = (10.0, 7.5)
PRESSURE_SIZE: Final = (10.0, 6.0)

#: Space around the axes, inches; the right margin holds the legend and the strip labels.
MARGIN_LEFT: Final = 0.85
MARGIN_RIGHT: Final = 2.7
MARGIN_BOTTOM: Final = 0.6
MARGIN_TOP: Final = 0.4

MIB: Final = float(1 << 20)

#: Distinct line colours for the ranked series (the Tableau set without its grey, and three
#: darker ones); "other" lines are grey.
PALETTE: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#ad494a",
)
OTHER_COLOR: Final = "#7f7f7f"

#: vmpressure levels in order of severity, and their colours.
LEVELS: Final = ("low", "medium", "critical")
LEVEL_COLORS: Final = ("gold", "orange", "red")

_TIME_LABEL: Final = "simulated time (s)"
_PNG_METADATA: Final = {"Software": None}


# --------------------------------------------------------------------------------- reading


@dataclass
class Series:
    """One metric of one scope and name, in the order the rows came (time order)."""

    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def peak(self) -> float:
        """The largest value, 0 for an empty series."""
        return max(self.values, default=0.0)


@dataclass
class Metrics:
    """``metrics.csv``, keyed by ``(scope, name, metric)`` in the order rows first appeared."""

    series: dict[tuple[str, str, str], Series] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)

    def get(self, scope: str, name: str, metric: str) -> Series | None:
        """The series of one metric, or None when the file has no row of it."""
        return self.series.get((scope, name, metric))

    def names(self, scope: str, *metrics: str) -> list[str]:
        """Names of ``scope`` having any of ``metrics``, in the order the file first saw them."""
        seen: dict[str, None] = {}
        for s, name, metric in self.series:
            if s == scope and metric in metrics:
                seen.setdefault(name, None)
        return list(seen)

    def tick(self) -> float:
        """The smallest gap between two sample times; 1.0 with fewer than two samples."""
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False) if b > a]
        return min(gaps, default=1.0)


def read_metrics(path: Path) -> Metrics:
    """Read ``metrics.csv``; rows without a numeric ``time`` and ``value`` are skipped and a
    missing file reads as no rows."""
    metrics = Metrics()
    if not path.is_file():
        return metrics
    times: set[float] = set()
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            try:
                t = float(row["time"])
                v = float(row["value"])
            except (KeyError, TypeError, ValueError):
                continue
            if not (math.isfinite(t) and math.isfinite(v)):
                continue
            key = (row.get("scope") or "", row.get("name") or "", row.get("metric") or "")
            series = metrics.series.get(key)
            if series is None:
                series = metrics.series[key] = Series()
            series.times.append(t)
            series.values.append(v)
            times.add(t)
    metrics.times = sorted(times)
    return metrics


@dataclass
class Pressure:
    """vmpressure windows counted per fine bin (one tick wide) as they stream past.

    :ivar tick: width of a fine bin, seconds.
    :ivar counts: fine bin index → events per level (low, medium, critical).
    :ivar worst: ``(origin memcg, fine bin index)`` → the most severe level seen.
    :ivar by_origin: events per origin memcg, in the order first seen.
    :ivar last_time: time of the latest event, or None without events.
    """

    tick: float
    counts: dict[int, list[int]] = field(default_factory=dict)
    worst: dict[tuple[str, int], int] = field(default_factory=dict)
    by_origin: dict[str, int] = field(default_factory=dict)
    last_time: float | None = None

    def add(self, time: float, level: int, origin: str) -> None:
        """Count one event."""
        index = math.floor(time / self.tick)
        row = self.counts.get(index)
        if row is None:
            row = self.counts[index] = [0, 0, 0]
        row[level] += 1
        key = (origin, index)
        if self.worst.get(key, -1) < level:
            self.worst[key] = level
        self.by_origin[origin] = self.by_origin.get(origin, 0) + 1
        if self.last_time is None or time > self.last_time:
            self.last_time = time

    @property
    def total(self) -> int:
        """Events counted."""
        return sum(self.by_origin.values())


def read_vmpressure(path: Path, tick: float) -> Pressure:
    """Stream ``events.jsonl`` and count its ``vmpressure_window`` events (every evaluated
    window of every memcg, listened to or not) into bins ``tick`` wide.

    Lines are read as bytes and only those mentioning ``vmpressure`` are decoded; lines that
    are not JSON objects, events without a numeric time or with an unknown level are skipped.
    A missing file reads as no events.
    """
    pressure = Pressure(tick=tick if tick > 0 else 1.0)
    if not path.is_file():
        return pressure
    with path.open("rb") as f:
        for line in f:
            if b"vmpressure" not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or event.get("event") != "vmpressure_window":
                continue
            time = event.get("time")
            level = event.get("level")
            if (
                not isinstance(time, int | float)
                or isinstance(time, bool)
                or not math.isfinite(time)
                or level not in LEVELS
            ):
                continue
            origin = event.get("memcg") or "?"
            pressure.add(float(time), LEVELS.index(level), str(origin))
    return pressure


# --------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Entry:
    """One line of a plot: a single name, or the sum of the names left over ("other")."""

    label: str
    color: str
    names: tuple[str, ...]


def short_label(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters, keeping its end."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def rank(names: Sequence[str], limit: int) -> list[Entry]:
    """Entries for the first ``limit`` of ``names`` (ranked by the caller, most important
    first), each with its own colour, and one grey "other (N)" entry summing the rest."""
    top, rest = names[:limit], names[limit:]
    entries = [Entry(short_label(n), PALETTE[i % len(PALETTE)], (n,)) for i, n in enumerate(top)]
    if rest:
        entries.append(Entry(f"other ({len(rest)})", OTHER_COLOR, tuple(rest)))
    return entries


def by_peak(names: Iterable[str], peak: Callable[[str], float]) -> list[str]:
    """``names`` largest ``peak`` first; ties keep their order (the order the run saw them)."""
    return sorted(names, key=lambda n: -peak(n))


def combined(metrics: Metrics, scope: str, names: Iterable[str], metric: str) -> Series | None:
    """The series of one name, or the sum over several at each sample time (a name absent at a
    time counts 0); None when none of them has the metric."""
    parts = [s for n in names if (s := metrics.get(scope, n, metric)) is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    acc: dict[float, float] = {}
    for part in parts:
        for t, v in zip(part.times, part.values, strict=True):
            acc[t] = acc.get(t, 0.0) + v
    times = sorted(acc)
    return Series(times, [acc[t] for t in times])


def _line(
    ax: Axes, series: Series, color: str, *, scale: float = 1.0, dashed: bool = False
) -> None:
    """Draw a series; a lone sample gets a marker so that it shows."""
    ax.plot(
        series.times,
        [v / scale for v in series.values],
        color=color,
        linestyle="--" if dashed else "-",
        linewidth=1.0 if dashed else 1.4,
        marker="o" if len(series.times) == 1 else None,
        markersize=4,
    )


def _no_data(ax: Axes, what: str) -> None:
    """Mark an axes as empty instead of drawing."""
    ax.text(
        0.5,
        0.5,
        f"no data\n({what})",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontsize="large",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _legend(fig: Figure, handles: Sequence[Artist], labels: Sequence[str]) -> None:
    """A legend in the margin right of the axes."""
    if handles:
        width, height = fig.get_size_inches()
        anchor = (1.0 - (MARGIN_RIGHT - 0.15) / width, 1.0 - MARGIN_TOP / height)
        fig.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=anchor,
            fontsize="small",
            frameon=False,
            borderaxespad=0.0,
        )


def _entry_handles(entries: Sequence[Entry]) -> tuple[list[Artist], list[str]]:
    handles: list[Artist] = [Line2D([], [], color=e.color, linewidth=1.4) for e in entries]
    return handles, [e.label for e in entries]


def _time_axis(ax: Axes, span: tuple[float, float] | None) -> None:
    """Label the time axis and give every plot the run's whole time span."""
    ax.set_xlabel(_TIME_LABEL)
    if span is not None and span[1] > span[0]:
        ax.set_xlim(span)


def _count_axis(ax: Axes, label: str) -> None:
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


def _figure(size: tuple[float, float]) -> Figure:
    """A figure of ``size`` inches whose axes leave fixed margins, in inches: room for the
    tick labels left and below, the title above and the legend right. Fixed margins rather
    than a layout engine: as fast, and the same picture whatever the labels."""
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    width, height = size
    fig.subplots_adjust(
        left=MARGIN_LEFT / width,
        right=1.0 - MARGIN_RIGHT / width,
        bottom=MARGIN_BOTTOM / height,
        top=1.0 - MARGIN_TOP / height,
        hspace=0.25,
    )
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=_PNG_METADATA)
    return buf.getvalue()


def plot_memory(metrics: Metrics, span: tuple[float, float] | None) -> Figure:
    """``memory.png``: usage per memcg path (solid) and its kmem part (dashed), MiB."""
    fig = _figure(WIDE)
    ax = fig.add_subplot()
    ax.set_title("Memory charged per memcg")
    names = metrics.names("memcg", "usage_bytes", "kmem_bytes")
    if not names:
        _no_data(ax, "no memcg usage_bytes or kmem_bytes in metrics.csv")
        return fig

    def peak(name: str) -> float:
        usage = metrics.get("memcg", name, "usage_bytes")
        kmem = metrics.get("memcg", name, "kmem_bytes")
        return max(usage.peak() if usage else 0.0, kmem.peak() if kmem else 0.0)

    entries = rank(by_peak(names, peak), MAX_SERIES)
    for entry in entries:
        usage = combined(metrics, "memcg", entry.names, "usage_bytes")
        kmem = combined(metrics, "memcg", entry.names, "kmem_bytes")
        if usage is not None:
            _line(ax, usage, entry.color, scale=MIB)
        if kmem is not None:
            _line(ax, kmem, entry.color, scale=MIB, dashed=True)
    _time_axis(ax, span)
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    handles, labels = _entry_handles(entries)
    handles += [
        Line2D([], [], color="black", linewidth=1.4),
        Line2D([], [], color="black", linewidth=1.0, linestyle="--"),
    ]
    labels += ["usage (solid)", "kmem (dashed)"]
    _legend(fig, handles, labels)
    return fig


def plot_slab_objects(metrics: Metrics, span: tuple[float, float] | None) -> Figure:
    """``slab_objects.png``: objects on each shrinker's list_lrus."""
    fig = _figure(WIDE)
    ax = fig.add_subplot()
    ax.set_title("Slab objects per shrinker")
    names = metrics.names("shrinker", "objects")
    if not names:
        _no_data(ax, "no shrinker objects in metrics.csv")
        return fig

    def peak(name: str) -> float:
        series = metrics.get("shrinker", name, "objects")
        return series.peak() if series else 0.0

    entries = rank(by_peak(names, peak), MAX_SERIES)
    for entry in entries:
        series = combined(metrics, "shrinker", entry.names, "objects")
        if series is not None:
            _line(ax, series, entry.color)
    _time_axis(ax, span)
    _count_axis(ax, "objects")
    _legend(fig, *_entry_handles(entries))
    return fig


_WORK_METRICS: Final = (
    ("scanned", "scanned (cumulative)"),
    ("freed", "freed (cumulative)"),
    ("nr_deferred", "nr_deferred"),
)


def plot_shrinker_work(metrics: Metrics, span: tuple[float, float] | None) -> Figure:
    """``shrinker_work.png``: cumulative scanned, cumulative freed and nr_deferred per shrinker,
    three axes sharing the time axis; a shrinker keeps its colour across the three."""
    fig = _figure(TALL)
    wanted = [m for m, _ in _WORK_METRICS]
    names = metrics.names("shrinker", *wanted)
    if not names:
        ax = fig.add_subplot()
        ax.set_title("Shrinker work")
        _no_data(ax, "no shrinker scanned, freed or nr_deferred in metrics.csv")
        return fig

    def peaks(name: str) -> tuple[float, ...]:
        return tuple(
            s.peak() if (s := metrics.get("shrinker", name, m)) is not None else 0.0 for m in wanted
        )

    # Busiest first: by scanned, then freed, then the work they keep putting off.
    entries = rank(sorted(names, key=lambda n: tuple(-p for p in peaks(n))), MAX_SERIES)
    axes = fig.subplots(len(_WORK_METRICS), 1, sharex=True)
    axes[0].set_title("Shrinker work")
    for ax, (metric, label) in zip(axes, _WORK_METRICS, strict=True):
        drawn = False
        for entry in entries:
            series = combined(metrics, "shrinker", entry.names, metric)
            if series is not None:
                _line(ax, series, entry.color)
                drawn = True
        if drawn:
            _count_axis(ax, label)
        else:
            _no_data(ax, f"no shrinker {metric}")
    _time_axis(axes[-1], span)
    _legend(fig, *_entry_handles(entries))
    return fig


def plot_vmpressure(pressure: Pressure, span: tuple[float, float] | None) -> Figure:
    """``vmpressure.png``: events per level in each time bin, stacked; below, for the memcgs
    whose windows filled most often, the most severe level each reached in each bin."""
    fig = _figure(PRESSURE_SIZE)
    if not pressure.counts:
        ax = fig.add_subplot()
        ax.set_title("vmpressure windows")
        _no_data(ax, "no vmpressure windows in events.jsonl")
        return fig
    ax, strip = fig.subplots(2, 1, sharex=True, height_ratios=(3.0, 1.6))

    # Whole ticks per bin, so that no more than MAX_BINS bars are drawn.
    first, last = min(pressure.counts), max(pressure.counts)
    per_bin = max(1, math.ceil((last - first + 1) / MAX_BINS))
    width = per_bin * pressure.tick
    bins: dict[int, list[int]] = {}
    for index in sorted(pressure.counts):
        row = bins.setdefault(index // per_bin, [0, 0, 0])
        for level, n in enumerate(pressure.counts[index]):
            row[level] += n
    starts = [b * width for b in bins]
    bottom = [0] * len(bins)
    for level, color in enumerate(LEVEL_COLORS):
        heights = [row[level] for row in bins.values()]
        ax.bar(starts, heights, width, bottom=bottom, align="edge", color=color, linewidth=0)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_title(f"vmpressure windows per {width:g} s, by level")
    _count_axis(ax, "windows")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))

    # The origin strip: one row per memcg, coloured by the worst level of the bin.
    entries = rank(by_peak(pressure.by_origin, pressure.by_origin.__getitem__), MAX_ORIGINS)
    row_of = {name: i for i, e in enumerate(entries) for name in e.names}
    worst: dict[tuple[int, int], int] = {}
    for (origin, index), level in pressure.worst.items():
        key = (row_of[origin], index // per_bin)
        if worst.get(key, -1) < level:
            worst[key] = level
    spans: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for (strip_row, b), level in sorted(worst.items()):
        spans.setdefault((level, strip_row), []).append((b * width, width))
    for (level, strip_row), xranges in sorted(spans.items()):
        y = len(entries) - 1 - strip_row
        strip.broken_barh(xranges, (y - 0.4, 0.8), facecolors=LEVEL_COLORS[level], linewidth=0)
    strip.set_yticks(range(len(entries)), [e.label for e in reversed(entries)], fontsize="small")
    strip.set_ylim(-0.6, len(entries) - 0.4)
    strip.yaxis.tick_right()
    strip.set_ylabel("memcg")
    _time_axis(strip, span)

    counts = [sum(row[level] for row in pressure.counts.values()) for level in range(3)]
    handles: list[Artist] = [Patch(color=c) for c in LEVEL_COLORS]
    labels = [f"{name} ({n})" for name, n in zip(LEVELS, counts, strict=True)]
    _legend(fig, handles, labels)
    return fig


def plot_dying(metrics: Metrics, span: tuple[float, float] | None) -> Figure:
    """``dying_memcgs.png``: the machine's count of removed but not yet freed memcgs."""
    fig = _figure(WIDE)
    ax = fig.add_subplot()
    ax.set_title("Dying memcgs (removed, not yet freed)")
    series = metrics.get("machine", "", "dying_memcgs")
    if series is None:
        _no_data(ax, "no machine dying_memcgs in metrics.csv")
        return fig
    ax.step(series.times, series.values, where="post", color="#8c564b", linewidth=1.4)
    ax.fill_between(series.times, series.values, step="post", color="#8c564b", alpha=0.25)
    if len(series.times) == 1:
        ax.plot(series.times, series.values, "o", color="#8c564b", markersize=4)
    _time_axis(ax, span)
    ax.set_ylabel("memcgs")
    ax.set_ylim(0, max(1.0, series.peak()) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return fig


def _span(metrics: Metrics, pressure: Pressure) -> tuple[float, float] | None:
    """First and last time of the run's samples and events, or None without any."""
    times = list(metrics.times[:1] + metrics.times[-1:])
    if pressure.counts:
        times.append(min(pressure.counts) * pressure.tick)
    if pressure.last_time is not None:
        times.append(pressure.last_time)
    return (min(times), max(times)) if times else None


def write_plots(run_dir: Path) -> list[Path]:
    """Draw the plots of the run in ``run_dir`` from its ``metrics.csv`` and ``events.jsonl``
    and write them there, each atomically.

    :returns: the paths written, in the order of :data:`PLOT_FILES`.
    """
    metrics = read_metrics(run_dir / "metrics.csv")
    pressure = read_vmpressure(run_dir / "events.jsonl", metrics.tick())
    span = _span(metrics, pressure)
    drawers: dict[str, Callable[[], Figure]] = {
        "memory.png": lambda: plot_memory(metrics, span),
        "slab_objects.png": lambda: plot_slab_objects(metrics, span),
        "shrinker_work.png": lambda: plot_shrinker_work(metrics, span),
        "vmpressure.png": lambda: plot_vmpressure(pressure, span),
        "dying_memcgs.png": lambda: plot_dying(metrics, span),
    }
    written: list[Path] = []
    # Matplotlib's defaults, not the user's matplotlibrc, so that every machine draws alike;
    # and names are text, never mathtext ("$" is fine in a cgroup name).
    with matplotlib.style.context(["default", {"text.parse_math": False}]):
        for name in PLOT_FILES:
            data = _png(drawers[name]())
            path = run_dir / name
            atomic_write_bytes(path, data)
            written.append(path)
    return written
