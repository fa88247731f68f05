"""Workloads that drive the inode cache: file creation churn and page-cache reads.

Both run on a mounted superblock inside one memcg and schedule themselves on the
simulation's clock. Opens and creates are spread evenly: ``rate`` per second, batched into
ticks of at most :data:`TICK` seconds with the fractional part carried over, so a run is the
same whatever the rate's granularity. Nothing here is random.

* ``create-open-close``: creates ``files`` new files at ``rate`` per second. Each create
  allocates a new inode (``iget`` of a fresh inode number), dirties it, and closes it
  (``iput``); the dirty inode stays off the LRU until the flusher writes it back
  :data:`DIRTY_EXPIRE` seconds later (``dirty_expire_centisecs`` = 3000 by default), after
  which it is a clean unused inode on the LRU. With ``lifetime`` set, each file is unlinked
  that many seconds after its creation: looked up again (read back in if the shrinker freed
  its inode), unlinked and closed, which evicts it.
* ``read-into-page-cache``: opens ``files`` existing files in turn, ``rate`` opens per second,
  forever (until stopped). Each open looks the inode up (reading it in on a miss), reads the
  file's first ``pages_per_file`` pages (cached pages are hits and get
  ``mark_page_accessed``, the others are read into page cache charged to the memcg), and
  closes the file.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from shrinkfw import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.vfs import SuperBlock
    from shrinkfw.workload import WorkloadRegistry

    from .icache import Icache

__all__ = [
    "CREATE_OPEN_CLOSE",
    "DIRTY_EXPIRE",
    "READ_INTO_PAGE_CACHE",
    "TICK",
    "CreateOpenClose",
    "ReadIntoPageCache",
    "Starter",
    "register",
]

#: Seconds a dirty inode waits for writeback (``dirty_expire_centisecs`` default, 30 s).
DIRTY_EXPIRE: Final = 30.0
#: Longest interval between two batches of a workload's operations.
TICK: Final = 0.01

CREATE_OPEN_CLOSE: Final = "create-open-close"
READ_INTO_PAGE_CACHE: Final = "read-into-page-cache"

_CREATE_DEFAULTS: Final[dict[str, object]] = {
    "rate": 100.0,
    "files": 1000,
    "lifetime": None,
    "nid": 0,
}
_READ_DEFAULTS: Final[dict[str, object]] = {
    "rate": 100.0,
    "files": 100,
    "pages_per_file": 16,
    "nid": 0,
    "write": False,
}


def _params(name: str, defaults: dict[str, object], given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise UsageError(
            f"workload {name!r}: unknown parameter {unknown[0]!r} (known: {', '.join(defaults)})"
        )
    return {**defaults, **given}


def _number(name: str, param: str, value: object, *, positive: bool, integer: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise UsageError(f"workload {name!r}: parameter {param!r} must be {kind}, got {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise UsageError(f"workload {name!r}: parameter {param!r} must be {bound}, got {value!r}")
    return number


def _nid(name: str, sim: Simulation, value: object) -> int:
    nid = int(_number(name, "nid", value, positive=False, integer=True))
    if nid >= sim.nr_nodes:
        raise UsageError(
            f"workload {name!r}: parameter 'nid' must be a node (0..{sim.nr_nodes - 1}), got {nid}"
        )
    return nid


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class _Pacer:
    """Calls ``batch(n)`` so that ``rate`` operations happen per second of simulated time."""

    __slots__ = ("_acc", "_batch", "_per_tick", "series")

    def __init__(
        self, sim: Simulation, rate: float, batch: Callable[[int], None], name: str
    ) -> None:
        interval = min(1.0 / rate, TICK)
        self._per_tick = rate * interval
        self._acc = 0.0
        self._batch = batch
        self.series: _Cancellable = sim.every(interval, self._tick, name=name)

    def _tick(self) -> None:
        self._acc += self._per_tick
        n = int(self._acc + 1e-9)
        if n:
            self._acc -= n
            self._batch(n)

    def cancel(self) -> None:
        self.series.cancel()


@attrs.define(eq=False)
class CreateOpenClose:
    """A running ``create-open-close`` workload.

    :ivar created: files created so far.
    :ivar deleted: files unlinked so far.
    :ivar failed: creates or lookups that failed with ENOMEM.
    :ivar inos: the inode numbers of the files created, in order.
    """

    sim: Simulation
    icache: Icache
    sb: SuperBlock
    memcg: MemCgroup
    files: int
    lifetime: float | None
    nid: int
    created: int = 0
    deleted: int = 0
    failed: int = 0
    stopped: bool = False
    inos: list[int] = attrs.field(factory=list)
    _pacer: _Pacer | None = None

    def _batch(self, n: int) -> None:
        for _ in range(min(n, self.files - self.created)):
            self._create()
        if self.created >= self.files and self._pacer is not None:
            self._pacer.cancel()

    def _create(self) -> None:
        icache, sim = self.icache, self.sim
        ino = icache.supers(self.sb).alloc_ino()
        inode = icache.iget(self.sb, ino, self.memcg, self.nid)
        self.created += 1
        if inode is None:
            self.failed += 1
            return
        self.inos.append(ino)
        icache.mark_dirty(inode)
        icache.iput(inode)

        def writeback() -> None:
            icache.writeback(inode)

        sim.schedule(DIRTY_EXPIRE, writeback, name="inode-writeback")
        if self.lifetime is not None:
            sim.schedule(self.lifetime, lambda: self._delete(ino), name="unlink")

    def _delete(self, ino: int) -> None:
        if self.stopped:
            return
        icache = self.icache
        inode = icache.iget(self.sb, ino, self.memcg, self.nid)
        if inode is None:
            self.failed += 1
            return
        icache.unlink(inode)
        icache.iput(inode)
        self.deleted += 1

    def stop(self) -> None:
        """Stop creating and unlinking; pending writeback still completes."""
        self.stopped = True
        if self._pacer is not None:
            self._pacer.cancel()


@attrs.define(eq=False)
class ReadIntoPageCache:
    """A running ``read-into-page-cache`` workload.

    :ivar first_ino: the first of the ``files`` inode numbers it reads.
    :ivar opens: files opened so far.
    :ivar pages_read: pages read from disk (page cache misses).
    :ivar failed: opens or reads that failed with ENOMEM.
    """

    sim: Simulation
    icache: Icache
    sb: SuperBlock
    memcg: MemCgroup
    files: int
    pages_per_file: int
    nid: int
    first_ino: int
    write: bool = False
    opens: int = 0
    pages_read: int = 0
    failed: int = 0
    _pacer: _Pacer | None = None

    def _batch(self, n: int) -> None:
        for _ in range(n):
            self._open()

    def _open(self) -> None:
        icache = self.icache
        ino = self.first_ino + self.opens % self.files
        self.opens += 1
        inode = icache.iget(self.sb, ino, self.memcg, self.nid)
        if inode is None:
            self.failed += 1
            return
        try:
            read = icache.read_pages(
                inode, self.memcg, self.pages_per_file, nid=self.nid, dirty=self.write
            )
        finally:
            icache.iput(inode)
        if read is None:
            self.failed += 1
        else:
            self.pages_read += read

    def stop(self) -> None:
        """Stop opening files; the page cache and inodes stay."""
        if self._pacer is not None:
            self._pacer.cancel()


def _check_sb(name: str, sb: SuperBlock | None) -> SuperBlock:
    if sb is None:
        raise UsageError(f"workload {name!r} works on a filesystem: pass a mounted superblock")
    if sb.dying:
        raise UsageError(f"workload {name!r}: {sb.s_id} is being unmounted")
    return sb


def start_create_open_close(
    icache: Icache, sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> CreateOpenClose:
    """Start ``create-open-close`` (see the module docstring).

    :param rate: files created per second (> 0).
    :param files: files to create in all (>= 0).
    :param lifetime: seconds from a file's creation to its unlink; ``None`` keeps every file.
    :param nid: the node inodes are allocated on.
    :raises UsageError: an unknown or bad parameter, named in the message.
    """
    name = CREATE_OPEN_CLOSE
    p = _params(name, _CREATE_DEFAULTS, params)
    rate = _number(name, "rate", p["rate"], positive=True, integer=False)
    files = int(_number(name, "files", p["files"], positive=False, integer=True))
    lifetime = p["lifetime"]
    if lifetime is not None:
        lifetime = _number(name, "lifetime", lifetime, positive=False, integer=False)
    nid = _nid(name, sim, p["nid"])
    run = CreateOpenClose(
        sim=sim,
        icache=icache,
        sb=_check_sb(name, sb),
        memcg=memcg,
        files=files,
        lifetime=lifetime,
        nid=nid,
    )
    if files:
        run._pacer = _Pacer(sim, rate, run._batch, name)
    return run


def start_read_into_page_cache(
    icache: Icache, sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> ReadIntoPageCache:
    """Start ``read-into-page-cache`` (see the module docstring).

    :param rate: files opened per second (> 0).
    :param files: distinct files read in turn (> 0).
    :param pages_per_file: pages read from each file (>= 0).
    :param nid: the node inodes and pages are allocated on.
    :param write: the pages are written, not read: new pages enter the page cache dirty and
        reclaim must write them back before it can free them (``generic_perform_write``).
    :raises UsageError: an unknown or bad parameter, named in the message.
    """
    name = READ_INTO_PAGE_CACHE
    p = _params(name, _READ_DEFAULTS, params)
    rate = _number(name, "rate", p["rate"], positive=True, integer=False)
    files = int(_number(name, "files", p["files"], positive=True, integer=True))
    pages = int(_number(name, "pages_per_file", p["pages_per_file"], positive=False, integer=True))
    nid = _nid(name, sim, p["nid"])
    write = p["write"]
    if not isinstance(write, bool):
        raise UsageError(f"{name}: write: expected true or false, got {write!r}")
    sb = _check_sb(name, sb)
    run = ReadIntoPageCache(
        sim=sim,
        icache=icache,
        sb=sb,
        memcg=memcg,
        files=files,
        pages_per_file=pages,
        nid=nid,
        first_ino=icache.supers(sb).alloc_ino(files),
        write=write,
    )
    run._pacer = _Pacer(sim, rate, run._batch, name)
    return run


class Starter:
    """A workload's ``start`` for one simulation: binds the simulation's :class:`Icache`.

    The simulation owns its workload registry, so the inode cache hung here lives exactly as
    long as the simulation (:func:`shrinkfw_inode.get_icache` finds it here).
    """

    __slots__ = ("_fn", "icache")

    def __init__(self, icache: Icache, fn: Callable[..., Any]) -> None:
        self.icache = icache
        self._fn = fn

    def __call__(
        self, sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
    ) -> Any:
        if sim is not self.icache.sim:
            raise UsageError("this workload was registered for another simulation")
        return self._fn(self.icache, sim, memcg, sb, **params)


def register(registry: WorkloadRegistry, icache: Icache) -> None:
    """Add both workloads to ``registry``, bound to ``icache``."""
    registry.add(
        CREATE_OPEN_CLOSE,
        Starter(icache, start_create_open_close),
        description="create files (dirty inodes, written back after 30 s), optionally unlink "
        "them after a lifetime",
        needs_fs=True,
        params=dict(_CREATE_DEFAULTS),
    )
    registry.add(
        READ_INTO_PAGE_CACHE,
        Starter(icache, start_read_into_page_cache),
        description="open files in turn and read (or write) their first pages into the "
        "memcg's page cache",
        needs_fs=True,
        params=dict(_READ_DEFAULTS),
    )
