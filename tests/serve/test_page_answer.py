"""The valuation page's answer over HTTP: blend, comparables map, warnings, confidence,
printable view, screen-reader captions and the public tier's privacy."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from _serve_helpers import ready_client
from test_page import FORM, _api, _settings, _text

from estimo.explain.locale import get_locale
from estimo.model.valuation_result import build_warnings
from estimo.quality.clean import unseen_city_warning
from estimo.serve.guard.tiers import _BLEND_WORDS
from estimo.serve.main import create_app
from estimo.serve.page.answer import answer_view
from estimo.serve.page.form import reference_of
from estimo.serve.page.words import WORDS, words
from estimo.serve.settings import LANGUAGES
from estimo.serve.warnings_text import NOTES, PATTERNS, note


@pytest.fixture()
def client(bundles: Path):
    yield from ready_client(create_app(_settings(bundles)))


def _answer_html(client, form: dict, lang: str = "en") -> str:
    response = client.post(f"/?lang={lang}", data=form)
    assert response.status_code == 200, response.text
    return unescape(response.text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_blend_in_one_sentence_of_words_in_every_language(client, lang: str) -> None:
    html = _answer_html(client, FORM, lang)
    api = _api(client, FORM, lang)
    blend = api["explanation"]["blend"]
    assert _text(html, "blend") == blend
    assert re.search(r"\d|€|%", blend) is None  # words only: no exact weight or price
    frames = _BLEND_WORDS[lang]
    shares = frames["shares"]
    assert blend in (frames["none"], frames["unchanged"]) or any(
        blend == frames["both"].format(model=a, comps=b) for a in shares for b in shares
    )
    assert WORDS[lang]["blend"] in html


def test_comparables_on_a_map_by_coarse_distance_and_bearing(client) -> None:
    html = _answer_html(client, FORM)
    svg = re.search(r'<svg class="comps-map".*?</svg>', html, re.S)
    assert svg, "no comparables map"
    assert 'aria-hidden="true"' in svg.group(0) and "<image" not in svg.group(0)  # no tiles
    assert _text(html, "map-caption") == WORDS["en"]["map_sr"]
    items = re.findall(
        r"<li>(.*?)</li>", re.search(r'<ol id="comparables">(.*?)</ol>', html).group(1)
    )
    numbers = re.findall(r'fill="#fff">(\d+)</text>', svg.group(0))
    assert numbers == [str(i + 1) for i in range(len(items))]  # numbered like the list
    directions = WORDS["en"]["directions"].split(",")
    assert all(any(f"away to the {d}:" in item for d in directions) for item in items)
    # without the home's coordinates there is no bearing: a list, no map
    plain = _answer_html(client, {k: v for k, v in FORM.items() if k not in ("lat", "lon")})
    assert "comps-map" not in plain and re.search(r'<ol id="comparables">', plain)
    assert "away to the" not in plain


def test_no_address_coordinates_or_ids_of_the_comparables_on_the_page(client, bundles) -> None:
    from estimo.serve.valuer import load_valuer

    html = _answer_html(client, FORM)
    reference = reference_of(load_valuer(str(bundles / "_global")))
    assert reference is not None
    answer = re.search(r'<section id="answer".*?</section>', html, re.S).group(0)
    for lat, lon in reference[["lat", "lon"]].dropna().to_numpy()[:2000]:
        for value in (lat, lon):
            assert f"{value:.4f}" not in answer and f"{value:.3f}" not in answer
    assert re.search(r"P\d{6}", answer) is None  # no comparable ids
    assert "address" not in answer


def test_a_comparable_without_a_distance_says_so_in_words() -> None:
    answer = {
        "price": 300_000.0,
        "low": 270_000.0,
        "high": 330_000.0,
        "confidence": "high",
        "currency": "EUR",
        "warnings": [],
        "comparables": [
            {"price": 290_000.0, "month": "2023-05", "area_m2": 80.0},
            {"price": 310_000.0, "month": "2023-06", "distance_m": 400.0, "bearing_deg": 45.0},
        ],
    }
    for lang in LANGUAGES:
        view = answer_view(answer, lang, words(lang))
        first, second = view["comparables"]
        assert WORDS[lang]["distance_unknown"] in first and "?" not in first
        assert WORDS[lang]["directions"].split(",")[1] in second
        homes = re.findall(r'r="9"[^>]*/><text[^>]*>(\d+)</text>', view["comparables_map"])
        assert homes == ["2"]  # only the one with a bearing, numbered as in the list


@pytest.mark.parametrize("lang", LANGUAGES)
def test_confidence_in_words_on_the_page(client, lang: str) -> None:
    html = _answer_html(client, FORM, lang)
    api = _api(client, FORM, lang)
    assert (
        _text(html, "confidence").removeprefix("<strong>")
        == (WORDS[lang][f"confidence_{api['confidence']}"])
    )


def test_printable_view_and_screen_reader_captions(client) -> None:
    html = _answer_html(client, FORM)
    assert re.search(r'<link rel="stylesheet" href="/static/page/print\.css" media="print">', html)
    assert re.search(
        r'<button type="button" class="secondary" data-print hidden>Print</button>', html
    )
    print_css = client.get("/static/page/print.css").text
    assert "form" in print_css and "display: none" in print_css
    api = _api(client, FORM)
    locale = get_locale("en")

    def money(value: float) -> str:
        return locale.money(value, "EUR")

    captions = re.findall(r'<figcaption class="sr-only"[^>]*>(.*?)</figcaption>', html)
    range_sr = WORDS["en"]["range_sr"].format(
        low=money(api["low"]), high=money(api["high"]), price=money(api["price"])
    )
    waterfall_sr = WORDS["en"]["waterfall_sr"].format(
        base=money(api["explanation"]["baseline"]), price=money(api["price"])
    )
    assert range_sr in captions and waterfall_sr in captions
    assert re.search(r'<svg class="range-bar"[^>]*aria-hidden="true"', html)
    assert re.search(r'<svg class="waterfall"[^>]*aria-hidden="true"', html)


def test_known_warnings_are_translated_and_unknown_ones_kept() -> None:
    produced = [
        *build_warnings(
            {
                "n_comps": 3,
                "has_location": False,
                "nearest_m": 9000.0,
                "mean_similarity": 0.01,
                "dispersion": 0.9,
            },  # fmt: skip
            imputed=["year_built"],
        ),
        *build_warnings({"n_comps": 0}),
        unseen_city_warning("Lisboa"),
        "area_m2 2500 is outside the range seen in training (30.06 to 250)",
        "the valuation date is 36 months after the data ends (2023-12): prices were carried "
        "forward by the price index's trend",
        "out of distribution: the range was widened and the confidence lowered",
        "city 'Lisboa' was not seen in training: valued by the global model and the global "
        "price index",
        "the model for Roma could not be loaded; this valuation comes from the global model",
        "latitude and longitude were swapped; swapped back",
        "floor 120 is implausible; ignored",
        "300 m² for 1 rooms is 300 m² per room, more than the usual 250: check the area and "
        "rooms; the range is widened",
    ]
    assert len(produced) >= 12
    for lang in ("it", "es"):
        for warning in produced:
            said = note(warning, lang)
            assert said != warning, (lang, warning)
            assert said in {t.format(**_groups(t)) for t in NOTES[lang].values()} or "{" not in said
    assert note("feature 'year_built' was imputed", "it").startswith("Anno di costruzione")
    assert note("something new", "es") == "something new"  # unknown: the API's text
    assert set(NOTES) == set(LANGUAGES) and all(set(n) == set(PATTERNS) for n in NOTES.values())


def _groups(template: str) -> dict[str, str]:
    return {name: "" for name in re.findall(r"{(\w+)}", template)}


def test_out_of_distribution_warnings_on_an_italian_page(client) -> None:
    form = {"city": "Valencia", "area_m2": "2500", "rooms": "40", "year_built": "1600"}
    html = _answer_html(client, form, "it")
    items = re.findall(r"<li>(.*?)</li>", re.search(r'<ul id="warnings">(.*?)</ul>', html).group(1))
    assert NOTES["it"]["out_of_distribution"] in items
    assert not any("out of distribution" in item or "outside the range" in item for item in items)
