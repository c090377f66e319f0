"""The valuation page's form over HTTP: where (neighbourhood select, pin map), the language
switch keeping what was typed, and the API's cross-field rules next to their field."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from _serve_helpers import ready_client
from test_page import FORM, _settings, _text

from estimo.serve.main import create_app
from estimo.serve.page.maps import pin_map
from estimo.serve.page.places import POINTS_PER_CITY, Places
from estimo.serve.page.words import CONTRACT, WORDS, contract_message


@pytest.fixture()
def client(bundles: Path):
    yield from ready_client(create_app(_settings(bundles)))


def test_the_neighbourhood_is_a_select_of_the_city_s_known_ones(client) -> None:
    html = unescape(client.get("/?lang=en").text)
    select = re.search(r'<select id="f-neighbourhood".*?</select>', html, re.S).group(0)
    groups = dict(re.findall(r'<optgroup label="([^"]+)" data-city="\1">(.*?)</optgroup>', select))
    assert {"Milano", "Roma", "Madrid"} <= set(groups)
    assert "<option>Milano-03</option>" in groups["Milano"]
    assert "Roma-" not in groups["Milano"]
    assert 'name="neighbourhood__unknown"' in html  # "I don't know" stays
    chosen = client.post("/", data={**FORM, "rooms": "x"}).text  # the form again: kept
    assert "<option selected>Milano-03</option>" in chosen


def test_the_pin_map_of_each_city_is_small_and_coarse(client) -> None:
    html = client.get("/?lang=en").text
    maps = re.findall(r'<svg class="pin-map"[^>]*>.*?</svg>', html, re.S)
    cities = re.findall(r'<svg class="pin-map"[^>]*data-city="([^"]+)"', html)
    assert len(maps) == len(cities) >= 3 and "Milano" in cities
    assert f'<p id="pin-hint">{WORDS["en"]["pin_hint"]}</p>' in unescape(html)
    assert re.search(r'<div class="pin-maps" id="pin-maps" hidden>', html)  # shown by script
    for svg in maps:
        assert 'aria-hidden="true"' in svg and "<image" not in svg  # no tiles
        dots = re.findall(r"M(\d+) (\d+)h0", svg)
        assert 2 <= len(dots) <= POINTS_PER_CITY
        for corner in re.findall(r'data-(?:west|east|south|north)="([-\d.]+)"', svg):
            assert len(corner.split(".")[1]) <= 4
    assert sum(len(m) for m in maps) < 40_000
    # lat/lon inputs remain: the map only fills them in
    assert 'id="f-lat"' in html and 'id="f-lon"' in html


def test_places_are_sampled_and_rounded() -> None:
    import pandas as pd

    reference = pd.DataFrame(
        {
            "id": [f"P{i}" for i in range(1000)],
            "city": ["Roma"] * 1000,
            "lat": [41.8 + i * 0.000137 for i in range(1000)],
            "lon": [12.4 + i * 0.000211 for i in range(1000)],
        }
    )
    places = Places.from_reference(reference)
    points = places.cities["Roma"]
    assert len(points) <= POINTS_PER_CITY
    assert all(round(v, 3) == v for point in points for v in point)
    assert places.by_id["P10"] == (reference["lat"][10], reference["lon"][10])
    assert pin_map("Roma", [(41.9, 12.5)]) is None  # one point: no map


def test_the_language_links_keep_what_was_typed(client) -> None:
    query = "city=Milano&area_m2=85&rooms__unknown=1&neighbourhood=Milano-03"
    html = unescape(client.get(f"/?lang=it&{query}&junk=1").text)
    assert 'value="85"' in html
    assert '<option value="Milano" selected>' in html
    assert "<option selected>Milano-03</option>" in html
    assert re.search(r'name="rooms__unknown" value="1" checked', html)
    links = dict(re.findall(r'<a href="\?lang=(\w\w)([^"]*)" hreflang', html))
    assert set(links) == {"en", "it", "es"}
    for rest in links.values():
        assert "city=Milano" in rest and "area_m2=85" in rest and "rooms__unknown=1" in rest
        assert "junk" not in rest


def test_the_answer_page_switches_language_and_keeps_the_answer(client) -> None:
    html = unescape(client.post("/?lang=en", data=FORM).text)
    forms = re.findall(r'<form method="post" action="/\?lang=(\w\w)">(.*?)</form>', html, re.S)
    assert {code for code, _ in forms} == {"it", "es"}  # English is the current one
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', dict(forms)["es"]))
    assert fields == {**FORM, "lang": "es"}
    switched = client.post("/?lang=es", data=fields)
    assert switched.status_code == 200 and '<html lang="es">' in switched.text
    assert 'id="answer"' in switched.text and 'id="price"' in switched.text


@pytest.mark.parametrize("lang", ["en", "it", "es"])
def test_cross_field_rules_next_to_their_field_in_the_page_language(client, lang) -> None:
    response = client.post(f"/?lang={lang}", data={**FORM, "area_m2": "30", "rooms": "8"})
    assert response.status_code == 422
    html = unescape(response.text)
    rooms, per = ("8", "3.8") if lang == "en" else ("8", "3,8")
    expected = CONTRACT[lang]["per_room"].format(min="4", rooms=rooms, per=per)
    assert _text(html, "e-area_m2") == expected
    assert re.search(r'id="f-area_m2"[^>]*aria-invalid="true"', html)
    assert "m² per room (8 rooms" not in html  # not the API's English sentence
    assert 'id="answer"' not in html and 'value="30"' in html
    api = client.post("/v1/valuations", json={**FORM, "area_m2": "30", "rooms": "8"})
    assert api.status_code == 422 and [e["field"] for e in api.json()["errors"]] == ["area_m2"]


def test_floor_above_the_building_s_floors_is_named_on_the_floor(client) -> None:
    response = client.post("/?lang=it", data={**FORM, "floor": "9", "floors_in_building": "6"})
    assert response.status_code == 422
    assert _text(unescape(response.text), "e-floor") == CONTRACT["it"]["floor_over"].format(
        floors="6"
    )


def test_the_browser_checks_the_same_cross_field_rules(client) -> None:
    html = unescape(client.get("/?lang=it").text)
    assert 'data-min-per-room="4.0"' in html
    template = CONTRACT["it"]["per_room"].replace("{min}", "4")
    assert f'data-per-room="{template}"' in html
    assert f'data-floor-over="{CONTRACT["it"]["floor_over"]}"' in html
    script = client.get("/static/page/page.js").text
    assert "setCustomValidity" in script and "minPerRoom" in script


def test_contract_messages_fall_back_to_the_api_text() -> None:
    problem = {"field": "date", "message": "field 'date' is 1900-01-01; expected something"}
    assert contract_message(problem, "it") == problem["message"]
    assert set(CONTRACT) == set(WORDS) and all(
        set(c) == set(CONTRACT["en"]) for c in CONTRACT.values()
    )
