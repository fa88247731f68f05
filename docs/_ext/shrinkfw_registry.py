"""Sphinx extension: the workloads, consumers and filesystem types plugins register.

``shrinkfw-workloads``, ``shrinkfw-consumers`` and ``shrinkfw-fs-types`` render tables from a
simulation built with the core's built-ins and the plugins named in the ``shrinkfw_doc_plugins``
config value (``{distribution: plugin module}``), with entry-point autoloading off, so the
page shows the same plugins wherever it is built. A plugin that cannot be imported is a build
warning: install the in-repo plugins next to shrinkfw to build the docs.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from docutils import nodes
from shrinkfw_profiles import para, table
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from sphinx.application import Sphinx

    from shrinkfw import Simulation

logger = logging.getLogger(__name__)


def probe(app: Sphinx) -> tuple[Simulation, dict[str, str]]:
    """A simulation with the documented plugins, and plugin name -> distribution."""
    from shrinkfw import Simulation

    modules = []
    dists = {"shrinkfw.vfs": "shrinkfw", "shrinkfw.vmscan": "shrinkfw"}
    for dist, modname in app.config.shrinkfw_doc_plugins.items():
        try:
            module = importlib.import_module(modname)
        except ImportError as exc:
            logger.warning("cannot import plugin %s of %s: %s", modname, dist, exc)
            continue
        modules.append(module)
        dists[modname] = dist
    return Simulation.build(plugins=modules, autoload=False), dists


def _params(params: dict[str, object]) -> nodes.Node:
    if not params:
        return para("–")
    items = nodes.bullet_list()
    for key, default in params.items():
        item = nodes.list_item()
        item += para(f"``{key} = {default!r}``")
        items += item
    return items


class _Registered(SphinxDirective):
    kind = ""

    def run(self) -> list[nodes.Node]:
        sim, dists = probe(self.env.app)
        for name, _plugin in sim.pm.list_name_plugin():
            module = sys.modules.get(name)
            if module is not None and module.__file__:
                self.env.note_dependency(module.__file__)
        if self.kind == "workloads":
            rows = [
                [
                    f"``{w.name}``",
                    f"``{dists.get(w.plugin, w.plugin)}``",
                    "yes" if w.needs_fs else "no",
                    w.description,
                    _params(w.params),
                ]
                for w in sim.workloads
            ]
            return [table(["type", "from", "needs a mount", "what it does", "params"], rows)]
        if self.kind == "consumers":
            rows = [
                [
                    f"``{c.name}``",
                    f"``{dists.get(c.plugin, c.plugin)}``",
                    c.description,
                    _params(c.params),
                ]
                for c in sim.consumers
            ]
            return [table(["type", "from", "what it does", "settings"], rows)]
        rows = [
            [f"``{fs.name}``", f"``{dists.get(fs.plugin, fs.plugin)}``"] for fs in sim.vfs.fs_types
        ]
        return [table(["fs", "from"], rows)]


class Workloads(_Registered):
    kind = "workloads"


class Consumers(_Registered):
    kind = "consumers"


class FsTypes(_Registered):
    kind = "fs-types"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("shrinkfw_doc_plugins", {}, "env", types=[dict])
    app.add_directive("shrinkfw-workloads", Workloads)
    app.add_directive("shrinkfw-consumers", Consumers)
    app.add_directive("shrinkfw-fs-types", FsTypes)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
