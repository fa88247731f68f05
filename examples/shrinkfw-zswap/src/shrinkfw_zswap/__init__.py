"""shrinkfw-zswap: the zswap compressed swap cache and its memcg-aware shrinker for shrinkfw.

Register :mod:`shrinkfw_zswap.plugin` (the ``zswap`` entry point) with a simulation; it
registers the ``mm-zswap`` shrinker and the ``zswap-store`` workload. Drive the pool with the
workload, or directly through :func:`zswap_pool`::

    sim = Simulation.build(profile="v6.7", swap=True, plugins=[shrinkfw_zswap.plugin])
    pool = zswap_pool(sim)
    box = sim.memcgs.create("box")
    entry = pool.store(1, box, nid=0, length=compressed_length(3.0))  # swap slot 1

Modules: :mod:`~shrinkfw_zswap.pool` (entries and their memory), :mod:`~shrinkfw_zswap.shrinker`
(the shrinker), :mod:`~shrinkfw_zswap.memcg` (the memcg side), :mod:`~shrinkfw_zswap.workload`,
:mod:`~shrinkfw_zswap.era` (what the profile means) and :mod:`~shrinkfw_zswap.plugin` (hooks).
"""

from __future__ import annotations

from .era import ZswapEra, zswap_era
from .memcg import MemcgZswapStat, ZswapCgroups
from .pool import (
    LRU_NAME,
    ZSWAP_ENTRY_SIZE,
    ZswapEntry,
    ZswapPool,
    compressed_length,
    zs_size_class,
)
from .shrinker import PAGE_SHIFT, SHRINKER_NAME, ZswapShrinker, gfp_has_io_fs, zswap_pool
from .workload import PARAMS, WORKLOAD_NAME, ZswapStore, start_zswap_store

__all__ = [
    "LRU_NAME",
    "PAGE_SHIFT",
    "PARAMS",
    "SHRINKER_NAME",
    "WORKLOAD_NAME",
    "ZSWAP_ENTRY_SIZE",
    "MemcgZswapStat",
    "ZswapCgroups",
    "ZswapEntry",
    "ZswapEra",
    "ZswapPool",
    "ZswapShrinker",
    "ZswapStore",
    "compressed_length",
    "gfp_has_io_fs",
    "start_zswap_store",
    "zs_size_class",
    "zswap_era",
    "zswap_pool",
]
