"""The explanation layer on the real engine (AVM): contract, additivity, words."""

from __future__ import annotations

import re
from functools import cache

import pytest

from estimo.explain.explainer import Explainer, additivity_gap, explain_properties
from estimo.synth import generate_market


@cache
def _engine():
    from estimo.model.avm import AVM

    frame = generate_market(2_200, seed=31, faults=False).frame
    train, test = frame.iloc[:2_400], frame.iloc[2_400:2_412]
    avm = AVM(n_estimators=20, min_city_rows=500, comps_k=5, progress=False, n_jobs=1)
    return avm.fit(train), train, test


@pytest.fixture(scope="module")
def engine_explanations():
    avm, train, test = _engine()
    explainer = Explainer("en").fit_reference(avm, train)
    return avm.value(test), explain_properties(avm, test, explainer), avm


def test_engine_contributions_follow_the_contract():
    import numpy as np

    avm, _, test = _engine()
    contributions = avm.log_contributions(test)
    assert {"_base", "_time", "_comparables"} <= set(contributions.columns)
    assert np.allclose(contributions.sum(axis=1), np.log(avm.predict(test)), atol=1e-6)


def test_engine_valuations_add_up_to_the_unit(engine_explanations):
    valuations, explanations, _ = engine_explanations
    for valuation, explanation in zip(valuations, explanations, strict=True):
        assert additivity_gap(explanation) == 0
        assert explanation.price == round(valuation.price)
        comps = sum(r.amount for r in explanation.reasons.reasons if r.key == "comparables")
        assert comps == round(valuation.price) - round(valuation.model_price)
        assert explanation.low == round(valuation.low) and explanation.high == round(valuation.high)


def test_engine_texts_have_no_raw_feature_names(engine_explanations):
    _, explanations, avm = engine_explanations
    names = avm.log_contributions(_engine()[2].head(1)).columns
    technical = [n for n in names if not re.fullmatch(r"[a-z]+", n)]
    pattern = re.compile("|".join(re.escape(n) for n in technical))
    for explanation in explanations:
        for _, paragraphs in explanation.sections():
            for text in paragraphs:
                assert not pattern.search(text), text


def test_estimo_value_on_a_saved_engine(tmp_path):
    import json

    from typer.testing import CliRunner

    from estimo.cli import app
    from estimo.model.bundle import save_model

    avm, _, test = _engine()
    save_model(avm, str(tmp_path / "avm"))
    row = test.iloc[0]
    prop = {k: row[k] for k in ("city", "area_m2", "rooms", "lat", "lon", "year_built")}
    result = CliRunner().invoke(
        app, ["value", "-m", str(tmp_path / "avm"), "--json", "-p", json.dumps(prop)]
    )
    assert result.exit_code == 0, result.output
    (explanation,) = json.loads(result.output)
    assert explanation["low"] <= explanation["price"] <= explanation["high"]
    assert (
        explanation["baseline"] + sum(r["amount"] for r in explanation["reasons"])
        == (explanation["price"])
    )
    assert explanation["text"]["blend"]
