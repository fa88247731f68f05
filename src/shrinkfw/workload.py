"""Workloads: what plugins contribute to drive a simulation (allocate, touch, free, churn).

A workload is registered by name with a ``start`` function. A scenario (or a test, or a host
simulator) starts it with the simulation, the memcg it runs in, optionally the superblock it
works on, and its parameters; ``start`` schedules the workload's own events on the
simulation's clock and returns a :class:`WorkloadRun` that can stop it. Workloads act only
through the public API (``sim.alloc_user_pages``, ``sim.slab``, list_lrus, ``sim.vfs``) and use
``sim.rng`` for any randomness, so runs stay deterministic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._named import NamedRegistry

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .sim import Simulation
    from .vfs import SuperBlock

__all__ = ["StartWorkload", "WorkloadRegistry", "WorkloadRun", "WorkloadType"]


class WorkloadRun(Protocol):
    """A started workload."""

    def stop(self) -> None:
        """Stop scheduling work; objects already made stay."""


class StartWorkload(Protocol):
    def __call__(
        self, sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: Any
    ) -> WorkloadRun: ...


@attrs.frozen(kw_only=True)
class WorkloadType:
    """A registered workload.

    :ivar name: the name scenarios use (``"negative-dentry-storm"``).
    :ivar plugin: the plugin that provides it.
    :ivar start: starts it (see :class:`StartWorkload`); raises ``UsageError`` for a bad
        parameter, naming it.
    :ivar description: one line for ``shrinkfw plugins``.
    :ivar needs_fs: it works on a mounted superblock.
    :ivar params: parameter names with their defaults, for documentation and validation.
    """

    name: str
    plugin: str
    start: StartWorkload
    description: str = ""
    needs_fs: bool = False
    params: dict[str, object] = attrs.field(factory=dict)


class WorkloadRegistry(NamedRegistry[WorkloadType]):
    """Workload types by name."""

    kind = "workload"

    def add(
        self,
        name: str,
        start: StartWorkload,
        *,
        description: str = "",
        needs_fs: bool = False,
        params: dict[str, object] | None = None,
        plugin: str | None = None,
    ) -> WorkloadType:
        return self._add(
            name,
            lambda owner: WorkloadType(
                name=name,
                plugin=owner,
                start=start,
                description=description,
                needs_fs=needs_fs,
                params=dict(params or {}),
            ),
            plugin,
        )
