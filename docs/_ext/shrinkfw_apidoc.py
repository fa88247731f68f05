"""Sphinx extension: autodoc fixes for re-exported data, and API coverage.

* Module-level data has no docstring of its own; autodoc then shows the docstring of the
  value's type (``int``, ``dict``, an enum class). A constant a package re-exports gets the
  ``#:`` doc comment of the submodule that defines it instead, others get nothing.
* Every name in the ``__all__`` of each module of the ``shrinkfw_api_modules`` config value
  (default: ``shrinkfw``) must be documented as ``MODULE.NAME`` on some page; a new public
  name the API page does not show is a build warning.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docstrings import prepare_docstring

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

PACKAGE = "shrinkfw"


def _type_doc(obj: object) -> list[str]:
    doc = type(obj).__doc__
    return prepare_docstring(doc) if isinstance(doc, str) else []


def _strip(lines: list[str]) -> list[str]:
    out = list(lines)
    while out and not out[-1].strip():
        out.pop()
    return out


def home_doc_comment(package: str, attr: str, obj: object) -> list[str]:
    """The ``#:`` comment of ``attr`` in the submodule of ``package`` that defines ``obj``
    (for a name re-exported by a package's ``__init__``)."""
    for modname in sorted(sys.modules):
        if not modname.startswith(f"{package}."):
            continue
        module = sys.modules[modname]
        if getattr(module, attr, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # a module without source: nothing to find
            continue
        lines = docs.get(("", attr))
        if lines:
            return list(lines)
    return []


def process_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    if what not in ("data", "attribute") or not lines:
        return
    if _strip(lines) != _strip(_type_doc(obj)):
        return  # the object's own documentation
    modname, _, attr = name.rpartition(".")
    lines[:] = home_doc_comment(modname, attr, obj)


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    for modname in app.config.shrinkfw_api_modules:
        module = importlib.import_module(modname)
        for name in module.__all__:
            if f"{modname}.{name}" not in objects:
                logger.warning(
                    "%s.%s (in %s.__all__) is not documented on any page",
                    modname,
                    name,
                    modname,
                    type="shrinkfw",
                )


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_config_value("shrinkfw_api_modules", [PACKAGE], "env", types=[list])
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("env-check-consistency", _check)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
