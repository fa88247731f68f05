"""Helpers for testing shrinkfw and its plugins: fakes that behave like small kernel caches."""

from __future__ import annotations

from .fakes import CachedObject, ObjectCacheShrinker

__all__ = ["CachedObject", "ObjectCacheShrinker"]
