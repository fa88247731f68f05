"""Sphinx extension: the kernel profiles, rendered from ``shrinkfw.profiles.PROFILES``.

Directives (MyST: ```` ```{shrinkfw-profile-table} ````):

``shrinkfw-profile-table``
    one row per profile: name, era, scope, summary; the default is marked.
``shrinkfw-profile-matrix``
    one row per behaviour field of :class:`~shrinkfw.profiles.KernelProfile`, one column per
    profile; the field's description is its ``:ivar:`` line in the class docstring.
``shrinkfw-profile-details``
    one section per profile: summary, the main switches, what it models and what it does
    not (``modelled`` / ``not_modelled``).

The page is built from the data the code runs on, so it cannot go stale.
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, Any

import attrs
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sphinx.application import Sphinx

_INLINE = re.compile(r"``(.+?)``|:[\w:]+:`~?(.+?)`")
_IVAR = re.compile(r"^:ivar (\w+):\s*(.*)$")
#: fields shown elsewhere than in the matrix
_NOT_IN_MATRIX = ("name", "era", "summary", "scope", "modelled", "not_modelled")
#: the switches each profile's section lists, in this order
_SWITCHES = ("dispatch", "deferred", "lru_layout", "reclaim", "trace_format", "kmem", "slab")


def inline(text: str) -> list[nodes.Node]:
    """Text with ````literal```` and ``:role:`target``` turned into literal nodes."""
    out: list[nodes.Node] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            out.append(nodes.Text(text[pos : match.start()]))
        code = match.group(1) or match.group(2).rpartition(".")[2]
        out.append(nodes.literal(code, code))
        pos = match.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def para(*parts: str | nodes.Node) -> nodes.paragraph:
    node = nodes.paragraph()
    for part in parts:
        if isinstance(part, str):
            node.extend(inline(part))
        else:
            node.append(part)
    return node


def table(header: Sequence[str], rows: Sequence[Sequence[nodes.Node | str]]) -> nodes.table:
    """A docutils table with a header row; cells are strings (inline markup) or nodes."""
    tab = nodes.table(classes=["shrinkfw-table", "colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    tab += group
    for i, title in enumerate(header):
        # HTML sizes columns itself (colwidths-auto); the text builder needs a width
        longest = max((len(_text(r[i])) for r in rows), default=0)
        group += nodes.colspec(colwidth=max(len(title), min(longest, 40), 4))

    def row(cells: Sequence[nodes.Node | str]) -> nodes.row:
        r = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Node) else para(cell)
            r += entry
        return r

    head = nodes.thead()
    head += row(header)
    body = nodes.tbody()
    for cells in rows:
        body += row(cells)
    group += head
    group += body
    return tab


def _text(cell: nodes.Node | str) -> str:
    return cell.astext() if isinstance(cell, nodes.Node) else cell


def value_text(value: object) -> str:
    """How a profile field reads in a table."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return f"``{value.value}``"
    if value is None:
        return "–"
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return f"``{name}``"
    return f"``{value}``"


def ivar_docs(cls: type) -> dict[str, str]:
    """``:ivar name: text`` fields of a class docstring (continuation lines joined)."""
    import inspect

    docs: dict[str, str] = {}
    current = ""
    for line in (inspect.getdoc(cls) or "").splitlines():
        match = _IVAR.match(line)
        if match:
            current = match.group(1)
            docs[current] = match.group(2)
        elif current and line.startswith(" ") and line.strip():
            docs[current] += " " + line.strip()
        else:
            current = ""
    return docs


def _profiles(directive: SphinxDirective) -> tuple[dict[str, Any], str]:
    """The profiles; the page is re-read whenever ``profiles.py`` changes."""
    import shrinkfw.profiles
    from shrinkfw.profiles import DEFAULT_PROFILE, PROFILES

    directive.env.note_dependency(shrinkfw.profiles.__file__)
    return PROFILES, DEFAULT_PROFILE


class ProfileTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        profiles, default = _profiles(self)
        rows = []
        for p in profiles.values():
            name = f"``{p.name}``" + (" (default)" if p.name == default else "")
            rows.append([name, p.era, f"``{p.scope}``", p.summary])
        return [table(["profile", "era", "scope", "summary"], rows)]


class ProfileMatrix(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        from shrinkfw.profiles import KernelProfile

        profiles, _ = _profiles(self)
        docs = ivar_docs(KernelProfile)
        rows = []
        for field in attrs.fields(KernelProfile):
            if field.name in _NOT_IN_MATRIX:
                continue
            label = para(nodes.literal(field.name, field.name))
            if field.name in docs:
                label += nodes.Text(": ")
                label.extend(inline(docs[field.name]))
            rows.append([label, *(value_text(getattr(p, field.name)) for p in profiles.values())])
        return [table(["field", *profiles], rows)]


class ProfileDetails(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        profiles, default = _profiles(self)
        out: list[nodes.Node] = []
        for p in profiles.values():
            section = nodes.section(
                ids=[nodes.make_id(f"profile-{p.name}")], names=[f"profile {p.name}"]
            )
            title = nodes.title("", "")
            title += nodes.literal(p.name, p.name)
            section += title
            section += para(p.summary + ".")
            facts = f"Era {p.era}; scope ``{p.scope}``"
            facts += " (models reclaim end to end)." if p.scope == "full" else "."
            if p.name == default:
                facts += " The default profile."
            section += para(facts)
            switches = nodes.bullet_list()
            for name in _SWITCHES:
                item = nodes.list_item()
                item += para(f"``{name}``: ", value_text(getattr(p, name)))
                switches += item
            section += para("Switches:")
            section += switches
            for label, lines in (("Models:", p.modelled), ("Does not model:", p.not_modelled)):
                section += para(label)
                items = nodes.bullet_list()
                for line in lines or ("(nothing listed)",):
                    item = nodes.list_item()
                    item += para(line)
                    items += item
                section += items
            self.state.document.note_implicit_target(section, section)
            out.append(section)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("shrinkfw-profile-table", ProfileTable)
    app.add_directive("shrinkfw-profile-matrix", ProfileMatrix)
    app.add_directive("shrinkfw-profile-details", ProfileDetails)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
