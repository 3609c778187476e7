"""A griffe extension for the API pages: Sphinx roles in docstrings become inline code.

The library's docstrings use Sphinx cross-reference roles (``:func:`to_device```,
``:mod:`minidl.functional.linear```); Markdown has no such syntax, so they would reach the
page as ":func:" followed by the name. This rewrites each role to just the name, as code
(a leading ``~`` keeps only the last component, as Sphinx does). Loaded by mkdocs.yml
(mkdocstrings ``extensions``); the source files are not changed.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _plain(match: re.Match) -> str:
    name = match[2]
    return f"`{name.rsplit('.', 1)[-1] if match[1] else name}`"


class RstRoles(griffe.Extension):
    """Rewrite ``:role:`name``` to ```name``` in every docstring of the loaded package."""

    def on_package(self, *, pkg, **kwargs) -> None:
        self._walk(pkg)

    def _walk(self, obj) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_plain, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member)
