"""The learned per-field fact models: features, scoring, training, thresholds, shipped file."""

from __future__ import annotations

import numpy as np
import pytest

from estimo.text import extract
from estimo.text.facts import Extraction, Fact
from estimo.text.rescore import Rescorer, fact_features, load_rescorer
from estimo.text.training import Examples, choose_threshold, train


def test_features_read_the_rule_value_span_and_context() -> None:
    text = "Splendido trilocale di circa 85 mq con terrazzo"
    fact = Fact("area_m2", 85.0, 0.9, 29, 34, "85 mq", "area.whole")
    feats = fact_features(fact, text, ("area_m2", "rooms", "has_terrace"))
    assert {
        "rule=area.whole",
        "l1:circa",
        "r1:con",
        "s:mq",
        "s:#",
        "at=<80",
        "also:rooms",
        "also:has_terrace",
    } <= set(feats)
    assert "also:area_m2" not in feats
    assert feats == sorted(set(feats))


def test_confidence_is_the_logistic_of_the_weights() -> None:
    fact = Fact("floor", 2.0, 0.9, 0, 13, "secondo piano", "floor.ordinal")
    model = Rescorer(
        {"it": {"floor": {"bias": -1.0, "weights": {"rule=floor.ordinal": 3.0}, "threshold": 0.5}}}
    )
    assert model.confidence(fact, "secondo piano", "it", ("floor",)) == pytest.approx(
        1 / (1 + np.exp(-2.0))
    )
    assert model.has("it", "floor") and not model.has("es", "floor")
    with pytest.raises(KeyError):
        model.confidence(fact, "segundo piso", "es", ("floor",))


def test_threshold_is_the_lowest_reaching_the_target() -> None:
    p = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    y = np.array([True, True, True, True, False, False])
    assert choose_threshold(p, y, 0.95, min_n=1) == 0.8
    assert choose_threshold(p, y, 0.8, min_n=1) == 0.7  # 4 of 5 right
    # unreachable: the most precise cut keeping min_n facts
    assert choose_threshold(p, ~y, 0.95, min_n=2) == 0.6


def _synthetic(n: int, seed: int) -> Examples:
    """Area facts: right unless the words before say 'giardino' (a garden's area)."""
    rng = np.random.default_rng(seed)
    feats, label = [], []
    for _ in range(n):
        garden = rng.uniform() < 0.3
        words = ["l:giardino", "l1:di"] if garden else ["l:appartamento", "l1:di"]
        feats.append(["rule=area.whole", *words, f"value={rng.integers(10, 14)}"])
        label.append((not garden) if rng.uniform() < 0.99 else garden)
    n_ = len(label)
    return Examples(
        feats, np.array(label), np.arange(n_), np.array(["area_m2"] * n_), np.ones(n_, bool)
    )


def test_training_learns_the_context_and_reaches_the_target() -> None:
    models = train(_synthetic(600, 0), k=3)
    area = models["area_m2"]
    assert area["weights"]["l:giardino"] < 0 < area["weights"]["l:appartamento"]
    assert area["oof_precision"] >= 0.95
    fresh = _synthetic(400, 1)
    scorer = Rescorer({"it": {"area_m2": area}})
    kept = []
    for feats, y in zip(fresh.features, fresh.label, strict=True):
        z = area["bias"] + sum(area["weights"].get(f, 0.0) for f in feats)
        kept.append((1 / (1 + np.exp(-z)) >= scorer.threshold("it", "area_m2"), y))
    right = [y for keep, y in kept if keep]
    assert len(right) > 200 and np.mean(right) >= 0.95


def test_fields_with_too_few_examples_get_no_model() -> None:
    assert train(_synthetic(30, 0), k=3) == {}


def test_the_shipped_models_load_and_set_the_default_floor() -> None:
    rescorer = load_rescorer()
    for lang in ("it", "es"):
        for field in ("bedrooms", "bathrooms", "floor", "condition"):
            assert 0.0 < rescorer.threshold(lang, field) <= 1.0
    assert not rescorer.has("en", "floor")  # no labelled English: the rules' confidences
    assert not rescorer.has("it", "has_terrace")  # positive-only tag: no negatives to learn
    text = "Trilocale al secondo piano, 85 mq con box auto"
    everything: Extraction = extract(text, lang="it", min_confidence=0.0)
    default = extract(text, lang="it")
    for name, fact in everything.facts.items():
        threshold = rescorer.threshold("it", name)
        floor = 0.75 if threshold is None else threshold
        assert (name in default.facts) == (fact.confidence >= floor), name
    assert extract(text, lang="it", rescore=False).facts["area_m2"].rule == "area.whole"
