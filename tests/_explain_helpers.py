"""A small fitted model and its explainer, shared by the explanation tests (built once)."""

from __future__ import annotations

from functools import cache

import pandas as pd

from estimo.explain.explainer import Explainer
from estimo.model.valuation import ValuationModel
from estimo.synth import generate_market


@cache
def fitted_model() -> tuple[ValuationModel, pd.DataFrame, pd.DataFrame]:
    """(model, training rows, held-out rows) on a clean synthetic market; few small trees."""
    frame = generate_market(2_500, seed=21, faults=False).frame
    train, test = frame.iloc[:2_300], frame.iloc[2_300:].reset_index(drop=True)
    model = ValuationModel(n_estimators=80, learning_rate=0.1, num_leaves=15, n_jobs=1).fit(train)
    return model, train, test


@cache
def fitted_explainer(language: str = "en") -> Explainer:
    """An explainer with reference groups learned from the training rows."""
    model, train, _ = fitted_model()
    return Explainer(language).fit_reference(model, train)
