"""Fair model comparison: same rows, paired bootstrap, verdict, ablation, CI coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError
from estimo.evaluate.compare import (
    compare_models,
    model_features,
    paired_bootstrap,
)
from estimo.evaluate.metrics import compute_metrics
from estimo.model.valuation import ValuationModel
from estimo.split import out_of_time_split
from estimo.synth import generate_market

SMALL = {"n_estimators": 50, "learning_rate": 0.15, "num_leaves": 15, "n_jobs": 1}


class Fixed:
    """A stand-in model: the true price times a fixed per-row error (no fitting)."""

    def __init__(self, errors: dict, cities=None, trained_until=None):
        self.errors = errors
        if cities is not None:
            self.cities_ = cities
        if trained_until is not None:
            self.trained_until_ = pd.Timestamp(trained_until)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["price"].to_numpy(float) * frame["id"].map(self.errors).to_numpy(float)


def rows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"P{i}" for i in range(n)],
            "city": np.where(np.arange(n) % 2 == 0, "Roma", "Milano"),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"),
            "price": rng.uniform(1e5, 5e5, n),
        }
    )


def errors(frame: pd.DataFrame, sd: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return dict(zip(frame["id"], np.exp(rng.normal(0, sd, len(frame))), strict=True))


@pytest.mark.parametrize("metric", ["mdape", "pe10", "pe20", "cod", "median_ratio", "mape"])
def test_bootstrap_point_estimates_match_compute_metrics(metric):
    frame = rows()
    pred = frame["price"] * np.exp(np.random.default_rng(1).normal(0, 0.1, len(frame)))
    est, reps = paired_bootstrap(frame["price"].to_numpy(), [pred.to_numpy()], [metric], n_boot=20)
    assert est[metric][0] == pytest.approx(compute_metrics(frame["price"], pred)[metric])
    assert reps[metric].shape == (20, 1)


def test_identical_models_differ_by_exactly_zero():
    frame = rows()
    model = Fixed(errors(frame, 0.1, 1))
    result = compare_models(model, model, frame, n_boot=200)
    for d in result.overall.values():
        assert d.diff == 0 and d.low == 0 and d.high == 0
    assert result.winner is None and result.verdict.startswith("no clear difference")
    assert result.verdict.endswith("P(B better) = 0.50")  # a tie, not a loss


@pytest.mark.parametrize(
    ("sd_a", "sd_b", "winner"), [(0.25, 0.05, "B"), (0.05, 0.25, "A"), (0.1, 0.1, None)]
)
def test_verdict_names_the_better_model(sd_a, sd_b, winner):
    frame = rows(600)
    same_seed = sd_a == sd_b
    a = Fixed(errors(frame, sd_a, 1))
    b = Fixed(errors(frame, sd_b, 1 if same_seed else 2))
    result = compare_models(a, b, frame, n_boot=300)
    assert result.winner == winner
    if winner == "B":
        assert result.overall["pe10"].diff > 0 and result.overall["mdape"].diff < 0
        assert result.verdict.startswith("B is better: PE10 +")
        assert result.overall["pe10"].p_b_better > 0.95


def test_paired_interval_is_narrower_than_separate_intervals():
    frame = rows(500)
    shared = errors(frame, 0.15, 1)
    a = Fixed(shared)
    b = Fixed({k: v * 1.02 for k, v in shared.items()})
    d = compare_models(a, b, frame, n_boot=300).overall["mdape"]
    _, reps = paired_bootstrap(
        frame["price"].to_numpy(),
        [a.predict(frame), b.predict(frame)],
        ["mdape"],
        n_boot=300,
        seed=99,
    )
    separate = np.quantile(reps["mdape"][:, 1], 0.975) - np.quantile(reps["mdape"][:, 0], 0.025)
    assert d.high - d.low < separate


def test_rows_after_both_training_windows_and_the_intersection():
    frame = rows(400)
    a = Fixed(errors(frame, 0.1, 1), cities=("Roma",), trained_until="2024-01-10")
    b = Fixed(errors(frame, 0.1, 2), cities=("Roma", "Milano"), trained_until="2024-01-20")
    result = compare_models(a, b, frame, n_boot=100, min_group_size=5)
    scored = result.rows
    assert (scored["date"] > pd.Timestamp("2024-01-20")).all()
    assert set(scored["city"]) == {"Roma"}
    assert result.scoring["n_unvalued_a"] > 0 and result.scoring["n_unvalued_b"] == 0
    assert "windows differ" in result.scoring["rule"]


def test_training_ids_are_kept_out_and_one_row_per_property():
    frame = rows(300)
    doubled = pd.concat([frame, frame.assign(date=frame["date"] + pd.Timedelta(days=90))])
    model = Fixed(errors(frame, 0.1, 1))
    train = frame.iloc[:100]
    result = compare_models(model, model, doubled, n_boot=50, train=train, ablation=False)
    assert result.n == 200 and result.rows["id"].is_unique
    assert not set(result.rows["id"]) & set(train["id"])


def test_valuation_date_brings_actual_prices_to_that_date():
    class Index:
        def factor(self, city, from_date, to_date):
            return np.full(len(city), 1.10)

    frame = rows(200)
    model = Fixed(errors(frame, 0.0, 1))
    result = compare_models(
        model, model, frame, valuation_date="2024-06-01", price_index=Index(), n_boot=50
    )
    assert np.allclose(result.rows["actual"], result.rows["price"] * 1.10)
    assert result.scoring["valuation_date"] == "2024-06-01"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "2030-01-01"}, "no labelled rows"),
        ({"primary": "prd"}, "primary"),
        ({"level": 1.5}, "level"),
        ({"ablation": True}, "training frame"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    frame = rows(100)
    model = Fixed(errors(frame, 0.1, 1))
    with pytest.raises(DataError, match=message):
        compare_models(model, model, frame, n_boot=50, **kwargs)


@pytest.fixture(scope="module")
def market_split():
    market = generate_market(5_000, seed=21, faults=False)
    return out_of_time_split(market.frame, "2023-07-01")


def test_ablation_separates_method_from_features(market_split, tmp_path):
    train = market_split.train.loc[market_split.train["date"] >= "2022-10-01"]
    train_a = train.drop(columns=["year_built", "condition"])
    a = ValuationModel(**SMALL).fit(train_a)
    b = ValuationModel(**SMALL).fit(train)
    assert set(model_features(b)) - set(model_features(a)) == {"year_built", "condition"}
    result = compare_models(a, b, market_split.test, n_boot=200, train=(train_a, train))
    ablation = result.ablation
    assert ablation is not None and "year_built" not in ablation["shared_features"]
    method, feats = ablation["method"]["pe10"], ablation["features"]["pe10"]
    # same method on the same features: the gap is (nearly) all features
    assert abs(method["diff"]) < 0.02 and feats["diff"] > 0.02
    assert "On shared features only" in result.verdict
    paths = result.write(tmp_path)
    markdown = paths["markdown"].read_text()
    assert "Ablation" in markdown and "| PE10 |" in markdown


def test_feature_difference_without_training_frames_is_noted(market_split):
    train = market_split.train.loc[market_split.train["date"] >= "2023-01-01"]
    a = ValuationModel(**SMALL).fit(train.drop(columns=["year_built"]))
    b = ValuationModel(**SMALL).fit(train)
    result = compare_models(a, b, market_split.test, n_boot=100)
    assert result.ablation is None and "ablation" in result.features["note"]


# ----------------------------------------------------------------- coverage (issue 6 "done when")


def _scenario_models(split, kind):
    train = split.train
    if kind == "window":
        train_a = train.loc[(train["date"] >= "2022-07-01") & (train["date"] < "2023-01-01")]
        train_b = train.loc[train["date"] >= "2023-01-01"]
    else:
        train_b = train.loc[train["date"] >= "2022-10-01"]
        train_a = train_b.drop(columns=["year_built"])
    return ValuationModel(**SMALL).fit(train_a), ValuationModel(**SMALL).fit(train_b)


def test_confidence_intervals_cover_the_true_difference_in_repeated_runs():
    """CI on a small test sample vs the difference on a large fresh sample of the same market.

    Two scenarios (training windows differ; one feature differs), four seeds each, three
    metrics: 24 intervals at 95 %. The truth sample is about ten times the test sample, so
    its own noise lowers the expected coverage to about 93 %; we require at least 19 of 24
    (P(fewer) < 1 % at 93 %) and the primary metric (PE10) in at least 3 of 4 seeds.
    """
    covered: dict[tuple[str, str], list[bool]] = {}
    for seed in range(4):
        split = out_of_time_split(
            generate_market(12_000, seed=seed, faults=False).frame, "2023-07-01"
        )
        pool = split.test.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        sample, rest = pool.iloc[:300], pool.iloc[300:]
        assert len(rest) > 2_500
        for kind in ("window", "feature"):
            a, b = _scenario_models(split, kind)
            result = compare_models(a, b, sample, n_boot=400, seed=seed, ablation=False)
            truth_a = compute_metrics(rest["price"], a.predict(rest))
            truth_b = compute_metrics(rest["price"], b.predict(rest))
            for metric, d in result.overall.items():
                truth = truth_b[metric] - truth_a[metric]
                covered.setdefault((kind, metric), []).append(d.low <= truth <= d.high)
    hits = sum(sum(v) for v in covered.values())
    assert hits >= 19, covered
    assert sum(covered[("window", "pe10")]) >= 3 and sum(covered[("feature", "pe10")]) >= 3
