"""Scenario files: a machine, its memcgs, mounts, workloads and pressure consumers, in TOML.

A scenario is read with :func:`load_scenario` (or :func:`parse_scenario` for text) into frozen
:mod:`attrs` objects. Every error is one :class:`~shrinkfw.errors.ScenarioError` naming the
file, the line and the field path (``workload[2].params.files``), so a user fixes it without
reading a traceback. What depends on installed plugins (workload, filesystem and consumer
types, their parameters) is checked by :func:`check_plugins` against a built simulation.

The format, with every field (sizes are bytes or strings such as ``"512MiB"``; times are
simulated seconds)::

    name = "example"             # shown in the report
    description = "..."
    profile = "v6.7"             # optional; ``--profile`` overrides
    seed = 1                     # optional; ``--seed`` overrides
    duration = 30.0              # simulated seconds to run
    tick = 0.25                  # seconds between two metric samples

    [machine]
    nodes = 2
    memory = "2GiB"
    swap = false

    [[memcg]]                    # parents before children
    path = "/jobs"
    max = "512MiB"               # memory.max (v2) / memory.limit_in_bytes (v1)
    high = "400MiB"              # v2 only; also low, min
    kmem_limit = "1GiB"          # v1 only: memory.kmem.limit_in_bytes (activates kmem)
    create = 0.0                 # when it is created
    lifetime = 5.0               # removed this long after creation (or: destroy = t)
    respawn = 1.0                # created again this long after removal, until the end

    [[mount]]
    fs = "xfs"                   # a filesystem type from a plugin
    device = "vda1"              # unique; workloads name it
    at = 0.0
    umount = 15.0                # optional: unmounted then (its caches are freed)

    [[workload]]
    type = "metadata-copy-hardlinks"   # a workload from a plugin
    memcg = "/jobs"              # runs while this memcg exists
    mount = "vda1"               # for workloads that work on a filesystem
    start = 0.0
    stop = 25.0
    params = { files = 20000 }   # the workload's parameters
    [[workload.phases]]          # optional: restart with changed parameters at a time
    at = 10.0
    params = { files = 5000 }

    [[consumer]]
    type = "oomd"                # a pressure consumer from a plugin
    start = 0.0
    settings = { watch = ["/jobs"], level = "medium" }
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from .errors import ScenarioError, UsageError

if TYPE_CHECKING:
    from ._named import NamedRegistry, T
    from .sim import Simulation

__all__ = [
    "DEFAULT_SCENARIO",
    "ConsumerSpec",
    "Machine",
    "MemcgSpec",
    "MountSpec",
    "Phase",
    "Scenario",
    "WorkloadSpec",
    "check_plugins",
    "default_scenario",
    "load_scenario",
    "parse_scenario",
    "parse_size",
]

#: the embedded default's name; ``shrinkfw run`` without a file runs it
DEFAULT_SCENARIO: Final = "default"

_UNITS: Final = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
}
_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> int:
    """Bytes from an int or a string such as ``"512MiB"``, ``"1G"``, ``"4096"`` (binary units:
    K, M and G mean KiB, MiB and GiB, as the kernel's ``memparse`` reads them).

    :raises ValueError: not a size.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 512MiB, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative, got {value}")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m and m.group(2).lower() in _UNITS:
            return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    raise ValueError(f"expected a size such as 512MiB, got {value!r}")


# -- the typed scenario --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Machine:
    """The simulated machine."""

    nodes: int = 1
    memory: int = 4 << 30
    swap: bool = False


@attrs.frozen(kw_only=True)
class MemcgSpec:
    """A memcg and its lifetime.

    :ivar max: ``memory.max`` (v2) or ``memory.limit_in_bytes`` (v1), bytes.
    :ivar kmem_limit: v1 ``memory.kmem.limit_in_bytes``; writing it activates kmem accounting
        in the kmemcg v15 era.
    :ivar create: creation time.
    :ivar lifetime: removed this long after each creation; ``None``: lives to the end.
    :ivar respawn: created again this long after each removal; ``None``: once only.
    """

    path: str
    max: int | None = None
    high: int | None = None
    low: int | None = None
    min: int | None = None
    kmem_limit: int | None = None
    create: float = 0.0
    lifetime: float | None = None
    respawn: float | None = None
    field: str = ""

    @property
    def parent_path(self) -> str:
        head = self.path.rstrip("/").rpartition("/")[0]
        return head or "/"

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]


@attrs.frozen(kw_only=True)
class MountSpec:
    """A filesystem mounted at ``at`` and, if ``umount`` is set, unmounted then."""

    fs: str
    device: str
    at: float = 0.0
    umount: float | None = None
    field: str = ""


@attrs.frozen(kw_only=True)
class Phase:
    """From ``at`` on, the workload runs with its parameters updated by ``params``."""

    at: float
    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class WorkloadSpec:
    """A workload from a plugin, run in ``memcg`` between ``start`` and ``stop``."""

    type: str
    memcg: str
    mount: str | None = None
    start: float = 0.0
    stop: float | None = None
    params: dict[str, Any] = attrs.field(factory=dict)
    phases: tuple[Phase, ...] = ()
    field: str = ""

    def params_at(self, time: float) -> dict[str, Any]:
        """The parameters in force at ``time`` (the base ones, updated by each phase begun)."""
        out = dict(self.params)
        for phase in self.phases:
            if phase.at <= time:
                out.update(phase.params)
        return out


@attrs.frozen(kw_only=True)
class ConsumerSpec:
    """A pressure consumer from a plugin, started at ``start``."""

    type: str
    start: float = 0.0
    settings: dict[str, Any] = attrs.field(factory=dict)
    field: str = ""


@attrs.frozen(kw_only=True)
class Scenario:
    """A validated scenario. ``file`` and :meth:`line_of` locate its fields for messages."""

    name: str
    description: str = ""
    profile: str | None = None
    seed: int | None = None
    duration: float = 30.0
    tick: float = 0.25
    machine: Machine = Machine()
    memcgs: tuple[MemcgSpec, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    workloads: tuple[WorkloadSpec, ...] = ()
    consumers: tuple[ConsumerSpec, ...] = ()
    file: str = "<string>"
    lines: dict[str, int] = attrs.field(factory=dict, repr=False, eq=False)

    def line_of(self, field: str) -> int | None:
        """The line where ``field`` (or its nearest enclosing table) is written."""
        return _locate(self.lines, field)

    def error(self, field: str, message: str) -> ScenarioError:
        """A :class:`ScenarioError` at ``field`` of this scenario."""
        return ScenarioError(message, file=self.file, line=self.line_of(field), field=field)


# -- where each field is written -----------------------------------------------------------

_HEADER: Final = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY: Final = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


def _index_lines(text: str) -> dict[str, int]:
    """Map field paths (``memcg[1].max``) to 1-based line numbers.

    A small scanner over the TOML text: table and array-of-table headers set the current
    path, ``key =`` lines add a field; continuation lines of multi-line arrays and strings are
    skipped. ``tomllib`` keeps no positions; this is only used to point at the place of an
    error in a file ``tomllib`` has already accepted.
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    current = ""
    depth = 0
    in_string: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if in_string in raw:
                in_string = None
            continue
        if depth > 0:
            depth += _bracket_balance(raw)
            continue
        header = _HEADER.match(raw)
        if header and not _KEY.match(raw):
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                base = _resolve(parts[:-1], counters, current)
                array = f"{base}.{parts[-1]}" if base else parts[-1]
                counters[array] = counters.get(array, -1) + 1
                current = f"{array}[{counters[array]}]"
            else:
                current = _resolve(parts, counters, current)
            lines.setdefault(current, lineno)
            continue
        key = _KEY.match(raw)
        if key:
            path = ".".join(_split_key(key.group(1)))
            full = f"{current}.{path}" if current else path
            lines.setdefault(full, lineno)
            rest = raw[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_string = quote
            depth = max(0, _bracket_balance(rest))
    return lines


def _resolve(parts: list[str], counters: dict[str, int], current: str) -> str:
    """A dotted header path, with the latest index of every array of tables in it."""
    out = ""
    for part in parts:
        out = f"{out}.{part}" if out else part
        if out in counters:
            out = f"{out}[{counters[out]}]"
    return out


def _bracket_balance(line: str) -> int:
    balance = 0
    quote = ""
    for ch in line.split("#", 1)[0] if '"' not in line and "'" not in line else line:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            balance += 1
        elif ch in "]}":
            balance -= 1
    return balance


def _locate(lines: dict[str, int], field: str) -> int | None:
    path = field
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


# -- structuring ---------------------------------------------------------------------------


class _Reader:
    """Typed access to one TOML table; every problem becomes a located ScenarioError."""

    def __init__(self, table: dict[str, Any], field: str, ctx: _Context) -> None:
        self.table = table
        self.field = field
        self.ctx = ctx
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.field}.{key}" if self.field else key

    def fail(self, key: str, message: str) -> ScenarioError:
        return self.ctx.error(self._path(key) if key else self.field, message)

    def has(self, key: str) -> bool:
        return key in self.table

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.table.get(key)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(key)
        if value is None:
            if required or default is None:
                raise self.fail(key, "required field is missing")
            return default
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def opt_str(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be >= {minimum}, got {value}")
        return value

    def time(self, key: str, default: float | None, *, positive: bool = False) -> float | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected seconds (a number), got {value!r}")
        value = float(value)
        if math.isnan(value) or math.isinf(value) or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            raise self.fail(key, f"must be a finite number of seconds {bound}, got {value}")
        return value

    def size(self, key: str) -> int | None:
        value = self.raw(key)
        if value is None:
            return None
        try:
            return parse_size(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def table_of(self, key: str) -> dict[str, Any]:
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {value!r}")
        return value

    def tables(self, key: str) -> list[_Reader]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected an array of tables ([[{key}]]), got {value!r}")
        return [_Reader(v, f"{self._path(key)}[{i}]", self.ctx) for i, v in enumerate(value)]

    def done(self, allowed: tuple[str, ...]) -> None:
        """Reject keys nobody read: a typo must not pass silently."""
        for key in self.table:
            if key not in self.used:
                raise self.fail(key, f"unknown field (expected one of: {', '.join(allowed)})")


@attrs.define
class _Context:
    file: str
    lines: dict[str, int]

    def error(self, field: str, message: str) -> ScenarioError:
        return ScenarioError(message, file=self.file, line=_locate(self.lines, field), field=field)


_TOP: Final = (
    "name",
    "description",
    "profile",
    "seed",
    "duration",
    "tick",
    "machine",
    "memcg",
    "mount",
    "workload",
    "consumer",
)
_MEMCG: Final = (
    "path",
    "max",
    "high",
    "low",
    "min",
    "kmem_limit",
    "create",
    "lifetime",
    "destroy",
    "respawn",
)


def parse_scenario(text: str, *, file: str = "<string>", name: str | None = None) -> Scenario:
    """Read a scenario from TOML ``text``; ``file`` is used in error messages.

    :raises ScenarioError: the text is not TOML or does not describe a valid scenario.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _decode_line(str(exc))
        message = str(exc).split(" (at line")[0]
        raise ScenarioError(f"not valid TOML: {message}", file=file, line=line) from None
    lines = _index_lines(text)
    ctx = _Context(file, lines)
    top = _Reader(data, "", ctx)
    default_name = name or Path(file).stem
    scenario_name = top.text("name", default_name)
    description = top.text("description", "") if top.has("description") else ""
    profile = top.opt_str("profile")
    seed = top.integer("seed", 0) if top.has("seed") else None
    duration = top.time("duration", 30.0, positive=True)
    tick = top.time("tick", 0.25, positive=True)
    assert duration is not None
    assert tick is not None
    if tick < 0.001:
        raise top.fail("tick", f"must be at least 0.001 s (metrics are kept in ms), got {tick}")
    if tick > duration:
        raise top.fail("tick", f"must not exceed duration ({duration} s), got {tick}")
    if duration / tick > 1_000_000:
        raise top.fail("tick", f"{duration / tick:.0f} ticks is too many; use a longer tick")
    machine = _machine(_Reader(top.table_of("machine"), "machine", ctx))
    memcgs = tuple(_memcg(r, duration) for r in top.tables("memcg"))
    _check_tree(memcgs, ctx)
    mounts = tuple(_mount(r) for r in top.tables("mount"))
    devices: set[str] = set()
    for i, mount in enumerate(mounts):
        if mount.device in devices:
            raise ctx.error(f"mount[{i}].device", f"device {mount.device!r} is mounted twice")
        devices.add(mount.device)
    paths = {m.path for m in memcgs} | {"/"}
    workloads = tuple(_workload(r, paths, devices, machine) for r in top.tables("workload"))
    by_device = {m.device: m for m in mounts}
    for wl in workloads:
        if wl.mount is None:
            continue
        mount = by_device[wl.mount]
        if wl.start < mount.at:
            raise ctx.error(
                f"{wl.field}.start",
                f"starts at {wl.start:g} s, before {wl.mount} is mounted ({mount.at:g} s)",
            )
        if mount.umount is not None and (wl.stop is None or wl.stop > mount.umount):
            raise ctx.error(
                f"{wl.field}.stop",
                f"must stop by {mount.umount:g} s, when {wl.mount} is unmounted",
            )
    consumers = tuple(_consumer(r) for r in top.tables("consumer"))
    top.done(_TOP)
    return Scenario(
        name=scenario_name,
        description=description,
        profile=profile,
        seed=seed,
        duration=duration,
        tick=tick,
        machine=machine,
        memcgs=memcgs,
        mounts=mounts,
        workloads=workloads,
        consumers=consumers,
        file=file,
        lines=lines,
    )


def _decode_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _machine(r: _Reader) -> Machine:
    nodes = r.integer("nodes", 1, minimum=1)
    if nodes > 64:
        raise r.fail("nodes", f"at most 64 nodes are supported, got {nodes}")
    memory = r.size("memory")
    if memory is None:
        memory = Machine().memory
    if memory < 4 * nodes << 20:
        raise r.fail("memory", f"needs at least {4 * nodes} MiB for {nodes} node(s)")
    swap = r.flag("swap", False)
    r.done(("nodes", "memory", "swap"))
    return Machine(nodes=nodes, memory=memory, swap=swap)


def _memcg(r: _Reader, duration: float) -> MemcgSpec:
    path = r.text("path", required=True)
    if not path.startswith("/") or path == "/" or "//" in path or path.endswith("/"):
        raise r.fail(
            "path", f"expected an absolute path below the root such as /jobs, got {path!r}"
        )
    create = r.time("create", 0.0)
    lifetime = r.time("lifetime", None, positive=True)
    destroy = r.time("destroy", None)
    assert create is not None
    if destroy is not None:
        if lifetime is not None:
            raise r.fail("destroy", "give lifetime or destroy, not both")
        if destroy <= create:
            raise r.fail("destroy", f"must be after create ({create} s), got {destroy}")
        lifetime = destroy - create
    respawn = r.time("respawn", None)
    if respawn is not None and lifetime is None:
        raise r.fail("respawn", "needs lifetime or destroy: a memcg is respawned after removal")
    if create >= duration:
        raise r.fail("create", f"must be before the end of the run ({duration} s), got {create}")
    spec = MemcgSpec(
        path=path,
        max=r.size("max"),
        high=r.size("high"),
        low=r.size("low"),
        min=r.size("min"),
        kmem_limit=r.size("kmem_limit"),
        create=create,
        lifetime=lifetime,
        respawn=respawn,
        field=r.field,
    )
    r.done(_MEMCG)
    return spec


def _check_tree(memcgs: tuple[MemcgSpec, ...], ctx: _Context) -> None:
    seen: dict[str, MemcgSpec] = {}
    for spec in memcgs:
        if spec.path in seen:
            raise ctx.error(f"{spec.field}.path", f"{spec.path} is defined twice")
        parent = spec.parent_path
        if parent != "/":
            if parent not in seen:
                raise ctx.error(
                    f"{spec.field}.path",
                    f"parent {parent} of {spec.path} must be defined before it",
                )
            above = seen[parent]
            if spec.create < above.create:
                raise ctx.error(
                    f"{spec.field}.create",
                    f"{spec.path} cannot be created before its parent {parent} ({above.create} s)",
                )
            if above.lifetime is not None:
                raise ctx.error(
                    f"{spec.field}.path",
                    f"parent {parent} is removed during the run; memcgs with a lifetime "
                    "cannot have children here",
                )
        seen[spec.path] = spec


def _mount(r: _Reader) -> MountSpec:
    at = r.time("at", 0.0) or 0.0
    umount = r.time("umount", None)
    if umount is not None and umount <= at:
        raise r.fail("umount", f"must be after the mount ({at} s), got {umount}")
    spec = MountSpec(
        fs=r.text("fs", required=True),
        device=r.text("device", required=True),
        at=at,
        umount=umount,
        field=r.field,
    )
    r.done(("fs", "device", "at", "umount"))
    return spec


def _workload(r: _Reader, paths: set[str], devices: set[str], machine: Machine) -> WorkloadSpec:
    kind = r.text("type", required=True)
    memcg = r.text("memcg", "/")
    if memcg not in paths:
        raise r.fail("memcg", f"no memcg {memcg!r} is defined ([[memcg]] path = ...)")
    mount = r.opt_str("mount")
    if mount is not None and mount not in devices:
        raise r.fail("mount", f"no mount of device {mount!r} is defined ([[mount]] device = ...)")
    start = r.time("start", 0.0) or 0.0
    stop = r.time("stop", None)
    if stop is not None and stop <= start:
        raise r.fail("stop", f"must be after start ({start} s), got {stop}")
    params = r.table_of("params")
    phases = []
    for p in r.tables("phases"):
        at = p.time("at", None)
        if at is None:
            raise p.fail("at", "required field is missing")
        phases.append(Phase(at=at, params=p.table_of("params")))
        p.done(("at", "params"))
    if [ph.at for ph in phases] != sorted(ph.at for ph in phases):
        raise r.fail("phases", "phases must be in time order")
    nid = params.get("nid")
    if isinstance(nid, int) and not isinstance(nid, bool) and nid >= machine.nodes:
        raise r.fail("params.nid", f"the machine has {machine.nodes} node(s), got nid {nid}")
    r.done(("type", "memcg", "mount", "start", "stop", "params", "phases"))
    return WorkloadSpec(
        type=kind,
        memcg=memcg,
        mount=mount,
        start=start,
        stop=stop,
        params=params,
        phases=tuple(phases),
        field=r.field,
    )


def _consumer(r: _Reader) -> ConsumerSpec:
    spec = ConsumerSpec(
        type=r.text("type", required=True),
        start=r.time("start", 0.0) or 0.0,
        settings=r.table_of("settings"),
        field=r.field,
    )
    r.done(("type", "start", "settings"))
    return spec


# -- loading -------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at ``path``.

    :raises ScenarioError: unreadable, not UTF-8, not TOML, or not a valid scenario.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", file=str(path)) from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise ScenarioError("not UTF-8 text", file=str(path), line=line) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return parse_scenario(text, file=str(path))


def default_scenario() -> Scenario:
    """The embedded default scenario (``shrinkfw run`` with no file)."""
    text = resources.files("shrinkfw").joinpath("scenarios", "default.toml").read_text("utf-8")
    return parse_scenario(text, file="<default>", name=DEFAULT_SCENARIO)


# -- what depends on plugins ---------------------------------------------------------------

_V1_KNOBS: Final = ("kmem_limit",)
_V2_KNOBS: Final = ("high", "low", "min")


def check_plugins(scenario: Scenario, sim: Simulation) -> None:
    """Check what the scenario asks of plugins and of the profile against a built simulation:
    filesystem, workload and consumer types exist, parameter names are known and values
    have the default's type, mounts suit workloads, memcg knobs exist in the profile's
    cgroup interface.

    :raises ScenarioError: located at the offending field.
    """
    v1 = sim.profile.kmem.activation == "limit_write"
    for spec in scenario.memcgs:
        for knob in _V2_KNOBS if v1 else _V1_KNOBS:
            if getattr(spec, knob) is not None:
                iface = "cgroup v1" if v1 else "cgroup v2"
                raise scenario.error(
                    f"{spec.field}.{knob}",
                    f"profile {sim.profile.name} ({iface}) has no such memcg knob",
                )
    for mount in scenario.mounts:
        _lookup(scenario, f"{mount.field}.fs", sim.vfs.fs_types, mount.fs)
    for wl in scenario.workloads:
        kind = _lookup(scenario, f"{wl.field}.type", sim.workloads, wl.type)
        if kind.needs_fs and wl.mount is None:
            raise scenario.error(f"{wl.field}.mount", f"workload {wl.type!r} needs a mount")
        _check_params(scenario, f"{wl.field}.params", wl.params, kind.params, wl.type)
        for i, phase in enumerate(wl.phases):
            _check_params(
                scenario, f"{wl.field}.phases[{i}].params", phase.params, kind.params, wl.type
            )
    for cs in scenario.consumers:
        kind_c = _lookup(scenario, f"{cs.field}.type", sim.consumers, cs.type)
        _check_params(scenario, f"{cs.field}.settings", cs.settings, kind_c.params, cs.type)


def _lookup(scenario: Scenario, field: str, registry: NamedRegistry[T], name: str) -> T:
    """``registry.get(name)``, its "unknown ..." message located at ``field``."""
    try:
        return registry.get(name)
    except UsageError as exc:
        raise scenario.error(field, str(exc)) from None


def _check_params(
    scenario: Scenario,
    field: str,
    given: dict[str, Any],
    declared: dict[str, object],
    owner: str,
) -> None:
    if not declared:
        return
    for key, value in given.items():
        if key not in declared:
            raise scenario.error(
                f"{field}.{key}",
                f"{owner} has no parameter {key!r} (it has: {', '.join(declared)})",
            )
        default = declared[key]
        if isinstance(value, bool) != isinstance(default, bool) and default is not None:
            raise scenario.error(
                f"{field}.{key}",
                f"expected {type(default).__name__} like the default {default!r}, got {value!r}",
            )
        if default is None or isinstance(value, type(default)):
            continue
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            continue
        raise scenario.error(
            f"{field}.{key}",
            f"expected {type(default).__name__} like the default {default!r}, got {value!r}",
        )
