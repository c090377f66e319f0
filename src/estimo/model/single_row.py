"""LightGBM's single-row fast prediction, for valuing one property at a time.

``Booster.predict`` on one row builds a predictor, a parameter string and a result buffer
on every call (about 20-100 µs above the trees themselves on these machines); LightGBM's C
API keeps all of that in a *fast config* made once per booster
(``LGBM_BoosterPredictForMatSingleRowFastInit``) and then predicts one row per call
(``LGBM_BoosterPredictForMatSingleRowFast``), with the same predictor code and so the
same numbers, bit for bit.

A fast config holds buffers of its own and may serve one thread at a time: each booster
gets one, guarded by a lock; a thread that finds it busy predicts the usual way (same
numbers). The config lives as long as its booster (a weak-key table) and is freed with it.

Examples
--------
>>> import lightgbm as lgb
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0] + rng.normal(size=300)), 5)
>>> row = X[:1]
>>> bool(predict_one_row(booster, row)[0] == booster.predict(row)[0])
True
"""

from __future__ import annotations

import ctypes
import logging
import threading
import weakref
from typing import Any

import numpy as np

__all__ = ["predict_one_row"]

logger = logging.getLogger(__name__)

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class _FastConfig:
    """One booster's fast-prediction config (C handle), its lock and its buffers."""

    def __init__(self, lib: Any, booster: Any, n_features: int) -> None:
        self._lib = lib
        self.handle = ctypes.c_void_p()
        self.n_features = n_features
        self.lock = threading.Lock()
        self.row = np.empty(n_features, dtype=np.float64)
        self.length = ctypes.c_int64()
        status = lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle,
            ctypes.c_int(_PREDICT_NORMAL),
            ctypes.c_int(0),  # start iteration
            ctypes.c_int(-1),  # every iteration
            ctypes.c_int(_FLOAT64),
            ctypes.c_int32(n_features),
            ctypes.c_char_p(b"num_threads=1"),
            ctypes.byref(self.handle),
        )
        if status != 0:
            raise RuntimeError(lib.LGBM_GetLastError().decode("utf-8", "replace"))

    def predict(self, values: np.ndarray) -> float:
        """The raw prediction of one row (the lock held by the caller)."""
        self.row[:] = values
        out = np.empty(1, dtype=np.float64)
        status = self._lib.LGBM_BoosterPredictForMatSingleRowFast(
            self.handle,
            self.row.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(self.length),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
        if status != 0:
            raise RuntimeError(self._lib.LGBM_GetLastError().decode("utf-8", "replace"))
        return float(out[0])

    def free(self) -> None:
        """Release the C config (the booster it points to is never touched)."""
        if self.handle:
            self._lib.LGBM_FastConfigFree(self.handle)
            self.handle = ctypes.c_void_p()


_CONFIGS: weakref.WeakKeyDictionary[Any, _FastConfig | None] = weakref.WeakKeyDictionary()
_TABLE_LOCK = threading.Lock()


def _config(booster: Any, n_features: int) -> _FastConfig | None:
    """The booster's fast config, made on first use (None where LightGBM cannot make one:
    the caller predicts the usual way)."""
    try:
        return _CONFIGS[booster]
    except KeyError:
        pass
    with _TABLE_LOCK:
        if booster in _CONFIGS:
            return _CONFIGS[booster]
        config = None
        try:
            from lightgbm.basic import _LIB

            config = _FastConfig(_LIB, booster, n_features)
        except (AttributeError, ImportError, OSError, RuntimeError) as exc:
            logger.debug("no single-row fast prediction for this booster: %s", exc)
        _CONFIGS[booster] = config
        if config is not None:
            weakref.finalize(booster, config.free)
        return config


def predict_one_row(booster: Any, matrix: np.ndarray) -> np.ndarray:
    """``booster.predict(matrix, num_threads=1)`` for a float matrix of one row, through
    the booster's fast config (see the module docstring); the usual call when the config
    is busy in another thread, cannot be made, or ``matrix`` is not one row of the
    booster's features.

    Returns
    -------
    numpy.ndarray
        One raw prediction (shape ``(1,)``), as ``Booster.predict`` returns it.
    """
    n_features = booster.num_feature()
    if matrix.ndim != 2 or matrix.shape != (1, n_features):
        return booster.predict(matrix, num_threads=1)
    config = _config(booster, n_features)
    if config is None or not config.lock.acquire(blocking=False):
        return booster.predict(matrix, num_threads=1)
    try:
        return np.array([config.predict(matrix[0])])
    finally:
        config.lock.release()
