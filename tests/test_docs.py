"""The documentation in docs/ covers what the code offers; checked without Sphinx.

The hookspec docstrings themselves are checked in test_hooks.py (every parameter has a
``:param:``); here: the pages pull them in, every page is reachable, and the generated or
included parts point at what exists.
"""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import pytest

import shrinkfw
from shrinkfw import hookspecs, scenario
from shrinkfw.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: a MyST fenced directive: ```{name} argument ... ``` (backtick or colon fences)
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}(?P<arg>.*)$")


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def directives(text: str) -> list[tuple[str, str, list[str]]]:
    """MyST fenced directives of a page: ``(name, argument, body lines)``."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        i += 1
        if not match:
            continue
        fence = match.group("fence")
        body = []
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        found.append((match.group("name"), match.group("arg").strip(), body))
    return found


def rst_directives(body: list[str], name: str) -> list[tuple[str, dict[str, str]]]:
    """``.. name:: argument`` directives in reST lines, with their ``:option: value`` lines."""
    out: list[tuple[str, dict[str, str]]] = []
    for i, line in enumerate(body):
        match = re.match(rf"^\s*\.\. {re.escape(name)}:: *(.*)$", line)
        if not match:
            continue
        options: dict[str, str] = {}
        for following in body[i + 1 :]:
            option = re.match(r"^\s+:([\w-]+):\s*(.*)$", following)
            if not option:
                break
            options[option.group(1)] = option.group(2).strip()
        out.append((match.group(1).strip(), options))
    return out


def hook_names() -> list[str]:
    return [
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("shrinkfw_") and inspect.isfunction(obj)
    ]


def toctree_entries() -> list[str]:
    entries = []
    for name, _arg, body in directives(page("index.md")):
        if name == "toctree":
            entries += [line.strip() for line in body if line.strip() and ":" not in line[:1]]
    return entries


def test_hooks_page_autodocs_every_hook() -> None:
    blocks = [body for name, _arg, body in directives(page("hooks.md")) if name == "eval-rst"]
    automodules = [
        options
        for body in blocks
        for target, options in rst_directives(body, "automodule")
        if target == "shrinkfw.hookspecs"
    ]
    assert automodules, "docs/hooks.md must pull in shrinkfw.hookspecs with automodule"
    options = automodules[0]
    assert "members" in options, "the automodule needs :members:"
    listed = {m.strip() for m in options["members"].split(",") if m.strip()}
    hooks = hook_names()
    assert len(hooks) >= 9
    missing = set(hooks) - listed if listed else set()
    assert not missing, f":members: leaves out {sorted(missing)}"
    excluded = {m.strip() for m in options.get("exclude-members", "").split(",")}
    assert not excluded & set(hooks), f"hooks excluded: {sorted(excluded & set(hooks))}"
    if not set(hooks) <= set(getattr(hookspecs, "__all__", hooks)):
        # autodoc follows __all__, which names only the marker
        assert "ignore-module-all" in options, "hookspecs.__all__ would hide the hooks"
    assert "no-index" not in options


def test_every_page_is_in_the_index_toctree() -> None:
    entries = toctree_entries()
    pages = sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index")
    assert sorted(set(entries)) == pages
    assert len(entries) == len(set(entries)), "a page is listed twice"


def _leaf_commands(parser: argparse.ArgumentParser, path: str = "") -> list[str]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [path]
    out = []
    for name, sub in subs[0].choices.items():
        out += _leaf_commands(sub, f"{path} {name}".strip())
    return out


def test_cli_page_shows_the_help_of_every_command() -> None:
    shown = {arg for name, arg, _ in directives(page("cli.md")) if name == "shrinkfw-help"}
    assert "" in shown, "the top-level help"
    commands = _leaf_commands(build_parser())
    assert "trace check" in commands
    assert set(commands) <= shown


def test_profiles_page_is_generated() -> None:
    names = {name for name, _arg, _ in directives(page("profiles.md"))}
    assert {"shrinkfw-profile-table", "shrinkfw-profile-details"} <= names


def test_api_page_documents_every_public_name() -> None:
    text = page("api.md")
    documented = set(re.findall(r"^\s*\.\. (?:auto\w+|py:\w+):: *([\w.]+)", text, re.M))
    documented = {name.removeprefix("shrinkfw.") for name in documented}
    missing = sorted(set(shrinkfw.__all__) - documented)
    assert not missing, f"docs/api.md does not document {missing}"


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.toml")), ids=str)
def test_every_example_scenario_is_included(example: Path) -> None:
    includes = {
        arg for name, arg, _ in directives(page("scenarios.md")) if name == "literalinclude"
    }
    assert f"../examples/{example.name}" in includes


def test_scenario_page_names_every_field() -> None:
    text = page("scenarios.md")
    for key in (*scenario._TOP, *scenario._MEMCG):
        forms = (f"`{key}`", f"`[{key}]`", f"`[[{key}]]`")
        assert any(form in text for form in forms), f"docs/scenarios.md does not name {key!r}"


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.md")))
def test_literalincludes_point_at_files(name: str) -> None:
    for directive, arg, _ in directives(page(name)):
        if directive == "literalinclude":
            assert (DOCS / arg).is_file(), f"docs/{name} includes {arg}, which does not exist"
