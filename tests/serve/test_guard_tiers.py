"""Public answers: relative rounding, the keyed shift, coarse reasons that still add up."""

from __future__ import annotations

import re

import pytest

from estimo.serve.guard.tiers import PublicShaping, nice_step, shape_answer


def _answer(price: float = 412_345.0) -> dict:
    reasons = [
        {"key": "location", "label": "Location", "amount": 238_420.0},
        {"key": "size", "label": "Size (80 m²)", "amount": -19_504.0},
        {"key": "age_condition", "label": "Age", "amount": 17_460.0},
        {"key": "floor", "label": "Floor", "amount": -4_644.0},
        {"key": "other", "label": "Other factors", "amount": 47.0},
    ]
    baseline = price - sum(r["amount"] for r in reasons)
    for r in reasons:
        r["text"] = f"{r['label']}: {r['amount']:+,.0f} €"
    return {
        "price": price,
        "low": price * 0.85,
        "high": price * 1.16,
        "confidence": "medium",
        "currency": "EUR",
        "warnings": [],
        "comparables": [{"price": 426_512.0, "date": "2023-12-13", "distance_m": 202.2}],
        "explanation": {
            "language": "en",
            "currency": "EUR",
            "baseline": baseline,
            "reference": "a typical home in Milano",
            "reasons": reasons,
            "text": {"total": f"Our valuation: €{price:,.0f}."},
        },
    }


HOME = {"city": "Milano", "area_m2": 80.0, "rooms": 3}


@pytest.mark.parametrize(
    ("price", "step"),
    [(412_345, 5000), (95_000, 1000), (1_480, 20), (2_600_000, 50_000), (10, 1)],
)
def test_the_rounding_step_is_a_nice_share_of_the_price(price: float, step: float) -> None:
    assert nice_step(price, 0.02) == step
    public = shape_answer(_answer(price), "public", PublicShaping())
    assert public["price"] % step == 0
    assert abs(public["price"] / price - 1) <= 0.01  # at most half a 2 % step


def test_the_shift_is_keyed_per_cell_and_cannot_be_averaged_out() -> None:
    shaping = PublicShaping(shift=0.08, secret=b"s1")
    factor = shaping.factor(HOME)
    assert factor in (pytest.approx(0.92), pytest.approx(1.08))
    # the same cell (city, size band 64-128 m²): the same shift, whatever else changes
    for other in ({**HOME, "area_m2": 100.0}, {**HOME, "rooms": 4}, {**HOME, "city": " milano"}):
        assert shaping.factor(other) == factor
    # many cells: both signs, about half each
    cells = [{"city": f"c{i}", "area_m2": 80.0} for i in range(400)]
    ups = sum(shaping.factor(c) > 1 for c in cells)
    assert 150 < ups < 250
    # another secret, other signs; no shift without a record or with shift 0
    flips = sum(
        PublicShaping(shift=0.08, secret=b"s2").factor(c) != shaping.factor(c) for c in cells
    )
    assert 150 < flips < 250
    assert shaping.factor(None) == 1.0 and PublicShaping().factor(HOME) == 1.0


def test_a_shifted_answer_moves_together_and_its_range_holds_the_full_price() -> None:
    full = _answer()
    shaping = PublicShaping(shift=0.08, secret=b"s1")
    public = shape_answer(full, "public", shaping, HOME)
    f = shaping.factor(HOME)
    assert public["price"] == pytest.approx(round(full["price"] * f / 5000) * 5000)
    assert public["low"] <= full["low"] * f and public["high"] >= full["high"] * f
    assert public["low"] <= full["price"] <= public["high"]
    assert shape_answer(full, "public", shaping, HOME) == public  # deterministic


def test_public_reasons_are_coarse_and_add_up_to_the_public_price() -> None:
    full = _answer()
    public = shape_answer(full, "public", PublicShaping(n_reasons=2), HOME)
    reasons = public["explanation"]["reasons"]
    assert [r["key"] for r in reasons] == ["location", "size", "other"]
    assert all(r["amount"] % 5000 == 0 for r in reasons[:2])
    total = public["explanation"]["baseline"] + sum(r["amount"] for r in reasons)
    assert total == pytest.approx(public["price"])
    assert public["reasons"] == [r["text"] for r in reasons]
    assert public["reasons"][0] == "Location: +€240,000"
    assert "text" not in public["explanation"]  # the full sentences quote exact figures
    exact = {f"{abs(r['amount']):,.0f}" for r in full["explanation"]["reasons"]}
    shown = " ".join(public["reasons"])
    assert not exact & set(re.findall(r"[\d,]+\d", shown))
    assert public["comparables"] == [{"price": 425_000.0, "month": "2023-12", "distance_m": 300.0}]


def test_partner_and_internal_answers() -> None:
    full = _answer()
    assert shape_answer(full, "internal") is full
    shown = shape_answer(full, "partner")["explanation"]
    assert {k: v for k, v in shown.items() if k != "text"} == {
        k: v for k, v in full["explanation"].items() if k != "text"
    }
    assert shown["text"]["total"] == full["explanation"]["text"]["total"]
    inner = _answer()
    inner["explanation"]["reasons"][0].update(features=["loc_knn", "lat"], log_effect=0.4)
    partner = shape_answer(inner, "partner")["explanation"]["reasons"][0]
    assert set(partner) == {"key", "label", "amount", "text"}  # no model feature names
    assert "features" in inner["explanation"]["reasons"][0]  # the full answer is not changed
    with pytest.raises(ValueError, match="tier 'vip' is unknown"):
        shape_answer(full, "vip")


def test_a_partner_answer_quotes_no_internal_in_its_sentences() -> None:
    """The partner's fields drop the model and comparables prices, the blend weight and
    each comparable's adjustments; its sentences once quoted them all to the euro."""
    full = _answer()
    full.update(model_price=362_130.0, comps_price=450_840.0, blend_weight=0.055)
    full["blend_reason"] = "comparables weighed by their similarity"
    full["comparables"][0].update(adjusted_price=482_864.0, adjustments={"time": 14_620.0})
    full["explanation"]["text"].update(
        blend="Our model says €362,130. 8 similar homes nearby point to €450,840 ... 5% ...",
        comparables_intro="8 similar homes nearby point to €450,840.",
        comparables=["... it points to €482,864: prices here have risen 3% (+€14,620)."],
    )
    partner = shape_answer(full, "partner")
    text = str(partner)
    for figure in ("362,130", "450,840", "482,864", "14,620", "5%", "similarity"):
        assert figure not in text, figure
    assert "model_price" not in partner and "blend_reason" not in partner
    assert "adjusted_price" not in partner["comparables"][0]
    assert partner["explanation"]["text"]["blend"].startswith("We combined our model's price")
    assert partner["comparables"][0]["price"] == 426_512.0  # the comparables themselves stay


@pytest.mark.parametrize(
    ("lat", "lon", "bearing"),
    [
        (45.4791, 9.19, 0.0),
        (45.4752, 9.1957, 45.0),
        (45.47, 9.2003, 90.0),
        (45.4609, 9.1799, 225.0),
    ],
)
def test_public_comparables_have_a_coarse_bearing_and_no_coordinates(
    lat: float, lon: float, bearing: float
) -> None:
    full = _answer()
    comp = {"id": "P000123", "price": 426_512.0, "date": "2023-12-13", "distance_m": 1_013.4}
    full["comparables"] = [{**comp, "lat": lat, "lon": lon, "address": "Via Roma 1"}]
    home = {**HOME, "lat": 45.47, "lon": 9.19}
    public = shape_answer(full, "public", PublicShaping(), home)
    (shown,) = public["comparables"]
    assert shown == {
        "price": 425_000.0,
        "month": "2023-12",
        "distance_m": 1100.0,
        "bearing_deg": bearing,
    }
    text = repr(public)
    assert "P000123" not in text and "Via Roma" not in text
    assert f"{lat}" not in text and f"{lon}" not in text
    # no bearing without the home's coordinates (nothing to measure it from)
    assert (
        "bearing_deg" not in shape_answer(full, "public", PublicShaping(), HOME)["comparables"][0]
    )


@pytest.mark.parametrize(
    ("weight", "comps", "words"),
    [
        (0.09, True, "the model weighed most and the similar homes a little"),
        (0.5, True, "the model weighed about half and the similar homes about half"),
        (0.7, True, "the model weighed about a third and the similar homes about two thirds"),
        (0.001, True, "they did not change it"),
        (0.0, False, "we found no similar homes"),
    ],
)
def test_the_public_blend_is_one_sentence_of_words(weight: float, comps: bool, words: str) -> None:
    full = _answer()
    full.update(
        blend_weight=weight, model_price=400_000.0, comps_price=430_000.0 if comps else None
    )
    if not comps:
        full["comparables"] = []
    blend = shape_answer(full, "public", PublicShaping(), HOME)["explanation"]["blend"]
    assert words in blend and re.search(r"\d|€|%", blend) is None
    full["explanation"]["language"] = "it"
    italian = shape_answer(full, "public", PublicShaping(), HOME)["explanation"]["blend"]
    assert italian != blend and re.search(r"\d|€|%", italian) is None
