"""Which XFS reclaim behaviour a kernel profile has: the one place that reads the era.

The core profile carries ``xfs_buf_inverted`` (the v3.12-v4.15 ``xfs_buftarg_isolate`` test).
The other XFS differences have no profile field yet, so :func:`xfs_behaviour` derives them
from ``profile.era`` here and nowhere else. The core should grow the three fields named in
:class:`XfsBehaviour` (see the plugin README, "Core changes wanted").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from shrinkfw.errors import ProfileError

if TYPE_CHECKING:
    from shrinkfw import KernelProfile

__all__ = ["XfsBehaviour", "xfs_behaviour"]

#: Eras whose kernels reclaim XFS inodes from the shrinker with ``SYNC_TRYLOCK | SYNC_WAIT``
#: (v3.12-v5.8); the v5.9 rework made reclaim non-blocking. E3 spans v4.16-v5.12 and its only
#: profile is v5.4, before the rework.
_SYNC_WAIT_ERAS = frozenset({"E1", "E1+v15", "E2", "E3"})
#: Eras that skip dquots marked ``XFS_DQFLAG_FREEING`` in the isolate callback: 52f31ed22821,
#: merged for v6.2. E4 (v5.13-v6.6) is modelled by the v6.1 profile, before it.
_DQUOT_FREEING_ERAS = frozenset({"E5"})
_KNOWN_ERAS = frozenset({"E1", "E1+v15", "E2", "E3", "E4", "E5"})


@attrs.frozen(kw_only=True)
class XfsBehaviour:
    """The XFS reclaim rules of one kernel.

    :ivar buf_isolate_inverted: ``xfs_buftarg_isolate`` rotates buffers whose ``b_lru_ref`` is
        0 and isolates the others after a decrement (v3.12-v4.15; fixed by 19957a181608 in
        v4.16). From ``profile.xfs_buf_inverted``.
    :ivar inode_reclaim_sync_wait: ``xfs_reclaim_inodes_nr`` passes ``SYNC_TRYLOCK |
        SYNC_WAIT``: per-AG reclaim mutexes are trylocked with a blocking second pass, dirty
        inodes are flushed and waited for, pinned ones are unpinned (v3.12-v5.8). Later
        kernels never block or write from the shrinker: dirty, pinned and flushing inodes are
        skipped and left for the AIL push (v5.9 "xfs: rework inode reclaim").
        Proposed core field: ``xfs_inode_reclaim_sync``.
    :ivar dquot_skip_freeing: ``xfs_qm_dquot_isolate`` skips a dquot already marked
        ``XFS_DQFLAG_FREEING`` (v6.2, 52f31ed22821; stable 5.15.y and 6.1.y have the
        backport). Proposed core field: ``xfs_dquot_skip_freeing``.
    :ivar dquot_dirty_rotates: ``xfs_qm_dquot_isolate`` rotates dirty or pinned dquots instead
        of flushing them from the shrinker (2024 patch; release unverified, after v6.7, so no
        profile has it). Proposed core field: ``xfs_dquot_dirty_rotates``.
    """

    buf_isolate_inverted: bool
    inode_reclaim_sync_wait: bool
    dquot_skip_freeing: bool
    dquot_dirty_rotates: bool = False


def xfs_behaviour(profile: KernelProfile) -> XfsBehaviour:
    """The XFS rules of ``profile``'s kernel.

    :raises ProfileError: the profile names an era this plugin does not know.
    """
    era = profile.era
    if era not in _KNOWN_ERAS:
        raise ProfileError(
            f"profile {profile.name!r}: shrinkfw-xfs does not know era {era!r}; known eras: "
            f"{', '.join(sorted(_KNOWN_ERAS))}"
        )
    return XfsBehaviour(
        buf_isolate_inverted=profile.xfs_buf_inverted,
        inode_reclaim_sync_wait=era in _SYNC_WAIT_ERAS,
        dquot_skip_freeing=era in _DQUOT_FREEING_ERAS,
    )
