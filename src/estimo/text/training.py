"""Learn the per-field fact models of :mod:`estimo.text.rescore` from labelled listings.

For each labelled listing the rules run without a learned model and without a confidence
floor; every fact whose truth is known becomes one example (its features, and whether its
value was right by the definitions of :mod:`estimo.text.scoring`). A logistic regression
per language and field (scikit-learn, L2, features seen at least ``min_count`` times) gives
the weights; the field's acceptance threshold is the lowest confidence at which the
out-of-fold facts reached the field's precision target (:data:`TARGETS`).

:func:`cross_validated` gives honest figures: in each of ``k`` folds of listings the model
and its threshold (from an inner cross-validation) are learned on the other folds only, and
the held-out listings are read with them.

Positive-only tags (a portal showing "terrazza" only when present) give no negatives: a
mention of a terrace on a listing without the tag is not known to be wrong. No model is
learned for them (their facts keep the rules' confidences). immobiliare.it's lift is one of
them: its ``gt_elevator`` is never False in the development file.

scikit-learn is imported when a model is trained, never when one is used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimo.text.extractor import FIELDS, extract, extraction_table
from estimo.text.facts import Extraction
from estimo.text.rescore import Rescorer, fact_features
from estimo.text.scoring import _right

log = logging.getLogger(__name__)

TARGETS: dict[str, float] = {
    "area_m2": 0.95,
    "rooms": 0.95,
    "bedrooms": 0.95,
    "bathrooms": 0.95,
    "floor": 0.95,
    "has_elevator": 0.95,
    "has_terrace": 0.95,
    "has_garage": 0.95,
    "has_parking": 0.95,
    "condition": 0.90,
    "year_built": 0.90,
}
"""Precision each field's threshold aims at (0.90 for the fields not named)."""
DEFAULT_TARGET = 0.90
MIN_EXAMPLES = 60


@dataclass
class Examples:
    """The labelled facts of one language: features, label, row and field of each."""

    features: list[list[str]]
    label: np.ndarray
    row: np.ndarray
    field: np.ndarray
    counted: np.ndarray  # counts toward precision (flags: affirmed only, as in scoring)


def read_all(texts: list[str], lang: str) -> list[Extraction]:
    """Every fact of every text, without learned model or confidence floor."""
    return [
        extract(t if isinstance(t, str) else None, lang=lang, min_confidence=0.0, rescore=False)
        for t in texts
    ]


def examples(
    texts: list[str],
    readings: list[Extraction],
    truth: pd.DataFrame,
    positive_only: set[str],
    view: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> Examples:
    """The labelled facts (rows whose truth is known for the fact's field).

    ``view`` maps the extraction table to the truth's classes before comparing (for
    idealista, :func:`~estimo.text.scoring.idealista_conditions`).
    """
    table = extraction_table(readings)
    if view is not None:
        table = view(table)
    truth = truth.reset_index(drop=True)
    right: dict[str, np.ndarray] = {}
    known: dict[str, np.ndarray] = {}
    for name in FIELDS:
        if name not in truth:
            continue
        right[name] = _right(name, table[name], truth, 0.05).fillna(False).to_numpy(bool)
        known[name] = truth[name].notna().to_numpy()
    feats, label, rows, fields, counted = [], [], [], [], []
    for i, ex in enumerate(readings):
        present = tuple(ex.facts)
        for name, fact in ex.facts.items():
            if name not in right or name in positive_only or not known[name][i]:
                continue
            feats.append(fact_features(fact, texts[i], present))
            label.append(right[name][i])
            rows.append(i)
            fields.append(name)
            counted.append(fact.value is not False)
    return Examples(
        feats, np.array(label, bool), np.array(rows, int), np.array(fields), np.array(counted, bool)
    )


def _fit(feats: list[list[str]], y: np.ndarray, min_count: int, c: float) -> dict:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    counts: dict[str, int] = {}
    for fs in feats:
        for f in fs:
            counts[f] = counts.get(f, 0) + 1
    keep = {f for f, n in counts.items() if n >= min_count}
    vec = DictVectorizer()
    x = vec.fit_transform([{f: 1 for f in fs if f in keep} for fs in feats])
    if y.all() or not y.any():
        p = (y.sum() + 1) / (len(y) + 2)
        return {"bias": float(np.log(p / (1 - p))), "weights": {}}
    clf = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    clf.fit(x, y)
    weights = {
        name: round(float(w), 3)
        for name, w in zip(vec.get_feature_names_out(), clf.coef_[0], strict=True)
        if abs(w) >= 0.02
    }
    return {"bias": round(float(clf.intercept_[0]), 3), "weights": weights}


def _predict(model: dict, feats: list[list[str]]) -> np.ndarray:
    w, b = model["weights"], model["bias"]
    z = np.array([b + sum(w.get(f, 0.0) for f in fs) for fs in feats])
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def choose_threshold(p: np.ndarray, y: np.ndarray, target: float, min_n: int = 20) -> float:
    """The lowest confidence whose facts at or above it reach ``target`` precision.

    When no threshold reaches it (with at least ``min_n`` facts), the one with the highest
    precision among those keeping ``min_n`` facts.

    Examples
    --------
    >>> p = np.array([0.2, 0.5, 0.7, 0.9, 0.95])
    >>> y = np.array([False, False, True, True, True])
    >>> float(choose_threshold(p, y, 0.9, min_n=1))
    0.7
    """
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    n = np.arange(1, len(ps) + 1)
    precision = np.cumsum(ys) / n
    ok = (precision >= target) & (n >= min_n)
    # only at the last fact of a run of equal confidences is the cut well defined
    last = np.r_[ps[1:] != ps[:-1], True]
    ok &= last
    if ok.any():
        return float(ps[np.flatnonzero(ok)[-1]])
    eligible = (n >= min_n) & last
    if not eligible.any():
        return 0.5
    best = np.flatnonzero(eligible)[np.argmax(precision[eligible])]
    return float(ps[best])


def _oof(
    feats: list[list[str]],
    y: np.ndarray,
    groups: np.ndarray,
    k: int,
    seed: int,
    min_count: int,
    c: float,
) -> np.ndarray:
    ids = np.unique(groups)
    fold_of = dict(zip(ids, np.random.default_rng(seed).permutation(len(ids)) % k, strict=True))
    fold = np.array([fold_of[g] for g in groups])
    p = np.zeros(len(y))
    for f in range(k):
        test = fold == f
        train = ~test
        model = _fit([feats[i] for i in np.flatnonzero(train)], y[train], min_count, c)
        p[test] = _predict(model, [feats[i] for i in np.flatnonzero(test)])
    return p


def train(
    ex: Examples,
    *,
    k: int = 5,
    seed: int = 0,
    min_count: int = 5,
    c: float = 0.5,
    subset: np.ndarray | None = None,
) -> dict[str, dict]:
    """Per field: the model on all (or ``subset``) examples, its threshold from ``k``-fold OOF.

    Returns
    -------
    dict
        ``{field: {"bias", "weights", "threshold", "n", "oof_precision"}}`` for the fields
        with at least :data:`MIN_EXAMPLES` examples.
    """
    use = np.ones(len(ex.label), bool) if subset is None else subset
    out: dict[str, dict] = {}
    for name in sorted(set(ex.field[use])):
        idx = np.flatnonzero(use & (ex.field == name))
        if len(idx) < MIN_EXAMPLES:
            continue
        feats = [ex.features[i] for i in idx]
        y, groups, counted = ex.label[idx], ex.row[idx], ex.counted[idx]
        p = _oof(feats, y, groups, k, seed, min_count, c)
        target = TARGETS.get(name, DEFAULT_TARGET)
        threshold = choose_threshold(p[counted], y[counted], target) if counted.any() else 0.5
        model = _fit(feats, y, min_count, c)
        keep = counted & (p >= threshold)
        model.update(
            threshold=round(threshold, 4),
            n=len(idx),
            oof_precision=round(float(y[keep].mean()), 4) if keep.any() else None,
        )
        out[name] = model
    return out


def predictions(
    readings: list[Extraction],
    texts: list[str],
    lang: str,
    models: dict[str, dict],
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """The extraction table when the facts are rated by ``models`` and their thresholds.

    Facts of fields without a model keep the rule's measured precision and the default
    floor (as :func:`estimo.text.extract` does).
    """
    from estimo.text.extractor import DEFAULT_MIN_CONFIDENCE

    rescorer = Rescorer({lang: models})
    idx = range(len(readings)) if rows is None else rows
    out = []
    for i in idx:
        ex = readings[i]
        present = tuple(ex.facts)
        kept = {}
        for name, fact in ex.facts.items():
            if rescorer.has(lang, name):
                ok = rescorer.confidence(fact, texts[i], lang, present) >= rescorer.threshold(
                    lang, name
                )
            else:
                ok = fact.confidence >= DEFAULT_MIN_CONFIDENCE
            if ok:
                kept[name] = fact
        out.append(Extraction(ex.lang, kept))
    return extraction_table(out)


def cross_validated(
    texts: list[str],
    truth: pd.DataFrame,
    positive_only: set[str],
    lang: str,
    *,
    k: int = 5,
    seed: int = 0,
    view: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The extraction table of every listing read by a model that never saw it.

    Listings are split in ``k`` random folds; each fold is read with the models and
    thresholds learned (with an inner cross-validation for the thresholds) on the others.
    """
    readings = read_all(texts, lang)
    ex = examples(texts, readings, truth, positive_only, view)
    fold = np.random.default_rng(seed + 1).permutation(len(texts)) % k
    parts = []
    for f in range(k):
        held = np.flatnonzero(fold == f)
        models = train(ex, k=k, seed=seed, subset=fold[ex.row] != f)
        table = predictions(readings, texts, lang, models, rows=held)
        table.index = held
        parts.append(table)
        if progress:
            progress(f"{lang}: fold {f + 1}/{k}")
    return pd.concat(parts).sort_index()
