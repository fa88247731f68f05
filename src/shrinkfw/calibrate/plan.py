"""From a scenario to what the guest does: a time-ordered list of actions and a disk to make.

A calibration scenario is a normal scenario file (:mod:`shrinkfw.scenario`) restricted to what
a small qemu guest can run for real. :func:`plan_guest` maps it, or raises
:class:`~shrinkfw.errors.ScenarioError` naming the first field it cannot map.

What is supported, and how it maps:

``[machine]``
    ``memory`` becomes qemu's ``-m`` (at least 128 MiB). ``nodes`` must be 1, ``swap`` false.
``[[memcg]]``
    a cgroup v2 directory under ``/sys/fs/cgroup`` made at ``create`` (``mkdir``), with
    ``min``, ``low``, ``high`` and ``max`` written to ``memory.min`` / ``memory.low`` /
    ``memory.high`` / ``memory.max`` right after (in that order; bytes). ``lifetime`` /
    ``destroy`` / ``respawn`` become ``rmdir`` and ``mkdir`` again, as in the simulator (a
    removed memcg's counters are printed just before its ``rmdir``). A memcg with children
    gets ``+memory`` in its ``cgroup.subtree_control``. ``kmem_limit`` (cgroup v1) is refused.
    Path components are letters, digits, ``.``, ``_`` and ``-``.
``[[mount]]``
    exactly one, ``fs = "ext4"``: a raw image made on the host with ``mkfs.ext4``, attached as
    an emulated NVMe drive (``/dev/nvme0n1``) and mounted at ``/mnt/<device>`` at ``at``;
    ``umount`` unmounts it. Files the workloads read or walk are put on the image by
    ``mkfs.ext4 -d``, so they are on disk but in no cache when the guest starts.
``[[workload]]``
    run one after another in time order, each as fast as the guest can, by a shell moved into
    the workload's memcg (``echo $$ > cgroup.procs``) that then ``exec``\\ s the static helper
    (``helper.c``). Time is not modelled: a workload segment ``[a, b)`` does the number of
    operations the simulator would do in it, ``rate x (b - a)`` (rounded down), capped by the
    workload's own limit. A segment is a stretch of the workload's ``[start, stop)`` (``stop``
    defaults to ``duration``) while its memcg exists, cut at each phase, and uses the
    parameters in force at its start (:meth:`~shrinkfw.scenario.WorkloadSpec.params_at`),
    restarting as the simulator restarts a workload (same names again, limits afresh).

    - ``negative-dentry-storm`` (``rate``, ``names``, ``name_len``, ``lookups``, ``prefix``):
      ``stat()`` of names that do not exist in the mount's root, named
      ``<prefix><index zero-padded to name_len - len(prefix)>`` as the simulator names them:
      indexes 0, 1, 2, ... or, with ``names`` > 0, drawn at random below ``names``;
      ``min(rate x len, lookups or inf)`` lookups.
    - ``path-walk`` (``rate``, ``depth``, ``fanout``, ``files``, ``walks``, ``prefix``):
      ``stat()`` of random paths ``<prefix>d<i>/.../<prefix>f<k>`` of a tree the host puts on
      the image (at most 200,000 entries); ``min(rate x len, walks or inf)`` walks.
    - ``create-open-close`` (``rate``, ``files``, ``lifetime``): ``min(files, rate x len)`` new
      empty files in ``/mnt/<device>/shrinkfw-create-<n>/`` (open ``O_CREAT|O_EXCL``, close);
      with ``lifetime``, file ``k`` is unlinked when file ``k + max(1, rate x lifetime)`` is
      created, so as many files live at once as in the simulator's steady state.
    - ``read-into-page-cache`` (``rate``, ``files``, ``pages_per_file``, ``write``): ``files``
      files of ``pages_per_file`` pages are put on the image in
      ``/mnt/<device>/shrinkfw-read-<n>/``; ``rate x len`` opens cycle through them, each
      reading (or with ``write`` overwriting) the first ``pages_per_file`` pages.
    - ``memory-reclaim`` (guest only, ``amount``: a size): writes ``amount`` to the memcg's
      ``memory.reclaim`` once, at ``start``. (The simulator has ``Simulation.memory_reclaim``
      but no workload of this name yet.)

    ``interval`` is accepted and ignored (there is no time); ``nid`` must be 0.
``[[consumer]]``
    refused: pressure consumers are simulator components, not guest programs.
``profile``, ``seed``, ``tick``
    ``profile`` is the simulator's concern; ``seed`` seeds the helper's random names.

Actions at the same time run in this order: mounts, ``mkdir`` (with limits), workloads and
``memory.reclaim`` writes (in scenario order), ``rmdir``, unmounts.
"""

from __future__ import annotations

import itertools
import math
import re
import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from ..scenario import parse_size

if TYPE_CHECKING:
    from ..scenario import MemcgSpec, Scenario, WorkloadSpec

__all__ = [
    "CGROUP_ROOT",
    "GUEST_WORKLOADS",
    "HELPER",
    "MAX_TREE_ENTRIES",
    "MIN_MEMORY",
    "Action",
    "DiskFile",
    "DiskPlan",
    "GuestPlan",
    "Mkdir",
    "Mount",
    "Reclaim",
    "Rmdir",
    "Run",
    "Umount",
    "cgroup_dir",
    "plan_guest",
]

#: where cgroup2 is mounted in the guest
CGROUP_ROOT: Final = "/sys/fs/cgroup"
#: the helper's path inside the initramfs
HELPER: Final = "/bin/shrinkfw-load"
#: smallest guest memory the kernel boots in comfortably
MIN_MEMORY: Final = 128 << 20
#: largest path-walk tree put on the disk image
MAX_TREE_ENTRIES: Final = 200_000
#: largest amount of file data put on the disk image
MAX_DISK_DATA: Final = 2 << 30
PAGE: Final = 4096

#: the workload types the guest runs, with their parameters and defaults (the defaults are
#: the simulator plugins' own: shrinkfw-dcache and shrinkfw-inode)
GUEST_WORKLOADS: Final[dict[str, dict[str, object]]] = {
    "negative-dentry-storm": {
        "rate": 1000.0,
        "names": 0,
        "name_len": 16,
        "interval": 0.01,
        "lookups": 0,
        "nid": 0,
        "prefix": "",
    },
    "path-walk": {
        "rate": 100.0,
        "depth": 3,
        "fanout": 4,
        "files": 16,
        "interval": 0.01,
        "walks": 0,
        "nid": 0,
        "prefix": "",
    },
    "create-open-close": {"rate": 100.0, "files": 1000, "lifetime": None, "nid": 0},
    "read-into-page-cache": {
        "rate": 100.0,
        "files": 100,
        "pages_per_file": 16,
        "nid": 0,
        "write": False,
    },
    "memory-reclaim": {"amount": None},
}
_NEEDS_MOUNT: Final = frozenset(GUEST_WORKLOADS) - {"memory-reclaim"}
_COMPONENT: Final = re.compile(r"^[A-Za-z0-9._-]+$")
_NAME_MAX: Final = 255


# -- actions -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Action:
    """One step of the guest's timeline, at scenario time ``time``.

    :ivar label: a short description (``mkdir /box``, ``negative-dentry-storm[0] #0``).
    """

    #: order of actions at the same time (lower first)
    rank: ClassVar[int] = 0
    kind: ClassVar[str] = ""

    time: float
    label: str

    def shell(self) -> list[str]:
        """The ``/init`` lines that perform it (see :mod:`shrinkfw.calibrate.guest`)."""
        raise NotImplementedError


def _q(text: str) -> str:
    return shlex.quote(text)


def cgroup_dir(path: str) -> str:
    """The guest directory of memcg ``path`` as a shell word: ``$CG/box`` (``$CG`` is where
    ``/init`` mounts cgroup2, :data:`CGROUP_ROOT`; ``/`` is the root cgroup). Memcg paths are
    checked to need no quoting."""
    return "$CG" if path == "/" else f"$CG{path}"


@attrs.frozen(kw_only=True)
class Mount(Action):
    """Mount the ext4 disk at ``target``."""

    rank: ClassVar[int] = 0
    kind: ClassVar[str] = "mount"
    device: str
    target: str

    def shell(self) -> list[str]:
        t = _q(self.target)
        return [
            f"mkdir -p {t}",
            f"mount -t ext4 $DISK {t} || fail 'cannot mount' $DISK on {t}",
        ]


@attrs.frozen(kw_only=True)
class Umount(Action):
    """Unmount ``target``."""

    rank: ClassVar[int] = 4
    kind: ClassVar[str] = "umount"
    device: str
    target: str

    def shell(self) -> list[str]:
        t = _q(self.target)
        return [f"umount {t} || warn 'umount failed:' {t}"]


@attrs.frozen(kw_only=True)
class Mkdir(Action):
    """Create memcg ``path`` and write its limits (bytes; ``None``: left as created)."""

    rank: ClassVar[int] = 1
    kind: ClassVar[str] = "mkdir"
    path: str
    min: int | None = None
    low: int | None = None
    high: int | None = None
    max: int | None = None
    subtree: bool = False

    def shell(self) -> list[str]:
        d = cgroup_dir(self.path)
        lines = [f"mkdir {d} || fail 'mkdir failed:' {d}"]
        if self.subtree:
            lines.append(f"echo +memory > {d}/cgroup.subtree_control || fail 'no +memory in' {d}")
        for knob in ("min", "low", "high", "max"):
            value = getattr(self, knob)
            if value is not None:
                lines.append(
                    f"echo {value} > {d}/memory.{knob} || fail 'cannot write' {d}/memory.{knob}"
                )
        return lines


@attrs.frozen(kw_only=True)
class Rmdir(Action):
    """Print memcg ``path``'s counters (``when=removed``), then remove it."""

    rank: ClassVar[int] = 3
    kind: ClassVar[str] = "rmdir"
    path: str

    def shell(self) -> list[str]:
        d = cgroup_dir(self.path)
        return [
            f"snapshot {_q(self.path)} removed",
            f"rmdir {d} || warn 'rmdir failed:' {d}",
        ]


@attrs.frozen(kw_only=True)
class Run(Action):
    """Run the helper with ``argv`` in memcg ``memcg``: one segment of workload ``workload``.

    :ivar workload: index of the workload in the scenario.
    :ivar segment: index of the segment within that workload.
    :ivar type: the workload type.
    :ivar start: the segment's start, scenario seconds.
    :ivar end: the segment's end, scenario seconds.
    :ivar ops: operations it does (lookups, files created, opens, walks).
    """

    rank: ClassVar[int] = 2
    kind: ClassVar[str] = "run"
    memcg: str
    workload: int
    segment: int
    type: str
    start: float
    end: float
    ops: int
    argv: tuple[str, ...]

    def shell(self) -> list[str]:
        d = cgroup_dir(self.memcg)
        args = " ".join(_q(a) for a in self.argv)
        return [f"in_memcg {d} {args}"]


@attrs.frozen(kw_only=True)
class Reclaim(Action):
    """Write ``amount`` bytes to memcg ``memcg``'s ``memory.reclaim``."""

    rank: ClassVar[int] = 2
    kind: ClassVar[str] = "reclaim"
    memcg: str
    workload: int
    amount: int

    def shell(self) -> list[str]:
        d = cgroup_dir(self.memcg)
        return [f"echo {self.amount} > {d}/memory.reclaim"]


# -- the disk ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DiskFile:
    """A file put on the disk image: ``path`` relative to the filesystem's root."""

    path: str
    size: int


@attrs.frozen(kw_only=True)
class DiskPlan:
    """The ext4 image: its size, inode count, and what ``mkfs.ext4 -d`` puts on it.

    :ivar device: the scenario's device name (the mount is ``/mnt/<device>``).
    :ivar dirs: directories (relative paths), parents before children.
    :ivar files: files with their sizes (filled with non-zero bytes).
    """

    device: str
    size: int
    inodes: int
    dirs: tuple[str, ...] = ()
    files: tuple[DiskFile, ...] = ()


@attrs.frozen(kw_only=True)
class GuestPlan:
    """Everything the guest does, in order.

    :ivar memory: guest memory, bytes (qemu ``-m``).
    :ivar actions: the timeline, sorted by (time, rank, scenario order).
    :ivar disk: the ext4 image; ``None`` when the scenario mounts nothing.
    :ivar memcgs: every memcg path the scenario creates, in scenario order.
    :ivar final_memcgs: those that exist at the end (their counters are printed then).
    """

    scenario: str
    memory: int
    seed: int
    actions: tuple[Action, ...]
    disk: DiskPlan | None
    memcgs: tuple[str, ...]
    final_memcgs: tuple[str, ...]

    @property
    def runs(self) -> tuple[Run, ...]:
        return tuple(a for a in self.actions if isinstance(a, Run))


# -- mapping -------------------------------------------------------------------------------


def _incarnations(spec: MemcgSpec, duration: float) -> list[tuple[float, float | None]]:
    """(created, removed) of each life of ``spec`` within the run, as the simulator plays them
    (removed ``None``: still there at the end)."""
    lives: list[tuple[float, float | None]] = []
    created = spec.create
    while created < duration:
        if spec.lifetime is None:
            lives.append((created, None))
            break
        removed = created + spec.lifetime
        if removed >= duration:
            lives.append((created, None))
            break
        lives.append((created, removed))
        if spec.respawn is None or removed + spec.respawn >= duration:
            break
        created = removed + spec.respawn
    return lives


def _check_scenario(scenario: Scenario) -> None:
    machine = scenario.machine
    if machine.nodes != 1:
        raise scenario.error(
            "machine.nodes", f"a calibration guest has one NUMA node, got {machine.nodes}"
        )
    if machine.swap:
        raise scenario.error("machine.swap", "a calibration guest has no swap; set swap = false")
    if machine.memory < MIN_MEMORY:
        raise scenario.error(
            "machine.memory",
            f"a calibration guest needs at least {MIN_MEMORY >> 20} MiB, "
            f"got {machine.memory >> 20} MiB",
        )
    for cs in scenario.consumers:
        raise scenario.error(
            f"{cs.field}.type",
            f"consumer {cs.type!r}: pressure consumers are simulator components and are not "
            "run in a calibration guest; remove [[consumer]]",
        )
    for spec in scenario.memcgs:
        if spec.kmem_limit is not None:
            raise scenario.error(
                f"{spec.field}.kmem_limit",
                "the calibration kernel uses cgroup v2, which has no kmem_limit",
            )
        for part in PurePosixPath(spec.path).parts[1:]:
            if not _COMPONENT.match(part):
                raise scenario.error(
                    f"{spec.field}.path",
                    f"calibration memcg names use letters, digits, '.', '_' and '-', got {part!r}",
                )
    if len(scenario.mounts) > 1:
        raise scenario.error(
            f"{scenario.mounts[1].field}.fs", "a calibration guest has one disk: one [[mount]]"
        )
    for mount in scenario.mounts:
        if mount.fs != "ext4":
            raise scenario.error(
                f"{mount.field}.fs",
                f"a calibration guest mounts ext4 only, got {mount.fs!r}",
            )
        if not _COMPONENT.match(mount.device):
            raise scenario.error(
                f"{mount.field}.device",
                f"calibration device names use letters, digits, '.', '_' and '-', "
                f"got {mount.device!r}",
            )


def _params(scenario: Scenario, wl: WorkloadSpec, field: str, given: dict[str, Any]) -> None:
    declared = GUEST_WORKLOADS[wl.type]
    for key in given:
        if key not in declared:
            raise scenario.error(
                f"{field}.{key}",
                f"{wl.type} has no parameter {key!r} (it has: {', '.join(declared)})",
            )


def _number(
    scenario: Scenario, field: str, value: object, *, integer: bool, positive: bool
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise scenario.error(field, f"expected a number, got {value!r}")
    if integer and not isinstance(value, int):
        raise scenario.error(field, f"expected an integer, got {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise scenario.error(field, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def _prefix(scenario: Scenario, field: str, value: object) -> str:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9._-]*$", value):
        raise scenario.error(
            field, f"a calibration prefix uses letters, digits, '.', '_' and '-', got {value!r}"
        )
    return value


class _Planner:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.seed = scenario.seed or 0
        self.timeline: list[tuple[float, int, int, Action]] = []
        self.dirs: list[str] = []
        self.files: list[DiskFile] = []
        self.created_files = 0
        self.tree_entries: set[str] = set()
        mount = scenario.mounts[0] if scenario.mounts else None
        self.mount = mount
        self.target = f"/mnt/{mount.device}" if mount else ""

    def add(self, action: Action) -> None:
        self.timeline.append((action.time, action.rank, len(self.timeline), action))

    def memcgs(self) -> list[str]:
        scenario = self.scenario
        parents = {spec.parent_path for spec in scenario.memcgs}
        final: list[str] = []
        for spec in scenario.memcgs:
            for created, removed in _incarnations(spec, scenario.duration):
                self.add(
                    Mkdir(
                        time=created,
                        label=f"mkdir {spec.path}",
                        path=spec.path,
                        min=spec.min,
                        low=spec.low,
                        high=spec.high,
                        max=spec.max,
                        subtree=spec.path in parents,
                    )
                )
                if removed is None:
                    final.append(spec.path)
                else:
                    self.add(Rmdir(time=removed, label=f"rmdir {spec.path}", path=spec.path))
        return final

    def mounts(self) -> None:
        mount = self.mount
        if mount is None:
            return
        self.add(
            Mount(
                time=mount.at,
                label=f"mount {mount.device}",
                device=mount.device,
                target=self.target,
            )
        )
        if mount.umount is not None and mount.umount < self.scenario.duration:
            self.add(
                Umount(
                    time=mount.umount,
                    label=f"umount {mount.device}",
                    device=mount.device,
                    target=self.target,
                )
            )

    def lives(self, path: str) -> list[tuple[float, float]]:
        duration = self.scenario.duration
        if path == "/":
            return [(0.0, duration)]
        spec = next(s for s in self.scenario.memcgs if s.path == path)
        return [(c, duration if r is None else r) for c, r in _incarnations(spec, duration)]

    def workload(self, index: int, wl: WorkloadSpec) -> None:
        scenario = self.scenario
        if wl.type not in GUEST_WORKLOADS:
            raise scenario.error(
                f"{wl.field}.type",
                f"a calibration guest cannot run workload {wl.type!r} "
                f"(it runs: {', '.join(GUEST_WORKLOADS)})",
            )
        if wl.type in _NEEDS_MOUNT and wl.mount is None:
            raise scenario.error(f"{wl.field}.mount", f"workload {wl.type!r} needs a mount")
        if wl.memcg != "/" and any(s.parent_path == wl.memcg for s in scenario.memcgs):
            raise scenario.error(
                f"{wl.field}.memcg",
                f"{wl.memcg} has child memcgs: cgroup v2 runs no process in a cgroup whose "
                "children use the memory controller; run it in a leaf",
            )
        _params(scenario, wl, f"{wl.field}.params", wl.params)
        for i, phase in enumerate(wl.phases):
            _params(scenario, wl, f"{wl.field}.phases[{i}].params", phase.params)
        stop = scenario.duration if wl.stop is None else min(wl.stop, scenario.duration)
        if wl.type == "memory-reclaim":
            self.reclaim(index, wl)
            return
        segment = 0
        for created, removed in self.lives(wl.memcg):
            begin, end = max(wl.start, created), min(stop, removed)
            if begin >= end:
                continue
            cuts = [begin, *(p.at for p in wl.phases if begin < p.at < end), end]
            for a, b in itertools.pairwise(cuts):
                self.segment(index, wl, segment, a, b)
                segment += 1

    def reclaim(self, index: int, wl: WorkloadSpec) -> None:
        scenario = self.scenario
        field = f"{wl.field}.params.amount"
        raw = wl.params.get("amount")
        if raw is None:
            raise scenario.error(field, 'memory-reclaim needs amount (a size such as "8MiB")')
        try:
            amount = parse_size(raw)
        except ValueError as exc:
            raise scenario.error(field, str(exc)) from None
        if wl.memcg == "/":
            raise scenario.error(f"{wl.field}.memcg", "memory-reclaim needs a memcg below the root")
        if not any(c <= wl.start < r for c, r in self.lives(wl.memcg)):
            raise scenario.error(
                f"{wl.field}.start", f"{wl.memcg} does not exist at {wl.start:g} s"
            )
        self.add(
            Reclaim(
                time=wl.start,
                label=f"memory-reclaim[{index}] {wl.memcg} {amount}",
                memcg=wl.memcg,
                workload=index,
                amount=amount,
            )
        )

    def segment(self, index: int, wl: WorkloadSpec, segment: int, a: float, b: float) -> None:
        scenario = self.scenario
        params = {**GUEST_WORKLOADS[wl.type], **wl.params_at(a)}
        field = f"{wl.field}.params"

        def num(key: str, *, integer: bool = False, positive: bool = False) -> float:
            return _number(
                scenario, f"{field}.{key}", params[key], integer=integer, positive=positive
            )

        if params.get("nid", 0) != 0:
            raise scenario.error(f"{field}.nid", "a calibration guest has one node: nid 0")
        rate = num("rate", positive=True)
        budget = math.floor(rate * (b - a) + 1e-6)
        seed = self.seed * 1_000_003 + index * 1009 + segment
        where = self.target
        argv: tuple[str, ...]
        if wl.type == "negative-dentry-storm":
            prefix = _prefix(scenario, f"{field}.prefix", params["prefix"])
            name_len = int(num("name_len", integer=True, positive=True))
            if name_len > _NAME_MAX:
                raise scenario.error(f"{field}.name_len", f"must be <= {_NAME_MAX}, got {name_len}")
            width = name_len - len(prefix)
            if width < 1:
                raise scenario.error(
                    f"{field}.prefix", f"leaves no room for the index in name_len={name_len}"
                )
            limit = int(num("lookups", integer=True))
            ops = min(budget, limit) if limit else budget
            names = int(num("names", integer=True))
            argv = ("lookup", where, prefix, str(width), str(ops), str(names), str(seed))
        elif wl.type == "path-walk":
            prefix = _prefix(scenario, f"{field}.prefix", params["prefix"])
            depth = int(num("depth", integer=True))
            fanout = int(num("fanout", integer=True, positive=True))
            files = int(num("files", integer=True))
            limit = int(num("walks", integer=True))
            ops = min(budget, limit) if limit else budget
            self.tree(field, prefix, depth, fanout, files)
            argv = ("walk", where, prefix, str(depth), str(fanout), str(files), str(ops), str(seed))
        elif wl.type == "create-open-close":
            files = int(num("files", integer=True))
            ops = min(files, budget)
            lifetime = params["lifetime"]
            window = 0
            if lifetime is not None:
                life = _number(
                    scenario, f"{field}.lifetime", lifetime, integer=False, positive=False
                )
                window = max(1, int(rate * life))
            directory = f"shrinkfw-create-{index}"
            if directory not in self.dirs:
                self.dirs.append(directory)
            self.created_files += min(ops, window) if window else ops
            argv = ("create", f"{where}/{directory}", f"s{segment}-", str(ops), str(window))
        else:  # read-into-page-cache
            files = int(num("files", integer=True, positive=True))
            pages = int(num("pages_per_file", integer=True))
            write = params["write"]
            if not isinstance(write, bool):
                raise scenario.error(f"{field}.write", f"expected true or false, got {write!r}")
            directory = f"shrinkfw-read-{index}"
            if directory not in self.dirs:
                self.dirs.append(directory)
                self.files.extend(
                    DiskFile(path=f"{directory}/f{k}", size=pages * PAGE) for k in range(files)
                )
            ops = budget
            argv = (
                "read",
                f"{where}/{directory}",
                str(files),
                str(ops),
                str(pages * PAGE),
                "1" if write else "0",
            )
        self.add(
            Run(
                time=a,
                label=f"{wl.type}[{index}] #{segment} in {wl.memcg}",
                memcg=wl.memcg,
                workload=index,
                segment=segment,
                type=wl.type,
                start=a,
                end=b,
                ops=ops,
                argv=(HELPER, *argv),
            )
        )

    def tree(self, field: str, prefix: str, depth: int, fanout: int, files: int) -> None:
        if depth > 64:
            raise self.scenario.error(f"{field}.depth", f"must be <= 64, got {depth}")
        total = sum(fanout**k for k in range(1, depth + 1)) + fanout**depth * files
        if total + len(self.tree_entries) > MAX_TREE_ENTRIES:
            raise self.scenario.error(
                f"{field}.depth",
                f"the path-walk tree would have {total} entries; a calibration disk holds "
                f"at most {MAX_TREE_ENTRIES} (lower depth, fanout or files)",
            )

        def child(parent: str, name: str) -> str:
            return f"{parent}/{name}" if parent else name

        level = [""]
        for _ in range(depth):
            level = [child(p, f"{prefix}d{i}") for p in level for i in range(fanout)]
            for d in level:
                if d not in self.tree_entries:
                    self.tree_entries.add(d)
                    self.dirs.append(d)
        for leaf in level:
            for k in range(files):
                path = child(leaf, f"{prefix}f{k}")
                if path not in self.tree_entries:
                    self.tree_entries.add(path)
                    self.files.append(DiskFile(path=path, size=0))

    def disk(self) -> DiskPlan | None:
        if self.mount is None:
            return None
        data = sum(f.size for f in self.files)
        if data > MAX_DISK_DATA:
            raise self.scenario.error(
                "workload",
                f"the workloads' files need {data >> 20} MiB on the disk image; a calibration "
                f"disk holds at most {MAX_DISK_DATA >> 20} MiB",
            )
        inodes = len(self.dirs) + len(self.files) + self.created_files + 4096
        # room for the data, the inode tables (256 B each), the journal and slack
        size = max(64 << 20, int(data * 1.2) + inodes * 512 + (32 << 20))
        size = (size + (1 << 20) - 1) & ~((1 << 20) - 1)
        return DiskPlan(
            device=self.mount.device,
            size=size,
            inodes=inodes,
            dirs=tuple(self.dirs),
            files=tuple(self.files),
        )


def plan_guest(scenario: Scenario) -> GuestPlan:
    """Map ``scenario`` to what the guest does (see the module documentation).

    :raises ScenarioError: the scenario uses something a calibration guest cannot do; the
        error names the file, line and field.
    """
    _check_scenario(scenario)
    planner = _Planner(scenario)
    planner.mounts()
    final = planner.memcgs()
    for index, wl in enumerate(scenario.workloads):
        planner.workload(index, wl)
    actions = tuple(entry[3] for entry in sorted(planner.timeline, key=lambda e: e[:3]))
    return GuestPlan(
        scenario=scenario.name,
        memory=scenario.machine.memory,
        seed=planner.seed,
        actions=actions,
        disk=planner.disk(),
        memcgs=tuple(s.path for s in scenario.memcgs),
        final_memcgs=tuple(final),
    )
