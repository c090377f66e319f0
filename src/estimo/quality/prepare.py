"""The quality stage of training: audit, clean and calibrate in one call.

:func:`prepare_training_data` is what ``estimo train`` and ``estimo backtest`` call on the
training rows before fitting a model (see ``docs/CONTRACTS.md``).

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(1_500, seed=6)
>>> data = prepare_training_data(market.frame)
>>> len(data.frame) == len(data.weight) and "_price_observed" in data.frame
True
>>> len(data.frame) + len(data.dropped) == len(market.frame)
True
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import ProjectConfig, QualityConfig
from estimo.errors import DataError
from estimo.io import summary_with_load_drops
from estimo.jsonutil import write_json
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy
from estimo.quality.report import QualityReport

log = logging.getLogger(__name__)

OBSERVED_PRICE_COLUMN = "_price_observed"
"""Column of the returned frame holding the price before calibration. Its leading underscore
keeps it out of the model's features (:func:`estimo.schema.feature_columns`)."""


PRICE_OUTLIER_RULE = "consistency.price_outlier"
"""The cleaning rule that drops a row for its price (a robust outlier of its group)."""
PRICE_TYPO_FLAG = "consistency.price_scale:price"
"""The audit's flag of a price about x10 or x0.1 of its group's (a typo)."""


@dataclass
class TrainingData:
    """Training rows ready for a model, and the record of how they were made.

    Attributes
    ----------
    frame : pandas.DataFrame
        Cleaned rows; ``price`` is the calibrated target, ``_price_observed`` the price as
        given; missing-indicator columns added; the asking-price column (if configured) removed.
    weight : numpy.ndarray
        Training weight per row (price kind x outlier down-weighting).
    report : QualityReport
        The audit of the rows given.
    changes, dropped : pandas.DataFrame
        Change log and dropped rows (see :class:`estimo.quality.clean.CleanResult`).
    policy : CleaningPolicy or None
        The fitted policy, to clean rows at prediction time (``transform(mode="predict")``).
    calibrator : LabelCalibrator or None
        The fitted calibrator.
    """

    frame: pd.DataFrame
    weight: np.ndarray
    report: QualityReport
    changes: pd.DataFrame
    dropped: pd.DataFrame
    policy: CleaningPolicy | None
    calibrator: LabelCalibrator | None

    @property
    def price_observed(self) -> pd.Series:
        """The price of every row before calibration."""
        return self.frame[OBSERVED_PRICE_COLUMN]

    @property
    def price_outlier_share(self) -> float:
        """Share of prices the cleaning dropped as robust outliers (a typo's x10 or x0.1
        price excepted: a data error, not a price), among the rows kept and those: what no
        calibration slice of the kept rows holds, though new prices like them will come
        (``AVM.fit(..., price_outlier_share=...)`` widens the ranges for them).

        Examples
        --------
        >>> dropped = pd.DataFrame({"row": [0, 1, 2], "id": ["a", "b", "c"],
        ...     "rule": ["consistency.price_outlier", "duplicates.exact",
        ...              "consistency.price_outlier"], "reason": ["", "", ""]})
        >>> data = TrainingData(pd.DataFrame({"price": [1.0] * 98}), np.ones(98), None,
        ...                     pd.DataFrame(), dropped, None, None)
        >>> data.price_outlier_share
        0.02
        """
        if not len(self.dropped):
            return 0.0
        outlier = (self.dropped["rule"] == PRICE_OUTLIER_RULE).to_numpy()
        rows = self.dropped["row"].to_numpy(int)[outlier]
        flags = getattr(self.report, "flags", None)
        if flags is not None and PRICE_TYPO_FLAG in flags and len(rows):
            rows = rows[~flags[PRICE_TYPO_FLAG].to_numpy(bool)[rows]]
        return len(rows) / (len(self.frame) + len(rows)) if len(rows) else 0.0

    def fit_arguments(self, fit: Callable[..., Any]) -> dict[str, Any]:
        """The keyword arguments of ``fit(self.frame, **...)`` for these rows:
        ``sample_weight``, and ``price_outlier_share`` when ``fit`` takes it (the engine's
        ``fit`` and ``validate`` do; a plain model's does not)."""
        out: dict[str, Any] = {"sample_weight": self.weight}
        if "price_outlier_share" in inspect.signature(fit).parameters:
            out["price_outlier_share"] = self.price_outlier_share
        return out

    def summary(self) -> dict[str, Any]:
        """Headline numbers for logs and run manifests."""
        return {
            "n_rows": len(self.frame),
            "n_dropped": len(self.dropped),
            "dropped_by_rule": self.dropped["rule"].value_counts().to_dict()
            if len(self.dropped)
            else {},
            "n_changes": len(self.changes),
            "calibration": self.calibrator.to_dict() if self.calibrator is not None else None,
            "quality": self.report.summary(),
        }

    def dropped_lines(self, warn_share: float = 0.05) -> tuple[list[str], bool]:
        """What cleaning dropped, one line per rule with its count, share and reason, and
        whether the total is over ``warn_share`` of the rows given.

        Examples
        --------
        >>> dropped = pd.DataFrame({"row": [0, 1], "id": ["a", "b"], "rule": ["r", "r"],
        ...                         "reason": ["why", "why"]})
        >>> data = TrainingData(pd.DataFrame({"price": [1.0] * 8}), np.ones(8), None,
        ...                     pd.DataFrame(), dropped, None, None)
        >>> data.dropped_lines(warn_share=0.05)
        (['dropped 2 of 10 training rows (20.0 %)', '  r: 2 (20.0 %): why'], True)
        """
        n_input = len(self.frame) + len(self.dropped)
        n = len(self.dropped)
        share = n / n_input if n_input else 0.0
        lines = [f"dropped {n:,} of {n_input:,} training rows ({100 * share:.1f} %)"]
        if n:
            counts = self.dropped.groupby("rule", sort=False)["reason"].agg(["size", "first"])
            for rule, row in counts.sort_values("size", ascending=False).iterrows():
                lines.append(
                    f"  {rule}: {row['size']:,} ({100 * row['size'] / n_input:.1f} %): "
                    f"{row['first']}"
                )
        return lines, share > warn_share

    def write(
        self, out_dir: str | Path, load_dropped: pd.DataFrame | None = None
    ) -> dict[str, Path]:
        """Write ``quality.json``, ``quality.html``, ``changes.parquet``, ``dropped.parquet``
        and ``cleaning.json`` into ``out_dir``.

        Parameters
        ----------
        out_dir : str or Path
            The folder.
        load_dropped : pandas.DataFrame, optional
            The rows loading dropped (:attr:`estimo.io.LoadReport.dropped`), written first
            in ``dropped.parquet`` so every row left out is listed with its reason.
        """
        out = Path(out_dir)
        paths = self.report.write(out)
        paths["changes"] = out / "changes.parquet"
        paths["dropped"] = out / "dropped.parquet"
        paths["cleaning"] = out / "cleaning.json"
        self.changes.to_parquet(paths["changes"], index=False)
        dropped = self.dropped
        if load_dropped is not None and len(load_dropped):
            dropped = pd.concat([load_dropped, dropped], ignore_index=True)
        dropped.to_parquet(paths["dropped"], index=False)
        write_json(paths["cleaning"], summary_with_load_drops(self.summary(), load_dropped))
        return paths


def prepare_training_data(
    frame: pd.DataFrame, settings: QualityConfig | ProjectConfig | None = None
) -> TrainingData:
    """Audit, clean (train mode) and calibrate training rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical training rows (only rows before the cut-off in a backtest).
    settings : QualityConfig or ProjectConfig, optional
        The ``quality:`` section (or the whole project); defaults otherwise. With
        ``quality.enabled: false`` the rows are only audited, not changed (weights by price
        kind still apply when calibration is enabled).

    Returns
    -------
    TrainingData

    Raises
    ------
    DataError
        If no row is left after cleaning.
    """
    config = settings.quality if isinstance(settings, ProjectConfig) else settings
    config = config or QualityConfig()
    asking_column = config.calibration.asking_price_column
    if asking_column is not None and asking_column not in frame:
        raise DataError(
            [
                f"quality.calibration.asking_price_column is {asking_column!r} but the data has "
                f"no such column; columns: {list(frame.columns)!r}. Add it to "
                "data.extra_features."
            ],
            header="cannot calibrate labels",
        )
    if config.enabled:
        policy: CleaningPolicy | None = CleaningPolicy(config)
        result = policy.fit_transform(frame)
        report, cleaned, weight = policy.report_, result.frame, result.weight
        changes, dropped = result.changes, result.dropped
    else:
        from estimo.quality.auditor import audit
        from estimo.quality.clean import CHANGE_COLUMNS, DROP_COLUMNS

        policy, report = None, audit(frame, config)
        cleaned, weight = frame.reset_index(drop=True).copy(), np.ones(len(frame))
        changes, dropped = pd.DataFrame(columns=CHANGE_COLUMNS), pd.DataFrame(columns=DROP_COLUMNS)
    if cleaned.empty:
        raise DataError(
            [f"all {len(frame)} rows were dropped by the cleaning policy; see dropped.parquet"],
            header="nothing to train on",
        )
    calibrator = None
    cleaned[OBSERVED_PRICE_COLUMN] = cleaned["price"].to_numpy(float)
    if config.calibration.enabled:
        calibrator = LabelCalibrator.from_config(config).fit(cleaned)
        cleaned["price"] = calibrator.calibrated_prices(cleaned).to_numpy(float)
        weight = weight * calibrator.weights(cleaned)
    if asking_column is not None:
        cleaned = cleaned.drop(columns=[asking_column])
    log.info(
        "prepared %d training rows (%d dropped, %d changes)",
        len(cleaned),
        len(dropped),
        len(changes),
    )
    return TrainingData(cleaned, weight, report, changes, dropped, policy, calibrator)
