"""HTML markup in a description read as the text it renders: tags out, entities decoded.

Descriptions scraped from portals carry ``<b>``, ``<br>``, ``&nbsp;`` and ``&amp;``; left in,
"<b>senza</b> ascensore" separates the negation from its noun. :func:`plain_text` removes
tags (a line-breaking tag such as ``<br>`` or ``</p>`` becomes a line break, any other a
space) and decodes character references (a no-break space becomes a space), and keeps, for
every character of the result, the span of the original text it came from, so facts read
from the plain text point into the original (:meth:`Plain.original_span`).

Examples
--------
>>> plain = plain_text("Trilocale <b>senza</b>&nbsp;ascensore")
>>> plain.text
'Trilocale  senza  ascensore'
>>> start = plain.text.index("senza")
>>> plain.original_span(start, start + 5)
(13, 18)
>>> plain_text("no markup here").mapped
False
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_MARKUP = re.compile(
    r"<!--.{0,2000}?-->"
    r"|<\s{0,5}(?P<close>/?)\s{0,5}(?P<tag>[a-zA-Z][a-zA-Z0-9]{0,15})\b[^<>]{0,500}>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});",
    re.DOTALL,
)
_LINE_TAGS = frozenset(
    [
        "br",
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "dd",
        "dt",
        "dl",
        "section",
        "article",
    ]
)


@dataclass(frozen=True)
class Plain:
    """A text without markup and the original span of each of its characters.

    Attributes
    ----------
    text : str
        The text as rendered (tags removed, entities decoded).
    starts, ends : tuple of int
        For character ``i`` of ``text``, ``original[starts[i]:ends[i]]`` is what it came
        from (empty when the text had no markup: offsets are then the same).
    """

    text: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @property
    def mapped(self) -> bool:
        """Whether the text changed (offsets need mapping back)."""
        return bool(self.starts)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` came from."""
        if not self.mapped or start >= end:
            return start, end
        return self.starts[start], self.ends[end - 1]


def plain_text(text: str) -> Plain:
    """``text`` with its tags removed and its character references decoded.

    Parameters
    ----------
    text : str
        A description or title, possibly with HTML markup.

    Returns
    -------
    Plain
        The plain text and the mapping of its characters back to ``text``.
    """
    if "<" not in text and "&" not in text and "\xa0" not in text:
        return Plain(text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in _MARKUP.finditer(text):
        _keep(text, last, m.start(), pieces, starts, ends)
        out = _replacement(m)
        pieces.append(out)
        starts += [m.start()] * len(out)
        ends += [m.end()] * len(out)
        last = m.end()
    _keep(text, last, len(text), pieces, starts, ends)
    plain = "".join(pieces).replace("\xa0", " ")
    if plain == text:
        return Plain(text)
    return Plain(plain, tuple(starts), tuple(ends))


def _keep(text: str, start: int, end: int, pieces: list[str], starts, ends) -> None:
    """Copy ``text[start:end]`` unchanged, each character mapping to itself."""
    pieces.append(text[start:end])
    starts += range(start, end)
    ends += range(start + 1, end + 1)


def _replacement(m: re.Match[str]) -> str:
    """What one tag, comment or character reference renders as."""
    token = m.group(0)
    if token.startswith("&"):
        return html.unescape(token)
    tag = (m.group("tag") or "").lower()
    return "\n" if tag in _LINE_TAGS else " "
