"""Every estimator follows scikit-learn's contract: keyword-only parameters that
``__init__`` only stores, get_params/set_params, clone."""

from __future__ import annotations

import inspect
import json

import pytest
from sklearn.base import clone

from estimo.config import QualityConfig
from estimo.features.location import LocationFeatures
from estimo.index import PriceIndex
from estimo.model.avm import AVM
from estimo.model.blend import BlendWeights
from estimo.model.comps import ComparablesFinder
from estimo.model.intervals import ConformalIntervals
from estimo.model.segmented import SegmentedModel
from estimo.model.valuation import ValuationModel
from estimo.params import json_params
from estimo.pipeline import ValuationPipeline
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy

KEYWORD_ONLY = [
    AVM,
    SegmentedModel,
    PriceIndex,
    LocationFeatures,
    ComparablesFinder,
    ConformalIntervals,
    BlendWeights,
    LabelCalibrator,
    ValuationPipeline,
    ValuationModel,
]


@pytest.mark.parametrize("cls", KEYWORD_ONLY, ids=lambda c: c.__name__)
def test_parameters_are_keyword_only_and_only_stored(cls) -> None:
    params = inspect.signature(cls.__init__).parameters
    kinds = {p.kind for name, p in params.items() if name != "self"}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}
    estimator = cls()
    assert set(estimator.get_params(deep=False)) == set(params) - {"self"}
    with pytest.raises(TypeError):
        cls(1)


@pytest.mark.parametrize("cls", [*KEYWORD_ONLY, CleaningPolicy], ids=lambda c: c.__name__)
def test_clone_gives_an_unfitted_equal_copy(cls) -> None:
    estimator = cls()
    copy = clone(estimator)
    assert type(copy) is cls and copy is not estimator
    assert copy.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()


def test_avm_set_params_and_clone_keep_the_settings() -> None:
    avm = AVM(n_estimators=50).set_params(comps_k=4, interval_levels=(0.7, 0.95))
    copy = clone(avm)
    assert (copy.n_estimators, copy.comps_k, copy.interval_levels) == (50, 4, (0.7, 0.95))
    with pytest.raises(ValueError, match="nope"):
        avm.set_params(nope=1)


def test_deep_params_reach_the_pipeline_engine() -> None:
    pipeline = ValuationPipeline(engine=AVM(n_estimators=10), quality=QualityConfig())
    deep = pipeline.get_params(deep=True)
    assert deep["engine__n_estimators"] == 10
    pipeline.set_params(engine__n_estimators=20)
    assert pipeline.engine.n_estimators == 20
    assert clone(pipeline).engine.n_estimators == 20


@pytest.mark.parametrize("cls", [AVM, SegmentedModel, ComparablesFinder, ConformalIntervals])
def test_json_params_round_trip(cls) -> None:
    params = json_params(cls())
    again = cls(**json.loads(json.dumps(params)))
    assert json_params(again) == params


def test_json_params_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="'engine'"):
        json_params(ValuationPipeline(engine=AVM()))


def test_fit_x_y_takes_y_as_the_prices_not_as_weights() -> None:
    """`AVM().fit(X, y)` (what scikit-learn's tools call) trained with the prices as sample
    weights (predictions up to 11 % away); the pipeline's fit refused y."""
    import numpy as np
    import pytest as _pytest

    from estimo.errors import DataError
    from estimo.model.avm import AVM
    from estimo.pipeline import ValuationPipeline
    from estimo.synth import generate_market

    frame = generate_market(1_500, seed=6, faults=False).frame
    params = {"n_estimators": 20, "min_city_rows": 300, "comps_k": 5, "n_jobs": 1}
    X, y = frame.drop(columns=["price"]), frame["price"]
    by_y = AVM(**params).fit(X, y).predict(X)
    by_frame = AVM(**params).fit(frame).predict(X)
    np.testing.assert_allclose(by_y, by_frame)
    piped = ValuationPipeline(engine=AVM(**params)).fit(X, y).predict(X.head(20))
    assert np.isfinite(piped).all()
    with _pytest.raises(DataError, match=f"y holds 3 prices for {len(X)} rows"):
        AVM(**params).fit(X, y.head(3))
