"""The cleaning policy: a fitted transformer that repairs, imputes and (for training) drops.

:class:`CleaningPolicy` follows the scikit-learn contract: ``__init__`` stores the settings,
``fit`` learns from training rows only (city regions, imputation values per neighbourhood,
city and country, which columns get a missing indicator), learned attributes end in ``_``.
``transform(frame, mode=...)`` returns a :class:`CleanResult`:

- ``mode="train"``: exact duplicates, rows missing a critical column and price outliers
  are dropped, each with its reason (near duplicates too with
  ``clean.drop_near_duplicates``) (``clean.outliers: downweight`` trains on the
  outliers with a lower weight instead, but still drops prices about x10 or x0.1 of their
  group: typos);
- ``mode="predict"``: no row is ever dropped; impossible values are nulled and every missing
  value is imputed from the fitted rules, and each row carries plain-language warnings.

Every change is one row of the change log (``row``, ``id``, ``column``, ``old_value``,
``new_value``, ``rule``, ``span``); ``len(frame) + len(dropped)`` always equals the input's
rows. With a ``description`` column (and ``quality.text.enabled``), missing fields the text
states are filled first (rule ``text.<column>``, ``span``: the words read), amenity flags
become ``has_<amenity>`` columns and contact details are masked (``estimo.text.fill``).

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(1_500, seed=3)
>>> policy = CleaningPolicy().fit(market.frame)
>>> result = policy.transform(market.frame, mode="train")
>>> len(result.frame) + len(result.dropped) == len(market.frame)
True
>>> one = market.frame.head(1).assign(city="Atlantis", rooms=None)
>>> out = policy.transform(one, mode="predict")
>>> len(out.frame), out.warnings[0][0].startswith("city 'Atlantis'")
(1, True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.config import QualityConfig
from estimo.errors import DataError, NotFittedError
from estimo.frames import column_values, empty_frame, str_values, with_columns, with_replaced
from estimo.quality._frame import PreparedFrame, prepare_frame
from estimo.quality.auditor import audit
from estimo.quality.findings import AuditContext
from estimo.quality.rules import validity
from estimo.quality.rules.completeness import critical_to_drop, left_missing
from estimo.quality.rules.location import RegionIndex, learn_regions, locate
from estimo.text.fill import TextResult, apply_text, plan_text

log = logging.getLogger(__name__)

CHANGE_COLUMNS = ["row", "id", "column", "old_value", "new_value", "rule", "span"]
DROP_COLUMNS = ["row", "id", "rule", "reason"]
Mode = Literal["train", "predict"]
_SMALL_FRAME = 256  # up to this many rows, a frame is built anew rather than extended
Flags = dict[str, np.ndarray]
"""Row flags by rule name (``validity.range:area_m2``, ``location.swapped``, ...)."""


@dataclass
class CleanResult:
    """A cleaned frame and the record of everything done to it.

    Attributes
    ----------
    frame : pandas.DataFrame
        Cleaned rows (``RangeIndex``), plus ``<column>_missing`` indicator columns.
    changes : pandas.DataFrame
        Change log of the kept rows: ``row`` (position in the input), ``id``, ``column``,
        ``old_value``, ``new_value`` (as text, None for missing) and ``rule``.
    dropped : pandas.DataFrame
        Dropped input rows: ``row``, ``id``, ``rule``, ``reason`` (one line per row).
    warnings : list of list of str
        Per output row, what was repaired or imputed (predict mode: shown with the valuation).
    weight : numpy.ndarray
        Training weight per output row (1, or ``clean.outlier_weight`` for down-weighted rows).
    rows : numpy.ndarray
        Position in the input of every output row.
    n_input : int
        Rows given to ``transform``.
    """

    frame: pd.DataFrame
    changes: pd.DataFrame
    dropped: pd.DataFrame
    warnings: list[list[str]]
    weight: np.ndarray
    rows: np.ndarray
    n_input: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


class CleaningPolicy(BaseEstimator):
    """Repair, impute and filter canonical frames by the rules of ``quality.clean``.

    A scikit-learn estimator (``get_params``, ``clone``); its one parameter may be given
    by position, as the quality commands do.

    Parameters
    ----------
    config : QualityConfig, optional
        The project's ``quality:`` section (defaults when omitted).
    """

    def __init__(self, config: QualityConfig | None = None) -> None:
        self.config = config

    def _settings(self) -> QualityConfig:
        return self.config if self.config is not None else QualityConfig()

    def fit(self, frame: pd.DataFrame) -> CleaningPolicy:
        """Learn regions, imputation values and indicator columns from training rows.

        Raises
        ------
        DataError
            If the frame has no rows.
        """
        cfg = self._settings()
        if len(frame) == 0:
            raise DataError(
                ["the training table has no rows"], header="cannot fit the cleaning policy"
            )
        data = prepare_frame(frame).frame
        self.report_ = audit(data, cfg)
        self.regions_ = learn_regions(data, cfg.location)
        self.area_stats_ = validity.area_stats(data)
        usable = ~(
            self.report_.flagged("duplicates.exact") | self.report_.flagged("duplicates.near")
        )

        repaired = self._null_flagged(data, _flag_arrays(self.report_.flags), changes=None)
        repaired = repaired.loc[usable]
        self.columns_in_ = [str(c) for c in frame.columns]
        self.critical_to_drop_ = critical_to_drop(data, cfg, self.columns_in_)
        self.cities_ = tuple(sorted(repaired["city"].dropna().astype(str).unique()))
        missing = repaired.isna().mean() if len(repaired) else pd.Series(dtype=float)
        self.left_missing_ = left_missing(missing, cfg)
        self.impute_values_ = self._learn_impute(repaired, cfg, skip=self.left_missing_)
        self.text_plan_ = plan_text(repaired, cfg.text)
        candidates = [c for c in cfg.clean.impute_columns if c in repaired] + ["lat", "lon"]
        self.indicator_columns_ = (
            [
                c
                for c in dict.fromkeys(candidates)
                if missing.get(c, 0.0) >= cfg.clean.min_missing_share and missing.get(c, 0.0) < 1.0
            ]
            if cfg.clean.missing_indicators
            else []
        )
        return self

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save what prediction mode needs (settings, city regions, imputation values,
        indicator columns) into ``folder``; returns the JSON facts :meth:`from_bundle`
        reads. The training audit (``report_``) is not kept: it is in the quality report."""
        self._check_fitted()
        folder.write_parquet("regions.parquet", self.regions_.reset_index())
        return {
            "config": self._settings().model_dump(mode="json"),
            "columns_in": list(self.columns_in_),
            "cities": list(self.cities_),
            "impute_values": {
                column: {level: _jsonable(table) for level, table in tables.items()}
                for column, tables in self.impute_values_.items()
            },
            "indicator_columns": list(self.indicator_columns_),
            "left_missing": dict(self.left_missing_),
            "text_plan": self.text_plan_,
            "stacked_points": [list(p) for p in self.regions_.attrs.get("stacked", [])],
            "area_stats": self.area_stats_.to_dict(),
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> CleaningPolicy:
        """A fitted policy (prediction mode) from :meth:`to_bundle`'s folder and facts."""
        policy = cls(QualityConfig.model_validate(meta["config"]))
        regions = folder.read_parquet("regions.parquet")
        if "city" not in regions and "index" in regions:  # saved without regions' index name
            regions = regions.rename(columns={"index": "city"})
        policy.regions_ = regions.set_index("city")
        stacked = meta.get("stacked_points", policy.regions_.attrs.get("stacked", []))
        policy.regions_.attrs = {"stacked": [tuple(p) for p in stacked]}
        policy.columns_in_ = list(meta["columns_in"])
        policy.cities_ = tuple(meta["cities"])
        policy.impute_values_ = meta["impute_values"]
        policy.indicator_columns_ = list(meta["indicator_columns"])
        # a bundle saved before this rule imputes every column it holds values for
        policy.left_missing_ = dict(meta.get("left_missing", {}))
        policy.text_plan_ = meta.get("text_plan")
        # a bundle saved before the statistics were kept has no typical areas: its
        # area-per-room rule flags nothing when valuing (as it did for one property alone)
        stats = meta.get("area_stats")
        policy.area_stats_ = (
            validity.AreaStats.from_dict(stats) if stats else validity.AreaStats({}, {})
        )
        return policy

    def _check_fitted(self) -> None:
        if not hasattr(self, "impute_values_"):
            raise NotFittedError("this CleaningPolicy is not fitted yet; call fit(frame) first")

    def _region_index(self) -> RegionIndex:
        """The fitted region table as :func:`locate` reads it, built on first use and kept
        with the table it was built from (fitted state: not a parameter, never saved)."""
        index = self.__dict__.get("_regions_read")
        if index is None or index.regions is not self.regions_:
            index = RegionIndex.of(self.regions_)
            self._regions_read = index
        return index

    def __getstate__(self) -> dict[str, Any]:
        """The estimator's state without what :meth:`_region_index` keeps (rebuilt on use)."""
        state = dict(super().__getstate__())
        state.pop("_regions_read", None)
        return state

    @staticmethod
    def _learn_impute(
        data: pd.DataFrame, cfg: QualityConfig, skip: Mapping[str, float]
    ) -> dict[str, dict[str, Any]]:
        values: dict[str, dict[str, Any]] = {}
        min_n = cfg.clean.min_group_size
        for column in cfg.clean.impute_columns:
            if column not in data or column in skip or data[column].isna().all():
                continue
            numeric = pd.api.types.is_numeric_dtype(data[column])
            known = data[data[column].notna()]
            tables: dict[str, Any] = {}
            for level in cfg.clean.impute_levels:
                if level not in known or known[level].isna().all():
                    continue
                grouped = known.groupby(level)[column]
                sizes = grouped.size()
                stat = grouped.median() if numeric else grouped.agg(_mode)
                tables[level] = stat[sizes >= min_n].to_dict()
            tables["global"] = known[column].median() if numeric else _mode(known[column])
            values[column] = tables
        return values

    def fit_transform(self, frame: pd.DataFrame) -> CleanResult:
        """``fit(frame)`` then ``transform(frame, mode="train")``."""
        self.fit(frame)
        return self._transform(frame, "train", self.report_.flags)

    def transform(self, frame: pd.DataFrame, mode: Mode = "predict") -> CleanResult:
        """Clean ``frame`` with the fitted rules (see the module docstring for the modes).

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical frame.
        mode : {"train", "predict"}
            ``train`` may drop rows; ``predict`` never does.
        """
        with np.errstate(all="ignore"):
            return self._transform(frame, mode, None)

    def _transform(
        self, frame: pd.DataFrame, mode: Mode, flags: pd.DataFrame | None
    ) -> CleanResult:
        self._check_fitted()
        if mode not in ("train", "predict"):
            raise ValueError(f"mode is {mode!r}; expected 'train' or 'predict'")
        cfg = self._settings()
        prepared = prepare_frame(frame)
        data = prepared.frame
        n = len(data)
        changes: list[dict[str, list]] = []  # columns of values (see _log)
        warnings: list[list[str]] = [[] for _ in range(n)]
        _log_non_numeric(frame, data, prepared.non_numeric, changes)
        if n == 0:
            return self._result(data, changes, [], warnings, np.ones(0), np.arange(0), 0)
        flags = self._detect(data, mode) if flags is None else _flag_arrays(flags)
        drops: list[tuple[np.ndarray, str, str]] = []
        weight = np.ones(n)
        if mode == "train":
            drops += self._train_drops(data, flags, weight, cfg)
        data = self._repair_coordinates(data, flags, changes, warnings)
        critical = [c for c in self.critical_to_drop_ if c in data] if mode == "train" else []
        given = {c: data[c].notna().to_numpy() for c in critical}  # before the checks null
        data = self._null_flagged(data, flags, changes, warnings)
        data, text, marked = self._read_text(data, changes, warnings)
        for column in critical:
            missing = data[column].isna().to_numpy()
            rule = f"completeness.missing_critical:{column}"
            drops.append((missing & ~given[column], rule, f"critical column {column!r} is missing"))
            drops.append(
                (
                    missing & given[column],
                    rule,
                    f"critical column {column!r} held an implausible value (set to missing by "
                    "the validity checks; a critical column is never imputed in training)",
                )
            )
        if not marked:
            data = _with_added(data, self._missing_marks(data))
        if mode == "predict":
            known = set(self.cities_)
            cities = column_values(data, "city")
            if cities.dtype != object:
                cities = data["city"].to_numpy(dtype=object)
            for i, city in enumerate(str_values(cities)):
                if city not in known:
                    warnings[i].insert(0, unseen_city_warning(cities[i]))
        if cfg.clean.impute:
            data = self._impute(data, changes, warnings, mode)
        result = self._result(data, changes, drops, warnings, weight, np.arange(n), n)
        if text is not None:
            result.summary["text"] = text.summary()
        return result

    def _missing_marks(self, data: pd.DataFrame) -> dict[str, np.ndarray]:
        """The ``<column>_missing`` indicator columns of ``data`` (1.0 where missing)."""
        return {
            f"{column}_missing": pd.isna(column_values(data, column)).astype(float)
            for column in self.indicator_columns_
        }

    def _read_text(
        self, data: pd.DataFrame, changes: list, warnings: list
    ) -> tuple[pd.DataFrame, TextResult | None, bool]:
        """Fill missing fields from the description (``quality.text``; see estimo.text.fill):
        the filled rows, what the text gave (None without a text plan or descriptions) and
        whether the missing indicators were added already (see :meth:`_marks_with_text`)."""
        plan = getattr(self, "text_plan_", None)
        if plan is None or "description" not in data:
            return data, None, False
        marked = False
        added = self._marks_with_text(data, plan)
        if added is not None:
            data, marked = _with_added(data, added), True
        text = apply_text(data, plan, self._settings().text)
        data = text.frame
        if len(text.changes):
            ids = data["id"].to_numpy()[text.changes["row"].to_numpy(int)]
            logged = text.changes.assign(id=ids)
            changes.append({name: logged[name].tolist() for name in CHANGE_COLUMNS})
        for i, lines in text.warnings.items():
            warnings[i].extend(lines)
        return data, text, marked

    def _marks_with_text(
        self, data: pd.DataFrame, plan: dict[str, Any]
    ) -> dict[str, np.ndarray] | None:
        """The amenity columns :func:`~estimo.text.fill.apply_text` adds (missing) and the
        missing indicators, to add in one step when there is no description to read (one
        property valued without text): the text then changes no cell, so the indicators
        are the same before it and after; None when there is text, nothing to add, or a
        name would be set twice. Each step that adds columns builds a frame anew (about
        0.1 ms for one property, as much as locating it)."""
        absent = [column for column in plan["amenities"] if column not in data]
        if not absent or not pd.isna(column_values(data, "description")).all():
            return None
        indicators = self.indicator_columns_
        names = [f"{column}_missing" for column in indicators]
        taken = {*getattr(self, "critical_to_drop_", ()), *absent}
        if (
            not all(column in data for column in indicators)
            or any(column in absent for column in indicators)
            or any(name in data or name in taken for name in names)
        ):
            return None  # each column in its own step, as the text and indicators add them
        missing = {column: np.full(len(data), np.nan) for column in absent}
        return {**missing, **self._missing_marks(data)}

    def _detect(self, data: pd.DataFrame, mode: Mode) -> Flags:
        cfg = self._settings()
        if mode == "train":
            return _flag_arrays(audit(data, cfg).flags)
        ctx = AuditContext(data, cfg)
        # ``data`` is prepared already; areas are judged against the training market's
        validity.check(ctx, PreparedFrame(data), self.area_stats_)
        for kind, mask in locate(data, self._region_index(), cfg.location).items():
            ctx.flags[f"location.{kind}"] = mask
        # only the rules that flag a row: a rule that flags none changes nothing
        return {
            name: np.asarray(mask, dtype=bool) for name, mask in ctx.flags.items() if np.any(mask)
        }

    @staticmethod
    def _train_drops(
        data: pd.DataFrame, flags: Flags, weight: np.ndarray, cfg: QualityConfig
    ) -> list[tuple[np.ndarray, str, str]]:
        drops = []

        def flag(name: str) -> np.ndarray:
            return flags[name] if name in flags else np.zeros(len(data), dtype=bool)

        if cfg.clean.drop_duplicates:
            drops.append(
                (flag("duplicates.exact"), "duplicates.exact", "identical to an earlier row")
            )
        if cfg.clean.drop_near_duplicates:
            drops.append(
                (
                    flag("duplicates.near"),
                    "duplicates.near",
                    "same point, area, rooms and floor as another id shortly before",
                )
            )
        outlier = flag("consistency.price_outlier:price") | flag("consistency.id_conflict:price")
        if cfg.clean.outliers == "drop":
            drops.append((outlier, "consistency.price_outlier", "price per m2 is a robust outlier"))
        elif cfg.clean.outliers == "downweight":
            # a price off by a factor of ten is a typo, not a rare home: never trained on
            typo = flag("consistency.price_scale:price")
            drops.append((typo, "consistency.price_scale", "price about x10 or x0.1 (a typo)"))
            weight[outlier & ~typo] = cfg.clean.outlier_weight
        return drops

    def _repair_coordinates(
        self, data: pd.DataFrame, flags: Flags, changes: list, warnings: list
    ) -> pd.DataFrame:
        cfg = self._settings()
        if not cfg.clean.repair_coordinates:
            return data
        swapped = flags.get("location.swapped")
        if swapped is not None and swapped.any():
            rows = np.flatnonzero(swapped)
            lat, lon = data["lat"].to_numpy().copy(), data["lon"].to_numpy().copy()
            _log(changes, data, rows, "lat", lat[rows], lon[rows], "location.swapped")
            _log(changes, data, rows, "lon", lon[rows], lat[rows], "location.swapped")
            data.loc[rows, "lat"], data.loc[rows, "lon"] = lon[rows], lat[rows]
            for i in rows:
                warnings[i].append("latitude and longitude were swapped; swapped back")
        for kind in ("zero", "other_city", "outside_region", "stacked"):
            name = f"location.{kind}"
            if name not in flags or not flags[name].any():
                continue
            rows = np.flatnonzero(flags[name] & data["lat"].notna().to_numpy())
            for column in ("lat", "lon"):
                _log(changes, data, rows, column, data[column].to_numpy()[rows], None, name)
                data.loc[rows, column] = np.nan
            for i in rows:
                warnings[i].append(
                    f"coordinates were implausible ({kind.replace('_', ' ')}); ignored"
                )
        return data

    def _null_flagged(
        self,
        data: pd.DataFrame,
        flags: Flags,
        changes: list | None,
        warnings: list | None = None,
    ) -> pd.DataFrame:
        cfg = self._settings()
        if not cfg.clean.null_invalid:
            return data
        data = data.copy() if changes is None else data
        for name in flags:
            if not name.startswith("validity.") or ":" not in name:
                continue
            column = name.split(":", 1)[1]
            if column == "price" or column not in data:
                continue
            flagged = flags[name]
            if not flagged.any():  # the usual case: the column is not read
                continue
            rows = np.flatnonzero(flagged & data[column].notna().to_numpy())
            if len(rows) == 0:
                continue
            if changes is not None:
                _log(changes, data, rows, column, data[column].to_numpy()[rows], None, name)
            if warnings is not None:
                for i in rows:
                    warnings[i].append(
                        f"{column} {_text([data[column].iat[i]])[0]} is implausible; ignored"
                    )
            data.loc[rows, column] = np.nan
        return data

    def _impute(
        self, data: pd.DataFrame, changes: list, warnings: list, mode: Mode
    ) -> pd.DataFrame:
        cfg = self._settings()
        overrides = sorted(
            cfg.clean.overrides, key=lambda o: (o.neighbourhood is None, o.city is None)
        )
        for column, tables in self.impute_values_.items():
            if column not in data:
                continue
            todo = np.array(pd.isna(column_values(data, column)), dtype=bool)
            if mode == "train" and column in self.critical_to_drop_:
                continue
            for rule in overrides:
                if rule.column != column:
                    continue
                match = todo.copy()
                if rule.city is not None:
                    match &= (data["city"] == rule.city).to_numpy()
                if rule.neighbourhood is not None:
                    match &= (data["neighbourhood"] == rule.neighbourhood).to_numpy()
                todo = self._fill(
                    data,
                    column,
                    match,
                    np.full(len(data), rule.value, dtype=object),
                    "impute.override",
                    changes,
                    warnings,
                    todo,
                )
            for level, table in tables.items():
                if not todo.any():
                    break
                if level == "global":
                    values = np.full(len(data), table, dtype=object)
                else:
                    values = data[level].map(table).to_numpy(dtype=object)
                has = pd.notna(values)
                todo = self._fill(
                    data, column, todo & has, values, f"impute.{level}", changes, warnings, todo
                )
        return data

    @staticmethod
    def _fill(data, column, rows_mask, values, rule, changes, warnings, todo) -> np.ndarray:
        rows = np.flatnonzero(rows_mask)
        if len(rows) == 0:
            return todo
        new = values[rows]
        if pd.api.types.is_numeric_dtype(data[column]):
            new = pd.to_numeric(pd.Series(new), errors="coerce").to_numpy(float)
        _log(changes, data, rows, column, [None] * len(rows), new, rule)
        data.loc[rows, column] = new
        level = rule.split(".", 1)[1]
        for i, value in zip(rows, new, strict=True):
            shown = _text([_as_people_count(column, value)])[0]
            warnings[i].append(f"{column} was missing; used {shown} ({level})")
        remaining = todo.copy()
        remaining[rows] = False
        return remaining

    def _result(self, data, changes, drops, warnings, weight, rows, n) -> CleanResult:
        dropped_mask = np.zeros(len(data), dtype=bool)
        dropped_parts = []
        for mask, rule, reason in drops:
            new = mask & ~dropped_mask
            if new.any():
                where = np.flatnonzero(new)
                dropped_parts.append(
                    pd.DataFrame(
                        {
                            "row": where,
                            "id": data["id"].to_numpy()[where],
                            "rule": rule,
                            "reason": reason,
                        }
                    )
                )
            dropped_mask |= new
        dropped = (
            pd.concat(dropped_parts, ignore_index=True)
            if dropped_parts
            else empty_frame(tuple(DROP_COLUMNS))
        )
        change_log = _change_table(changes)
        keep = ~dropped_mask
        if len(change_log):
            change_log = change_log[keep[change_log["row"].to_numpy(int)]].reset_index(drop=True)
        summary = {
            "n_input": n,
            "n_output": int(keep.sum()),
            "n_dropped": int(dropped_mask.sum()),
            "dropped_by_rule": dropped["rule"].value_counts().to_dict() if len(dropped) else {},
            "n_changes": len(change_log),
            "changes_by_rule": change_log["rule"].value_counts().to_dict()
            if len(change_log)
            else {},
            "rows_changed": int(change_log["row"].nunique()) if len(change_log) else 0,
        }
        # every row kept (always when valuing): the frame, this call's own, as it is
        kept_all = not dropped_mask.any() and data.index.equals(pd.RangeIndex(len(data)))
        return CleanResult(
            frame=data if kept_all else data.loc[keep].reset_index(drop=True),
            changes=change_log,
            dropped=dropped,
            warnings=[w for w, k in zip(warnings, keep, strict=True) if k],
            weight=weight[keep],
            rows=rows[keep],
            n_input=n,
            summary=summary,
        )


def unseen_city_warning(city: Any) -> str:
    """The prediction-mode warning of a row whose city the policy was not fitted on.

    Examples
    --------
    >>> unseen_city_warning("Lisboa")
    "city 'Lisboa' was not in the training data; imputed from country or overall values"
    """
    return f"city {city!r} was not in the training data; imputed from country or overall values"


def _jsonable(value: Any) -> Any:
    """An imputation table or value as plain JSON (numpy scalars as Python numbers)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def _mode(values: pd.Series) -> Any:
    counts = values.dropna().astype(object).value_counts()
    return counts.index[0] if len(counts) else None


#: fields a person counts in whole numbers: an imputed median of 1986.5 is told as 1986
_WHOLE_FIELDS = frozenset({"year_built", "rooms", "bathrooms", "floor", "bedrooms"})


def _as_people_count(column: str, value: Any) -> Any:
    """``value`` as the owner's words give it: whole fields rounded down to a whole number
    (the year, the rooms), others as they are.

    Examples
    --------
    >>> _as_people_count("year_built", 1986.5), _as_people_count("area_m2", 82.5)
    (1986.0, 82.5)
    """
    if column in _WHOLE_FIELDS and isinstance(value, float | np.floating) and np.isfinite(value):
        return float(np.floor(value))
    return value


def _text(values: Any) -> list[str | None]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, float | np.floating):
            out.append(
                f"{float(v):g}" if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
            )
        else:
            out.append(str(v))
    return out


def _log(
    changes: list, data: pd.DataFrame, rows: np.ndarray, column: str, old: Any, new: Any, rule: str
) -> None:
    if len(rows) == 0:
        return
    old = list(old) if old is not None else [None] * len(rows)
    new = list(new) if new is not None else [None] * len(rows)
    n = len(rows)
    changes.append(
        {
            "row": rows.astype(int).tolist(),
            "id": data["id"].to_numpy()[rows].tolist(),
            "column": [column] * n,
            "old_value": _text(old),
            "new_value": _text(new),
            "rule": [rule] * n,
            "span": [None] * n,
        }
    )


def _change_table(parts: list[dict[str, list]]) -> pd.DataFrame:
    """The change log (:data:`CHANGE_COLUMNS`) of the changes logged as columns of values,
    built once (a frame per logged change cost more than cleaning a few rows)."""
    if not parts:
        return empty_frame(tuple(CHANGE_COLUMNS))
    columns: dict[str, Any] = {
        name: [v for part in parts for v in part[name]] for name in CHANGE_COLUMNS
    }
    for name in ("old_value", "new_value", "span"):  # text or None, as logged
        columns[name] = pd.Series(columns[name], dtype=object)
    table = pd.DataFrame(columns)
    table["row"] = table["row"].astype(int)
    return table


def _with_added(data: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """``with_columns(data, columns)``: a small frame built anew in one step (its columns'
    index shared with every frame of the same columns, see ``estimo.frames.frame_of``)."""
    if len(data) <= _SMALL_FRAME:
        return with_replaced(data, columns)
    return with_columns(data, columns)


def _flag_arrays(flags: pd.DataFrame) -> Flags:
    """An audit's row flags (a frame of booleans, one column per rule) as arrays."""
    return {name: np.asarray(column_values(flags, name), dtype=bool) for name in flags}


def _log_non_numeric(
    original: pd.DataFrame, data: pd.DataFrame, counts: dict, changes: list
) -> None:
    for column in counts:
        raw = original[column].reset_index(drop=True)
        rows = np.flatnonzero(raw.notna().to_numpy() & data[column].isna().to_numpy())
        _log(changes, data, rows, column, raw.to_numpy()[rows], None, "validity.non_numeric")
