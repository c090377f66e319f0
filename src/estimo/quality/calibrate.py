"""Asking-to-sale label calibration and training weights.

Most listings carry the owner's asking price, a few carry the price the property sold at.
:class:`LabelCalibrator` learns the log sale/asking ratio from pairs where both are known
(see :func:`estimo.quality.rules.labels.asking_sale_pairs`): a global median, plus a
deviation per segment value and per period, each shrunk towards zero by
``n / (n + shrinkage)`` so a segment with few pairs keeps about the global ratio. Applied to
asking-price rows it gives a calibrated target; every row also gets a training weight by
price kind (sale prices weigh more).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["a", "b"], "price": [100.0, 200.0],
...     "price_kind": ["sale", "sale"], "city": ["X", "X"], "list": [105.0, 210.0],
...     "date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
>>> cal = LabelCalibrator(asking_price_column="list", time_unit="none").fit(frame)
>>> round(cal.global_ratio_, 4)
0.9524
>>> asking = frame.assign(price_kind="asking", price=[105.0, 210.0])
>>> cal.calibrated_prices(asking).round(1).tolist()
[100.0, 200.0]
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.errors import NotFittedError
from estimo.quality.rules.labels import asking_sale_pairs

log = logging.getLogger(__name__)

_FREQ = {"year": "Y", "quarter": "Q", "month": "M"}


class LabelCalibrator(BaseEstimator):
    """Learn the sale/asking ratio by segment and time; calibrate asking prices.

    Parameters
    ----------
    segment_columns : sequence of str
        Columns whose values get their own (shrunk) ratio, e.g. city and property type.
    time_unit : {"year", "quarter", "month", "none"}
        Period of the time effect.
    shrinkage : float
        Pseudo-count of pairs pulling a segment's ratio towards the global one.
    asking_price_column : str, optional
        Column with the asking price of sale rows (both prices on one row).
    sale_weight, appraisal_weight, asking_weight : float
        Training weight of each price kind.
    min_ratio, max_ratio : float
        Pairs with a sale/asking ratio outside this range are ignored (label errors).
    """

    def __init__(
        self,
        *,
        segment_columns: tuple[str, ...] | list[str] = ("city", "property_type"),
        time_unit: str = "quarter",
        shrinkage: float = 20.0,
        asking_price_column: str | None = None,
        sale_weight: float = 1.0,
        appraisal_weight: float = 0.8,
        asking_weight: float = 0.5,
        min_ratio: float = 0.6,
        max_ratio: float = 1.3,
    ) -> None:
        self.segment_columns = segment_columns
        self.time_unit = time_unit
        self.shrinkage = shrinkage
        self.asking_price_column = asking_price_column
        self.sale_weight = sale_weight
        self.appraisal_weight = appraisal_weight
        self.asking_weight = asking_weight
        self.min_ratio = min_ratio
        self.max_ratio = max_ratio

    @classmethod
    def from_config(cls, config: Any) -> LabelCalibrator:
        """Build from a ``QualityConfig`` (its ``calibration`` and ``labels`` sections)."""
        c = config.calibration
        return cls(
            segment_columns=list(c.segment_columns),
            time_unit=c.time_unit,
            shrinkage=c.shrinkage,
            asking_price_column=c.asking_price_column,
            sale_weight=c.sale_weight,
            appraisal_weight=c.appraisal_weight,
            asking_weight=c.asking_weight,
            min_ratio=config.labels.min_sale_to_asking,
            max_ratio=config.labels.max_sale_to_asking,
        )

    def _period(self, dates: pd.Series) -> pd.Series:
        freq = _FREQ.get(self.time_unit)
        if freq is None:
            return pd.Series("all", index=dates.index)
        return pd.to_datetime(dates).dt.to_period(freq).astype(str)

    def fit(self, frame: pd.DataFrame) -> LabelCalibrator:
        """Learn the ratios from the pairs in ``frame`` (no pairs: ratio 1, nothing changes)."""
        frame = frame.reset_index(drop=True)
        pairs = asking_sale_pairs(frame, self.asking_price_column)
        pairs = pairs[(pairs["ratio"] >= self.min_ratio) & (pairs["ratio"] <= self.max_ratio)]
        self.n_pairs_ = len(pairs)
        self.effects_: dict[str, dict[str, float]] = {}
        if pairs.empty:
            self.global_log_ratio_ = 0.0
            log.info("label calibration: no asking/sale pairs; asking prices are kept as they are")
            return self
        log_ratio = np.log(pairs["ratio"].to_numpy(float))
        self.global_log_ratio_ = float(np.median(log_ratio))
        residual = log_ratio - self.global_log_ratio_
        rows = pairs["row"].to_numpy(int)
        keys = {
            c: frame[c].astype(object).to_numpy()[rows] for c in self.segment_columns if c in frame
        }
        keys["_time"] = self._period(pd.Series(pairs["date"].to_numpy())).to_numpy()
        for name, values in keys.items():
            table = pd.DataFrame({"key": pd.Series(values).astype(str), "r": residual})
            table = table[pd.notna(values)]
            grouped = table.groupby("key")["r"]
            n = grouped.size()
            effect = grouped.median() * n / (n + self.shrinkage)
            self.effects_[name] = effect.to_dict()
            mapped = pd.Series(values).astype(str).map(effect).fillna(0.0).to_numpy()
            residual = residual - mapped
        log.info(
            "label calibration: %d pairs, global sale/asking ratio %.3f",
            self.n_pairs_,
            self.global_ratio_,
        )
        return self

    @property
    def global_ratio_(self) -> float:
        """The global sale/asking ratio."""
        self._check_fitted()
        return float(np.exp(self.global_log_ratio_))

    def _check_fitted(self) -> None:
        if not hasattr(self, "global_log_ratio_"):
            raise NotFittedError("this LabelCalibrator is not fitted yet; call fit(frame) first")

    def ratio(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected sale/asking ratio of every row (unseen segments get the global effect)."""
        self._check_fitted()
        frame = frame.reset_index(drop=True)
        total = np.full(len(frame), self.global_log_ratio_)
        for name, effect in self.effects_.items():
            if name == "_time":
                values = self._period(frame["date"]) if "date" in frame else None
            else:
                values = frame[name].astype(object) if name in frame else None
            if values is None:
                continue
            total += values.astype(str).map(effect).fillna(0.0).to_numpy(float)
        return np.exp(total)

    def calibrated_prices(self, frame: pd.DataFrame, asking: pd.Series | None = None) -> pd.Series:
        """Sale-equivalent prices: asking-price rows times their ratio; other rows unchanged.

        Parameters
        ----------
        asking : Series, optional
            Asking prices to calibrate instead of ``frame["price"]`` (e.g. a list-price column).
        """
        frame = frame.reset_index(drop=True)
        price = pd.to_numeric(frame["price"] if asking is None else asking, errors="coerce")
        price = price.reset_index(drop=True).astype(float)
        if asking is not None:
            return price * self.ratio(frame)
        is_asking = (frame["price_kind"].astype(str) == "asking").to_numpy()
        return pd.Series(np.where(is_asking, price * self.ratio(frame), price))

    def weights(self, frame: pd.DataFrame) -> np.ndarray:
        """Training weight by price kind (unknown kinds weigh like asking prices)."""
        kinds = frame["price_kind"].astype(str).to_numpy()
        return np.select(
            [kinds == "sale", kinds == "appraisal"],
            [self.sale_weight, self.appraisal_weight],
            default=self.asking_weight,
        ).astype(float)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelCalibrator:
        """A fitted calibrator from :meth:`to_dict` (what a model bundle records).

        Only what :meth:`ratio` and :meth:`calibrated_prices` need is restored; the
        training weights are those of the defaults.

        Examples
        --------
        >>> import pandas as pd
        >>> c = LabelCalibrator.from_dict({"n_pairs": 5, "global_ratio": 0.9, "effects": {},
        ...                                "time_unit": "quarter"})
        >>> rows = pd.DataFrame({"price": [100.0, 100.0], "price_kind": ["asking", "sale"],
        ...                      "date": pd.to_datetime(["2024-01-01"] * 2)})
        >>> c.calibrated_prices(rows).round(6).tolist()
        [90.0, 100.0]
        """
        out = cls(time_unit=str(data.get("time_unit", "quarter")))
        out.n_pairs_ = int(data.get("n_pairs", 0))
        out.global_log_ratio_ = float(np.log(float(data.get("global_ratio", 1.0))))
        out.effects_ = {
            str(k): {str(g): float(v) for g, v in (e or {}).items()}
            for k, e in (data.get("effects") or {}).items()
        }
        return out

    def to_bundle(self) -> dict[str, Any]:
        """Settings and learned ratios as plain JSON (read back by :meth:`from_bundle`)."""
        self._check_fitted()
        return {
            "params": {
                "segment_columns": list(self.segment_columns),
                "time_unit": self.time_unit,
                "shrinkage": self.shrinkage,
                "asking_price_column": self.asking_price_column,
                "sale_weight": self.sale_weight,
                "appraisal_weight": self.appraisal_weight,
                "asking_weight": self.asking_weight,
                "min_ratio": self.min_ratio,
                "max_ratio": self.max_ratio,
            },
            "n_pairs": int(self.n_pairs_),
            "global_log_ratio": float(self.global_log_ratio_),
            "effects": {
                name: {str(k): float(v) for k, v in effect.items()}
                for name, effect in self.effects_.items()
            },
        }

    @classmethod
    def from_bundle(cls, meta: dict[str, Any]) -> LabelCalibrator:
        """A fitted calibrator from :meth:`to_bundle`'s facts."""
        calibrator = cls(**meta["params"])
        calibrator.n_pairs_ = int(meta["n_pairs"])
        calibrator.global_log_ratio_ = float(meta["global_log_ratio"])
        calibrator.effects_ = {k: dict(v) for k, v in meta["effects"].items()}
        return calibrator

    def to_dict(self) -> dict[str, Any]:
        """Learned ratios as plain JSON (for a model bundle; no pickles)."""
        self._check_fitted()
        return {
            "n_pairs": self.n_pairs_,
            "global_ratio": self.global_ratio_,
            "effects": self.effects_,
            "time_unit": self.time_unit,
        }
