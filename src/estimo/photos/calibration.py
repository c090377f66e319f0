"""Calibration of class probabilities: temperature scaling, the unsure threshold, ECE."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

_EPS = 1e-9


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Soften (T > 1) or sharpen (T < 1) probabilities: ``softmax(log p / T)``.

    >>> apply_temperature(np.array([[0.8, 0.2]]), 1.0).round(3).tolist()
    [[0.8, 0.2]]
    """
    return softmax(np.log(np.clip(probs, _EPS, 1.0)) / temperature, axis=1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the log loss of ``probs`` on ``labels``.

    Parameters
    ----------
    probs : numpy.ndarray
        Out-of-fold probabilities, shape (n, k).
    labels : numpy.ndarray
        Class indices, shape (n,).

    Returns
    -------
    float
        A temperature in [0.05, 20].
    """
    logp = np.log(np.clip(probs, _EPS, 1.0))
    rows = np.arange(len(labels))

    def loss(t: float) -> float:
        return float(-log_softmax(logp / t, axis=1)[rows, labels].mean())

    return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)


def unsure_threshold(probs: np.ndarray, labels: np.ndarray, precision: float = 0.95) -> float:
    """The lowest top probability at which answers are right at least ``precision`` of the time.

    Photos whose top probability is below it are answered "other" (unsure). The threshold is
    chosen on calibrated out-of-fold probabilities.

    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    >>> unsure_threshold(p, np.array([0, 0, 1, 0]), precision=0.9)
    0.8
    """
    top = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    order = np.argsort(-top, kind="stable")
    running = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= precision)
    if len(ok) == 0:
        return 1.0
    return float(top[order][ok[-1]])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class probability (equal-width bins).

    >>> expected_calibration_error(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]))
    0.0
    """
    top = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    which = np.clip(np.digitize(top, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(right[mask].mean() - top[mask].mean())
    return float(error)
