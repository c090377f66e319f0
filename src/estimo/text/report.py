"""What the extractor found in a table of descriptions, as plain data and a self-contained page.

:func:`summarise` turns texts and their extraction table into plain data (counts per field,
values found, a few examples per field with the span highlighted); :func:`render_html` turns
that data into one HTML page (no script, no network). Example snippets are cut from the text
with every contact detail masked first (``estimo.text.redact``), and never across one, so no
phone number or e-mail address can reach the page, even in part.

Examples
--------
>>> import pandas as pd
>>> from estimo.text import extract_frame
>>> texts = ["Trilocale di 80 mq, tel. 333 1234567", "Piso con ascensor y garaje"]
>>> data = summarise(texts, extract_frame(texts))
>>> data["fields"]["rooms"]["found"], data["contacts"]["phone"]
(1, 1)
>>> page = render_html(data)
>>> "1234567" in page, "<mark>Trilocale</mark>" in page, "<script" in page
(False, True, False)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from estimo.text.extractor import FIELDS
from estimo.text.redact import KINDS, MASKS, find_contacts

_CONTEXT = 80
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;
max-width:1100px}
h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.25rem .6rem;
border-bottom:1px solid #eee;text-align:left}th{background:#f6f6f6}
mark{background:#ffe08a;padding:0 .1rem}.mask{color:#888;font-style:italic}
.ex{font-size:.85rem;margin:.3rem 0;color:#444}.muted{color:#777}
"""


def summarise(
    texts: Sequence[str | None],
    table: pd.DataFrame,
    *,
    ids: Sequence[Any] | None = None,
    n_examples: int = 5,
) -> dict[str, Any]:
    """Plain data for the report of an extraction run.

    Parameters
    ----------
    texts : sequence of str or None
        The texts the extractor read (the spans index them).
    table : pandas.DataFrame
        Output of :func:`~estimo.text.extract_frame` on ``texts``.
    ids : sequence, optional
        Row identifiers shown with the examples.
    n_examples : int
        Examples per field.

    Returns
    -------
    dict
        ``n_texts``, ``languages`` (counts), ``contacts`` (masked details per kind),
        ``fields`` (per field: ``found``, ``share``, ``values`` (top values and counts),
        ``examples`` (id, value, snippet parts)).
    """
    n = len(texts)
    contacts = dict.fromkeys(KINDS, 0)
    masked: list[list[tuple[str, int, int]]] = []
    for text in texts:
        spans = find_contacts(text) if isinstance(text, str) else []
        masked.append(spans)
        for kind, _, _ in spans:
            contacts[kind] += 1
    fields: dict[str, Any] = {}
    for name in FIELDS:
        column = table[name]
        found = column.notna()
        values = column[found].astype(str).value_counts().head(8)
        examples = []
        for row in found[found].index[:n_examples]:
            text = texts[row]
            span = table.at[row, f"{name}_span"]
            if not isinstance(text, str) or not isinstance(span, str):
                continue
            start = text.find(span)
            if start < 0:
                continue
            examples.append(
                {
                    "id": str(ids[row]) if ids is not None else str(row),
                    "value": str(column[row]),
                    "snippet": _snippet(text, start, start + len(span), masked[row]),
                }
            )
        fields[name] = {
            "found": int(found.sum()),
            "share": float(found.mean()) if n else 0.0,
            "values": {str(k): int(v) for k, v in values.items()},
            "examples": examples,
        }
    languages = table["text_lang"].fillna("unknown").value_counts().to_dict()
    return {
        "n_texts": n,
        "languages": {str(k): int(v) for k, v in languages.items()},
        "contacts": contacts,
        "fields": fields,
    }


def _snippet(
    text: str, start: int, end: int, contacts: list[tuple[str, int, int]]
) -> list[tuple[str, str]]:
    """``(kind, text)`` parts around the span: ``plain``, ``span`` or ``mask``."""
    left, right = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    for _, c_start, c_end in contacts:  # never cut through a contact detail
        if c_start < left < c_end:
            left = c_start
        if c_start < right < c_end:
            right = c_end
    parts: list[tuple[str, str]] = []
    cursor = left
    for kind, c_start, c_end in contacts:
        if c_end <= left or c_start >= right:
            continue
        parts += _plain_and_span(text, cursor, c_start, start, end)
        parts.append(("mask", MASKS[kind]))
        cursor = c_end
    parts += _plain_and_span(text, cursor, right, start, end)
    if left > 0:
        parts.insert(0, ("plain", "… "))
    if right < len(text):
        parts.append(("plain", " …"))
    return parts


def _plain_and_span(text: str, a: int, b: int, start: int, end: int) -> list[tuple[str, str]]:
    if a >= b:
        return []
    parts = []
    s, e = max(a, start), min(b, end)
    if s < e:
        if a < s:
            parts.append(("plain", text[a:s]))
        parts.append(("span", text[s:e]))
        if e < b:
            parts.append(("plain", text[e:b]))
    else:
        parts.append(("plain", text[a:b]))
    return parts


def render_html(data: dict[str, Any], title: str = "Facts found in the descriptions") -> str:
    """A self-contained HTML page of :func:`summarise`'s data."""
    esc = html.escape
    n = data["n_texts"]
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{info['found']:,}</td><td>{info['share']:.1%}</td>"
        f"<td>{esc(', '.join(f'{k} ({v})' for k, v in info['values'].items()))}</td></tr>"
        for name, info in data["fields"].items()
    )
    langs = ", ".join(f"{esc(k)}: {v:,}" for k, v in data["languages"].items())
    contacts = ", ".join(f"{v:,} {esc(k)}" for k, v in data["contacts"].items())
    sections = []
    for name, info in data["fields"].items():
        if not info["examples"]:
            continue
        items = "".join(
            f"<p class='ex'><span class='muted'>{esc(ex['id'])} → {esc(ex['value'])}:</span> "
            + "".join(_part(kind, piece) for kind, piece in ex["snippet"])
            + "</p>"
            for ex in info["examples"]
        )
        sections.append(f"<h3>{esc(name)}</h3>{items}")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f"<p>{n:,} texts; languages: {langs or 'none'}; contact details masked: "
        f"{contacts}.</p>"
        "<h2>Fields found</h2><table><tr><th>field</th><th>found</th><th>share</th>"
        f"<th>most frequent values</th></tr>{rows}</table>"
        "<h2>Examples</h2><p class='muted'>The words each value came from are highlighted; "
        "phone numbers, e-mail addresses and links are masked.</p>"
        + "".join(sections)
        + "</body></html>"
    )


def _part(kind: str, piece: str) -> str:
    if kind == "span":
        return f"<mark>{html.escape(piece)}</mark>"
    if kind == "mask":
        return f"<span class='mask'>{html.escape(piece)}</span>"
    return html.escape(piece)
