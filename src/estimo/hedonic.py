"""The hedonic regression behind the price index, and the smoothing of its monthly curve.

A city's index is the month effect of a regression of log price per m² on the month, the
location (~1 km cells), log area and the *characteristics* of what sold: every other
column of the data that describes the home (rooms, year built, condition, the project's
extra features), each cut into up to ten quantile bins or its most common levels. Without
the characteristics, a month in which better homes happened to sell reads as a price rise
(on Ames, a 5 % "boom" in 2008 that the homes' quality explains; the residual spread
halves with them). Columns that are a proxy of the price (one alone explains most of the
log price, e.g. a list price) or of the date (one alone explains most of the month)
are left out (one alone explains over 75 % of the log price, or over half of the month's
variance): they would absorb the very movement the index measures.

The monthly curve is then penalised by its squared first differences (towards a flat
level) or, with ``smoothing="auto"``, by the order and penalty that best foretell each
month left out (:func:`smoothing_by_left_out_months`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import spsolve

from estimo.load_checks import other_prices

SMOOTHING_GRID: tuple[float, ...] = (
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 1e5, 1e6
)  # fmt: skip
"""The penalties ``smoothing="auto"`` chooses from: from a curve that follows every month
(5 rows' worth of penalty) to a flat level or a straight line (1,000,000)."""

FIRST_SMOOTHING = 50.0
"""The penalty of the fit whose location, area and characteristics effects the automatic
choice holds fixed."""

NOT_CHARACTERISTICS = frozenset(
    {
        "id", "price", "price_kind", "date", "city", "country", "lat", "lon", "area_m2",
        "description", "title", "address", "url",
    }
)  # fmt: skip
"""Columns that are not a characteristic of the home (or are already in the regression)."""

MAX_BINS = 10
MAX_LEVELS = 50
MIN_LEVEL_ROWS = 10
MAX_CHARACTERISTICS = 64  # the columns that explain most of the log price, at most
MAX_ROWS = 300_000  # rows of one regression, at most (a fixed random sample beyond)
MAX_PRICE_SHARE = 0.75  # one column explaining more of the log price is a price proxy
MAX_MONTH_SHARE = 0.5  # one column explaining more of the month is a date proxy


def _explained_share(codes: np.ndarray, values: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by the group means of ``codes``."""
    centred = values - values.mean()
    total = float(centred @ centred)
    if total <= 0:
        return 0.0
    counts = np.bincount(codes).astype(float)
    sums = np.bincount(codes, weights=centred)
    between = float(np.sum(np.divide(sums**2, counts, out=np.zeros_like(sums), where=counts > 0)))
    return between / total


def _codes_of(column: pd.Series) -> np.ndarray | None:
    """Group codes of one column: quantile bins of a number (missing its own group) or the
    common levels of anything else (rare ones together, missing its own); None when the
    column does not tell homes apart."""
    if pd.api.types.is_numeric_dtype(column):  # numbers, booleans, nullable integers
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        known = np.isfinite(numbers)
        if known.sum() < MIN_LEVEL_ROWS:
            return None
        edges = np.unique(np.quantile(numbers[known], np.linspace(0, 1, MAX_BINS + 1)[1:-1]))
        codes = np.where(known, np.searchsorted(edges, numbers, side="right"), len(edges) + 1)
    else:  # text, categories, dates, or anything else read as its text
        text = column.astype("string")
        counts = text.value_counts()
        common = counts[counts >= MIN_LEVEL_ROWS].index[:MAX_LEVELS]
        codes = pd.Index(common).get_indexer(text).astype(np.int64)  # -1: rare or missing
        codes = np.where(codes < 0, len(common), codes)  # the rare levels together
        codes = np.where(text.isna().to_numpy(), len(common) + 1, codes)  # missing
    groups, codes = np.unique(codes, return_inverse=True)  # only the groups present
    if len(groups) < 2:
        return None
    return codes.astype(np.int64)


def characteristic_groups(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The group codes (:func:`_codes_of`) of every column of ``frame`` that may describe
    the home: not an identifier, price, date, place or text (:data:`NOT_CHARACTERISTICS`),
    not internal (``_``-prefixed), not another price of the home (a number on the price's
    scale: :func:`estimo.load_checks.other_prices`), and telling homes apart."""
    prices = set(other_prices(frame)) if "price" in frame else set()
    groups = {}
    for name in frame.columns:
        if name in NOT_CHARACTERISTICS or str(name).startswith("_") or name in prices:
            continue
        codes = _codes_of(frame[name])
        if codes is not None:
            groups[str(name)] = codes
    return groups


def characteristics(
    groups: dict[str, np.ndarray],
    log_price: np.ndarray,
    month: np.ndarray,
    rows: np.ndarray | None = None,
) -> tuple[sparse.csr_matrix, list[str]]:
    """One-hot matrix of the characteristic ``groups`` (:func:`characteristic_groups`) at
    ``rows`` (every row by default), whose ``log_price`` and month numbers ``month`` are
    given, without the columns that are a proxy of the price or of the date; and the names
    of the columns kept.

    Examples
    --------
    >>> frame = pd.DataFrame({"rooms": [1, 2, 3, 4] * 10, "list_price": np.arange(40.0),
    ...                       "id": [str(i) for i in range(40)]})
    >>> log_price = np.log1p(np.arange(40.0))   # the list price tells the price: left out
    >>> groups = characteristic_groups(frame)
    >>> matrix, kept = characteristics(groups, log_price, np.repeat(np.arange(4.0), 10))
    >>> sorted(groups), kept, matrix.shape
    (['list_price', 'rooms'], ['rooms'], (40, 4))
    """
    n = len(log_price)
    usable = []
    for name, all_codes in groups.items():
        codes = all_codes if rows is None else all_codes[rows]
        present, codes = np.unique(codes, return_inverse=True)
        if len(present) < 2:
            continue
        share = _explained_share(codes, log_price)
        if share > MAX_PRICE_SHARE or _explained_share(codes, month) > MAX_MONTH_SHARE:
            continue
        usable.append((share, name, codes, len(present)))
    if len(usable) > MAX_CHARACTERISTICS:  # the most telling ones, in the data's order
        ranked = sorted(range(len(usable)), key=lambda i: -usable[i][0])
        usable = [usable[i] for i in sorted(ranked[:MAX_CHARACTERISTICS])]
    if not usable:
        return sparse.csr_matrix((n, 0)), []
    blocks = [
        sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, width))
        for _, _, codes, width in usable
    ]
    return sparse.hstack(blocks).tocsr(), [name for _, name, _, _ in usable]


class HedonicDesign:
    """The index regression of one city's rows: a level, monthly steps (ridge-penalised by
    the smoothing), ~1 km location cells, log area and the characteristics' groups, on log
    price per m².

    Parameters
    ----------
    rows : DataFrame
        ``month``, ``cell``, ``log_area`` and ``y`` (log price per m²) of each row.
    months : ndarray
        Every month of the curve, first to last.
    controls : sparse matrix, optional
        The rows' characteristics (:func:`characteristics`), ridge-penalised like the cells.
    """

    def __init__(
        self, rows: pd.DataFrame, months: np.ndarray, controls: sparse.spmatrix | None = None
    ) -> None:
        self.t = (rows["month"].to_numpy() - months[0]).astype(int)
        n, self.T = len(rows), len(months)
        blocks = [sparse.csr_matrix(np.ones((n, 1)))]
        if self.T > 1:
            steps = (self.t[:, None] >= np.arange(1, self.T)[None, :]).astype(float)
            blocks.append(sparse.csr_matrix(steps))
        self.penalties_after: list[float] = []
        codes, uniques = pd.factorize(rows["cell"].to_numpy())
        if len(uniques) > 1:
            blocks.append(
                sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, len(uniques)))
            )
            self.penalties_after += [1.0] * len(uniques)
        log_area = rows["log_area"].to_numpy()
        has_area = np.isfinite(log_area)
        if has_area.any() and np.nanstd(log_area) > 0:
            centred = np.where(has_area, log_area - np.nanmean(log_area), 0.0)
            blocks.append(sparse.csr_matrix(centred[:, None]))
            self.penalties_after.append(1e-3)
        if controls is not None and controls.shape[1]:
            blocks.append(sparse.csr_matrix(controls))
            self.penalties_after += [1.0] * controls.shape[1]
        self.X = sparse.hstack(blocks).tocsr()
        y = rows["y"].to_numpy()
        self.centred_y = y - y.mean()
        self.gram = (self.X.T @ self.X).tocsc()
        self.moments = self.X.T @ self.centred_y

    def solve(self, smoothing: float) -> np.ndarray:
        """The coefficients (level, steps, cells, area, characteristics) under ``smoothing``:
        the ridge normal equations, solved directly (a few thousand coefficients at most)."""
        steps = [smoothing] * (self.T - 1)
        penalties = np.asarray([1e-6, *steps, *self.penalties_after])
        system = (self.gram + sparse.diags(penalties)).tocsc()
        return np.atleast_1d(spsolve(system, self.moments))

    def curve_of(self, coef: np.ndarray) -> np.ndarray:
        """The log index (0 at the last month) of fitted coefficients."""
        if self.T == 1:
            return np.zeros(1)
        curve = np.concatenate([[0.0], np.cumsum(coef[1 : self.T])])
        return curve - curve[-1]

    def curve(self, smoothing: float) -> np.ndarray:
        """The log index (0 at the last month) under ``smoothing``."""
        return self.curve_of(self.solve(smoothing))

    def month_means(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows per month and each month's mean log price per m² net of the fitted level,
        location, area and characteristics (what the monthly curve is fitted to)."""
        without_steps = coef.copy()
        without_steps[1 : self.T] = 0.0
        net = self.centred_y - self.X @ without_steps
        counts = np.bincount(self.t, minlength=self.T).astype(float)
        sums = np.bincount(self.t, weights=net, minlength=self.T)
        return counts, np.divide(sums, counts, out=np.zeros(self.T), where=counts > 0)


def _roughness(T: int, order: int) -> np.ndarray:
    """Sum of squared ``order``-th differences of a curve of ``T`` months, as a matrix."""
    differences = np.diff(np.eye(T), n=order, axis=0)
    return differences.T @ differences


def smoothed_curve(counts: np.ndarray, means: np.ndarray, order: int, penalty: float) -> np.ndarray:
    """The curve through monthly ``means`` (weighted by their ``counts``) penalised by
    ``penalty`` times its squared ``order``-th differences: order 1 shrinks it towards a
    flat level, order 2 towards a straight line. 0 at the last month."""
    counts = np.asarray(counts, dtype=float)
    weights = np.diag(counts)
    curve = np.linalg.solve(weights + penalty * _roughness(len(counts), order), counts * means)
    return curve - curve[-1]


def smoothing_by_left_out_months(
    counts: np.ndarray,
    means: np.ndarray,
    grid: tuple[float, ...] = SMOOTHING_GRID,
    orders: tuple[int, ...] = (1, 2),
) -> tuple[int, float]:
    """The smoothing (order of the differences penalised, penalty of ``grid``) whose curve
    best foretells each month left out.

    Each month's mean (of ``counts`` rows) is predicted by the curve fitted to the other
    months: the penalised fit fills a missing month from its neighbours and, for the last
    month, holds the level (order 1) or carries the line (order 2). The score is the
    squared error of those predictions weighted by the month's rows, i.e. the rows' own
    left-out-month error up to a constant. With fewer than ``order + 2`` months holding
    rows an order cannot be told; with none left, the fixed first-order smoothing (50) is
    kept.

    Examples
    --------
    >>> months = np.arange(36)
    >>> noise = np.random.default_rng(1).normal(0, 0.03, 36)
    >>> smoothing_by_left_out_months(np.full(36, 50.0), noise)   # noise only: flat
    (1, 1000000.0)
    >>> smoothing_by_left_out_months(np.full(36, 50.0), 0.02 * months + noise)  # a line
    (2, 100000.0)
    """
    counts = np.asarray(counts, dtype=float)
    means = np.asarray(means, dtype=float)
    held = counts > 0
    weights = np.diag(counts)
    best: tuple[float, int, float] = (np.inf, 1, FIRST_SMOOTHING)
    for order in orders:
        if held.sum() < order + 2:
            continue
        roughness = _roughness(len(counts), order)
        for penalty in grid:
            hat = np.linalg.solve(weights + penalty * roughness, weights)
            leverage = np.clip(1.0 - np.diag(hat), 1e-12, None)
            left_out = (means - hat @ means)[held] / leverage[held]
            score = float(np.sum(counts[held] * left_out**2))
            if score < best[0]:
                best = (score, order, float(penalty))
    return best[1], best[2]
