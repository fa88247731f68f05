from __future__ import annotations

import attrs
import pytest

import shrinkfw
from shrinkfw import (
    DEFAULT_SEEKS,
    SHRINK_STOP,
    ShrinkControl,
    ShrinkerFlags,
    ShrinkSlabEnd,
    ShrinkSlabStart,
    Simulation,
)


@attrs.define(eq=False)
class CountingShrinker:
    """A shrinker with a fixed count that records every ``scan_objects`` request.

    ``freeable`` stays as set unless ``consume`` is true, so the spec's worked examples, which
    hold the count constant, can be replayed call by call.
    """

    name: str = "fake"
    flags: ShrinkerFlags = ShrinkerFlags.NONE
    seeks: int = DEFAULT_SEEKS
    batch: int = 0
    freeable: int = 0
    needs_fs: bool = False
    consume: bool = False
    scans: list[int] = attrs.field(factory=list)
    counts: list[tuple[int, object]] = attrs.field(factory=list)

    def count_objects(self, sc: ShrinkControl) -> int:
        self.counts.append((sc.nid, sc.memcg))
        return self.freeable

    def scan_objects(self, sc: ShrinkControl) -> int:
        if self.needs_fs and not sc.gfp_fs:
            return SHRINK_STOP
        self.scans.append(sc.nr_to_scan)
        freed = min(sc.nr_to_scan, self.freeable)
        if self.consume:
            self.freeable -= freed
        return freed


class TraceRecorder:
    """A plugin that keeps the ``mm_shrink_slab_start`` / ``_end`` events it sees."""

    name = "trace-recorder"

    def __init__(self) -> None:
        self.starts: list[ShrinkSlabStart] = []
        self.ends: list[ShrinkSlabEnd] = []

    @shrinkfw.hookimpl
    def shrinkfw_shrink_slab_start(self, event: ShrinkSlabStart) -> None:
        self.starts.append(event)

    @shrinkfw.hookimpl
    def shrinkfw_shrink_slab_end(self, event: ShrinkSlabEnd) -> None:
        self.ends.append(event)


@pytest.fixture
def recorder() -> TraceRecorder:
    return TraceRecorder()


def make_sim(profile: str = "v3.14-kmemcg-v15", **kw: object) -> Simulation:
    kw.setdefault("autoload", False)
    return Simulation.build(profile=profile, **kw)  # type: ignore[arg-type]
