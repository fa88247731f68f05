"""Sphinx extension: ``shrinkfw --help`` output, rendered from the real argparse parser.

``shrinkfw-help`` (MyST: ```` ```{shrinkfw-help} trace check ````) prints
``format_help()`` of the command named by its argument (none: the top-level ``shrinkfw``),
taken from :func:`shrinkfw.cli.build_parser`, at a fixed width of 92 columns.

Every sub-command without sub-commands of its own must be shown on some page: a new
sub-command that the docs do not show is a build warning (an error with ``-W``).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

WIDTH = 92


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree with its command path, depth first, in definition order."""
    yield path, parser
    for name, sub in _subcommands(parser).items():
        yield from walk(sub, (*path, name))


def leaves() -> list[str]:
    """The command paths that run something (no sub-commands of their own)."""
    from shrinkfw.cli import build_parser

    return [" ".join(path) for path, p in walk(build_parser()) if path and not _subcommands(p)]


def help_text(command: str) -> str:
    from shrinkfw.cli import build_parser

    parser = build_parser()
    for name in command.split():
        subs = _subcommands(parser)
        if name not in subs:
            known = ", ".join(subs) or "none"
            raise ValueError(f"no sub-command {name!r} in {parser.prog!r} (it has: {known})")
        parser = subs[name]
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)  # argparse reads the width from COLUMNS
    try:
        return parser.format_help().rstrip() + "\n"
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _parser_modules() -> list[str]:
    """The files that define the parser: a page showing help is re-read when one changes."""
    import shrinkfw.cli
    import shrinkfw.run_cli
    import shrinkfw.trace.cli

    return [m.__file__ for m in (shrinkfw.cli, shrinkfw.run_cli, shrinkfw.trace.cli) if m.__file__]


class ShrinkfwHelp(SphinxDirective):
    optional_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self) -> list[nodes.Node]:
        command = " ".join(self.arguments[0].split()) if self.arguments else ""
        try:
            text = help_text(command)
        except ValueError as exc:
            logger.warning("shrinkfw-help: %s", exc, location=self.get_location())
            return []
        for module in _parser_modules():
            self.env.note_dependency(module)
        shown: dict[str, set[str]] = self.env.shrinkfw_cli_shown  # type: ignore[attr-defined]
        shown.setdefault(self.env.docname, set()).add(command)
        block = nodes.literal_block(text, text, language="text")
        self.set_source_info(block)
        return [block]


def _init_env(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if not hasattr(env, "shrinkfw_cli_shown"):
        env.shrinkfw_cli_shown = {}  # type: ignore[attr-defined]


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "shrinkfw_cli_shown", {}).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: Any) -> None:
    env.shrinkfw_cli_shown.update(getattr(other, "shrinkfw_cli_shown", {}))  # type: ignore[attr-defined]


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    shown = set().union(*getattr(env, "shrinkfw_cli_shown", {}).values())
    for command in leaves():
        if command not in shown:
            logger.warning(
                "`shrinkfw %s` is not shown on any page (add a shrinkfw-help directive)",
                command,
                type="shrinkfw",
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("shrinkfw-help", ShrinkfwHelp)
    app.connect("env-before-read-docs", _init_env)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
