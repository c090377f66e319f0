"""The float matrix LightGBM predicts on, built without LightGBM's per-call pandas cost.

``Booster.predict(frame)`` converts a pandas frame on every call: a shallow copy, the
categorical columns re-mapped to the training categories through ``apply`` and
``replace``, then ``to_numpy``. For one property that conversion costs several times the
trees themselves (about 2 ms against a few tenths of a millisecond for a few hundred trees,
pandas 3), and valuing one property predicts a dozen times (the subject, the comparables'
adjustments). :class:`FrameConverter` does the same conversion on the frame's column
arrays, with each categorical column's code map cached, and :func:`booster_predict`
predicts on its result: the same numbers as ``Booster.predict(frame)``, bit for bit.

Examples
--------
>>> import lightgbm as lgb
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"area": rng.uniform(30, 150, 300),
...                       "type": pd.Categorical(rng.choice(["flat", "house"], 300))})
>>> booster = lgb.train({"verbose": -1}, lgb.Dataset(frame, np.log(frame["area"])), 5)
>>> rows = frame.head(3)
>>> bool((booster_predict(booster, rows) == booster.predict(rows)).all())
True
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import pandas as pd

from estimo.frames import column_arrays
from estimo.model.single_row import predict_one_row

__all__ = ["FrameConverter", "booster_matrix", "booster_predict"]


class FrameConverter:
    """Converts frames the way ``Booster.predict`` does, for one set of training categories.

    Parameters
    ----------
    pandas_categorical : list of lists, optional
        The booster's ``pandas_categorical``: the categories of each categorical column at
        training, in column order (None when it was trained on a plain array).
    """

    def __init__(self, pandas_categorical: list[list[Any]] | None) -> None:
        self.pandas_categorical = pandas_categorical
        self._maps: dict[int, tuple[pd.Index, np.ndarray]] = {}

    def matrix(self, frame: pd.DataFrame) -> np.ndarray | None:
        """``frame`` as the float64 matrix of the numbers ``Booster.predict`` reads.

        Returns None where LightGBM should convert (or reject) the frame itself: no rows,
        nullable or text columns, or not as many categorical columns as at training.

        (LightGBM converts to float32 when no column needs more; those values are exact in
        float64 too, so one float64 matrix always holds the same numbers.)
        """
        if len(frame) == 0:
            return None
        columns = column_arrays(frame)
        categorical = [isinstance(column, pd.Categorical) for column in columns]
        for column, is_categorical in zip(columns, categorical, strict=True):
            if not is_categorical and not (
                isinstance(column, np.ndarray) and column.dtype.kind in "biuf"
            ):
                return None
        known = self.pandas_categorical
        if known is not None and len(known) != sum(categorical):
            return None
        matrix = np.empty(frame.shape, dtype=np.float64)
        position = 0
        for j, column in enumerate(columns):
            if isinstance(column, pd.Categorical):
                mapping = self._category_map(position, column.categories)
                position += 1
                matrix[:, j] = mapping[column.codes]  # code -1 (missing) takes the last: NaN
            else:
                matrix[:, j] = column
        return matrix

    def _category_map(self, position: int, categories: pd.Index) -> np.ndarray:
        """Training code of each of a column's categories (NaN if unseen), then NaN."""
        cached = self._maps.get(position)
        if cached is not None and cached[0] is categories:
            return cached[1]
        known = None if self.pandas_categorical is None else self.pandas_categorical[position]
        if known is None or list(categories) == list(known):
            codes = np.arange(len(categories), dtype=np.float64)
        else:
            codes = pd.Index(known).get_indexer(categories).astype(np.float64)
            codes[codes < 0] = np.nan
        mapping = np.append(codes, np.nan)
        self._maps[position] = (categories, mapping)  # holds the Index: its id stays unique
        return mapping


_CONVERTERS: weakref.WeakKeyDictionary[Any, FrameConverter] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _converter(booster: Any) -> FrameConverter:
    """The cached converter of a booster (a booster's training categories never change)."""
    converter = _CONVERTERS.get(booster)
    if converter is None:
        with _LOCK:
            converter = _CONVERTERS.get(booster)
            if converter is None:
                converter = FrameConverter(getattr(booster, "pandas_categorical", None))
                _CONVERTERS[booster] = converter
    return converter


def booster_matrix(booster: Any, frame: pd.DataFrame) -> np.ndarray | None:
    """``frame`` as the float64 matrix ``booster.predict(frame)`` reads, or None where
    LightGBM must convert it itself (see :meth:`FrameConverter.matrix`)."""
    return _converter(booster).matrix(frame)


SMALL_BATCH = 1_000
"""Up to this many rows LightGBM predicts on one thread (see :func:`booster_predict`)."""


def booster_predict(booster: Any, rows: pd.DataFrame | np.ndarray, **kwargs: Any) -> np.ndarray:
    """``booster.predict(rows, **kwargs)``, a data frame converted here (same numbers,
    without LightGBM's per-call pandas cost); a float matrix is passed on as it is.

    Up to :data:`SMALL_BATCH` rows are predicted on one thread (``num_threads=1``; the
    numbers do not depend on threads): starting OpenMP threads for one property costs
    ~0.1 ms on an idle machine and 20 ms or more on a loaded one, where the prediction
    itself takes 0.03 ms. One row of floats goes through LightGBM's single-row fast
    prediction (:func:`estimo.model.single_row.predict_one_row`: the same numbers).
    """
    matrix = booster_matrix(booster, rows) if isinstance(rows, pd.DataFrame) else None
    data = rows if matrix is None else matrix
    if (
        not kwargs
        and isinstance(data, np.ndarray)
        and data.shape[:1] == (1,)
        and data.dtype.kind in "fiub"
    ):
        return predict_one_row(booster, data)
    if len(rows) <= SMALL_BATCH:
        kwargs.setdefault("num_threads", 1)
    return booster.predict(rows if matrix is None else matrix, **kwargs)
