"""The blend sentence states the learned reason for the weight; the most similar comparable
is never left out while a less similar one is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.explain.labels import Labeler
from estimo.explain.text import blend_sentence
from estimo.model.blend import BLEND_REASONS, QUALITY_FEATURES, BlendWeights
from estimo.model.comps_stats import trimmed_mean
from estimo.model.valuation_result import Comparable, Valuation


def _quality(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "n_comps": rng.integers(3, 9, n),
            "median_distance_m": rng.uniform(100, 4000, n),
            "dispersion": rng.uniform(0, 0.2, n),
            "mean_similarity": rng.uniform(0.05, 0.9, n),
        }
    )


@pytest.fixture(scope="module")
def similarity_blend() -> tuple[BlendWeights, pd.DataFrame]:
    """A blend where the comparables are only right when they are similar."""
    quality = _quality(1_500, 0)
    rng = np.random.default_rng(1)
    truth = rng.normal(12, 0.5, len(quality))
    model_log = truth + rng.normal(0, 0.10, len(quality))
    noise = 0.01 + 0.4 * (1 - quality["mean_similarity"].to_numpy()) ** 3
    comps_log = truth + rng.normal(0, 1, len(quality)) * noise
    return BlendWeights().fit(quality, model_log, comps_log, truth), quality


def test_reasons_name_the_signal_that_moved_the_weight(similarity_blend) -> None:
    blend, _ = similarity_blend
    rows = pd.DataFrame(
        {
            "n_comps": [6, 6, 2],
            "median_distance_m": [1500.0] * 3,
            "dispersion": [0.1] * 3,
            "mean_similarity": [0.9, 0.06, 0.9],
        }
    )
    reasons = blend.reasons(rows, [12.0, 12.0, 12.0])
    assert reasons == ["similarity_up", "similarity_down", "few"]
    assert set(reasons) <= set(BLEND_REASONS)
    weights = blend.weight(rows, [12.0] * 3)
    assert weights[0] > weights[1] and weights[2] == 0


def test_a_blend_whose_slopes_are_zero_says_its_weight_is_the_same_for_everyone() -> None:
    quality = _quality(400, 2)
    rng = np.random.default_rng(3)
    truth = rng.normal(12, 0.5, 400)
    # the comparables are as good as the model whatever their quality
    blend = BlendWeights().fit(
        quality, truth + rng.normal(0, 0.1, 400), truth + rng.normal(0, 0.1, 400), truth
    )
    blend.coef_ = np.zeros(len(QUALITY_FEATURES))
    assert set(blend.reasons(quality, np.full(400, 12.0))) == {"fixed"}


def _valuation(similarity: float, reason: str | None, weight: float) -> Valuation:
    comps = [
        Comparable(
            id=str(i),
            price=300_000.0,
            date=pd.Timestamp("2024-01-01"),
            adjusted_price=310_000.0,
            similarity=similarity,
        )
        for i in range(5)
    ]
    return Valuation(
        price=305_000.0,
        low=280_000.0,
        high=330_000.0,
        fsd=0.1,
        valuation_date=pd.Timestamp("2024-03-01"),
        model_price=300_000.0,
        comps_price=310_000.0,
        blend_weight=weight,
        blend_reason=reason,
        comparables=comps,
    )


@pytest.mark.parametrize("lang", ["en", "it", "es"])
def test_blend_sentence_gives_the_learned_reason_in_every_language(lang) -> None:
    locale = Labeler(lang).locale
    for reason in BLEND_REASONS:
        if reason == "none":
            continue
        sentence = blend_sentence(_valuation(0.6, reason, 0.4), locale)
        assert "{" not in sentence and len(sentence) > 40
    en = Labeler("en").locale
    assert "the same for every home" in blend_sentence(_valuation(0.6, "fixed", 0.01), en)
    tested = blend_sentence(_valuation(0.6, "fixed", 0.001), en)
    assert "model alone was more accurate" in tested and "not similar enough" not in tested


def test_quite_similar_comparables_are_never_called_not_very_similar() -> None:
    en = Labeler("en").locale
    # 0.25 is "quite similar" for each comparable: the fallback must not call them dissimilar
    for reason in (None, "similarity_down", "fixed"):
        sentence = blend_sentence(_valuation(0.25, reason, 0.2), en)
        assert "not very similar" not in sentence


def test_the_most_similar_comparable_is_never_left_out() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0, 0.05, (500, 8))
    weights = rng.uniform(0.05, 1, (500, 8))
    best = np.argmax(weights, axis=1)
    values[np.arange(500), best] += rng.choice([-1, 1], 500) * 0.5  # an outlier
    _, _, keep = trimmed_mean(values, weights, trim=2.5)
    assert keep[np.arange(500), best].all()
    assert keep.sum(axis=1).min() >= 2
