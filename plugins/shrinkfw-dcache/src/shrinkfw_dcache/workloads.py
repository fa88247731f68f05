"""Workloads that fill the dentry cache: a negative-dentry storm and a path walk.

Both run in one memcg on one mounted superblock, schedule batches on the simulation's clock
every ``interval`` seconds, and draw every random choice from ``sim.rng``.

* ``negative-dentry-storm``: ``stat()`` of names that do not exist in the filesystem's root
  directory. A miss allocates a negative dentry charged to the memcg (and, for a name longer
  than 31 bytes, an external name), hashes it and releases it to the LRU; a hit only takes
  and drops a reference. This is what ``test_kmem_basic`` in the kernel's cgroup selftests
  does with 100000 names of 64+ characters.
* ``path-walk``: walks random paths ``/d<i>/d<j>/.../f<k>`` of a directory tree ``depth``
  levels deep with ``fanout`` subdirectories per directory and ``files`` files per leaf
  directory. Every component the dcache misses becomes a positive dentry holding an inode
  from ``iget`` (the inode plugin's, or the core's bare inode).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from shrinkfw import UsageError

from .dcache import NAME_MAX, ROOT_INO, dcache_of

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.vfs import SuperBlock

    from .dcache import Dcache
    from .dentry import Dentry

__all__ = [
    "NEGATIVE_DENTRY_STORM",
    "PATH_WALK",
    "STORM_PARAMS",
    "WALK_PARAMS",
    "NegativeDentryStorm",
    "PathWalk",
    "start_negative_dentry_storm",
    "start_path_walk",
]

NEGATIVE_DENTRY_STORM: Final = "negative-dentry-storm"
PATH_WALK: Final = "path-walk"

#: Parameters of ``negative-dentry-storm`` and their defaults.
STORM_PARAMS: Final[dict[str, object]] = {
    "rate": 1000.0,  # lookups per second
    "names": 0,  # distinct names, chosen at random; 0: every lookup a new name
    "name_len": 16,  # bytes per name; > 31 allocates an external name
    "interval": 0.01,  # seconds between batches
    "lookups": 0,  # stop after this many lookups; 0: run until stopped
    "nid": 0,  # node to allocate on
    "prefix": "",  # names start with it (keeps two storms' names apart)
}
#: Parameters of ``path-walk`` and their defaults.
WALK_PARAMS: Final[dict[str, object]] = {
    "rate": 100.0,  # walks per second
    "depth": 3,  # directory levels below the root
    "fanout": 4,  # subdirectories per directory
    "files": 16,  # files per leaf directory; 0: walks end at a leaf directory
    "interval": 0.01,  # seconds between batches
    "walks": 0,  # stop after this many walks; 0: run until stopped
    "nid": 0,  # node to allocate on
    "prefix": "",  # directory and file names start with it
}


def _params(kind: str, given: dict[str, Any], defaults: dict[str, object]) -> dict[str, Any]:
    for name in given:
        if name not in defaults:
            raise UsageError(
                f"workload {kind!r}: unknown parameter {name!r} (known: {', '.join(defaults)})"
            )
    return {**defaults, **given}


def _int(kind: str, name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"workload {kind!r}: parameter {name!r} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise UsageError(f"workload {kind!r}: parameter {name!r} must be {bound}, got {value}")
    return value


def _positive(kind: str, name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise UsageError(
            f"workload {kind!r}: parameter {name!r} must be a finite number > 0, got {value!r}"
        )
    return float(value)


def _str(kind: str, name: str, value: object) -> str:
    if not isinstance(value, str) or "/" in value:
        raise UsageError(f"workload {kind!r}: parameter {name!r} must be a string without '/'")
    return value


def _sb(kind: str, sb: SuperBlock | None) -> Dcache:
    if sb is None:
        raise UsageError(f"workload {kind!r} needs a mounted filesystem (sb)")
    return dcache_of(sb)


class _Batches:
    """Turns a rate into whole operations per tick, carrying the fraction over."""

    __slots__ = ("_carry", "_left", "_per_tick")

    def __init__(self, rate: float, interval: float, limit: int) -> None:
        self._per_tick = rate * interval
        self._carry = 0.0
        self._left = limit if limit else -1

    def next(self) -> int:
        total = self._carry + self._per_tick
        n = int(total)
        self._carry = total - n
        if self._left >= 0:
            n = min(n, self._left)
            self._left -= n
        return n

    @property
    def done(self) -> bool:
        return self._left == 0


class NegativeDentryStorm:
    """A started ``negative-dentry-storm``.

    :ivar lookups: lookups done.
    :ivar misses: lookups that allocated a negative dentry.
    :ivar hits: lookups that found a cached dentry.
    :ivar enomem: lookups that failed to allocate (ENOMEM).
    """

    __slots__ = (
        "_batches",
        "_dcache",
        "_memcg",
        "_names",
        "_next",
        "_nid",
        "_prefix",
        "_series",
        "_sim",
        "_width",
        "enomem",
        "hits",
        "lookups",
        "misses",
    )

    def __init__(
        self, sim: Simulation, memcg: MemCgroup, dcache: Dcache, params: dict[str, Any]
    ) -> None:
        kind = NEGATIVE_DENTRY_STORM
        rate = _positive(kind, "rate", params["rate"])
        interval = _positive(kind, "interval", params["interval"])
        self._names = _int(kind, "names", params["names"], 0)
        name_len = _int(kind, "name_len", params["name_len"], 1, NAME_MAX)
        self._nid = _int(kind, "nid", params["nid"], 0, sim.nr_nodes - 1)
        self._prefix = _str(kind, "prefix", params["prefix"])
        self._width = name_len - len(self._prefix)
        if self._width < 1:
            raise UsageError(
                f"workload {kind!r}: parameter 'prefix' leaves no room in name_len={name_len}"
            )
        self._batches = _Batches(rate, interval, _int(kind, "lookups", params["lookups"], 0))
        self._sim = sim
        self._memcg = memcg
        self._dcache = dcache
        self._next = 0
        self.lookups = self.misses = self.hits = self.enomem = 0
        self._series = sim.every(interval, self._tick, name=kind)

    def _name(self) -> str:
        if self._names:
            i = self._sim.rng.randrange(self._names)
        else:
            i = self._next
            self._next += 1
        return f"{self._prefix}{i:0{self._width}d}"

    def _tick(self) -> None:
        dcache = self._dcache
        if dcache.dead:
            self.stop()
            return
        root = dcache.root
        memcg, nid = self._memcg, self._nid
        for _ in range(self._batches.next()):
            name = self._name()
            self.lookups += 1
            d = dcache.d_lookup(root, name)
            if d is None:
                d = dcache.d_alloc(root, name, memcg, nid)
                if d is None:
                    self.enomem += 1
                    self._sim.vmstat["dcache_enomem"] += 1
                    continue
                dcache.d_add(d, None)
                self.misses += 1
            else:
                self.hits += 1
            dcache.dput(d)
        if self._batches.done:
            self.stop()

    def stop(self) -> None:
        """Stop looking names up; the dentries made stay cached."""
        self._series.cancel()

    def __repr__(self) -> str:
        return (
            f"<NegativeDentryStorm lookups={self.lookups} misses={self.misses} "
            f"hits={self.hits} enomem={self.enomem}>"
        )


class PathWalk:
    """A started ``path-walk``.

    :ivar walks: walks done (complete or not).
    :ivar misses: components the dcache did not have (a positive dentry was made).
    :ivar hits: components found in the dcache.
    :ivar enomem: walks cut short by a failed allocation.
    """

    __slots__ = (
        "_batches",
        "_dcache",
        "_depth",
        "_fanout",
        "_files",
        "_memcg",
        "_nid",
        "_prefix",
        "_series",
        "_sim",
        "enomem",
        "hits",
        "misses",
        "walks",
    )

    def __init__(
        self, sim: Simulation, memcg: MemCgroup, dcache: Dcache, params: dict[str, Any]
    ) -> None:
        kind = PATH_WALK
        rate = _positive(kind, "rate", params["rate"])
        interval = _positive(kind, "interval", params["interval"])
        self._depth = _int(kind, "depth", params["depth"], 0, 64)
        self._fanout = _int(kind, "fanout", params["fanout"], 1)
        self._files = _int(kind, "files", params["files"], 0)
        self._nid = _int(kind, "nid", params["nid"], 0, sim.nr_nodes - 1)
        self._prefix = _str(kind, "prefix", params["prefix"])
        if len(self._prefix) + 1 + len(str(max(self._fanout, self._files))) > NAME_MAX:
            raise UsageError(f"workload {kind!r}: parameter 'prefix' makes names too long")
        self._batches = _Batches(rate, interval, _int(kind, "walks", params["walks"], 0))
        self._sim = sim
        self._memcg = memcg
        self._dcache = dcache
        self.walks = self.misses = self.hits = self.enomem = 0
        self._series = sim.every(interval, self._tick, name=kind)

    def _step(self, cur: Dentry, dir_ino: int, name: str) -> Dentry | None:
        dcache = self._dcache
        d = dcache.d_lookup(cur, name)
        if d is not None:
            self.hits += 1
            return d
        d = dcache.lookup(cur, name, self._memcg, self._nid, ino=dcache.ino(dir_ino, name))
        if d is not None:
            self.misses += 1
        return d

    def _walk(self) -> None:
        dcache = self._dcache
        rng = self._sim.rng
        prefix = self._prefix
        cur = dcache.dget(dcache.root)
        dir_ino = ROOT_INO
        names = [f"{prefix}d{rng.randrange(self._fanout)}" for _ in range(self._depth)]
        if self._files:
            names.append(f"{prefix}f{rng.randrange(self._files)}")
        for name in names:
            child = self._step(cur, dir_ino, name)
            dcache.dput(cur)
            if child is None:
                self.enomem += 1
                self._sim.vmstat["dcache_enomem"] += 1
                return
            cur = child
            if cur.d_inode is None:  # a negative dentry of someone else's storm
                break
            dir_ino = cur.d_inode.ino
        dcache.dput(cur)

    def _tick(self) -> None:
        if self._dcache.dead:
            self.stop()
            return
        for _ in range(self._batches.next()):
            self.walks += 1
            self._walk()
        if self._batches.done:
            self.stop()

    def stop(self) -> None:
        """Stop walking; the dentries made stay cached."""
        self._series.cancel()

    def __repr__(self) -> str:
        return (
            f"<PathWalk walks={self.walks} misses={self.misses} hits={self.hits} "
            f"enomem={self.enomem}>"
        )


def start_negative_dentry_storm(
    sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> NegativeDentryStorm:
    """Start a ``negative-dentry-storm`` (see :data:`STORM_PARAMS`).

    :raises UsageError: no superblock, an unknown parameter or a bad value (named).
    """
    kind = NEGATIVE_DENTRY_STORM
    merged = _params(kind, params, STORM_PARAMS)
    return NegativeDentryStorm(sim, memcg, _sb(kind, sb), merged)


def start_path_walk(
    sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> PathWalk:
    """Start a ``path-walk`` (see :data:`WALK_PARAMS`).

    :raises UsageError: no superblock, an unknown parameter or a bad value (named).
    """
    kind = PATH_WALK
    merged = _params(kind, params, WALK_PARAMS)
    return PathWalk(sim, memcg, _sb(kind, sb), merged)
