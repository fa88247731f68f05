"""Sphinx extension: the ``:hook:`` role and hook tiers for ``shrinkfw.hookspecs``.

* ``:hook:`shrinkfw_shrink_slab``` (``{hook}`` in MyST) links to the hook's autodoc entry in
  ``hooks.md``; a name that is not a hook is a build warning (an error with ``-W``). The
  hookspec docstrings themselves use the role.
* Every hook documented by autodoc gets a first line saying its tier (setup, protocol,
  notification, from the banner comments of ``hookspecs.py``), its pluggy options
  (``historic``, ``firstresult``) and, for protocol hooks, which built-in plugin holds the
  ``trylast`` default.
* A hook of ``hookspecs.py`` that no page documents is a build warning.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

MODULE = "shrinkfw.hookspecs"
PREFIX = "shrinkfw_"
_BANNER = re.compile(r"^# -- (\w+)")
_DEF = re.compile(r"^def (shrinkfw_\w+)\(")
_TIERS = {"setup": "setup", "protocol": "protocol", "notifications": "notification"}


def hook_functions() -> dict[str, Any]:
    """Every hook of ``shrinkfw.hookspecs``: functions named ``shrinkfw_*``, in source order."""
    module = importlib.import_module(MODULE)
    found = {
        name: obj
        for name, obj in vars(module).items()
        if name.startswith(PREFIX) and inspect.isfunction(obj)
    }
    return dict(sorted(found.items(), key=lambda kv: kv[1].__code__.co_firstlineno))


@functools.cache
def hook_tiers() -> dict[str, str]:
    """Hook name -> tier, read from the ``# -- setup / protocol / notifications`` banners."""
    module = importlib.import_module(MODULE)
    tiers: dict[str, str] = {}
    tier = ""
    for line in inspect.getsource(module).splitlines():
        banner = _BANNER.match(line)
        if banner:
            tier = _TIERS.get(banner.group(1), banner.group(1))
            continue
        match = _DEF.match(line)
        if match:
            tiers[match.group(1)] = tier
    return tiers


def builtin_defaults(name: str) -> list[str]:
    """The essential plugins holding a ``trylast`` implementation of hook ``name``."""
    from shrinkfw._plugins import ESSENTIAL_PLUGINS

    out = []
    for modname in ESSENTIAL_PLUGINS:
        impl = getattr(importlib.import_module(modname), name, None)
        opts = getattr(impl, "shrinkfw_impl", None)
        if opts is not None and opts.get("trylast"):
            out.append(modname)
    return out


class HookRole(SphinxRole):
    """``:hook:`name``` -> a reference to ``shrinkfw.hookspecs.name``."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        name = self.text.strip()
        literal = nodes.literal(name, name, classes=["xref", "py", "py-func"])
        ref = addnodes.pending_xref(
            "",
            literal,
            refdomain="py",
            reftype="func",
            reftarget=f"{MODULE}.{name}",
            refexplicit=True,
            refwarn=True,  # a hook that does not exist is a warning even without nitpicky
        )
        ref["py:module"] = None
        ref["py:class"] = None
        self.set_source_info(ref)
        return [ref], []


def _describe(name: str, spec: Any, tier: str) -> str:
    opts = getattr(spec, "shrinkfw_spec", None) or {}
    flags = [f"``{opt}``" for opt in ("historic", "firstresult") if opts.get(opt)]
    text = f"*{tier.capitalize()} hook*" if tier else "*Hook*"
    if flags:
        text += " (" + ", ".join(flags) + ")"
    defaults = builtin_defaults(name) if tier == "protocol" else []
    if defaults:
        text += "; built-in default: " + ", ".join(f"``{d}``" for d in defaults) + " (``trylast``)"
    return text + "."


def process_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    if what != "function" or not name.startswith(f"{MODULE}.{PREFIX}"):
        return
    hook = name.rpartition(".")[2]
    env = app.env
    documented: dict[str, set[str]] = env.shrinkfw_hooks_documented  # type: ignore[attr-defined]
    documented.setdefault(env.docname, set()).add(hook)
    tier = hook_tiers().get(hook, "")
    if not tier:
        logger.warning("hook %s is under no tier banner in hookspecs.py", hook, type="shrinkfw")
    lines[:0] = [_describe(hook, obj, tier), ""]


def _init_env(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if not hasattr(env, "shrinkfw_hooks_documented"):
        env.shrinkfw_hooks_documented = {}  # type: ignore[attr-defined]


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "shrinkfw_hooks_documented", {}).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: Any) -> None:
    mine = env.shrinkfw_hooks_documented  # type: ignore[attr-defined]
    mine.update(getattr(other, "shrinkfw_hooks_documented", {}))


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    documented = set().union(*getattr(env, "shrinkfw_hooks_documented", {}).values())
    for hook in hook_functions():
        if hook not in documented:
            logger.warning(
                "hook %s of %s is not documented on any page (automodule with :members:)",
                hook,
                MODULE,
                type="shrinkfw",
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_role("hook", HookRole())
    app.connect("env-before-read-docs", _init_env)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check)
    app.connect("autodoc-process-docstring", process_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
