"""What the simulation's profile means for zswap. This is the only module that reads it.

The plugin models one zswap: mainline ``mm/zswap.c`` with the memcg-aware shrinker (v6.8) and
its second-chance rules (v6.12: the ``referenced`` bit and the ``nr_disk_swapins`` counter).
No shrinkfw profile is that recent. The plugin therefore does not vary zswap's rules by
profile; the profile supplies the kernel *around* zswap: the list_lru layout, how
``shrink_slab`` picks shrinkers and sizes their scans, and how slab memory is charged.

Every profile registers the shrinker, so a simulation never fails because this plugin is
installed (shrinkfw autoloads plugins, and ``shrinkfw plugins`` probes the default profile).
:func:`zswap_era` says how far the combination is from a real kernel:

* ``v6.7`` (E5, cgroup v2): the nearest profile. Nothing the zswap shrinker relies on differs
  in the model between v6.7 and v6.12: the xarray list_lru with ``list_lru_add(nid, memcg)``,
  the shrinker bitmap, per-memcg ``nr_deferred``, objcg byte charges and cgroup v2.
* every other profile: a what-if, with the reasons in :attr:`ZswapEra.what_if`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from shrinkfw import ListLRULayout

if TYPE_CHECKING:
    from shrinkfw import KernelProfile

__all__ = ["ZswapEra", "zswap_era"]

#: The era tag of the profiles the model treats as the shrinker's own kernels.
_NATIVE_ERAS: Final = frozenset({"E5"})

_NO_SHRINKER: Final = (
    "the zswap shrinker arrived in v6.8 and its second-chance rules in v6.12; "
    "this profile models an older kernel"
)
_V3_ZSWAP: Final = (
    "v3.14's zswap (merged in v3.11) had no shrinker: it wrote pages back only when its zbud "
    "pool reached max_pool_percent, and charged nothing to memcgs"
)
_CGROUP_V1: Final = (
    "cgroup v1: obj_cgroup_charge_zswap returns early on v1 (mm/memcontrol.c), so the memcg "
    "statistics zswap_shrinker_count reads stay 0 and it counts 0 for every memcg; the model "
    "charges and counts as on cgroup v2"
)


@attrs.frozen(kw_only=True)
class ZswapEra:
    """How the profile's kernel relates to the zswap being modelled.

    :ivar profile: the profile's name.
    :ivar what_if: why this profile is a what-if for zswap, one reason per item; empty for
        the nearest profile (``v6.7``).
    :ivar memcg_lists_per_node: the list_lru keeps one list per (memcg, node). False for the
        kmemcg v15 layout, where a memcg has one list for all nodes and memcg-aware shrinkers
        are called on node 0 only: the per-lruvec swap-in counter of a memcg is then kept on
        node 0 too, where the shrinker looks for it.
    """

    profile: str
    what_if: tuple[str, ...]
    memcg_lists_per_node: bool


def zswap_era(profile: KernelProfile) -> ZswapEra:
    """Read the zswap-relevant facts off ``profile``."""
    reasons: list[str] = []
    if profile.era not in _NATIVE_ERAS:
        reasons.append(_V3_ZSWAP if profile.era.startswith("E1") else _NO_SHRINKER)
    if profile.kmem.kmem_feeds_user:  # the v1 two-counter kmem charging: a cgroup v1 kernel
        reasons.append(_CGROUP_V1)
    return ZswapEra(
        profile=profile.name,
        what_if=tuple(reasons),
        memcg_lists_per_node=profile.lru_layout is not ListLRULayout.MEMCG_ARRAY_V15,
    )
