"""``report.html``: one self-contained page presenting a run directory.

:func:`write_report` reads ``summary.json``, draws the plots (:func:`~.plots.write_plots`) and
writes the page beside them: inline CSS, no script, no external resource, the plots linked by
their file names. The page holds nothing the inputs do not (no date, no host), so the same run
gives the same bytes. Every key of the summary is optional: a partial or older summary gives a
page with less in it, never an error. All text from the run is HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from shrinkfw.report.files import atomic_write_text
from shrinkfw.report.plots import write_plots

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = ["load_summary", "render_report", "write_report"]

#: Rows shown of the long tables; the rest stay in ``summary.json``.
MAX_MEMCGS: Final = 500
MAX_SHRINKERS: Final = 500
MAX_DECISIONS: Final = 200
MAX_ERRORS: Final = 200

_MIB: Final = float(1 << 20)
_NONE: Final = "—"

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 14em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.status-ok { color: #1a7f37; font-weight: bold; }
.status-stopped { color: #b42318; font-weight: bold; }
.note { color: #666; font-size: 0.9em; }
.warning { background: #fff4e5; border: 1px solid #f0b45b; padding: 0.5em 1em; }
code { font-size: 0.95em; }
"""

#: What each plot shows and how to read it, in kernel terms (HTML, written here: trusted).
PLOT_NOTES: Final[Mapping[str, tuple[str, str]]] = {
    "memory.png": (
        "Memory per memcg",
        "Each solid line is the memory charged to a memcg (<code>memory.usage_in_bytes</code> "
        "in cgroup v1, <code>memory.current</code> in v2), summed over the live incarnations "
        "of its path; the dashed line of the same colour is the kernel-memory part of it, "
        "mostly slab objects. Charges are hierarchical: a parent's line includes its "
        "children's. When a charge would take a memcg over its limit, the charging task runs "
        "memcg limit reclaim (<code>try_to_free_mem_cgroup_pages</code>): it scans that "
        "memcg's own page LRUs and calls the memcg-aware shrinkers with "
        "<code>sc-&gt;memcg</code> set, so they free only objects on that memcg's "
        "<code>list_lru</code> lists. A solid line flattening at its limit while the dashed "
        "one falls is the memcg's own slab being shrunk. Only the largest memcgs are drawn "
        "one by one; the others are summed into one grey line.",
    ),
    "slab_objects.png": (
        "Slab objects per shrinker",
        "The objects on each shrinker's <code>list_lru</code> lists, summed over all nodes "
        "and memcgs (its <code>count_objects</code> reports them one node and memcg at a "
        "time). Two kinds "
        "of reclaim bring these lines down. Global reclaim (kswapd, woken when a node's free "
        "pages fall below the low watermark, or direct reclaim by an allocating task that "
        "finds them below the min watermark) asks every shrinker for a share of its objects "
        "scaled to the reclaim effort: the page-LRU pages scanned over the LRU size in older "
        "kernels, the reclaim priority from v4.16 (<code>freeable &gt;&gt; priority</code>). "
        "Memcg limit reclaim calls only memcg-aware shrinkers, and "
        "only on the lists of the memcg over its limit and its descendants: a shrinker that "
        "is not memcg-aware keeps its objects through it.",
    ),
    "shrinker_work.png": (
        "Shrinker work",
        "Top: the objects each shrinker scanned, cumulative: the <code>nr_to_scan</code> "
        "batches <code>do_shrink_slab</code> handed to its <code>scan_objects</code> (less "
        "when it lowered <code>nr_scanned</code>, v4.14+). Middle: the objects "
        "its <code>scan_objects</code> freed, cumulative; the gap between the two is objects "
        "looked at but kept (recently referenced, busy, rotated). Bottom: "
        "<code>nr_deferred</code>, the work <code>do_shrink_slab</code> carries to the next "
        "call. Each call adds the new share (<code>delta</code>) to the deferred work to get "
        "<code>total_scan</code>; what is not done, because the shrinker answered "
        "<code>SHRINK_STOP</code> (a <code>GFP_NOFS</code> allocation cannot enter the "
        "filesystem) or the remainder was smaller than a batch, goes back into "
        "<code>nr_deferred</code>. A growing line means work piling up for one later call "
        "able to do it, which then frees a burst of objects at once.",
    ),
    "vmpressure.png": (
        "vmpressure windows",
        "Every reclaim pass reports the pages it scanned and reclaimed for a memcg. Once a "
        "memcg's window holds 512 scanned pages (<code>SWAP_CLUSTER_MAX * 16</code>), the "
        "kernel computes pressure = 100 × (1 − reclaimed / scanned) and a level: "
        "<b>low</b> under 60 (reclaim is working), <b>medium</b> from 60 (reclaim is "
        "struggling: swapping, cache refaulting), <b>critical</b> from 95 or when the reclaim "
        "priority has fallen to 3 (close to out of memory). It signals the listeners "
        "registered through <code>memory.pressure_level</code> on that memcg or, depending on "
        "the era and mode, its ancestors. The bars count every evaluated window per time bin, "
        "stacked by level, whether or not anyone listens; the strip below shows, for the "
        "memcgs whose windows filled most often, the most severe level each reached in each "
        "bin.",
    ),
    "dying_memcgs.png": (
        "Dying memcgs",
        "A removed cgroup (<code>rmdir</code>) goes offline at once, but its memcg stays "
        "allocated as long as something charged to it is alive: until v5.9 every slab "
        "object charged to it holds it (from v5.9 objects are charged through an "
        "<code>obj_cgroup</code> that is handed to the parent at offline), and from v3.19 "
        "its page cache does too. Such "
        "memcgs are <i>dying</i> (<code>nr_dying_descendants</code> in "
        "<code>cgroup.stat</code>). The line rises as memcgs are removed with charges left "
        "and falls as reclaim frees those objects and pages (or a reaper, such as the one "
        "of the kmemcg v15 series, shrinks their caches) and the memcgs are freed. A line "
        "that only rises is memcgs pinned by objects nothing reclaims.",
    ),
}

_RECLAIM_NOTES: Final[Mapping[str, str]] = {
    "direct": "passes run by an allocating task that found free pages below the min watermark",
    "kswapd": "background passes of kswapd, woken below a node's low watermark",
    "memcg_limit": "passes of a charge that would exceed memory.max / limit_in_bytes",
    "memcg_high": "passes of a charge over memory.high (v2), run on return to user space",
    "other": "passes of other triggers (drop_caches, ...)",
    "pages_reclaimed": "pages freed by all reclaim",
    "slab_pages_reclaimed": "slab pages freed by shrinkers during reclaim",
    "slab_freed": "objects freed by shrinkers",
}

_LEVEL_NOTES: Final[Mapping[str, str]] = {
    "low": "pressure under 60: reclaim keeps up",
    "medium": "pressure 60 to 94: reclaim is struggling",
    "critical": "pressure 95 or more, or priority down to 3: near out of memory",
}


# ------------------------------------------------------------------------------ formatting


def _text(value: object) -> str:
    """Any value as escaped text; None as a dash."""
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (a bool is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: object) -> str:
    """An integer with thousands separators; anything else as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return _text(value)


def _seconds(value: object) -> str:
    if _is_number(value):
        return f"{value:g} s"
    return _text(value)


def _mib(value: object) -> str:
    """Bytes in MiB with one decimal."""
    if _is_number(value):
        return f"{value / _MIB:,.1f}"
    return _text(value)


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _records(value: object) -> list[Mapping[str, Any]]:
    """The objects of a JSON list; anything else is no records."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> str:
    """An HTML table; ``rows`` hold escaped HTML, ``numeric`` columns are right-aligned."""
    right = set(numeric)
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        cells = "".join(
            f'<td class="n">{cell}</td>' if i in right else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _key_values(pairs: Iterable[tuple[str, str]]) -> str:
    """A two-column table of a label and escaped HTML."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def _shown(total: int, shown: int, what: str) -> str:
    """A note when a table holds only the first rows."""
    if shown >= total:
        return ""
    return (
        f'<p class="note">The first {shown:,} of {total:,} {escape(what)}; '
        "<code>summary.json</code> has them all.</p>"
    )


# ------------------------------------------------------------------------------ sections


def _status(summary: Mapping[str, Any]) -> str:
    complete = summary.get("complete")
    if complete is True:
        return '<span class="status-ok">complete</span>'
    if complete is False:
        why = summary.get("stopped")
        reason = _text(why) if why is not None else "reason not recorded"
        return f'<span class="status-stopped">stopped early: {reason}</span>'
    return "unknown"


def _scenario_file(summary: Mapping[str, Any]) -> str:
    if "scenario_file" not in summary:
        return _NONE
    return _text(summary["scenario_file"] or "embedded")


def _identity(summary: Mapping[str, Any]) -> str:
    machine = _dict(summary.get("machine"))
    pairs = [
        ("scenario", _text(summary.get("scenario"))),
        ("scenario file", _scenario_file(summary)),
        ("profile", _text(summary.get("profile"))),
        ("era", _text(summary.get("era"))),
        ("seed", _text(summary.get("seed"))),
        ("duration asked", _seconds(summary.get("duration"))),
        ("tick", _seconds(summary.get("tick"))),
        ("ticks completed", _count(summary.get("ticks"))),
        ("time reached", _seconds(summary.get("time"))),
        ("status", _status(summary)),
        ("NUMA nodes", _count(machine.get("nodes"))),
        ("memory (MiB)", _mib(machine.get("memory_bytes"))),
        ("free at the end (MiB)", _mib(machine.get("free_bytes"))),
        ("written by", "shrinkfw " + _text(summary.get("shrinkfw"))),
    ]
    return _key_values(pairs)


def _plots(plots: Sequence[str]) -> str:
    out = []
    for name in plots:
        title, note = PLOT_NOTES.get(name, (name, ""))
        out.append(f"<h3>{escape(title)}</h3>")
        if note:
            out.append(f"<p>{note}</p>")
        src = escape(name)
        out.append(f'<figure><img src="{src}" alt="{escape(title)}"></figure>')
    return "\n".join(out)


def _memcgs(summary: Mapping[str, Any]) -> str:
    if "memcgs" not in summary:
        return ""
    memcgs = _records(summary.get("memcgs"))
    if not memcgs:
        return '<p class="note">No memcgs.</p>'
    rows = []
    for m in memcgs[:MAX_MEMCGS]:
        limit = m.get("limit_bytes")
        rows.append(
            (
                _text(m.get("path")),
                _text(m.get("id")),
                _text(m.get("state")),
                _mib(m.get("usage_bytes")),
                _mib(m.get("kmem_bytes")),
                "unlimited" if "limit_bytes" in m and limit is None else _mib(limit),
                _count(m.get("objects")),
                _seconds(m.get("created")),
                _seconds(m.get("removed")),
            )
        )
    headers = (
        "path",
        "id",
        "state",
        "usage MiB",
        "kmem MiB",
        "limit MiB",
        "objects",
        "created",
        "removed",
    )
    table = _table(headers, rows, numeric=(1, 3, 4, 5, 6, 7, 8))
    return table + _shown(len(memcgs), len(rows), "memcgs")


def _shrinkers(summary: Mapping[str, Any]) -> str:
    if "shrinkers" not in summary:
        return ""
    shrinkers = _records(summary.get("shrinkers"))
    if not shrinkers:
        return '<p class="note">No shrinkers.</p>'
    rows = [
        (
            _text(s.get("name")),
            _text(s.get("plugin")),
            _count(s.get("invocations")),
            _count(s.get("scanned")),
            _count(s.get("freed")),
            _count(s.get("nr_deferred")),
            _count(s.get("objects")),
            _text(s.get("registered")),
        )
        for s in shrinkers[:MAX_SHRINKERS]
    ]
    headers = (
        "name",
        "plugin",
        "invocations",
        "scanned",
        "freed",
        "nr_deferred",
        "objects",
        "registered",
    )
    table = _table(headers, rows, numeric=(2, 3, 4, 5, 6))
    return table + _shown(len(shrinkers), len(rows), "shrinkers")


def _counts(values: Mapping[str, Any], notes: Mapping[str, str], what: str) -> str:
    """A table of named counts: the documented names first, then any others by name."""
    if not values:
        return ""
    names = [k for k in notes if k in values] + sorted(k for k in values if k not in notes)
    rows = [(_text(k), _count(values[k]), escape(notes.get(k, ""))) for k in names]
    return _table((what, "count", "meaning"), rows, numeric=(1,))


def _dying(summary: Mapping[str, Any]) -> str:
    dying = _dict(summary.get("dying_memcgs"))
    if not dying:
        return ""
    return _key_values(
        [
            ("most at once", _count(dying.get("max"))),
            ("at the end", _count(dying.get("final"))),
        ]
    )


def _decisions(summary: Mapping[str, Any]) -> str:
    decisions = _dict(summary.get("decisions"))
    if not decisions:
        return ""
    listed = _records(decisions.get("list"))
    count = decisions.get("count")
    total = count if isinstance(count, int) and not isinstance(count, bool) else len(listed)
    by_action = _dict(decisions.get("by_action"))
    out = [f"<p>{total:,} decisions."]
    if by_action:
        parts = ", ".join(f"{_text(k)}: {_count(v)}" for k, v in by_action.items())
        out.append(f" By action: {parts}.")
    out.append("</p>")
    if listed:
        rows = [
            (
                _seconds(d.get("time")),
                _text(d.get("consumer")),
                _text(d.get("action")),
                _text(d.get("memcg")),
                _text(d.get("reason")),
                _text(d.get("dry_run")),
                _count(d.get("freed_pages")),
                _count(d.get("freed_objects")),
            )
            for d in listed[:MAX_DECISIONS]
        ]
        headers = (
            "time",
            "consumer",
            "action",
            "memcg",
            "reason",
            "dry run",
            "freed pages",
            "freed objects",
        )
        out.append(_table(headers, rows, numeric=(0, 6, 7)))
        out.append(_shown(max(total, len(listed)), len(rows), "decisions"))
    return "".join(out)


def _plugins(summary: Mapping[str, Any]) -> str:
    plugins = _records(summary.get("plugins"))
    errors = _records(summary.get("plugin_errors"))
    out = []
    if plugins:
        plugin_rows = [(_text(p.get("name")), _text(p.get("disabled"))) for p in plugins]
        out.append(_table(("plugin", "disabled"), plugin_rows))
    if errors:
        error_rows = [
            (_seconds(e.get("time")), _text(e.get("plugin")), _text(e.get("error")))
            for e in errors[:MAX_ERRORS]
        ]
        out.append(_table(("time", "plugin", "error"), error_rows, numeric=(0,)))
        out.append(_shown(len(errors), len(error_rows), "plugin errors"))
    elif "plugin_errors" in summary:
        out.append("<p>No plugin errors.</p>")
    return "\n".join(out)


def _vmstat(summary: Mapping[str, Any]) -> str:
    vmstat = _dict(summary.get("vmstat"))
    if not vmstat:
        return ""
    rows = [(_text(k), _count(vmstat[k])) for k in sorted(vmstat)]
    return (
        f"<details><summary>every counter of the model ({len(rows)})</summary>"
        + _table(("counter", "value"), rows, numeric=(1,))
        + "</details>"
    )


def _section(heading: str, html: str) -> str:
    """A heading and its content; nothing when there is no content."""
    return f"<h2>{escape(heading)}</h2>\n{html}" if html else ""


def render_report(
    summary: Mapping[str, Any], plots: Sequence[str], problem: str | None = None
) -> str:
    """The page for ``summary`` showing the plot files ``plots`` (names beside the page).

    :param problem: shown at the top when set, e.g. that ``summary.json`` could not be read.
    """
    scenario = summary.get("scenario")
    profile = summary.get("profile")
    title = "shrinkfw run"
    if scenario is not None:
        title += f": {scenario}"
    if profile is not None:
        title += f" on {profile}"
    seed = summary.get("seed")
    head_title = title + (f", seed {seed}" if seed is not None else "")
    warning = f'<p class="warning">{escape(problem)}</p>' if problem else ""
    vmpressure = {
        k: v for k, v in _dict(summary.get("vmpressure")).items() if not isinstance(v, dict)
    }
    reclaim = _dict(summary.get("reclaim"))
    body = [
        _section("Run", _identity(summary)),
        _section("Plots", _plots(plots)),
        _section("Memcgs", _memcgs(summary)),
        _section("Shrinkers", _shrinkers(summary)),
        _section("Reclaim", _counts(reclaim, _RECLAIM_NOTES, "reclaim")),
        _section("vmpressure windows by level", _counts(vmpressure, _LEVEL_NOTES, "level")),
        _section("Dying memcgs", _dying(summary)),
        _section("Consumer decisions", _decisions(summary)),
        _section("Plugins", _plugins(summary)),
        _section("Counters", _vmstat(summary)),
    ]
    content = "\n".join(b for b in body if b)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(head_title)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{warning}\n{content}\n</body>\n</html>\n"
    )


def load_summary(path: Path) -> tuple[Mapping[str, Any], str | None]:
    """``summary.json`` as an object, or an empty one and why."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path.name} is missing: only the plots are shown."
    except OSError as exc:
        return {}, f"{path.name} could not be read ({exc.strerror}): only the plots are shown."
    except ValueError as exc:
        return {}, f"{path.name} is not valid JSON ({exc}): only the plots are shown."
    if not isinstance(data, dict):
        return {}, f"{path.name} does not hold a JSON object: only the plots are shown."
    return data, None


def write_report(run_dir: Path) -> Path:
    """Write ``report.html`` and its plots into the run directory ``run_dir``.

    :returns: the path of ``report.html``.
    """
    summary, problem = load_summary(run_dir / "summary.json")
    plots = write_plots(run_dir)
    page = render_report(summary, [p.name for p in plots], problem)
    path = run_dir / "report.html"
    atomic_write_text(path, page)
    return path
