"""What changes between kernel eras for the dentry cache, read from the simulation's profile.

This is the only module of the plugin that looks at the profile. One rule has a profile
field (``first_put_referenced``); the others have none yet and are derived from the era tag
here, in :func:`dcache_rules`, so the core can replace each with a ``KernelProfile`` field
without touching the rest of the plugin (see "Core changes wanted" in the README).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

import attrs

from shrinkfw import ProfileError

if TYPE_CHECKING:
    from shrinkfw import KernelProfile

__all__ = ["AncestorRule", "DcacheRules", "dcache_rules"]


class AncestorRule(enum.Enum):
    """What ``shrink_dentry_list`` does with the parent of a dentry it kills."""

    #: Drop the parent's reference at once; a parent whose count reaches 0 is killed on the
    #: spot, whatever its LRU state, and so on up the tree. A parent that stays referenced is
    #: left where it is (linux v3.14 fs/dcache.c, try_prune_one_dentry "Prune ancestors";
    #: the same loop inside shrink_dentry_list in v3.15-v4.x copies).
    KILL_AT_ONCE = "kill-at-once"
    #: ``__dput_to_list(parent, dispose)``: a parent already on a dispose list only loses the
    #: reference; otherwise it is taken off the LRU (even if it stays referenced) and, when
    #: its count reaches 0, queued on the same dispose list, to be killed later in the same
    #: ``shrink_dentry_list`` call (v5.8-era copies up to v6.7 fs/dcache.c).
    DISPOSE_LIST = "dispose-list"


#: Eras whose ``shrink_dentry_list`` kills ancestors at once.
_KILL_AT_ONCE_ERAS: Final = frozenset({"E1", "E1+v15", "E2"})
#: Eras that queue ancestors on the dispose list.
_DISPOSE_LIST_ERAS: Final = frozenset({"E3", "E4", "E5"})
#: Eras before ``list_lru_isolate_move``: the isolate callback moves a dentry to the *tail*
#: of the dispose list, so ``shrink_dentry_list`` (which takes the tail) frees newest first.
_DISPOSE_LIFO_ERAS: Final = frozenset({"E1", "E1+v15"})
#: Eras that allocate external names from the reclaimable kmalloc caches (v4.20+).
_RECLAIMABLE_NAME_ERAS: Final = frozenset({"E3", "E4", "E5"})


@attrs.frozen(kw_only=True)
class DcacheRules:
    """The era-dependent rules of the dentry cache.

    :ivar first_put_referenced: the last ``dput`` of a hashed dentry always sets
        ``DCACHE_REFERENCED`` (v3.14 ``dput``); otherwise ``retain_dentry`` puts a dentry that
        is not on the LRU there *without* it and sets it only on a dentry already there.
    :ivar ancestors: what happens to the parent of a pruned dentry (:class:`AncestorRule`).
    :ivar dispose_lifo: the dispose list is processed newest-isolated first (v3.14
        ``d_lru_shrink_move`` uses ``list_move_tail``; from v4.0 ``list_lru_isolate_move``
        uses ``list_move`` and the oldest goes first).
    :ivar external_name_header: bytes ``__d_alloc`` asks ``kmalloc`` for beyond the name's
        length: 1 (the NUL) in v3.14, ``offsetof(struct external_name, name[1])`` = 17 (a
        16-byte refcount/rcu_head union plus the NUL) since refcounted external names.
    :ivar external_name_reclaimable: external names come from ``kmalloc-rcl-*``
        (``__GFP_RECLAIMABLE``, v4.20+) rather than ``kmalloc-*``.
    """

    first_put_referenced: bool
    ancestors: AncestorRule
    dispose_lifo: bool
    external_name_header: int
    external_name_reclaimable: bool


def dcache_rules(profile: KernelProfile) -> DcacheRules:
    """The dentry-cache rules of ``profile``'s kernel.

    ``first_put_referenced`` comes from the profile (True for the v3.14 profiles and v4.9,
    False from v4.14; the exact release of the ``retain_dentry`` rule is unverified). The
    rest is derived from ``profile.era``:

    * ancestors: kill at once in E1/E2 (read in v3.14 and a v4.x copy of fs/dcache.c), the
      dispose list in E3-E5 (read in a v6.7-era copy and a v5.4.241 stable copy; the
      mainline release that introduced ``__dput_to_list`` is unverified). v6.8 went back to
      killing at once (``shrink_kill``); no profile models v6.8 yet.
    * dispose order: newest first in E1 only.
    * external names: header 1 in E1, 17 later; reclaimable kmalloc caches from E3 (v4.20
      lies inside E3; the only E3 profile is v5.4).

    :raises ProfileError: an era tag this plugin does not know.
    """
    era = profile.era
    if era in _KILL_AT_ONCE_ERAS:
        ancestors = AncestorRule.KILL_AT_ONCE
    elif era in _DISPOSE_LIST_ERAS:
        ancestors = AncestorRule.DISPOSE_LIST
    else:
        raise ProfileError(
            f"profile {profile.name!r} has era {era!r}, which the dcache plugin does not know "
            f"(known: {', '.join(sorted(_KILL_AT_ONCE_ERAS | _DISPOSE_LIST_ERAS))})"
        )
    e1 = era in _DISPOSE_LIFO_ERAS
    return DcacheRules(
        first_put_referenced=profile.first_put_referenced,
        ancestors=ancestors,
        dispose_lifo=e1,
        external_name_header=1 if e1 else 17,
        external_name_reclaimable=era in _RECLAIMABLE_NAME_ERAS,
    )
