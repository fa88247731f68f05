"""The one place that decides how shrinkfw logs.

The library never configures logging: it logs through structlog wrapping a stdlib logger, so
nothing is printed until the host configures :mod:`logging` (or passes its own structlog
logger). The event is the record's message and every field travels as a record attribute
(``extra``), so a host's formatter can print them as text or JSON; :func:`configure_cli`
is how the ``shrinkfw`` command does it.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["ConsoleFormatter", "JsonFormatter", "configure_cli", "fields_of", "get_logger"]


def get_logger(name: str = "shrinkfw") -> Any:
    """A structlog logger over the stdlib logger ``name``; silent until the host configures it."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.render_to_log_kwargs,
        ],
    )


#: attributes every ``logging.LogRecord`` has; anything else on a record is a field
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a shrinkfw log call attached to ``record``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class ConsoleFormatter(logging.Formatter):
    """``level logger: event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        text = f"{record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        return f"{text} {pairs}" if pairs else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``level``, ``logger``, ``event`` and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        data = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **fields_of(record),
        }
        return json.dumps(data, default=str)


def configure_cli(verbosity: int, fmt: str = "console") -> None:
    """What the command line does: warnings always, ``-v`` info, ``-vv`` debug, on stderr,
    as text or (``fmt="json"``) JSON lines."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else 10
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger("shrinkfw")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
