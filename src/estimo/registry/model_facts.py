"""What a manifest says about the model it holds: its kind in words and its input features.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(600, seed=2, faults=False).frame
>>> model = ValuationModel(n_estimators=5, n_jobs=1).fit(frame)
>>> model_kind(model), len(model_features(model)) > 5
('LightGBM valuation model (ValuationModel)', True)
"""

from __future__ import annotations

from typing import Any

__all__ = ["model_features", "model_kind"]


def model_features(model: Any) -> list[str]:
    """The input features of a fitted model (empty when it does not say).

    Reads the valuation model's ``feature_spec_``, the engine's ``stage_.feature_names_``,
    else ``feature_names_`` or ``features_``.
    """
    spec = getattr(model, "feature_spec_", None)
    if spec is not None and hasattr(spec, "names"):
        return [str(n) for n in spec.names]
    stage_names = getattr(getattr(model, "stage_", None), "feature_names_", None)
    if stage_names is not None:
        return [str(n) for n in stage_names]
    names = getattr(model, "feature_names_", None) or getattr(model, "features_", None)
    return [str(n) for n in names] if names is not None else []


def model_kind(model: Any) -> str:
    """One line saying what the model is, e.g. ``"valuation engine (AVM): 3 sub-models
    (global + 2 cities), comparables blend, ranges 80/90 %"``; a saved pipeline is named
    with the engine it wraps."""
    engine = getattr(model, "engine_", None)
    if engine is not None:
        return f"valuation pipeline (cleaning policy + {model_kind(engine)})"
    name = type(model).__name__
    boosters = getattr(getattr(getattr(model, "stage_", None), "model", None), "boosters_", None)
    if boosters is None:
        if hasattr(model, "feature_spec_"):
            return f"LightGBM valuation model ({name})"
        return name
    cities = [str(k) for k in boosters if not str(k).startswith("(")]
    parts = [
        f"{len(boosters)} sub-model{'s' if len(boosters) != 1 else ''} ("
        + " + ".join(
            (["global"] if len(cities) < len(boosters) else [])
            + ([f"{len(cities)} cities"] if cities else [])
        )
        + ")"
    ]
    if getattr(model, "comps", False):
        parts.append("comparables blend")
    levels = getattr(model, "interval_levels", None)
    if levels:
        parts.append("ranges " + "/".join(f"{100 * float(v):.0f}" for v in levels) + " %")
    return f"valuation engine ({name}): " + ", ".join(parts)
