"""The simulation clock: a deterministic event queue an outer simulator can drive.

Time is in seconds (float). Events are callbacks ordered by time, then by the order they were
scheduled, so two runs with the same inputs execute the same events in the same order. The
driving API mirrors SimPy's: :meth:`Clock.peek`, :meth:`Clock.step`, :meth:`Clock.run`, and
:meth:`Clock.advance_to` for a host that owns time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Final

from .errors import UsageError

__all__ = ["Clock", "EventHandle", "Series"]

Callback = Callable[[], None]

#: Events scheduled this close together are treated as simultaneous.
_EPS: Final = 1e-12


class EventHandle:
    """A scheduled event; :meth:`cancel` keeps it from running."""

    __slots__ = ("callback", "cancelled", "name", "time")

    def __init__(self, time: float, callback: Callback, name: str) -> None:
        self.time = time
        self.callback = callback
        self.name = name
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<EventHandle {self.name!r} at {self.time:g}{state}>"


class Clock:
    """An event queue with a current time."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, EventHandle]] = []
        self._seq = 0

    def schedule(self, delay: float, callback: Callback, *, name: str = "") -> EventHandle:
        """Run ``callback`` ``delay`` seconds from now (0: after what is already due now)."""
        if delay < 0 or math.isnan(delay):
            raise UsageError(f"cannot schedule {name or callback!r} {delay} s in the past")
        return self.schedule_at(self.now + delay, callback, name=name)

    def schedule_at(self, time: float, callback: Callback, *, name: str = "") -> EventHandle:
        if time < self.now - _EPS:
            raise UsageError(f"cannot schedule {name or callback!r} at {time} < now {self.now}")
        handle = EventHandle(
            max(time, self.now), callback, name or getattr(callback, "__name__", "")
        )
        heapq.heappush(self._heap, (handle.time, self._seq, handle))
        self._seq += 1
        return handle

    def every(
        self, interval: float, callback: Callback, *, start: float | None = None, name: str = ""
    ) -> Series:
        """Run ``callback`` every ``interval`` seconds; cancel the returned series to stop."""
        if interval <= 0:
            raise UsageError(f"interval must be > 0, got {interval}")
        series = Series(self, interval, callback, name or getattr(callback, "__name__", ""))
        series.pending = self.schedule_at(
            self.now + interval if start is None else start, series.fire, name=series.name
        )
        return series

    def peek(self) -> float:
        """Time of the next event, or ``math.inf`` when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def step(self) -> bool:
        """Advance to the next event and run it; ``False`` when nothing is scheduled."""
        if self.peek() == math.inf:
            return False
        time, _, handle = heapq.heappop(self._heap)
        self.now = max(self.now, time)
        handle.callback()
        return True

    def advance_to(self, time: float) -> None:
        """Run every event due up to ``time``, then set the clock to ``time``."""
        if time < self.now - _EPS:
            raise UsageError(
                f"advance_to({time}) is earlier than now={self.now}; time only moves forward"
            )
        while self.peek() <= time:
            self.step()
        self.now = max(self.now, time)

    def __len__(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)


class Series:
    """A periodic event (:meth:`Clock.every`)."""

    __slots__ = ("callback", "cancelled", "clock", "interval", "name", "pending")

    def __init__(self, clock: Clock, interval: float, callback: Callback, name: str) -> None:
        self.clock = clock
        self.interval = interval
        self.callback = callback
        self.name = name
        self.cancelled = False
        self.pending: EventHandle | None = None

    def fire(self) -> None:
        self.callback()
        if not self.cancelled:
            self.pending = self.clock.schedule(self.interval, self.fire, name=self.name)

    def cancel(self) -> None:
        self.cancelled = True
        if self.pending is not None:
            self.pending.cancel()
