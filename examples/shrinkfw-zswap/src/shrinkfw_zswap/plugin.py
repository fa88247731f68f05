"""The zswap plugin's hook implementations: the module registered as the ``zswap`` plugin.

shrinkfw loads this module through the ``shrinkfw`` entry point of the distribution (see
``pyproject.toml``), or takes it from ``Simulation.build(plugins=[shrinkfw_zswap.plugin])``.
Each ``@shrinkfw.hookimpl`` function implements one hook of :mod:`shrinkfw.hookspecs`:

* ``shrinkfw_register_shrinkers``: ``zswap_setup`` at boot: the ``zswap_entry`` cache, the
  ``mm-zswap`` shrinker and ``zswap_list_lru`` (:class:`~shrinkfw_zswap.pool.ZswapPool`);
* ``shrinkfw_register_workloads``: the ``zswap-store`` workload;
* ``shrinkfw_memcg_free``: forget a freed memcg's zswap state.

Nothing is kept at module level. Each simulation has its own pool, found through its
registered shrinker (:func:`~shrinkfw_zswap.shrinker.zswap_pool`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shrinkfw

from .pool import ZswapPool
from .shrinker import zswap_pool
from .workload import PARAMS, WORKLOAD_NAME, start_zswap_store

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, ShrinkerRegistry, Simulation
    from shrinkfw.workload import WorkloadRegistry

__all__ = [
    "shrinkfw_memcg_free",
    "shrinkfw_register_shrinkers",
    "shrinkfw_register_workloads",
]


@shrinkfw.hookimpl
def shrinkfw_register_shrinkers(registry: ShrinkerRegistry, sim: Simulation) -> None:
    """``zswap_setup`` (mm/zswap.c): ``KMEM_CACHE(zswap_entry, 0)``, ``zswap_alloc_shrinker``,
    ``list_lru_init_memcg(&zswap_list_lru, zswap_shrinker)`` and ``shrinker_register``.

    Every profile gets the shrinker, so installing the plugin never breaks a simulation;
    :mod:`shrinkfw_zswap.era` says which profiles are a what-if.
    """
    ZswapPool(sim, registry)


@shrinkfw.hookimpl
def shrinkfw_register_workloads(registry: WorkloadRegistry) -> None:
    registry.add(
        WORKLOAD_NAME,
        start_zswap_store,
        description="a memcg's pages swapped out through zswap at a rate (compressed by "
        "ratio), some swapped back in",
        params=dict(PARAMS),
    )


@shrinkfw.hookimpl
def shrinkfw_memcg_free(memcg: MemCgroup, sim: Simulation) -> None:
    """The memcg is gone (``css_free``): drop its statistics, knob and swap-in counters."""
    zswap_pool(sim).cgroups.forget(memcg)
