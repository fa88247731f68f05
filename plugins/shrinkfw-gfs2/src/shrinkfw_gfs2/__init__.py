"""shrinkfw-gfs2: the GFS2 quota-data cache and its shrinker for shrinkfw.

Register :mod:`shrinkfw_gfs2.plugin` (the ``gfs2`` entry point) with a simulation, mount a
``gfs2`` filesystem, and drive its quota records with the ``quota-churn`` workload or
:meth:`QuotaCache.qd_get` / :meth:`QuotaCache.qd_put`.
"""

from __future__ import annotations

from .era import busy_status, quotad_reclaim_account
from .quota import QD_CACHE_NAME, QD_SIZE, Gfs2Sbd, QuotaCache, QuotaData
from .shrinker import SHRINKER_NAME, QdShrinker, gfs2_quota, vfs_pressure_ratio
from .workload import PARAMS, WORKLOAD_NAME, QuotaChurn, start_quota_churn

__all__ = [
    "PARAMS",
    "QD_CACHE_NAME",
    "QD_SIZE",
    "SHRINKER_NAME",
    "WORKLOAD_NAME",
    "Gfs2Sbd",
    "QdShrinker",
    "QuotaCache",
    "QuotaChurn",
    "QuotaData",
    "busy_status",
    "gfs2_quota",
    "quotad_reclaim_account",
    "start_quota_churn",
    "vfs_pressure_ratio",
]
