"""The valuation page over HTTP (TestClient): the form, the answer, errors, languages."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from _serve_helpers import ready_client

from estimo.explain.locale import get_locale
from estimo.serve.main import create_app
from estimo.serve.page.form import form_fields, parse_form
from estimo.serve.page.words import ERRORS, WORDS
from estimo.serve.settings import LANGUAGES, ServeSettings

EXTRAS = ["has_elevator", "has_terrace", "floors_in_building"]
VISIT = "https://agents.example/visit"
FORM = {
    "city": "Milano",
    "neighbourhood": "Milano-03",
    "lat": "45.47",
    "lon": "9.19",
    "area_m2": "85",
    "rooms": "3",
    "bathrooms": "1",
    "floor": "2",
    "property_type": "flat",
    "condition": "good",
    "year_built": "1965",
    "has_elevator": "yes",
    "has_terrace": "no",
    "floors_in_building": "6",
}


def _settings(bundles: Path, **guard) -> ServeSettings:
    """The page answers at the public tier; the anonymous API too, to compare with it."""
    return ServeSettings(
        model=str(bundles),
        alias_poll_seconds=0,
        extra_fields=EXTRAS,
        page_visit_url=VISIT,
        guard={
            "anonymous_tier": "public",
            "key_limits": {"public": "1000/second"},
            "address_limit": "1000/second",
            **guard,
        },
    )


@pytest.fixture()
def client(bundles: Path):
    yield from ready_client(create_app(_settings(bundles)))


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element #{element_id}"
    return unescape(match.group(1)).strip()


def _api(client, record: dict, lang: str = "en") -> dict:
    response = client.post("/v1/valuations", json=record, headers={"Accept-Language": lang})
    assert response.status_code == 200, response.text
    return response.json()


def test_form_has_the_model_fields_with_labels_in_steps(client) -> None:
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.text
    assert response.headers["content-language"] == "en"
    for name in [*FORM, *EXTRAS]:
        assert f'name="{name}"' in html, name
    for step in ("where", "size", "condition", "amenities"):
        assert f'id="step-{step}"' in html
    assert '<label for="f-area_m2">Living area (m²)' in unescape(html)
    assert '<label for="f-lat">Latitude' in html and '<label for="f-lon">Longitude' in html
    assert 'min="8.0"' in html and 'max="5000.0"' in html  # the API's bounds (policy's)
    assert 'name="area_m2__unknown"' in html and 'name="city__unknown"' not in html
    assert '<option value="Roma"' in html and '<option value="Madrid"' in html
    assert 'data-city="Milano"' in html  # neighbourhood suggestions per city
    assert "description" not in re.findall(r'name="(\w+)"', html)


def test_submit_gives_the_public_api_answer(client) -> None:
    response = client.post("/", data=FORM)
    assert response.status_code == 200, response.text
    html = unescape(response.text)
    api = _api(client, {k: v for k, v in FORM.items()})
    assert "fsd" not in api and "text" not in api["explanation"]  # the public tier's answer
    locale = get_locale("en")
    assert _text(html, "price") == locale.money(api["price"], "EUR")
    assert _text(html, "low") == locale.money(api["low"], "EUR")
    assert _text(html, "high") == locale.money(api["high"], "EUR")
    assert api["price"] % 1000 == 0  # rounded to a 2 % step
    explanation = api["explanation"]
    assert len(explanation["reasons"]) <= 4
    for reason in explanation["reasons"]:
        assert reason["label"] in html
        assert locale.money(reason["amount"], "EUR", signed=True) in html
    assert locale.money(explanation["baseline"], "EUR") in html
    assert f"Compared with {explanation['reference']}." in html
    lines = re.findall(r'<ol id="comparables">(.*?)</ol>', html, re.S)[0]
    items = re.findall(r"<li>(.*?)</li>", lines)
    assert len(items) == len(api["comparables"]) > 0
    for item, comp in zip(items, api["comparables"], strict=True):
        assert locale.money(comp["price"], "EUR") in item and "away" in item
    # the blend in one sentence of words: the public answer's, without the model's figures
    assert _text(html, "blend") == explanation["blend"]
    assert "weighed" in explanation["blend"] or "alone" in explanation["blend"]
    assert re.search(r"\d|€|%", explanation["blend"]) is None
    assert f'href="{VISIT}"' in html
    assert "<svg" in html and "sr-only" in html
    assert re.search(r"P\d{6}", html) is None  # no comparable ids
    # the page's valuation and the API's are both counted
    metrics = client.get("/metrics").text
    assert 'estimo_valuations_total{bundle="global",explained="true"} 2.0' in metrics


def test_the_page_counts_against_the_public_limits(bundles: Path) -> None:
    app = create_app(_settings(bundles, key_limits={"public": "3/minute"}))
    for client in ready_client(app):
        assert [client.post("/", data=FORM).status_code for _ in range(3)] == [200] * 3
        refused = client.post("/?lang=it", data=FORM)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Troppe valutazioni" in unescape(refused.text)
        assert 'value="85"' in refused.text  # the form keeps what was typed
        # the anonymous API of the same address shares the counters
        assert client.post("/v1/valuations", json=FORM).status_code == 429


class _Captcha:
    def verify(self, token: str, client_id: str) -> bool:
        return token == "human" and client_id.startswith("anon:")


def test_the_page_asks_for_a_captcha_when_the_detector_says_so(bundles: Path) -> None:
    widget = '<div class="h-captcha" data-sitekey="k"></div>'
    settings = _settings(
        bundles,
        captcha_widget_html=widget,
        extraction={"min_queries": 10, "actions": {"sweep": "captcha", "prada": "captcha"}},
    )
    for client in ready_client(create_app(settings, captcha=_Captcha())):
        statuses = [
            client.post("/", data={**FORM, "area_m2": str(60 + i)}).status_code for i in range(10)
        ]
        assert statuses[:9] == [200] * 9 and statuses[9] == 403
        asked = client.post("/", data={**FORM, "area_m2": "90"})
        assert asked.status_code == 403 and widget in asked.text
        assert "confirm you are a person" in unescape(asked.text)
        wrong = client.post("/", data={**FORM, "area_m2": "91", "h-captcha-response": "bot"})
        assert wrong.status_code == 403
        solved = client.post("/", data={**FORM, "area_m2": "92", "h-captcha-response": "human"})
        assert solved.status_code == 200 and 'id="answer"' in solved.text
        assert widget not in client.get("/").text


def test_unknowns_are_left_out_like_the_api(client) -> None:
    form = {**FORM, "year_built": "1965", "year_built__unknown": "1", "floor": ""}
    html = client.post("/", data=form).text
    record = {k: v for k, v in FORM.items() if k not in ("year_built", "floor")}
    api = _api(client, record)
    assert _text(html, "price") == get_locale("en").money(api["price"], "EUR")


def test_bad_input_is_named_field_by_field(client) -> None:
    form = {**FORM, "area_m2": "-80", "lat": "123", "floors_in_building": "many"}
    response = client.post("/", data=form)
    assert response.status_code == 422
    html = response.text
    for name in ("area_m2", "lat", "floors_in_building"):
        assert re.search(rf'id="e-{name}"\s*>[^<]+</p>', html), name
        assert f'id="f-{name}"' in html
    assert 'value="-80"' in html  # what was typed stays
    assert 'id="e-rooms" hidden' in html
    api = client.post("/v1/valuations", json={**FORM, "area_m2": "-80", "lat": "123"})
    assert {e["field"] for e in api.json()["errors"]} == {"area_m2", "lat"}


def test_city_is_required(client) -> None:
    response = client.post("/", data={**FORM, "city": ""})
    assert response.status_code == 422
    assert re.search(r'id="e-city"\s*>[^<]+</p>', response.text)


@pytest.mark.parametrize("lang", ["it", "es"])
def test_language_from_header_and_switcher(client, lang: str) -> None:
    by_header = client.get("/", headers={"Accept-Language": f"{lang}-XX,{lang};q=0.9"})
    assert f'<html lang="{lang}">' in by_header.text
    assert WORDS[lang]["submit"] in by_header.text
    switched = client.get(f"/?lang={lang}", headers={"Accept-Language": "en"})
    assert WORDS[lang]["title"] in unescape(switched.text)
    assert f'<option value="yes">{WORDS[lang]["value_yes"]}</option>' in unescape(switched.text)
    answer = client.post(f"/?lang={lang}", data=FORM).text
    api = _api(client, FORM, lang)
    assert _text(answer, "price") == get_locale(lang).money(api["price"], "EUR")
    reference = api["explanation"]["reference"]
    assert WORDS[lang]["compared_with"].format(reference=reference) in unescape(answer)


def test_static_files_and_page_weight(client) -> None:
    html = client.get("/").text
    total = len(html.encode())
    for path in re.findall(r'(?:href|src)="(/static/page/[^"]+)"', html):
        response = client.get(path)
        assert response.status_code == 200, path
        total += len(response.content)
    answer = client.post("/", data=FORM).content
    assert total < 300_000 and len(answer) < 300_000


def test_words_exist_in_every_language() -> None:
    assert set(WORDS) == set(LANGUAGES)
    assert all(set(w) == set(WORDS["en"]) for w in WORDS.values())


def test_parse_form_without_a_model_applies_the_api_rules() -> None:
    fields = form_fields(None, frozenset())
    record, errors = parse_form({"city": "Roma", "area_m2": "70", "rooms": "x"}, fields)
    assert [e["field"] for e in errors] == ["rooms"]
    record, errors = parse_form({"city": "Roma", "area_m2": "70"}, fields)
    assert errors == [] and record == {"city": "Roma", "area_m2": 70.0}
    assert set(ERRORS) == set(LANGUAGES)
    assert all(set(e) == set(ERRORS["en"]) for e in ERRORS.values())


def test_field_errors_in_the_page_language(client) -> None:
    html = unescape(client.post("/?lang=it", data={**FORM, "area_m2": "-80", "lat": "123"}).text)
    assert "Deve essere almeno 8." in html
    assert "Deve essere al massimo 90." in html
    html = unescape(client.post("/?lang=es", data={**FORM, "city": ""}).text)
    assert "Obligatorio: elige uno." in html


def test_form_fields_from_the_saved_pipeline_too() -> None:
    from estimo.model.avm import AVM
    from estimo.pipeline import ValuationPipeline
    from estimo.serve.valuer import PipelineValuer
    from estimo.synth import generate_market

    frame = generate_market(600, seed=3, faults=False).frame
    pipeline = ValuationPipeline(engine=AVM(n_estimators=10, min_city_rows=300, n_jobs=1))
    fields = {f.name: f for f in form_fields(PipelineValuer(pipeline.fit(frame)), frozenset())}
    assert fields["city"].choices == tuple(sorted(frame["city"].astype(str).unique()))
    assert set(fields["condition"].choices) == set(frame["condition"].dropna().astype(str))
    assert "has_elevator" not in fields  # not an accepted extra field
