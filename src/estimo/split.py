"""Out-of-time train/test split that never lets one property land on both sides.

A valuation model is used on properties listed or sold after it was trained, so it is
evaluated the same way: train on rows dated before a cut-off, test on rows dated on or
after it whose property ``id`` never appears before the cut-off, one row per id (its first
appearance after the cut-off). Re-listed properties therefore never leak from the training
side into the test side.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["a", "b", "a", "c", "c"],
...     "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-02", "2024-03-10",
...                             "2024-04-01"])})
>>> split = out_of_time_split(frame, "2024-03-01")
>>> sorted(split.train["id"]), sorted(split.test["id"])
(['a', 'b'], ['c'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimo.errors import DataError


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Training rows, test rows and what was left out of the test side."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    n_test_seen_ids: int
    n_test_repeats: int

    def describe(self) -> str:
        """One line for logs and reports."""
        return (
            f"train: {len(self.train)} rows before {self.cutoff:%Y-%m-%d}; "
            f"test: {len(self.test)} properties on/after it "
            f"({self.n_test_seen_ids} rows of properties already seen in training and "
            f"{self.n_test_repeats} repeat rows left out)"
        )


def parse_cutoff(cutoff: str | pd.Timestamp) -> pd.Timestamp:
    """Parse a cut-off date given as ``YYYY-MM-DD``.

    Raises
    ------
    DataError
        If the value is not a date.
    """
    try:
        return pd.Timestamp(cutoff)
    except (ValueError, TypeError) as exc:
        raise DataError(
            [f"cutoff {cutoff!r} is not a date; expected YYYY-MM-DD"], header="bad cut-off"
        ) from exc


def default_cutoff(frame: pd.DataFrame, test_share: float = 0.2) -> pd.Timestamp:
    """The first day of the month that leaves about ``test_share`` of rows after it."""
    dates = frame["date"].sort_values()
    quantile = dates.iloc[int(len(dates) * (1 - test_share))]
    cutoff = pd.Timestamp(quantile.year, quantile.month, 1)
    if cutoff <= dates.iloc[0]:
        cutoff = quantile
    return cutoff


def out_of_time_split(frame: pd.DataFrame, cutoff: str | pd.Timestamp) -> OutOfTimeSplit:
    """Split a canonical frame at ``cutoff`` (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame with ``id`` and ``date``.
    cutoff : str or Timestamp
        First date of the test period.

    Raises
    ------
    DataError
        If the cut-off leaves no training rows or no test rows; the message gives the
        data's date range.
    """
    cut = parse_cutoff(cutoff)
    before = frame["date"] < cut
    first, last = frame["date"].min(), frame["date"].max()
    span = f"the data runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if not before.any():
        raise DataError(
            [f"cutoff {cut:%Y-%m-%d} leaves no training rows; {span}"], header="bad cut-off"
        )
    if before.all():
        raise DataError(
            [f"cutoff {cut:%Y-%m-%d} leaves no test rows; {span}"], header="bad cut-off"
        )
    train = frame.loc[before]
    after = frame.loc[~before]
    seen = after["id"].isin(set(train["id"]))
    unseen = after.loc[~seen].sort_values(["date"], kind="stable")
    test = unseen.drop_duplicates("id", keep="first")
    if test.empty:
        raise DataError(
            [f"every property dated on/after {cut:%Y-%m-%d} already appears before it; {span}"],
            header="bad cut-off",
        )
    return OutOfTimeSplit(
        train=train.reset_index(drop=True),
        test=test.reset_index(drop=True),
        cutoff=cut,
        n_test_seen_ids=int(seen.sum()),
        n_test_repeats=int(len(unseen) - len(test)),
    )


SPATIAL_CELL_KM = 2.0
_KM_PER_DEGREE = 111.2


def property_folds(
    frame: pd.DataFrame, k: int, *, spatial: bool = False, seed: int = 0
) -> np.ndarray:
    """Fold (0 .. ``k - 1``) of every row, the same for every row of one property ``id``.

    Random folds draw each property's fold at random (balanced); spatial folds draw whole
    ~2 km grid cells (from ``lat``/``lon``) so a held-out property's neighbours are held
    out with it, which measures accuracy where the model has no nearby sales. Rows without
    coordinates get random folds.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical rows (``id``; ``lat``/``lon`` for spatial folds).
    k : int
        Number of folds (at least 2).
    spatial : bool
        Hold out grid cells rather than single properties.
    seed : int
        Seed of the draw.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", "b", "a", "c", "d"]})
    >>> folds = property_folds(frame, 2, seed=1)
    >>> bool(folds[0] == folds[2]), sorted(set(folds.tolist()))
    (True, [0, 1])
    """
    if k < 2:
        raise ValueError(f"k is {k!r}; cross-validation needs at least 2 folds")
    rng = np.random.default_rng(seed)
    ids = frame["id"].astype(str) if "id" in frame else pd.Series(np.arange(len(frame)))
    codes, uniques = pd.factorize(ids.to_numpy())
    order = rng.permutation(len(uniques))
    id_fold = np.empty(len(uniques), dtype=int)
    id_fold[order] = np.arange(len(uniques)) % k
    folds = id_fold[codes]
    if spatial and {"lat", "lon"} <= set(frame.columns):
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
        located = np.isfinite(lat) & np.isfinite(lon)
        if located.any():
            step = SPATIAL_CELL_KM / _KM_PER_DEGREE
            cos = np.cos(np.deg2rad(np.nanmedian(lat[located])))
            cells = pd.Series(
                list(zip(np.floor(lat / step), np.floor(lon * cos / step), strict=True))
            )
            cell_codes, cell_uniques = pd.factorize(cells[located])
            cell_fold = np.empty(len(cell_uniques), dtype=int)
            cell_fold[rng.permutation(len(cell_uniques))] = np.arange(len(cell_uniques)) % k
            by_row = folds.copy()
            by_row[located] = cell_fold[cell_codes]
            # one fold per property: its first located row decides
            first = pd.Series(by_row).groupby(codes).first().to_numpy()
            folds = first[codes]
    return folds
