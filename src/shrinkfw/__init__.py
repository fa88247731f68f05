"""shrinkfw: a simulator of Linux kernel slab reclaim under memcg and global pressure.

The public API is what ``__all__`` lists, plus the modules :mod:`shrinkfw.hookspecs` (the
plugin contract) and :mod:`shrinkfw.trace` (reading real kernel traces).
"""

from __future__ import annotations

from typing import Any

import pluggy

from .errors import (
    AllocationError,
    ContractViolation,
    PluginError,
    ProfileError,
    ScenarioError,
    ShrinkfwError,
    TraceError,
    UsageError,
)
from .list_lru import (
    LRU_REMOVED,
    LRU_REMOVED_RETRY,
    LRU_RETRY,
    LRU_ROTATE,
    LRU_SKIP,
    LRU_STOP,
    ListLRU,
    ListLRULayout,
    LRUItem,
    LRUList,
    LRUStatus,
)
from .memcg import MemCgroup, MemcgState, MemcgTree
from .profiles import DEFAULT_PROFILE, PROFILES, KernelProfile, get_profile
from .registry import ShrinkerEntry, ShrinkerRegistry
from .shrink_arith import DEF_PRIORITY, Pressure
from .shrinker import (
    DEFAULT_SEEKS,
    GFP_KERNEL,
    GFP_NOFS,
    SHRINK_BATCH,
    SHRINK_EMPTY,
    SHRINK_STOP,
    Gfp,
    ShrinkControl,
    Shrinker,
    ShrinkerFlags,
)
from .sim import Simulation
from .tracepoints import ShrinkSlabEnd, ShrinkSlabStart

hookimpl = pluggy.HookimplMarker("shrinkfw")
"""Marker for plugin hook implementations: ``@shrinkfw.hookimpl``."""

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_SEEKS",
    "DEF_PRIORITY",
    "GFP_KERNEL",
    "GFP_NOFS",
    "LRU_REMOVED",
    "LRU_REMOVED_RETRY",
    "LRU_RETRY",
    "LRU_ROTATE",
    "LRU_SKIP",
    "LRU_STOP",
    "PROFILES",
    "SHRINK_BATCH",
    "SHRINK_EMPTY",
    "SHRINK_STOP",
    "AllocationError",
    "ContractViolation",
    "Gfp",
    "KernelProfile",
    "LRUItem",
    "LRUList",
    "LRUStatus",
    "ListLRU",
    "ListLRULayout",
    "MemCgroup",
    "MemcgState",
    "MemcgTree",
    "PluginError",
    "Pressure",
    "ProfileError",
    "ScenarioError",
    "ShrinkControl",
    "ShrinkSlabEnd",
    "ShrinkSlabStart",
    "Shrinker",
    "ShrinkerEntry",
    "ShrinkerFlags",
    "ShrinkerRegistry",
    "ShrinkfwError",
    "Simulation",
    "TraceError",
    "UsageError",
    "__version__",
    "get_profile",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("shrinkfw")
        except PackageNotFoundError:  # running from a source tree
            return "0.0.0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
