"""Sphinx configuration of the shrinkfw documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (warnings are errors).
Works offline: no intersphinx. Project metadata comes from the installed ``shrinkfw``
distribution, so the docs always carry the version being documented.
"""

from __future__ import annotations

import sys
from datetime import date
from importlib.metadata import metadata
from pathlib import Path

import shrinkfw

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

_meta = metadata("shrinkfw")

# -- project -----------------------------------------------------------------------------------

project = _meta["Name"]
author = _meta.get("Author") or "The shrinkfw developers"
copyright = f"{date.today().year}, {author}"
release = shrinkfw.__version__
version = ".".join(release.split(".")[:2])

# -- general -----------------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    # local extensions (docs/_ext/)
    "shrinkfw_hooks",
    "shrinkfw_profiles",
    "shrinkfw_cli",
    "shrinkfw_apidoc",
    "shrinkfw_registry",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# Unresolved cross-references to private modules and TYPE_CHECKING-only names would each be a
# warning; links that resolve are made, the others render as plain literals.
nitpicky = False

# -- MyST --------------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

# -- autodoc -----------------------------------------------------------------------------------

# Docstrings use reST field lists (``:param x:``, ``:ivar x:``, ``:raises X:``): no napoleon.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
add_module_names = False
python_use_unqualified_type_names = True

# -- local extensions ---------------------------------------------------------------------

# Modules whose every __all__ name must be documented (a build warning otherwise).
shrinkfw_api_modules = [
    "shrinkfw",
    "shrinkfw.scenario",
    "shrinkfw.workload",
    "shrinkfw.consumer",
    "shrinkfw.memstat",
    "shrinkfw.simpy",
    "shrinkfw.testing",
    "shrinkfw.trace",
]

# The plugins whose workloads, consumers and filesystem types scenarios.md lists (loaded
# explicitly, not through entry points, so the page is the same wherever it is built).
shrinkfw_doc_plugins = {
    "shrinkfw-dcache": "shrinkfw_dcache.plugin",
    "shrinkfw-inode": "shrinkfw_inode.plugin",
    "shrinkfw-xfs": "shrinkfw_xfs.plugin",
    "shrinkfw-gfs2": "shrinkfw_gfs2.plugin",
    "shrinkfw-reaper": "shrinkfw_reaper.plugin",
    "shrinkfw-oomd": "shrinkfw_oomd.plugin",
}

# -- HTML --------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"shrinkfw {release}"
html_static_path: list[str] = []
