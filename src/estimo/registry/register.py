"""Register a trained model: compute its manifest from the training and test tables and save.

:func:`register_model` is what ``estimo train --register`` (and any pipeline) calls after
fitting: it fingerprints the canonical training table, records its window, schema and the
model's features and parameters, scores the model on its test table per segment, and saves
everything as a new immutable registry version, optionally pointing an alias at it.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(1_000, seed=5, faults=False).frame
>>> train, test = frame.iloc[:700], frame.iloc[700:]
>>> model = ValuationModel(n_estimators=20).fit(train)
>>> manifest = register_model("memory://doc-register", model, train_frame=train,
...                           test_frame=test, alias="challenger")
>>> manifest.version, manifest.training.n_rows, manifest.test.data.n_rows == len(test)
('v1', 700, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from estimo.jsonutil import to_jsonable
from estimo.registry.manifest import ModelManifest, TestReport, data_window, frame_schema
from estimo.registry.scoring import DEFAULT_SEGMENTS, test_report
from estimo.registry.store import Registry

log = logging.getLogger(__name__)

__all__ = ["quality_summary", "register_model", "validation_report"]


_FINDING_KEYS = ("rule", "column", "severity", "count", "share", "message", "action")


def quality_summary(report: Any, *, cleaned: bool = False) -> dict[str, Any] | None:
    """A compact JSON summary of a data-quality report for the manifest.

    Parameters
    ----------
    report : QualityReport, dict or None
        The quality package's ``QualityReport`` (anything with ``findings`` and
        ``summary()``), its ``to_dict()`` output, or an already compact dict with a
        ``findings`` list.
    cleaned : bool, default False
        Whether the model was trained on the data *after* the cleaning policy (recorded).
        The findings stay open: cleaning repairs or drops the rows it recognises, but a
        source with many more faults of a kind than usual is broken (and holds more of
        them than the audit finds), so the gate judges every finding's share
        (:func:`estimo.promote.gate.check_quality`). Only findings marked ``resolved`` in
        ``report`` are resolved.

    Returns
    -------
    dict or None
        ``{"cleaned", "summary", "findings": [{rule, column, severity, count, share,
        message, action, resolved}]}``.

    Examples
    --------
    >>> s = quality_summary({"findings": [{"rule": "r", "severity": "error", "share": 0.1}]},
    ...                     cleaned=True)
    >>> s["cleaned"], s["findings"][0]["resolved"]
    (True, False)
    """
    if report is None:
        return None
    if isinstance(report, dict):
        raw = report
    elif hasattr(report, "findings"):
        summary = getattr(report, "summary", None)
        raw = {
            "summary": summary() if callable(summary) else {},
            "findings": [
                f.to_dict() if hasattr(f, "to_dict") else vars(f) for f in report.findings
            ],
        }
    elif callable(getattr(report, "to_dict", None)):
        raw = report.to_dict()
    else:
        raise TypeError(
            f"quality report of type {type(report).__name__!r} cannot be summarised; expected "
            "a QualityReport, its to_dict() or a dict with a 'findings' list"
        )
    findings = raw.get("findings")
    compact = []
    if isinstance(findings, list):
        for finding in findings:
            item = {k: finding.get(k) for k in _FINDING_KEYS if k in finding}
            item["resolved"] = bool(finding.get("resolved", False))
            compact.append(item)
    summary = raw.get("summary") if isinstance(raw.get("summary"), dict) else {}
    if not summary and isinstance(findings, dict):
        summary = {"findings": findings}
    out = {"cleaned": bool(cleaned or raw.get("cleaned", False)), "summary": summary}
    out["findings"] = compact
    for key in ("n_rows", "source"):
        if key in raw:
            out[key] = raw[key]
    return to_jsonable(out)


def validation_report(validation: dict[str, Any], train_frame: pd.DataFrame) -> TestReport:
    """A ``kind="validation"`` report from an engine's ``validation_`` figures.

    The valuation (blend) figures are the overall metrics when present, else the model's.

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame({"id": [1, 2], "date": pd.to_datetime(["2024-01-01", "2024-03-01"]),
    ...                       "price": [1.0, 2.0]})
    >>> r = validation_report({"n": 40, "from": "2024-02-01",
    ...                        "blend": {"n": 40, "mdape": 0.08, "pe10": 0.6}}, train)
    >>> r.kind, r.overall["pe10"], str(r.data.date_from)
    ('validation', 0.6, '2024-03-01')
    """
    figures = validation.get("blend") or validation.get("model") or {}
    start = validation.get("from")
    rows = train_frame if start is None else train_frame.loc[train_frame["date"] >= start]
    overall = {k: v for k, v in figures.items() if isinstance(v, int | float)}
    overall.setdefault("n", int(validation.get("n", len(rows))))
    return TestReport(
        kind="validation",
        data=data_window(rows),
        target="the engine's validation slice (its training target)",
        overall=to_jsonable(overall),
    )


def register_model(
    registry: Registry | str,
    model: Any,
    *,
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame | None = None,
    quality: Any = None,
    quality_cleaned: bool = False,
    valuation_date: date | str | None = None,
    parameters: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    segments: Sequence[str] = DEFAULT_SEGMENTS,
    min_group_size: int = 30,
    interval_level: float | None = 0.8,
    policy: Any | None = None,
    calibrator: Any | None = None,
    validation: dict[str, Any] | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
    alias: str | None = None,
    reason: str = "",
) -> ModelManifest:
    """Save a fitted model as a new registry version with a complete manifest.

    Parameters
    ----------
    registry : Registry or str
        The registry or its URL.
    model : object
        A fitted model that ``save_model`` can save (``ValuationModel``, ``AVM``).
    train_frame : pandas.DataFrame
        The canonical table the model was trained on (fingerprinted, window and schema).
    test_frame : pandas.DataFrame, optional
        Labelled rows the model has not seen; scored overall and per segment.
    quality : dict or QualityReport, optional
        The data-quality report of the training data (summarised, see
        :func:`quality_summary`).
    quality_cleaned : bool, default False
        Whether the model was trained on the data after the cleaning policy (recorded;
        the findings stay open for the gate, see :func:`quality_summary`).
    valuation_date : date or str, optional
        Date the model values at (default: the last training date).
    parameters : dict, optional
        Model parameters (default: ``model.get_params()``).
    extra : dict, optional
        Passed to ``save_model`` (kept inside the bundle).
    segments, min_group_size, interval_level
        How the test set is broken down (see :func:`estimo.registry.scoring.test_report`).
    policy, calibrator : optional
        The fitted cleaning policy and label calibrator of the training rows: the test
        rows are valued through the policy and scored against the calibrated target (the
        evaluation protocol, :mod:`estimo.evaluate.protocol`).
    validation : dict, optional
        Without test rows: the engine's validation figures (``AVM.validation_``), recorded
        as a ``kind="validation"`` report so that the registry still shows an accuracy,
        clearly labelled.
    description : str
        Free text.
    tags : dict, optional
        Free ``str -> str`` labels.
    alias : str, optional
        Point this alias (e.g. ``"challenger"``) at the new version.
    reason : str
        Recorded with the alias change.

    Returns
    -------
    ModelManifest
    """
    registry = registry if isinstance(registry, Registry) else Registry(registry)
    training = data_window(train_frame)
    when = valuation_date if valuation_date is not None else training.date_to
    report = None
    if test_frame is not None and len(test_frame):
        report = test_report(
            model,
            test_frame,
            segments=segments,
            min_group_size=min_group_size,
            interval_level=interval_level,
            policy=policy,
            calibrator=calibrator,
        )
    elif validation:
        report = validation_report(validation, train_frame)
    bundle_extra = {
        "training_window": {"from": str(training.date_from), "to": str(training.date_to)},
        "n_train": training.n_rows,
        **(extra or {}),
    }
    manifest = registry.save(
        model,
        extra=bundle_extra,
        training=training,
        valuation_date=None if when is None else pd.Timestamp(when).date(),
        schema=frame_schema(train_frame),
        parameters=None if parameters is None else to_jsonable(parameters),
        quality=quality_summary(quality, cleaned=quality_cleaned),
        test=report,
        description=description,
        tags=tags,
    )
    if alias is not None:
        registry.aliases.set(alias, manifest.version, reason=reason or "registered")
    return manifest
