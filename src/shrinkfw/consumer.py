"""Pressure consumers: what plugins contribute to act on reclaim pressure.

A consumer models a listener of the kernel's pressure signals: the seed's in-kernel dead-memcg
reaper (kmemcg v15 13/13), a userspace killer such as oomd or Android's lmkd reading
vmpressure eventfds, a proactive reclaimer. A plugin registers a consumer type by name with a
``start`` function; a scenario (or a test, or a host simulator) starts it with the simulation
and its settings. ``start`` registers the listeners it needs (``sim.vmpressure``) and returns a
:class:`ConsumerRun` that can stop it.

Every action a consumer takes, or in a dry run would take, is reported as a :class:`Decision`
through :meth:`shrinkfw.Simulation.record_decision`, which reaches the
``shrinkfw_consumer_decision`` hook and the run's ``events.jsonl``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._named import NamedRegistry

if TYPE_CHECKING:
    from .sim import Simulation

__all__ = ["ConsumerRegistry", "ConsumerRun", "ConsumerType", "Decision", "StartConsumer"]


class ConsumerRun(Protocol):
    """A started consumer."""

    def stop(self) -> None:
        """Unregister its listeners; decisions already made stand."""


class StartConsumer(Protocol):
    def __call__(self, sim: Simulation, **params: Any) -> ConsumerRun: ...


@attrs.frozen(kw_only=True)
class ConsumerType:
    """A registered consumer.

    :ivar name: the name scenarios use (``"oomd"``).
    :ivar plugin: the plugin that provides it.
    :ivar start: starts it (see :class:`StartConsumer`); raises ``UsageError`` for a bad
        setting, naming it.
    :ivar description: one line for ``shrinkfw plugins``.
    :ivar params: setting names with their defaults, for documentation and validation.
    """

    name: str
    plugin: str
    start: StartConsumer
    description: str = ""
    params: dict[str, object] = attrs.field(factory=dict)


class ConsumerRegistry(NamedRegistry[ConsumerType]):
    """Consumer types by name."""

    kind = "consumer"

    def add(
        self,
        name: str,
        start: StartConsumer,
        *,
        description: str = "",
        params: dict[str, object] | None = None,
        plugin: str | None = None,
    ) -> ConsumerType:
        return self._add(
            name,
            lambda owner: ConsumerType(
                name=name,
                plugin=owner,
                start=start,
                description=description,
                params=dict(params or {}),
            ),
            plugin,
        )


@attrs.frozen(kw_only=True)
class Decision:
    """One action of a consumer, or in a dry run the action it would have taken.

    :ivar time: simulation time of the decision.
    :ivar consumer: the consumer's name.
    :ivar plugin: the plugin that provides it.
    :ivar action: what it did: ``"kill"``, ``"reap"``, ... (a dry run records the action it
        would have taken, with ``dry_run`` set).
    :ivar memcg: path of the memcg acted on (``"/"`` for the whole machine).
    :ivar reason: why, in words a log reader understands (levels, durations, thresholds).
    :ivar dry_run: nothing was done; the decision is only recorded.
    :ivar freed_pages: pages the action freed at once.
    :ivar freed_objects: slab objects the action freed at once.
    """

    time: float
    consumer: str
    plugin: str
    action: str
    memcg: str
    reason: str
    dry_run: bool = False
    freed_pages: int = 0
    freed_objects: int = 0

    def as_dict(self) -> dict[str, object]:
        return attrs.asdict(self)
