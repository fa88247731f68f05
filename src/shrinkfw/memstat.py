"""``memory.stat``: the per-memcg counters a container or node simulator reads each step.

Models the cgroup v2 ``memory.stat`` file (``memory_stat_format`` in mm/memcontrol.c), for
the counters the model keeps: page-cache and anonymous pages on the memcg's LRUs, its slab
memory split the way the kernel splits it, and the reclaim events on its LRUs. As in v2 the
figures are hierarchical: a memcg's counters include its descendants' (``recursive=False``
gives the memcg's own). Sizes are bytes, events are page counts, exactly as the file prints
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .memcg import PAGE_SIZE, MemcgState

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .sim import Simulation

__all__ = ["MemoryStat", "memory_stat"]


@attrs.frozen(kw_only=True)
class MemoryStat:
    """A memcg's ``memory.stat`` as the model knows it.

    :ivar anon: bytes of anonymous memory on the LRUs (``anon``).
    :ivar file: bytes of page cache on the LRUs (``file``).
    :ivar file_dirty: bytes of page cache waiting for writeback (``file_dirty``).
    :ivar file_writeback: bytes of page cache under writeback (``file_writeback``).
    :ivar slab_reclaimable: bytes of slab a shrinker can free (``slab_reclaimable``):
        dentries, inodes and the like.
    :ivar slab_unreclaimable: bytes of the other slab (``slab_unreclaimable``).
    :ivar pgscan: pages scanned on its LRUs by reclaim, kswapd and direct (``pgscan``).
    :ivar pgsteal: pages reclaimed from its LRUs (``pgsteal``).
    :ivar pgscan_kswapd: the part of ``pgscan`` done by kswapd.
    :ivar pgscan_direct: the part done by direct and memcg limit reclaim.
    :ivar pgsteal_kswapd: the part of ``pgsteal`` done by kswapd.
    :ivar pgsteal_direct: the part done by direct and memcg limit reclaim.
    """

    anon: int
    file: int
    file_dirty: int
    file_writeback: int
    slab_reclaimable: int
    slab_unreclaimable: int
    pgscan: int
    pgsteal: int
    pgscan_kswapd: int
    pgscan_direct: int
    pgsteal_kswapd: int
    pgsteal_direct: int

    @property
    def slab(self) -> int:
        """``slab``: both kinds of slab memory."""
        return self.slab_reclaimable + self.slab_unreclaimable

    def as_dict(self) -> dict[str, int]:
        """The counters by ``memory.stat`` key, in the file's order, ``slab`` included."""
        out = attrs.asdict(self)
        out["slab"] = self.slab
        return out

    def format(self) -> str:
        """The text of the ``memory.stat`` file: one ``key value`` line per counter."""
        return "".join(f"{key} {value}\n" for key, value in self.as_dict().items())


def memory_stat(sim: Simulation, memcg: MemCgroup, *, recursive: bool = True) -> MemoryStat:
    """``memory.stat`` of ``memcg`` (``memory_stat_format``): hierarchical unless
    ``recursive=False``. A freed memcg reads as zeros except its own leftover counters."""
    if recursive and memcg.state is not MemcgState.FREED:
        walk = list(sim.memcgs.iter(memcg))
    else:
        walk = [memcg]
    anon = file = dirty = writeback = 0
    scan_k = scan_d = steal_k = steal_d = 0
    for m in walk:
        if m.state is MemcgState.FREED:
            continue
        for nid in range(sim.nr_nodes):
            lruvec = sim.lruvec(m, nid)
            anon += lruvec.anon_pages
            file += lruvec.file_pages
            dirty += lruvec.nr_dirty
            writeback += lruvec.nr_writeback
            scan_k += lruvec.pgscan_kswapd
            scan_d += lruvec.pgscan_direct
            steal_k += lruvec.pgsteal_kswapd
            steal_d += lruvec.pgsteal_direct
    slab = sim.slab.memcg_stat(memcg, recursive=recursive)
    return MemoryStat(
        anon=anon * PAGE_SIZE,
        file=file * PAGE_SIZE,
        file_dirty=dirty * PAGE_SIZE,
        file_writeback=writeback * PAGE_SIZE,
        slab_reclaimable=slab.reclaimable,
        slab_unreclaimable=slab.unreclaimable,
        pgscan=scan_k + scan_d,
        pgsteal=steal_k + steal_d,
        pgscan_kswapd=scan_k,
        pgscan_direct=scan_d,
        pgsteal_kswapd=steal_k,
        pgsteal_direct=steal_d,
    )
