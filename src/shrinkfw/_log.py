"""The one place that decides how shrinkfw logs.

The library never configures logging: it logs through structlog wrapping a stdlib logger, so
nothing is printed until the host configures :mod:`logging` (or passes its own structlog
logger). Event names are namespaced (``"shrinkfw.vmscan.reclaim"``) and fields are data.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger"]


def get_logger(name: str = "shrinkfw") -> Any:
    """A structlog logger over the stdlib logger ``name``; silent until the host configures it."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.processors.KeyValueRenderer(key_order=["event"], drop_missing=True),
        ],
    )
