"""Files that appear whole or not at all: write to a temporary name, then rename.

``os.replace`` is atomic within a directory on POSIX and Windows, so a reader (or a run
interrupted halfway) never sees a half-written output file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "temp_name"]


def temp_name(path: Path) -> Path:
    """The temporary name ``path`` is written under: ``.NAME.tmp`` beside it."""
    return path.with_name(f".{path.name}.tmp")


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO[str]]:
    """Open a temporary file for text; on a clean exit it replaces ``path``; on an error the
    temporary file is removed and ``path`` keeps what it had."""
    tmp = temp_name(path)
    f = tmp.open(mode, encoding="utf-8", newline="\n")
    try:
        yield f
        f.close()
        os.replace(tmp, path)
    except BaseException:
        f.close()
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = temp_name(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
