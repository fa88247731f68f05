"""Helpers for testing shrinkfw and its plugins.

* Fakes: :class:`ObjectCacheShrinker` (a small memcg-aware cache on a list_lru) and
  :func:`make_kmem_memcg`.
* :class:`HookRecorder`: a plugin that records the notification hooks with their times.
* Contract suites a plugin's tests subclass: :class:`ShrinkerContract`
  (:mod:`shrinkfw.testing.contract`) and :class:`VmpressureConsumerContract`
  (:mod:`shrinkfw.testing.consumer`).
* Opt-in pytest fixtures: :mod:`shrinkfw.testing.pytest_plugin`.

The contract suites and the fixtures need pytest, which is not a dependency of shrinkfw (it
comes with the ``test`` extra): they are imported on first use, so ``import shrinkfw.testing``
and the fakes and the recorder work without pytest installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .fakes import CachedObject, ObjectCacheShrinker, make_kmem_memcg
from .recorder import NOTIFICATION_HOOKS, TRACEPOINT_HOOKS, HookRecorder, RecordedCall

if TYPE_CHECKING:
    from .consumer import ConsumerSetup, VmpressureConsumerContract
    from .contract import ContractFactory, ContractSubject, ShrinkerContract

__all__ = [
    "NOTIFICATION_HOOKS",
    "TRACEPOINT_HOOKS",
    "CachedObject",
    "ConsumerSetup",
    "ContractFactory",
    "ContractSubject",
    "HookRecorder",
    "ObjectCacheShrinker",
    "RecordedCall",
    "ShrinkerContract",
    "VmpressureConsumerContract",
    "make_kmem_memcg",
]

#: Names that need pytest, and the module that defines each.
_LAZY = {
    "ConsumerSetup": "consumer",
    "VmpressureConsumerContract": "consumer",
    "ContractFactory": "contract",
    "ContractSubject": "contract",
    "ShrinkerContract": "contract",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
