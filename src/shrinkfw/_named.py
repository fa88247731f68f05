"""A registry of named types that plugins fill during setup (workloads, consumers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from .errors import PluginError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["NamedRegistry"]


class _Named(Protocol):
    @property
    def plugin(self) -> str: ...


T = TypeVar("T", bound=_Named)


class NamedRegistry(Generic[T]):
    """Types by unique name, in registration order; knows which plugin is registering."""

    __slots__ = ("_types", "current_plugin")

    #: what the registry holds, for messages ("workload", "consumer")
    kind: ClassVar[str] = "type"

    def __init__(self) -> None:
        self._types: dict[str, T] = {}
        #: the plugin whose registration hook is running, set by the simulation
        self.current_plugin: str | None = None

    def _add(self, name: str, make: Callable[[str], T], plugin: str | None) -> T:
        owner = plugin or self.current_plugin or "<inline>"
        if name in self._types:
            raise PluginError(
                f"plugin {owner!r}: {self.kind} {name!r} is already registered by plugin "
                f"{self._types[name].plugin!r}"
            )
        item = self._types[name] = make(owner)
        return item

    def get(self, name: str) -> T:
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(self._types) or "none"
            raise UsageError(
                f"unknown {self.kind} {name!r} (registered: {known}); is the plugin that "
                "provides it installed?"
            ) from None

    def __iter__(self) -> Iterator[T]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types
