"""The run directory's streamed files, written under temporary names and renamed at the end.

``events.jsonl``, ``metrics.csv`` and ``ftrace.txt`` grow tick by tick in ``.NAME.tmp``
files; :meth:`RunWriter.finish` closes them, renames them into place and writes
``summary.json`` (atomically, last: its presence means the other files are whole).
"""

from __future__ import annotations

import csv
import json
import os
from typing import IO, TYPE_CHECKING, Any

from ..errors import UsageError
from .files import atomic_write_text, temp_name
from .metrics import HEADER
from .plots import PLOT_FILES
from .recorder import RunRecorder

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["RunWriter"]

_STREAMS = ("events.jsonl", "metrics.csv", "ftrace.txt")


class RunWriter:
    """Writes one run directory."""

    def __init__(self, out: Path, *, trace: bool = True, report: bool = True) -> None:
        self.out = out
        self.trace = trace
        self.report = report
        self.started = False
        self._created = False
        self._files: dict[str, IO[str]] = {}
        self._csv: Any = None

    def start(self) -> None:
        """Create the directory and the temporary files.

        :raises UsageError: the directory cannot be created or written.
        """
        try:
            self._created = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            for name in _STREAMS:
                if name == "ftrace.txt" and not self.trace:
                    continue
                path = temp_name(self.out / name)
                self._files[name] = path.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            self.abandon()
            raise UsageError(f"cannot write the run directory {self.out}: {exc}") from None
        self._csv = csv.writer(self._files["metrics.csv"], lineterminator="\n")
        self._csv.writerow(HEADER)
        if self.trace:
            self._files["ftrace.txt"].write(RunRecorder.ftrace_header())
        self.started = True

    def tick(self, events: list[str], ftrace: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """Append one complete tick."""
        self.events(events)
        if self.trace and ftrace:
            f = self._files["ftrace.txt"]
            f.write("\n".join(ftrace))
            f.write("\n")
        self._csv.writerows(rows)

    def events(self, lines: list[str]) -> None:
        if lines:
            f = self._files["events.jsonl"]
            f.write("\n".join(lines))
            f.write("\n")

    def finish(self, summary: dict[str, Any]) -> None:
        """Close the streams, rename them into place, then write ``summary.json``."""
        for name, f in self._files.items():
            f.close()
            os.replace(temp_name(self.out / name), self.out / name)
        self._files.clear()
        if not self.trace:
            (self.out / "ftrace.txt").unlink(missing_ok=True)
        if not self.report:  # an earlier run's report would describe another run
            for name in ("report.html", *PLOT_FILES):
                (self.out / name).unlink(missing_ok=True)
        atomic_write_text(self.out / "summary.json", json.dumps(summary, indent=2) + "\n")

    def abandon(self) -> None:
        """Remove the temporary files, and the directory if this run created it: the run
        failed in a way that leaves nothing worth keeping."""
        for name, f in self._files.items():
            f.close()
            temp_name(self.out / name).unlink(missing_ok=True)
        self._files.clear()
        if self._created and self.out.is_dir() and not any(self.out.iterdir()):
            self.out.rmdir()
