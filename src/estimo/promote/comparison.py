"""The fair comparison the gate decides on: champion and candidate on the same newest rows.

The rows are the newest labelled data, dated after both models' training windows, one row
per property (its first appearance), restricted to the rows *both* models can value, so
the two models are scored on exactly the same properties. Differences (candidate minus
champion) of MdAPE, PE10 and COD come with paired-bootstrap confidence intervals: each
resample draws the same rows for both models.

The gate uses the evaluation package's ``estimo.evaluate.compare.compare_models`` (the
same comparison as ``estimo compare``) and translates its result into a
:class:`GateComparison`; :func:`paired_comparison` is a built-in fallback with the same
meaning, used when that module is unavailable or ``use_evaluation=False``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rows = pd.DataFrame({"city": ["a"] * 50, "price": np.full(50, 100.0)})
>>> champ = np.linspace(80, 120, 50)
>>> cand = np.linspace(95, 105, 50)
>>> cmp = paired_comparison(rows, champ, cand, n_boot=50)
>>> round(cmp.overall["pe10"]["diff"], 2) > 0
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import EstimoError
from estimo.evaluate.metrics import BOUNDARY_TOLERANCE, compute_metrics
from estimo.evaluate.ratio_trim import TrimRule, with_robust_cod
from estimo.jsonutil import to_jsonable
from estimo.registry.manifest import fingerprint_frame
from estimo.registry.scoring import can_value

log = logging.getLogger(__name__)

__all__ = [
    "GateComparison",
    "GateError",
    "compare_for_gate",
    "paired_comparison",
]

COMPARED_METRICS: tuple[str, ...] = ("mdape", "pe10", "cod")


class GateError(EstimoError):
    """The gate cannot decide (no data to compare on, unknown candidate, bad options)."""


@dataclass
class GateComparison:
    """Champion vs candidate on the same rows.

    Attributes
    ----------
    n_rows : int
        Rows both models valued.
    overall : dict
        Metric name -> ``{"champion", "candidate", "diff", "ci_low", "ci_high"}``;
        ``diff`` is candidate minus champion.
    by_city : list of dict
        Per city: ``city``, ``n``, ``too_small`` and ``<metric>_champion``,
        ``<metric>_candidate``, ``<metric>_diff``, ``<metric>_ci_low``, ``<metric>_ci_high``.
    candidate_metrics : dict
        All metrics of the candidate on these rows (``compute_metrics``), with ``coverage``
        when it has ranges.
    source : str
        ``"estimo.evaluate.compare"`` or ``"built-in paired bootstrap"``.
    """

    n_rows: int
    overall: dict[str, dict[str, float]]
    by_city: list[dict[str, Any]]
    candidate_metrics: dict[str, Any]
    champion_metrics: dict[str, Any]
    confidence: float
    source: str
    rows: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""


def _kernels(A: np.ndarray, P: np.ndarray) -> dict[str, np.ndarray]:
    """MdAPE, PE10 and COD of each row of the resample matrices ``A`` and ``P``."""
    ratio = P / A
    ape = np.abs(ratio - 1.0)
    median_ratio = np.median(ratio, axis=1, keepdims=True)
    return {
        "mdape": np.median(ape, axis=1),
        "pe10": np.mean(ape <= 0.10 + BOUNDARY_TOLERANCE, axis=1),
        "cod": np.mean(np.abs(ratio - median_ratio), axis=1) / median_ratio[:, 0],
    }


def _paired_diffs(
    actual: np.ndarray,
    champion: np.ndarray,
    candidate: np.ndarray,
    *,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, dict[str, float]]:
    point_a = {k: float(v[0]) for k, v in _kernels(actual[None], champion[None]).items()}
    point_b = {k: float(v[0]) for k, v in _kernels(actual[None], candidate[None]).items()}
    idx = rng.integers(0, actual.size, size=(n_boot, actual.size))
    boot_a = _kernels(actual[idx], champion[idx])
    boot_b = _kernels(actual[idx], candidate[idx])
    tail = (1.0 - confidence) / 2.0
    out = {}
    for name in COMPARED_METRICS:
        diffs = boot_b[name] - boot_a[name]
        low, high = np.quantile(diffs, [tail, 1.0 - tail])
        out[name] = {
            "champion": point_a[name],
            "candidate": point_b[name],
            "diff": point_b[name] - point_a[name],
            "ci_low": float(low),
            "ci_high": float(high),
        }
    return out


def paired_comparison(
    rows: pd.DataFrame,
    champion_pred: np.ndarray,
    candidate_pred: np.ndarray,
    *,
    candidate_range: tuple[np.ndarray, np.ndarray] | None = None,
    min_city_rows: int = 30,
    n_boot: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> GateComparison:
    """Paired-bootstrap comparison of two models' valuations of the same rows.

    Parameters
    ----------
    rows : pandas.DataFrame
        The compared rows, with ``price`` and ``city``.
    champion_pred, candidate_pred : array
        Valuations of each model, aligned with ``rows``.
    candidate_range : tuple of arrays, optional
        ``(low, high)`` of the candidate's ranges, for coverage.
    min_city_rows : int
        Cities with fewer rows get ``too_small=True`` and no numbers.
    n_boot, confidence, seed
        Bootstrap settings.
    """
    actual = rows["price"].to_numpy(float)
    champion_pred = np.asarray(champion_pred, float)
    candidate_pred = np.asarray(candidate_pred, float)
    rng = np.random.default_rng(seed)
    overall = _paired_diffs(
        actual, champion_pred, candidate_pred, n_boot=n_boot, confidence=confidence, rng=rng
    )
    by_city = []
    cities = rows["city"].astype(str).to_numpy()
    for city in sorted(set(cities)):
        mask = cities == city
        entry: dict[str, Any] = {"city": city, "n": int(mask.sum())}
        entry["too_small"] = entry["n"] < min_city_rows
        if not entry["too_small"]:
            diffs = _paired_diffs(
                actual[mask],
                champion_pred[mask],
                candidate_pred[mask],
                n_boot=n_boot,
                confidence=confidence,
                rng=rng,
            )
            for name, values in diffs.items():
                entry.update({f"{name}_{key}": value for key, value in values.items()})
        by_city.append(entry)
    extra = {}
    if candidate_range is not None:
        extra = {"low": candidate_range[0], "high": candidate_range[1]}
    return GateComparison(
        n_rows=int(actual.size),
        overall=overall,
        by_city=by_city,
        candidate_metrics=compute_metrics(actual, candidate_pred, **extra),
        champion_metrics=compute_metrics(actual, champion_pred),
        confidence=confidence,
        source="built-in paired bootstrap",
    )


def _valuations(model: Any, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(rows), dtype=float)


def _candidate_range(
    candidate: Any, rows: pd.DataFrame, interval_level: float | None
) -> tuple[np.ndarray, np.ndarray] | None:
    if interval_level is None or not callable(getattr(candidate, "predict_interval", None)):
        return None
    low, high = candidate.predict_interval(rows, interval_level)
    return np.asarray(low, float), np.asarray(high, float)


def _rename_city(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    suffixes = {"_a": "_champion", "_b": "_candidate", "_low": "_ci_low", "_high": "_ci_high"}
    for key, value in record.items():
        for old, new in suffixes.items():
            if key.endswith(old) and key[: -len(old)] in COMPARED_METRICS:
                key = key[: -len(old)] + new
                break
        out[key] = value
    return out


def _from_evaluation(
    compare_models: Any,
    champion: Any,
    candidate: Any,
    rows: pd.DataFrame,
    since: pd.Timestamp,
    *,
    interval_level: float | None,
    min_city_rows: int,
    n_boot: int,
    confidence: float,
    seed: int,
    train: tuple[Any, Any] | None,
    ratio_trim: TrimRule,
) -> tuple[GateComparison, pd.DataFrame]:
    """Run the evaluation package's ``compare_models`` and translate its result."""
    have_train = train is not None and all(t is not None for t in train)
    cmp = compare_models(
        champion,
        candidate,
        rows,
        since=since,
        train=train if have_train else None,
        ablation=False,
        n_boot=n_boot,
        seed=seed,
        level=confidence,
        min_group_size=min_city_rows,
        names=("champion", "candidate"),
        metrics=COMPARED_METRICS,
        primary="pe10",
    )
    overall = {
        name: {
            "champion": d.a,
            "candidate": d.b,
            "diff": d.diff,
            "ci_low": d.low,
            "ci_high": d.high,
            "p_candidate_better": d.p_b_better,
        }
        for name, d in cmp.overall.items()
    }
    by_city = [_rename_city(r) for r in to_jsonable(cmp.by_city)]
    scored = cmp.rows
    keyed = rows.set_index("id", drop=False)
    shared = keyed.loc[scored["id"].to_numpy()].reset_index(drop=True)
    actual = scored["actual"].to_numpy(float)
    predicted = scored["predicted_b"].to_numpy(float)
    ranges = _candidate_range(candidate, shared, interval_level)
    extra = {} if ranges is None else {"low": ranges[0], "high": ranges[1]}
    candidate_metrics = compute_metrics(actual, predicted, **extra)
    result = GateComparison(
        n_rows=int(cmp.n),
        overall=overall,
        by_city=by_city,
        candidate_metrics=with_robust_cod(
            candidate_metrics, actual, predicted, ratio_trim, **extra
        ),
        champion_metrics=compute_metrics(actual, scored["predicted_a"].to_numpy(float)),
        confidence=confidence,
        source="estimo.evaluate.compare.compare_models",
        verdict=cmp.verdict,
    )
    result.rows = {"scoring": to_jsonable(cmp.scoring)}
    return result, shared


def compare_for_gate(
    champion: Any,
    candidate: Any,
    rows: pd.DataFrame,
    *,
    since: pd.Timestamp | None = None,
    interval_level: float | None = 0.8,
    min_city_rows: int = 30,
    n_boot: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
    use_evaluation: bool = True,
    train: tuple[Any, Any] | None = None,
    ratio_trim: TrimRule = "iqr",
) -> GateComparison:
    """Score both models on the rows both can value and compare them (paired).

    Parameters
    ----------
    champion, candidate : object
        Models with ``predict(frame)``; the candidate's ``predict_interval(frame, level)``
        is used for coverage when present.
    rows : pandas.DataFrame
        The rows to compare on (see :func:`estimo.promote.gate.gate_rows`: the evaluation
        protocol's rows for the pair).
    since : Timestamp, optional
        First date of ``rows`` (after both training windows).
    use_evaluation : bool, default True
        Use ``estimo.evaluate.compare.compare_models`` when it is installed; else (or with
        False) the built-in :func:`paired_comparison`.
    train : (DataFrame, DataFrame), optional
        Training rows of (champion, candidate): properties they saw are not scored, exactly
        as ``estimo compare`` leaves them out (the protocol of
        :mod:`estimo.evaluate.protocol`).
    ratio_trim : {"iqr", "range", "none"}
        Ratio trimming of the candidate's ``cod_robust``; ``coverage_robust`` leaves out
        the ratios outside 0.5-2 unless it is ``"none"`` (:mod:`estimo.evaluate.ratio_trim`).
    """
    compare_models = None
    if use_evaluation:
        try:
            from estimo.evaluate.compare import compare_models
        except ImportError:  # pragma: no cover - the evaluation package is part of estimo
            compare_models = None
    if compare_models is not None:
        result, shared = _from_evaluation(
            compare_models,
            champion,
            candidate,
            rows,
            since if since is not None else rows["date"].min(),
            interval_level=interval_level,
            min_city_rows=min_city_rows,
            n_boot=n_boot,
            confidence=confidence,
            seed=seed,
            train=train,
            ratio_trim=ratio_trim,
        )
    else:
        result, shared = _built_in(
            champion,
            candidate,
            rows,
            interval_level=interval_level,
            min_city_rows=min_city_rows,
            n_boot=n_boot,
            confidence=confidence,
            seed=seed,
        )
    result.rows = {
        "n_offered": len(rows),
        "n_compared": len(shared),
        "n_champion_cannot_value": int((~can_value(champion, rows)).sum()),
        "n_candidate_cannot_value": int((~can_value(candidate, rows)).sum()),
        "date_from": None if shared.empty else f"{shared['date'].min():%Y-%m-%d}",
        "date_to": None if shared.empty else f"{shared['date'].max():%Y-%m-%d}",
        "fingerprint": fingerprint_frame(shared),
        **result.rows,
    }
    return result


def _built_in(
    champion: Any,
    candidate: Any,
    rows: pd.DataFrame,
    *,
    interval_level: float | None,
    min_city_rows: int,
    n_boot: int,
    confidence: float,
    seed: int,
) -> tuple[GateComparison, pd.DataFrame]:
    both = can_value(champion, rows) & can_value(candidate, rows)
    shared = rows.loc[both]
    champ = _valuations(champion, shared)
    cand = _valuations(candidate, shared)
    ok = np.isfinite(champ) & np.isfinite(cand) & (champ > 0) & (cand > 0)
    shared, champ, cand = shared.loc[ok], champ[ok], cand[ok]
    if shared.empty:
        raise GateError(
            f"none of the {len(rows)} newest labelled rows can be valued by both models; "
            "they must share at least one city with data after both training windows"
        )
    result = paired_comparison(
        shared,
        champ,
        cand,
        candidate_range=_candidate_range(candidate, shared, interval_level),
        min_city_rows=min_city_rows,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
    )
    result.verdict = _verdict(result)
    return result, shared


def _verdict(comparison: GateComparison) -> str:
    """One sentence: which model is better on PE10, by how much, and the worst city."""
    pe10 = comparison.overall["pe10"]
    level = f"{100 * comparison.confidence:.0f} %"
    better = "candidate" if pe10["diff"] > 0 else "champion"
    if pe10["ci_low"] <= 0 <= pe10["ci_high"]:
        better = "no clear winner"
    text = (
        f"{better}: PE10 {100 * pe10['diff']:+.1f} points for the candidate, {level} CI "
        f"{100 * pe10['ci_low']:+.1f} to {100 * pe10['ci_high']:+.1f}"
    )
    judged = [c for c in comparison.by_city if not c["too_small"]]
    if judged:
        worst = min(judged, key=lambda c: c["pe10_diff"])
        if worst["pe10_diff"] < 0:
            text += f"; {worst['city']} worse by {-100 * worst['pe10_diff']:.1f}"
    return text
