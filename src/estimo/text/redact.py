"""Contact details masked: phone numbers, e-mail addresses and URLs; never a price or an area.

An e-mail address may be obfuscated ("jan [at] agency [dot] pl", "info&#64;agency.it", "name
at domain dot com") and is masked whole ("jan@agencja.com.pl"). A phone number is a run of
digits (with spaces, dots, dashes or slashes between groups, an optional ``+`` or ``00``
prefix) holding 9 to 11 digits (up to 15 with a country prefix), or 6 or more right after a
cue such as "tel.", "cell", "móvil", "phone", "tel:". A run is not a phone number when it
reads as a price (``€ 1.250.000``, ``250.000 euro``, groups of three digits after a non-zero
digit), an area or a length (followed by a unit), a date, a range of years, a reference code
("Rif. 052033000000") or a list of bus lines ("60-56-90-81"). A run holding more digits than
one number splits at its spaces and dashes ("0961.33044 - 331.1788889" is two numbers).

Examples
--------
>>> out = redact("Info: 333 1234567 o info@agenzia.it, www.agenzia.it. Prezzo € 250.000, 85 mq")
>>> out.text
'Info: [phone] o [email], [url]. Prezzo € 250.000, 85 mq'
>>> out.counts
{'phone': 1, 'email': 1, 'url': 1}
>>> redact("Rif. 12/05/2023, anni 1960-1970, 1.250.000 euro").counts
{'phone': 0, 'email': 0, 'url': 0}
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

KINDS: tuple[str, ...] = ("phone", "email", "url")
MASKS = {"phone": "[phone]", "email": "[email]", "url": "[url]"}

_FLAGS = re.IGNORECASE
# Every pattern starts where its run of characters starts (a look-behind, not ``\b``) and
# bounds its repetitions, so a long run without spaces ("-----", a pasted hash, 100 kB of
# digits) is read once, not once per character: redaction stays linear in the text.
_AT = r"\s?(?:@|&#0*64;|&#x0*40;|&commat;|[(\[{]\s?(?:at|chiocciola|arroba)\s?[)\]}])\s?"
_DOT = r"(?:\.|\s?[(\[{]\s?(?:dot|punto|kropka)\s?[)\]}]\s?)"
_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w+-][\w.+-]{{0,63}}{_AT}[\w-]{{1,63}}(?:{_DOT}[\w-]{{1,63}}){{0,4}}"
    rf"{_DOT}(?-i:[a-z]{{2,6}}(?![a-z])|[A-Z]{{2,6}}(?![A-Za-z]))",  # "@agenzia.itVia": "it"
    _FLAGS,
)
_SPELLED_TLDS = r"it|es|com|net|org|pl|eu|info|biz|de|fr|uk|cat"
_EMAIL_SPELLED = re.compile(  # "name at domain dot com": both words spelled out
    rf"(?<![\w.+-])[\w+-][\w.+-]{{0,63}}\s+at\s+[\w-]{{1,63}}(?:\s+dot\s+[\w-]{{1,63}}){{0,3}}?"
    rf"\s+dot\s+(?:{_SPELLED_TLDS})\b",
    _FLAGS,
)
_TLDS = r"it|es|com|net|org|pl|eu|info|biz|co\.uk|uk|de|fr|cat|immo|casa|house|homes|io"
_URL = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"')\]]+|(?<![\w-])[a-z0-9][\w-]{{2,62}}(?:\.[\w-]{{1,63}}){{0,4}}"
    rf"\.(?:{_TLDS})\b"
    r"(?:/[^\s<>\"')\]]*)?",
    _FLAGS,
)
_PHONE = re.compile(r"(?<![\d,/mM])(?<!\d\.)(?:\+|00)?\(?\d[\d\s./()-]{4,40}\d(?![\d])")
_GAP = re.compile(r"\s*[-/]\s*|\s+")
_MAX_DIGITS = 11
"""Digits of the longest national number (Italian landlines); see :func:`_prefix_digits`."""
_CUE = re.compile(
    r"(?:tel|telef|tfno|tlf|telf|telefono|teléfono|cell|cellulare|cel|móvil|movil|whatsapp|"
    r"phone|mobile|mob|call|chiama(?:re|te)?|llam(?:a|ar|e)|kom|telefon|dzwoń)\.?\s*:?\s*"
    r"(?:al\s+|al\.?\s+|n\.?\s*|nr\.?\s*)?$",
    _FLAGS,
)
_UNIT_AFTER = re.compile(
    r"\s*(?:€|eur|euro|mq|m2|m²|m\b|mt|metri|metros|sq|ft|km|cm|mm|%|x\b|kw|kwh|anni|años|"
    r"years|lat|zł|pln|\$|£)",
    _FLAGS,
)
_MONEY_BEFORE = re.compile(
    r"(?:€|eur|euro|euros|\$|£|zł|pln|prezzo|precio|price|cena)\s*:?\s*$", _FLAGS
)
_PRICE_SHAPE = re.compile(r"^[1-9]\d{0,2}(?:[.\s,]\d{3})+(?:,\d{1,2})?$")
_DATE_SHAPE = re.compile(r"^\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}$")
_YEARS_SHAPE = re.compile(r"^(?:1[89]|20)\d\d\s*[-/]\s*(?:1[89]|20)?\d\d$")
_REFERENCE_BEFORE = re.compile(
    r"(?:rif|ref|cod|codice|riferimento|id|n\.\s*rif)\.?\s*:?\s*[a-z]{0,3}\s*$", _FLAGS
)
_SHORT_DASHED = re.compile(r"^\d{1,2}(?:-\d{1,2}){3,}$")
_TRAILING = re.compile(r"[\s./()-]+$")


@dataclass
class Redaction:
    """A text with its contact details masked.

    Attributes
    ----------
    text : str
        The masked text (``[phone]``, ``[email]``, ``[url]`` in place of each detail).
    counts : dict of str to int
        How many details of each kind were masked.
    spans : list of tuple
        ``(kind, start, end)`` of each masked detail in the original text.
    """

    text: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    spans: list[tuple[str, int, int]] = field(default_factory=list)


def find_contacts(text: str) -> list[tuple[str, int, int]]:
    """``(kind, start, end)`` of every contact detail in ``text``, sorted, not overlapping."""
    taken = _Taken()
    for pattern in (_EMAIL, _EMAIL_SPELLED):
        for m in pattern.finditer(text):
            if taken.free(m.start(), m.end()):
                taken.add("email", m.start(), m.end())
    for m in _URL.finditer(text):
        end = m.end() - len(m.group(0)) + len(m.group(0).rstrip(".,;:"))
        if taken.free(m.start(), end):
            taken.add("url", m.start(), end)
    for m in _PHONE.finditer(text):
        trailing = _TRAILING.search(m.group(0))
        end = m.end() - (len(trailing.group(0)) if trailing else 0)
        for start, stop in _numbers_in_run(text, m.start(), end):
            if taken.free(start, stop) and is_phone(text, start, stop):
                taken.add("phone", start, stop)
    return taken.found


class _Taken:
    """Non-overlapping ``(kind, start, end)`` spans kept sorted (a free-span test is a
    binary search, so a text with thousands of numbers stays fast)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, int]] = []
        self._starts: list[int] = []

    def free(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` overlaps no span taken so far."""
        i = bisect.bisect_right(self._starts, start)
        if i and self.found[i - 1][2] > start:
            return False
        return i == len(self._starts) or self._starts[i] >= end

    def add(self, kind: str, start: int, end: int) -> None:
        """Take ``[start, end)`` for ``kind``."""
        i = bisect.bisect_right(self._starts, start)
        self._starts.insert(i, start)
        self.found.insert(i, (kind, start, end))


def _numbers_in_run(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a run of digit groups into numbers ("0961.33044 - 331.1788889" is two).

    Groups separated by spaces or dashes are merged left to right while the number stays
    within :data:`_MAX_DIGITS` digits (plus those of a ``+`` or ``00`` country prefix).
    """
    run = text[start:end]
    if sum(ch.isdigit() for ch in run) <= _MAX_DIGITS + _prefix_digits(run):
        return [(start, end)]
    pieces, cursor = [], 0
    for gap in _GAP.finditer(run):
        pieces.append((cursor, gap.start()))
        cursor = gap.end()
    pieces.append((cursor, len(run)))
    numbers: list[tuple[int, int]] = []
    first: int | None = None
    digits = last = 0
    for a, b in pieces:
        n = sum(ch.isdigit() for ch in run[a:b])
        limit = _MAX_DIGITS + (_prefix_digits(run[first:]) if first is not None else 0)
        if first is not None and digits + n > limit:
            numbers.append((start + first, start + last))
            first, digits = None, 0
        if first is None:
            first = a
        digits += n
        last = b
    if first is not None:
        numbers.append((start + first, start + last))
    return numbers


def _prefix_digits(run: str) -> int:
    """Digits an international prefix adds (``+39``: up to 3, ``0039``: up to 4)."""
    if run.startswith("+"):
        return 3
    return 4 if run.startswith("00") and not run.startswith("000") else 0


def is_phone(text: str, start: int, end: int) -> bool:
    """Whether the digit run ``text[start:end]`` is a phone number (see the module docstring)."""
    token = text[start:end]
    digits = sum(ch.isdigit() for ch in token)
    if digits > _MAX_DIGITS + 1 + _prefix_digits(token):  # one more: a glued house number
        return False
    before = text[max(0, start - 25) : start]
    cue = _CUE.search(before) is not None
    if digits < (6 if cue else 9):
        return False
    if _UNIT_AFTER.match(text, end) or _MONEY_BEFORE.search(before):
        return False
    if _REFERENCE_BEFORE.search(before) or _SHORT_DASHED.match(token.strip()):
        return False
    stripped = token.strip()
    if _DATE_SHAPE.match(stripped) or _YEARS_SHAPE.match(stripped):
        return False
    return not (_PRICE_SHAPE.match(stripped) and not cue and digits <= 8)


def redact(text: str | None) -> Redaction:
    """Mask the phone numbers, e-mail addresses and URLs of ``text``.

    Parameters
    ----------
    text : str or None
        A description (None and empty give an empty redaction).

    Returns
    -------
    Redaction
        The masked text, counts per kind and the original spans.
    """
    if not text:
        return Redaction("" if text is None else text)
    spans = find_contacts(text)
    counts = dict.fromkeys(KINDS, 0)
    parts, last = [], 0
    for kind, start, end in spans:
        parts.append(text[last:start])
        parts.append(MASKS[kind])
        counts[kind] += 1
        last = end
    parts.append(text[last:])
    return Redaction("".join(parts), counts, spans)
