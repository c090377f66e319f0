"""An HTML fragment of an explanation, ready to embed in a web page.

The fragment is one ``<section class="estimo-explanation">`` with its own small inline
styles (no external stylesheet, script, font or image), so it can be dropped into any page.
Every piece of text, including data values such as neighbourhood names, is escaped with
:func:`html.escape`; amounts are drawn as bars whose width is proportional to the amount.

Examples
--------
>>> escape_text('<b>"Rock & roll"</b>')
'&lt;b&gt;&quot;Rock &amp; roll&quot;&lt;/b&gt;'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from estimo.explain.explainer import Explanation

__all__ = ["escape_text", "explanation_html"]

_STYLE = (
    "font-family:system-ui,sans-serif;max-width:46em;line-height:1.45;color:#1d2733;"
    "border:1px solid #d5dbe3;border-radius:8px;padding:1em 1.25em"
)
_UP, _DOWN = "#2e7d4f", "#b3402e"


def escape_text(text: object) -> str:
    """Escape any value for HTML text and attribute content."""
    return html.escape(str(text), quote=True)


def _reason_rows(explanation: Explanation) -> str:
    reasons = explanation.reasons.reasons
    largest = max((abs(r.amount) for r in reasons), default=0) or 1
    rows = []
    for reason, line in zip(reasons, explanation.reason_lines, strict=True):
        label, _, amount = line.rpartition(": ")
        width = max(1, round(100 * abs(reason.amount) / largest))
        colour = _UP if reason.amount >= 0 else _DOWN
        rows.append(
            "<tr>"
            f'<td style="padding:2px 8px 2px 0">{escape_text(label)}</td>'
            f'<td style="padding:2px 8px;text-align:right;white-space:nowrap;color:{colour}">'
            f"{escape_text(amount)}</td>"
            f'<td style="width:30%"><div style="background:{colour};height:0.7em;'
            f'width:{width}%;border-radius:2px"></div></td>'
            "</tr>"
        )
    return '<table style="border-collapse:collapse;width:100%">' + "".join(rows) + "</table>"


def _paragraphs(items: list[str] | tuple[str, ...], tag: str = "p") -> str:
    return "".join(f"<{tag}>{escape_text(item)}</{tag}>" for item in items)


def explanation_html(explanation: Explanation) -> str:
    """The explanation as a self-contained HTML fragment (see the module docstring)."""
    locale_text = explanation.headings
    e = explanation
    parts = [
        f'<section class="estimo-explanation" lang="{escape_text(e.language)}" style="{_STYLE}">',
        f'<h2 style="margin:0 0 .3em">{escape_text(locale_text["title"])}</h2>',
        f'<p style="font-size:1.6em;margin:.1em 0"><strong>'
        f"{escape_text(e.total_line.rstrip('.').rpartition(': ')[2])}</strong></p>",
    ]
    if e.low is not None and e.high is not None and e.confidence_text:
        parts.append(f'<p style="color:#4a5868">{escape_text(e.confidence_text[0])}</p>')
    parts.append(f"<h3>{escape_text(locale_text['reasons'])}</h3>")
    parts.append(f"<p>{escape_text(e.reference_sentence)}</p>")
    parts.append(_reason_rows(e))
    parts.append(f"<p><strong>{escape_text(e.total_line)}</strong></p>")
    if e.comparables_intro is not None:
        parts.append(f"<h3>{escape_text(locale_text['comparables'])}</h3>")
        parts.append(f"<p>{escape_text(e.comparables_intro)}</p>")
        if e.comparables:
            parts.append("<ol>" + _paragraphs(e.comparables, "li") + "</ol>")
    if e.blend:
        parts.append(f"<h3>{escape_text(locale_text['blend'])}</h3><p>{escape_text(e.blend)}</p>")
    parts.append(f"<h3>{escape_text(locale_text['confidence'])}</h3>")
    parts.append(_paragraphs(e.confidence_text))
    if e.notes:
        parts.append(f"<h3>{escape_text(locale_text['notes'])}</h3>")
        parts.append("<ul>" + _paragraphs(e.notes, "li") + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)
