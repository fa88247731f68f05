"""The kit's own tests run the opt-in pytest plugin and the contract suites in inner pytest
sessions: they need pytest's ``pytester``."""

from __future__ import annotations

pytest_plugins = ["pytester"]
