"""The one-pass keyword scan equals a plain regex search; report snippets never leak contacts."""

from __future__ import annotations

from collections import defaultdict

import pytest

from estimo.text.anchors import _base, first_letters
from estimo.text.extractor import _rules
from estimo.text.redact import find_contacts
from estimo.text.report import _snippet

from .test_extract_sentences import CASES


@pytest.mark.parametrize("lang", ["it", "es", "en", "pl"])
def test_scan_finds_what_a_full_regex_search_finds(lang: str) -> None:
    scanner = _rules(lang).scanner
    for sentence, case_lang, _, _ in CASES:
        if case_lang != lang:
            continue
        expected = defaultdict(list)
        for m in scanner._folding.finditer(sentence):
            expected[_base(m.lastgroup)].append(m.span())
        assert dict(scanner.scan(sentence)) == dict(expected), sentence


@pytest.mark.parametrize(
    ("fragment", "letters"),
    [
        (r"ascensor[ei]", {"a"}),
        (r"(?:piano\s+)?terra|rialzato", {"p", "t", "r"}),
        (r"[uú]ltima\s+planta", {"u", "ú"}),
        (r"\w+\s+piani", None),
    ],
)
def test_first_letters(fragment: str, letters: set[str] | None) -> None:
    assert first_letters(fragment) == letters


@pytest.mark.parametrize("gap", [0, 5, 40, 75, 79, 80, 81, 90])
def test_snippet_never_shows_part_of_a_phone_number(gap: int) -> None:
    text = "Bilocale di 55 mq" + " x" * (gap // 2) + " tel 333 1234567 fine"
    start = text.index("55 mq")
    parts = _snippet(text, start, start + 5, find_contacts(text))
    shown = "".join(piece for kind, piece in parts)
    assert "1234567" not in shown and "4567" not in shown and "333 " not in shown
    assert ("span", "55 mq") in parts
