"""The ``zswap-store`` workload: the swap traffic of a memcg's processes, through zswap.

It stands for processes whose cold anonymous pages are being swapped out. At ``rate`` pages
per second it gives a page a swap slot and calls ``zswap_store``, which compresses the page
to ``PAGE_SIZE / ratio`` bytes. If zswap rejects the page, it is written straight to the swap
device (``__swap_writepage``), unless the memcg's ``memory.zswap.writeback`` is 0; then it
stays in memory, as ``swap_writepage`` leaves it. At ``reload_rate`` per second, one of the
workload's swapped-out pages (picked with ``sim.rng``) is faulted back in. If zswap holds it,
``zswap_load`` decompresses it and frees the entry. If the shrinker wrote it back earlier, it
is read from the swap device, and ``zswap_folio_swapin`` counts the disk swap-in that the
shrinker's count then subtracts.

What it does not model: the anonymous pages themselves. A store frees no page and a swap-in
allocates none; only the pool's memory is charged. Each store stands for a page fault and the
swap-out that fault caused, so its charge is where limit reclaim runs (see
:mod:`shrinkfw_zswap.pool`).

zswap is a cache in front of a swap device. On a machine without swap (``[machine] swap =
false``, the default) there is no swap slot to give a page (``folio_alloc_swap`` fails), so
nothing is swapped out and zswap stores nothing: every page stays in memory (counted in
:attr:`ZswapStore.kept`), and the workload logs a warning when it starts.

Parameters (defaults in :data:`PARAMS`):

``rate``
    pages stored per second (> 0).
``ratio``
    compression ratio, ``PAGE_SIZE`` / compressed bytes (>= 1; 3.0 is typical of lzo/zstd on
    anonymous memory).
``nid``
    node of the pages, hence of their entries; -1 draws one per page with ``sim.rng``.
``reload_rate``
    swap-ins per second (>= 0).
``writeback``
    if given, written to the memcg's ``memory.zswap.writeback`` when the workload starts, as
    a container manager sets the knob up with the job (a new memcg has 1).

The workload schedules at most one clock event per millisecond for each of its two rates. A
higher rate stores (or reloads) several pages per event, carrying the fraction over.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from shrinkfw import UsageError

from .pool import compressed_length
from .shrinker import zswap_pool

if TYPE_CHECKING:
    from collections.abc import Callable

    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.clock import Series
    from shrinkfw.vfs import SuperBlock

    from .pool import ZswapPool

__all__ = ["MIN_INTERVAL", "PARAMS", "WORKLOAD_NAME", "ZswapStore", "start_zswap_store"]

#: The registered name.
WORKLOAD_NAME: Final = "zswap-store"
#: Parameters and their defaults.
PARAMS: Final[dict[str, object]] = {
    "rate": 1000.0,
    "ratio": 3.0,
    "nid": -1,
    "reload_rate": 0.0,
    "writeback": True,
}
#: Seconds between two events of one rate, at least.
MIN_INTERVAL: Final = 0.001


class _Paced:
    """``action`` called ``rate`` times per second, batched to at most one clock event per
    :data:`MIN_INTERVAL`, the fraction carried over."""

    __slots__ = ("_due", "_per_event", "series")

    def __init__(self, sim: Simulation, rate: float, action: Callable[[], None], name: str) -> None:
        interval = max(1.0 / rate, MIN_INTERVAL)
        self._per_event = rate * interval
        self._due = 0.0

        def fire() -> None:
            self._due += self._per_event
            n = math.floor(self._due + 1e-9)
            self._due -= n
            for _ in range(n):
                action()

        self.series: Series = sim.every(interval, fire, name=name)


class ZswapStore:
    """A running ``zswap-store``.

    :ivar stored: pages ``zswap_store`` took.
    :ivar rejected: pages it refused (the memcg's limit, or no memory).
    :ivar to_disk: refused pages written straight to the swap device.
    :ivar kept: pages that stayed in memory: refused while ``memory.zswap.writeback`` is 0,
        or with no swap slot to go to (a machine without swap).
    :ivar zswap_loads: swap-ins served by zswap (``zswpin``).
    :ivar disk_reads: swap-ins read from the swap device (pages written back earlier, or
        refused by zswap).
    """

    __slots__ = (
        "_reloads",
        "_stores",
        "_swapped",
        "disk_reads",
        "kept",
        "length",
        "memcg",
        "nid",
        "pool",
        "rejected",
        "sim",
        "stored",
        "to_disk",
        "zswap_loads",
    )

    def __init__(
        self,
        sim: Simulation,
        pool: ZswapPool,
        memcg: MemCgroup,
        *,
        rate: float,
        length: int,
        nid: int,
        reload_rate: float,
    ) -> None:
        self.sim = sim
        self.pool = pool
        self.memcg = memcg
        self.length = length
        self.nid = nid
        self.stored = self.rejected = self.to_disk = self.kept = 0
        self.zswap_loads = self.disk_reads = 0
        #: this workload's pages out on swap, in zswap or on the device: (slot, nid)
        self._swapped: list[tuple[int, int]] = []
        self._stores = _Paced(sim, rate, self.swap_out, f"{WORKLOAD_NAME}-store")
        self._reloads = (
            _Paced(sim, reload_rate, self.swap_in, f"{WORKLOAD_NAME}-reload")
            if reload_rate > 0
            else None
        )

    def __repr__(self) -> str:
        return (
            f"<ZswapStore {self.memcg.path} stored={self.stored} rejected={self.rejected} "
            f"zswap_loads={self.zswap_loads} disk_reads={self.disk_reads}>"
        )

    @property
    def swapped_out(self) -> int:
        """Pages of this workload out on swap (in zswap or on the swap device)."""
        return len(self._swapped)

    def swap_out(self) -> None:
        """One page goes out: ``swap_writepage`` → ``zswap_store``, or the swap device."""
        pool = self.pool
        nid = self.nid if self.nid >= 0 else self.sim.rng.randrange(self.sim.nr_nodes)
        slot = pool.alloc_swap_slot()
        if slot is None:  # no swap: add_to_swap fails, the page stays in memory
            self.kept += 1
            return
        if pool.store(slot, self.memcg, nid, self.length) is not None:
            self.stored += 1
        else:
            self.rejected += 1
            if not pool.cgroups.writeback_enabled(self.memcg):
                self.kept += 1  # AOP_WRITEPAGE_ACTIVATE: the page stays in memory
                return
            pool.swap_writepage()
            self.to_disk += 1
        self._swapped.append((slot, nid))

    def swap_in(self) -> None:
        """One swapped-out page comes back: ``zswap_load``, else a read from the device."""
        swapped = self._swapped
        if not swapped:
            return
        i = self.sim.rng.randrange(len(swapped))
        swapped[i], swapped[-1] = swapped[-1], swapped[i]
        slot, nid = swapped.pop()
        if self.pool.load(slot):
            self.zswap_loads += 1
        else:
            self.pool.folio_swapin(self.memcg, nid)
            self.disk_reads += 1

    def stop(self) -> None:
        """Stop swapping; the pages already out stay where they are."""
        self._stores.series.cancel()
        if self._reloads is not None:
            self._reloads.series.cancel()


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(
            f"{WORKLOAD_NAME}: parameter {name!r} must be a finite number, got {value!r}"
        )
    return float(value)


def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{WORKLOAD_NAME}: parameter {name!r} must be an int, got {value!r}")
    return value


def start_zswap_store(
    sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
) -> ZswapStore:
    """Start ``zswap-store`` for processes in ``memcg`` (``sb`` is not used).

    :raises UsageError: an unknown parameter or a bad value (the message names it), or the
        zswap plugin missing from ``sim``.
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise UsageError(
            f"{WORKLOAD_NAME}: unknown parameter {unknown[0]!r}; known: {', '.join(PARAMS)}"
        )
    values = {**PARAMS, **params}
    rate = _number("rate", values["rate"])
    ratio = _number("ratio", values["ratio"])
    nid = _int("nid", values["nid"])
    reload_rate = _number("reload_rate", values["reload_rate"])
    writeback = values["writeback"]
    if not rate > 0:
        raise UsageError(f"{WORKLOAD_NAME}: parameter 'rate' must be > 0, got {rate}")
    if ratio < 1:
        raise UsageError(f"{WORKLOAD_NAME}: parameter 'ratio' must be >= 1, got {ratio}")
    if not -1 <= nid < sim.nr_nodes:
        raise UsageError(
            f"{WORKLOAD_NAME}: parameter 'nid' must be -1 or a node 0..{sim.nr_nodes - 1}, "
            f"got {nid}"
        )
    if reload_rate < 0:
        raise UsageError(
            f"{WORKLOAD_NAME}: parameter 'reload_rate' must be >= 0, got {reload_rate}"
        )
    if not isinstance(writeback, bool):
        raise UsageError(
            f"{WORKLOAD_NAME}: parameter 'writeback' must be true or false, got {writeback!r}"
        )
    pool = zswap_pool(sim)
    if not sim.swap_enabled:
        sim.log.warning(
            f"{WORKLOAD_NAME}: the machine has no swap, so nothing is swapped out and zswap "
            "stores nothing; set swap = true in [machine] (Simulation.build(swap=True))",
            memcg=memcg.path,
        )
    if pool.era.what_if:
        sim.log.info(
            "zswap what-if", profile=pool.era.profile, reasons=" / ".join(pool.era.what_if)
        )
    if "writeback" in params:
        pool.cgroups.set_writeback(memcg, writeback)
    return ZswapStore(
        sim,
        pool,
        memcg,
        rate=rate,
        length=compressed_length(ratio),
        nid=nid,
        reload_rate=reload_rate,
    )
