"""The gfs2 plugin's hook implementations (the module registered as the ``gfs2`` plugin).

What ``init_gfs2_fs`` does when the module loads becomes the setup hooks: the ``gfs2``
filesystem type, then the quota-data globals (``gfs2_qd_lru``, ``gfs2_quotad``) and the
``gfs2-qd`` shrinker, then the ``quota-churn`` workload. Mounting a ``gfs2`` filesystem sets up
its quota state (``gfs2_quota_init``); unmounting disposes of its records
(``gfs2_quota_cleanup``). Nothing is kept at module level: each simulation finds its own state
through its registered shrinker (:func:`~shrinkfw_gfs2.shrinker.gfs2_quota`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import shrinkfw

from .quota import QuotaCache
from .shrinker import QdShrinker, gfs2_quota
from .workload import PARAMS, WORKLOAD_NAME, start_quota_churn

if TYPE_CHECKING:
    from shrinkfw import ShrinkerRegistry, Simulation
    from shrinkfw.vfs import FsTypeRegistry, SuperBlock
    from shrinkfw.workload import WorkloadRegistry

__all__ = [
    "FS_TYPE",
    "shrinkfw_mount",
    "shrinkfw_register_fs_types",
    "shrinkfw_register_shrinkers",
    "shrinkfw_register_workloads",
    "shrinkfw_umount",
]

#: The filesystem type name.
FS_TYPE: Final = "gfs2"


@shrinkfw.hookimpl
def shrinkfw_register_fs_types(registry: FsTypeRegistry) -> None:
    """``register_filesystem(&gfs2_fs_type)``: a disk filesystem with no fs-private cache
    behind ``nr_cached_objects`` (its quota records have their own shrinker)."""
    registry.add(FS_TYPE)


@shrinkfw.hookimpl
def shrinkfw_register_shrinkers(registry: ShrinkerRegistry, sim: Simulation) -> None:
    """``list_lru_init(&gfs2_qd_lru)``, ``kmem_cache_create("gfs2_quotad", ...)`` and
    ``register_shrinker(&gfs2_qd_shrinker)`` (linux v3.14 fs/gfs2/main.c, init_gfs2_fs;
    ``gfs2_qd_shrinker_init`` in v6.7)."""
    registry.add(QdShrinker(QuotaCache(sim)))


@shrinkfw.hookimpl
def shrinkfw_register_workloads(registry: WorkloadRegistry) -> None:
    registry.add(
        WORKLOAD_NAME,
        start_quota_churn,
        description="processes touching GFS2 quota ids: lookups hold a record, releases "
        "leave it on gfs2_qd_lru",
        needs_fs=True,
        params=dict(PARAMS),
    )


@shrinkfw.hookimpl
def shrinkfw_mount(sb: SuperBlock, sim: Simulation) -> None:
    """``gfs2_quota_init`` for a new ``gfs2`` superblock."""
    if sb.fs_type.name == FS_TYPE:
        gfs2_quota(sim).mount(sb)


@shrinkfw.hookimpl
def shrinkfw_umount(sb: SuperBlock, sim: Simulation) -> None:
    """``gfs2_quota_cleanup`` from ``gfs2_put_super``: every record of ``sb`` is freed."""
    if sb.fs_type.name == FS_TYPE:
        gfs2_quota(sim).cleanup(sb)
