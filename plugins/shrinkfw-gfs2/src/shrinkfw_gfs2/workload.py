"""The ``quota-churn`` workload: processes in a memcg touching quota ids of a GFS2 filesystem.

Every allocation or deallocation of blocks on GFS2 holds the quota records of the ids
involved for the duration of the operation (``gfs2_quota_hold`` → ``qdsb_get`` → ``qd_get``;
``gfs2_quota_unhold`` → ``qdsb_put`` → ``qd_put``). The workload reproduces that traffic: at
``rate`` touches per second it picks one of ``ids`` quota ids with ``sim.rng``, looks it up
(allocating the record the first time, or again after the shrinker freed it), and releases it
``hold_time`` seconds later. Records of ids not touched for a while collect on
``gfs2_qd_lru`` for the shrinker.

Parameters (defaults in :data:`PARAMS`):

``rate``
    touches per second (> 0).
``ids``
    distinct quota ids touched, uniformly (>= 1).
``hold_time``
    seconds a touch holds its reference (>= 0).
``nid``
    node the records are allocated on; -1 picks one per touch with ``sim.rng``.
``lookup_window``
    seconds between a lookup's ``lockref_get_not_dead`` and its ``list_lru_del`` (0: none).
    A shrinker running inside the window finds a referenced record on the LRU, the case
    where the era's isolate callback differs. Must be smaller than ``hold_time``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Final

from shrinkfw import UsageError

from .shrinker import gfs2_quota

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.clock import Series
    from shrinkfw.vfs import SuperBlock

    from .quota import QuotaCache, QuotaData

__all__ = ["PARAMS", "WORKLOAD_NAME", "QuotaChurn", "start_quota_churn"]

#: The registered name.
WORKLOAD_NAME: Final = "quota-churn"
#: Parameters and their defaults.
PARAMS: Final[dict[str, object]] = {
    "rate": 100.0,
    "ids": 64,
    "hold_time": 0.05,
    "nid": -1,
    "lookup_window": 0.0,
}


class QuotaChurn:
    """A running ``quota-churn``.

    :ivar touches: lookups made.
    :ivar misses: lookups that had to allocate a record.
    :ivar enomem: lookups whose allocation failed.
    """

    __slots__ = (
        "_series",
        "cache",
        "enomem",
        "hold_time",
        "ids",
        "lookup_window",
        "memcg",
        "misses",
        "nid",
        "sb",
        "sim",
        "touches",
    )

    def __init__(
        self,
        sim: Simulation,
        cache: QuotaCache,
        memcg: MemCgroup,
        sb: SuperBlock,
        *,
        rate: float,
        ids: int,
        hold_time: float,
        nid: int,
        lookup_window: float,
    ) -> None:
        self.sim = sim
        self.cache = cache
        self.memcg = memcg
        self.sb = sb
        self.ids = ids
        self.hold_time = hold_time
        self.nid = nid
        self.lookup_window = lookup_window
        self.touches = 0
        self.misses = 0
        self.enomem = 0
        self._series: Series = sim.every(1.0 / rate, self.touch, name=WORKLOAD_NAME)

    def __repr__(self) -> str:
        return f"<QuotaChurn {self.sb.s_id} touches={self.touches} misses={self.misses}>"

    def touch(self) -> None:
        """One ``gfs2_quota_hold`` / ``gfs2_quota_unhold`` pair on a random id."""
        if self.sb.dying:
            self.stop()
            return
        sim, cache = self.sim, self.cache
        rng = sim.rng
        qid = rng.randrange(self.ids)
        nid = self.nid if self.nid >= 0 else rng.randrange(sim.nr_nodes)
        window = self.lookup_window
        known = cache.sbd(self.sb).quota.get(qid)
        qd = cache.qd_get(self.sb, qid, memcg=self.memcg, nid=nid, lru_del=not window)
        self.touches += 1
        if qd is None:
            self.enomem += 1
            return
        if qd is not known:
            self.misses += 1
        elif window:
            sim.schedule(window, partial(self.end_window, qd), name="gfs2-qd-lru-del")
        sim.schedule(self.hold_time, partial(cache.qd_put, qd), name="gfs2-qd-put")

    def end_window(self, qd: QuotaData) -> None:
        """The delayed ``list_lru_del`` of a lookup made with a window."""
        self.cache.lru_del(qd)

    def stop(self) -> None:
        """Stop touching; references already taken are still released on time."""
        self._series.cancel()


def _number(name: str, value: object, *, integer: bool) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if not ok or isinstance(value, bool):
        kind = "an int" if integer else "a number"
        raise UsageError(f"quota-churn: parameter {name!r} must be {kind}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def start_quota_churn(
    sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> QuotaChurn:
    """Start ``quota-churn`` on the GFS2 filesystem ``sb`` for processes in ``memcg``.

    :raises UsageError: an unknown parameter, a bad value (the message names it), no GFS2
        superblock, or the gfs2 plugin missing from ``sim``.
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise UsageError(
            f"quota-churn: unknown parameter {unknown[0]!r}; known: {', '.join(PARAMS)}"
        )
    values = {**PARAMS, **params}
    rate = _number("rate", values["rate"], integer=False)
    ids = int(_number("ids", values["ids"], integer=True))
    hold_time = _number("hold_time", values["hold_time"], integer=False)
    nid = int(_number("nid", values["nid"], integer=True))
    window = _number("lookup_window", values["lookup_window"], integer=False)
    if not rate > 0:
        raise UsageError(f"quota-churn: parameter 'rate' must be > 0, got {values['rate']!r}")
    if ids < 1:
        raise UsageError(f"quota-churn: parameter 'ids' must be >= 1, got {ids}")
    if not hold_time >= 0:
        raise UsageError(f"quota-churn: parameter 'hold_time' must be >= 0, got {hold_time}")
    if not -1 <= nid < sim.nr_nodes:
        raise UsageError(
            f"quota-churn: parameter 'nid' must be -1 or a node 0..{sim.nr_nodes - 1}, got {nid}"
        )
    if window and not 0 < window < hold_time:
        raise UsageError(
            f"quota-churn: parameter 'lookup_window' must be 0 or in (0, hold_time={hold_time}), "
            f"got {window}"
        )
    cache = gfs2_quota(sim)
    if sb is None:
        raise UsageError("quota-churn works on a gfs2 filesystem: pass the superblock")
    cache.sbd(sb)
    return QuotaChurn(
        sim,
        cache,
        memcg,
        sb,
        rate=rate,
        ids=ids,
        hold_time=hold_time,
        nid=nid,
        lookup_window=window,
    )
