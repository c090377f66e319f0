"""The project file (``estimo.yaml``), validated by pydantic.

A project file says where the data is, how its columns map onto the canonical record
(:mod:`estimo.schema`), and the parameters of each stage. Any value can be overridden by an
environment variable ``ESTIMO_<SECTION>__<KEY>`` (for example ``ESTIMO_MODEL__N_ESTIMATORS=500``
or ``ESTIMO_DATA__PATH=s3://bucket/listings.parquet``).

Relative data paths are resolved against the folder of the project file, so a project file
works from any working directory.

Examples
--------
>>> cfg = ProjectConfig.model_validate(
...     {"data": {"path": "sales.csv", "columns": {"price": "SalePrice", "date": "Sold",
...      "city": {"value": "Ames"}}}})
>>> cfg.data.columns["city"].value
'Ames'
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from estimo.errors import ConfigError
from estimo.schema import CANONICAL_COLUMNS, PRICE_KINDS
from estimo.yaml_text import parse_yaml, read_yaml_file

ENV_PREFIX = "ESTIMO_"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _dates_as_text(cls, data: Any) -> Any:
        # YAML reads an unquoted 2024-04-01 as a date: a text setting takes it as written
        if not isinstance(data, dict):
            return data
        dated = {
            name: value.isoformat()
            for name, value in data.items()
            if isinstance(value, dt.date)
            and name in cls.model_fields
            and _takes_text(cls.model_fields[name].annotation)
        }
        return {**data, **dated} if dated else data


def _takes_text(annotation: Any) -> bool:
    """Whether a field's type is ``str`` or ``str | None`` (a date may be given for it)."""
    return annotation is str or str in typing.get_args(annotation)


class ColumnSource(_Strict):
    """Where one canonical field comes from.

    Exactly one of: ``column`` (a column of the input), ``value`` (a constant for every row,
    e.g. the city of single-city data) or ``year`` (+ optional ``month``, ``day``) for a date
    assembled from integer parts.
    """

    column: str | None = None
    value: str | float | int | None = None
    year: str | None = None
    month: str | None = None
    day: str | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ColumnSource:
        given = [k for k in ("column", "value", "year") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of 'column', 'value' or 'year' (+ 'month', 'day'), got {given!r}"
            )
        if (self.month or self.day) and self.year is None:
            raise ValueError("'month' and 'day' need 'year'")
        return self

    @property
    def input_columns(self) -> list[str]:
        """Input columns this source reads."""
        return [c for c in (self.column, self.year, self.month, self.day) if c is not None]


class OperationFilter(_Strict):
    """Rows of one operation from a table holding several (sale and rent listings).

    ``{column: Negotiation_Type, keep: sale}`` keeps the rows whose ``Negotiation_Type`` is
    ``sale`` (case and surrounding spaces ignored); a list keeps several values.
    """

    column: str
    keep: str | list[str]

    @property
    def kept_values(self) -> list[str]:
        """The values kept, lower-cased and stripped."""
        values = [self.keep] if isinstance(self.keep, str) else self.keep
        return [str(v).strip().lower() for v in values]


#: ``date_format`` values that are not strftime formats: numbers counted from an epoch
NUMERIC_DATE_FORMATS = ("unix", "excel")


def check_date_format(value: str | None) -> str | None:
    """``value`` if it is a date format Estimo can read (a strftime format whose every code
    parses, or one of :data:`NUMERIC_DATE_FORMATS`), else a ValueError saying why.

    Examples
    --------
    >>> check_date_format("%d.%m.%Y"), check_date_format("unix")
    ('%d.%m.%Y', 'unix')
    >>> try:
    ...     check_date_format("%s")
    ... except ValueError as error:
    ...     print(str(error)[:68])
    '%s' is not a date format Estimo reads ('s' is a bad directive in fo
    """
    if value is None or value in NUMERIC_DATE_FORMATS:
        return value
    sample = dt.datetime(2024, 11, 23, 13, 45, 30, tzinfo=dt.UTC)
    try:
        dt.datetime.strptime(sample.strftime(value), value)
    except ValueError as error:
        if "directive" not in str(error):  # a code Python reads, a sample it cannot judge
            return value
        raise ValueError(
            f"{value!r} is not a date format Estimo reads ({error}): use strftime codes such as "
            "'%Y-%m-%d' or '%d/%m/%Y'; 'unix' for seconds since 1970, 'excel' for a "
            "spreadsheet's day numbers"
        ) from None
    if "%" not in value:
        raise ValueError(
            f"{value!r} is not a date format: it has no strftime code such as %Y, %m or %d"
        )
    return value


class DataConfig(_Strict):
    """How to read the user's table and map it onto the canonical record."""

    path: str = Field(description="CSV or Parquet file, local path or fsspec URL")
    columns: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description="canonical field -> input column name, {value: constant} or {year, month, day}",
    )
    date_format: str | None = Field(
        default=None,
        description="strftime format of the date column, e.g. '%Y-%m' or '%Y%m'; 'unix' for "
        "seconds (or milliseconds) since 1970, 'excel' for a spreadsheet's day numbers",
    )
    area_unit: Literal["m2", "sqft"] = "m2"
    check_area_unit: bool = Field(
        default=True,
        description="refuse areas whose median is implausible for the unit when data.area_unit "
        "is left to its default (false: only warn)",
    )
    price_kind: str = Field(
        default="asking",
        description="asking | sale | appraisal | rent (monthly), or the name of a column",
    )
    operation: OperationFilter | None = Field(
        default=None,
        description="keep the rows of one operation, e.g. {column: Negotiation_Type, keep: sale}",
    )
    as_of: str | None = Field(
        default=None,
        description="date of every row when the data has no date (default: the first day of "
        "the current month); such data is evaluated by cross-validation",
    )
    delimiter: str | None = Field(
        default=None, description="CSV field separator, e.g. ';' (default: ',', tab for .tsv)"
    )
    currency: str = "EUR"
    extra_features: Literal["all", "none"] | list[str] = "all"
    allow_price_derived: list[str] = Field(
        default_factory=list,
        description="extra feature columns allowed although they look computed from the price "
        "(a price per m², its logarithm, a copy); refused otherwise",
    )
    min_date: str = Field(
        default="1900-01-01", description="rows dated before this are dropped (with the reason)"
    )
    max_date: str | None = Field(
        default=None,
        description="rows dated after this are dropped (with the reason); default: one year "
        "after today",
    )
    read_options: dict[str, Any] = Field(
        default_factory=dict, description="passed to pandas.read_csv / read_parquet"
    )

    @field_validator("columns", mode="before")
    @classmethod
    def _strings_are_columns(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"column": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, ColumnSource]) -> dict[str, ColumnSource]:
        unknown = sorted(set(value) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {unknown!r}; "
                f"expected some of {list(CANONICAL_COLUMNS)!r}"
            )
        return value

    @field_validator("date_format")
    @classmethod
    def _a_date_format(cls, value: str | None) -> str | None:
        return check_date_format(value)

    @field_validator("min_date", "max_date")
    @classmethod
    def _is_date(cls, value: str | None) -> str | None:
        return a_day(value)

    @model_validator(mode="after")
    def _date_window_ordered(self) -> DataConfig:
        if self.max_date is not None and dt.date.fromisoformat(
            self.min_date
        ) > dt.date.fromisoformat(self.max_date):
            raise ValueError(
                f"data.min_date {self.min_date!r} is after data.max_date {self.max_date!r}; "
                "expected min_date <= max_date"
            )
        return self

    @property
    def price_kind_is_constant(self) -> bool:
        """Whether ``price_kind`` names a kind rather than a column."""
        return self.price_kind in PRICE_KINDS


def a_day(value: str | None) -> str | None:
    """A ``YYYY-MM-DD`` setting, or None (pydantic validator body).

    Raises
    ------
    ValueError
        Naming the value and the expected form.
    """
    if value is not None:
        try:
            dt.date.fromisoformat(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{value!r} is not a date; expected YYYY-MM-DD") from exc
    return value


class BacktestConfig(_Strict):
    """Out-of-time evaluation settings."""

    cutoff: str | None = Field(default=None, description="YYYY-MM-DD; default: last 20 % of dates")

    @field_validator("cutoff", mode="before")
    @classmethod
    def _cutoff_is_a_day(cls, value: Any) -> Any:
        if isinstance(value, dt.date):  # YAML reads an unquoted 2024-04-01 as a date
            return value.isoformat()
        return a_day(value) if isinstance(value, str) else value

    min_group_size: Annotated[int, Field(gt=0)] = 30
    cv_folds: Annotated[int, Field(ge=2)] = Field(
        default=5, description="folds of the cross-validated backtest (data without dates)"
    )
    cv_repeats: Annotated[int, Field(ge=1)] = Field(
        default=1, description="repeats of the cross-validation, with fresh folds"
    )


class RangeRule(_Strict):
    """Plausible range of one numeric column (either bound may be omitted)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RangeRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} exceeds max {self.max:g}; expected min <= max")
        return self


_IMPUTE_COLUMNS = (
    "area_m2",
    "rooms",
    "bathrooms",
    "floor",
    "year_built",
    "property_type",
    "condition",
)


def _default_ranges() -> dict[str, RangeRule]:
    return {
        "area_m2": RangeRule(min=8, max=5000),
        "rooms": RangeRule(min=0, max=50),
        "bathrooms": RangeRule(min=0, max=30),
        "floor": RangeRule(min=-3, max=200),
        "year_built": RangeRule(min=1000),
        "lat": RangeRule(min=-90, max=90),
        "lon": RangeRule(min=-180, max=180),
    }


class ImputeOverride(_Strict):
    """A user default: ``{column: year_built, value: 1965, city: Torino}`` (city optional)."""

    column: str
    value: str | float | int
    city: str | None = None
    neighbourhood: str | None = None


class LocationRules(_Strict):
    """Coordinate checks: robust city regions, swapped, (0, 0), stacked, nearer another city."""

    region_mads: Annotated[float, Field(gt=0)] = 6.0
    min_region_km: Annotated[float, Field(ge=0)] = 2.0
    stacked_min_ids: Annotated[int, Field(ge=2)] = 5
    stacked_min_share: Annotated[float, Field(ge=0, le=1)] = 0.01
    max_swapped_share: Annotated[float, Field(gt=0, le=0.5)] = 0.2
    """Above this share of a city's points lying at the swapped position of its region, the
    data cannot tell which orientation is right (the majority may be the swapped one):
    nothing is swapped back and the rows are flagged ``location.swap_ambiguous``."""


class DuplicateRules(_Strict):
    """Exact copies, near duplicates (same place, area, rooms within a window), re-listings."""

    window_days: Annotated[int, Field(ge=0)] = 60
    coordinate_decimals: Annotated[int, Field(ge=0, le=8)] = 5
    area_tolerance_m2: Annotated[float, Field(ge=0)] = 1.0


class ConsistencyRules(_Strict):
    """Robust dispersion of log price per m2 inside location x segment groups."""

    group_levels: list[list[str]] = Field(
        default_factory=lambda: [
            ["city", "neighbourhood", "property_type"],
            ["city", "neighbourhood"],
            ["city", "property_type"],
            ["city"],
        ],
        description="groups from most to least specific; a row uses the first with enough rows",
    )
    min_group_size: Annotated[int, Field(ge=3)] = 15
    z_threshold: Annotated[float, Field(gt=0)] = 4.0
    area_per_room_z: Annotated[float, Field(gt=0)] = 5.0
    relisting_max_ratio: Annotated[float, Field(gt=1)] = 1.6
    dispersion_factor: Annotated[float, Field(gt=1)] = 2.0


class LabelRules(_Strict):
    """Asking-to-sale spread where both prices are known."""

    min_sale_to_asking: Annotated[float, Field(gt=0)] = 0.6
    max_sale_to_asking: Annotated[float, Field(gt=0)] = 1.3

    @model_validator(mode="after")
    def _ordered(self) -> LabelRules:
        if self.min_sale_to_asking > self.max_sale_to_asking:
            raise ValueError(
                f"quality.labels.min_sale_to_asking {self.min_sale_to_asking:g} exceeds "
                f"max_sale_to_asking {self.max_sale_to_asking:g}; expected min <= max"
            )
        return self


class DriftRules(_Strict):
    """Thresholds for ``estimo audit --reference``."""

    psi_threshold: Annotated[float, Field(gt=0)] = 0.2
    missing_rate_change: Annotated[float, Field(gt=0, le=1)] = 0.05
    price_level_change: Annotated[float, Field(gt=0)] = 0.10


class CleanSettings(_Strict):
    """What ``estimo clean`` (and training) does with what the audit found."""

    drop_missing_critical: bool = True
    max_critical_missing_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="a critical column missing on more than this share of the training rows "
        "no longer drops them: the rows are kept, the value imputed with a missing indicator",
    )
    warn_dropped_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="train and backtest warn when cleaning drops more than this share",
    )
    drop_duplicates: bool = True
    drop_near_duplicates: bool = Field(
        default=False,
        description="drop the later of two listings under different ids at the same point, "
        "area, rooms and floor (a re-listing); kept by default: a re-listing is data (its "
        "newer price), and keeping them scored as well or better on the shared markets",
    )
    repair_coordinates: bool = True
    null_invalid: bool = True
    outliers: Literal["drop", "downweight", "keep"] = Field(
        default="drop",
        description="price outliers in the training rows: drop, downweight (trained on "
        "with outlier_weight; a price about x10 or x0.1 of its group, a typo, is still "
        "dropped) or keep",
    )
    outlier_weight: Annotated[float, Field(ge=0, le=1)] = 0.2
    impute: bool = True
    impute_columns: list[str] = Field(
        default_factory=lambda: list(_IMPUTE_COLUMNS),
        description="columns imputed by location-aware median (numbers) or mode (categories)",
    )
    impute_levels: list[str] = Field(default_factory=lambda: ["neighbourhood", "city", "country"])
    min_group_size: Annotated[int, Field(ge=1)] = 10
    max_impute_missing_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="a column (not a critical one) missing on more than this share of the "
        "training rows is left missing, not imputed: missing is its usual state, which the "
        "model learns as it is, while a guess from the few known values (the most common "
        "condition, say) would be wrong about as often as right and told to the owner",
    )
    overrides: list[ImputeOverride] = Field(default_factory=list)
    missing_indicators: bool = True
    min_missing_share: Annotated[float, Field(ge=0, le=1)] = 0.01


class CalibrationSettings(_Strict):
    """Asking-to-sale label calibration and training weights."""

    enabled: bool = True
    asking_price_column: str | None = Field(
        default=None, description="column holding the asking price of sale rows (e.g. ListPrice)"
    )
    segment_columns: list[str] = Field(default_factory=lambda: ["city", "property_type"])
    time_unit: Literal["year", "quarter", "month", "none"] = "quarter"
    shrinkage: Annotated[float, Field(ge=0)] = 20.0
    sale_weight: Annotated[float, Field(gt=0)] = 1.0
    appraisal_weight: Annotated[float, Field(gt=0)] = 0.8
    asking_weight: Annotated[float, Field(gt=0)] = 0.5


class TextSettings(_Strict):
    """Facts read from the ``description`` column while cleaning (``quality.text``)."""

    enabled: bool = Field(default=True, description="read the description when the table has one")
    min_confidence: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="leave out facts whose estimated probability of being right is lower; "
        "default: each field's learned threshold (its precision target), 0.75 elsewhere",
    )
    fields: list[str] = Field(
        default_factory=lambda: [
            "area_m2",
            "rooms",
            "bedrooms",
            "bathrooms",
            "floor",
            "floors_in_building",
            "year_built",
            "condition",
        ],
        description="columns filled where missing (numeric extras only if the table has them)",
    )
    amenities: bool = Field(
        default=True, description="has_<amenity> flags from the text become model features"
    )
    min_amenity_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.02, description="a new amenity column needs this share of rows mentioning it"
    )
    redact: bool = Field(default=True, description="mask phone numbers, e-mail addresses and URLs")


class QualityConfig(_Strict):
    """Data-quality audit, cleaning policy and label calibration (``quality:`` section)."""

    enabled: bool = Field(default=True, description="audit and clean before training")
    critical_columns: list[str] = Field(
        default_factory=lambda: ["price", "area_m2", "rooms", "city"]
    )
    ranges: dict[str, RangeRule] = Field(default_factory=_default_ranges)
    max_years_ahead: Annotated[int, Field(ge=0)] = 5
    floors_column: str | None = Field(
        default=None, description="number of floors of the building (default: found by name)"
    )
    location: LocationRules = Field(default_factory=LocationRules)
    duplicates: DuplicateRules = Field(default_factory=DuplicateRules)
    consistency: ConsistencyRules = Field(default_factory=ConsistencyRules)
    labels: LabelRules = Field(default_factory=LabelRules)
    drift: DriftRules = Field(default_factory=DriftRules)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    max_examples: Annotated[int, Field(ge=1, le=100)] = 5


class EvaluationConfig(_Strict):
    """Evaluation report and fair comparison (``evaluation:`` section).

    Segments are derived columns of the scored rows: ``city``, ``location`` (neighbourhood,
    else a ``cell_km`` grid cell from lat/lon), ``property_type``, ``price_quintile``,
    ``size_band`` (``area_m2`` cut at ``size_bands``) and ``age_band`` (years since
    ``year_built`` cut at ``age_bands``); any other column name is used as it is.
    """

    segments: list[str] = Field(
        default_factory=lambda: [
            "city",
            "location",
            "property_type",
            "price_quintile",
            "size_band",
            "age_band",
        ]
    )
    min_group_size: Annotated[int, Field(gt=0)] = 30
    min_pe10: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.5, description="segments with a lower PE10 are listed as not to be trusted"
    )
    max_coverage_shortfall: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.05, description="segments whose range coverage is further below nominal"
    )
    interval_level: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.8, description="nominal coverage of the predicted ranges (low, high)"
    )
    cell_km: Annotated[float, Field(gt=0)] = 2.0
    size_bands: list[float] = Field(default_factory=lambda: [50.0, 80.0, 120.0, 200.0])
    age_bands: list[float] = Field(default_factory=lambda: [10.0, 30.0, 60.0, 100.0])
    n_boot: Annotated[int, Field(gt=0)] = 1000
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    seed: int = 0
    map_max_points: Annotated[int, Field(gt=0)] = 4000


class RegistryConfig(_Strict):
    """Where versioned models live (``registry:`` section)."""

    url: str = Field(
        default="runs/registry",
        description="local folder (relative to the project file) or fsspec URL, e.g. s3://...",
    )

    def resolved_url(self, base_dir: Path) -> str:
        """The URL, a relative local folder resolved against ``base_dir``."""
        return resolve_path(self.url, base_dir)


DEFAULT_QUALITY_LIMITS: dict[str, float] = {
    "duplicates.exact": 0.04,
    "location.zero": 0.02,
    "location.swapped": 0.03,
    "completeness.missing_critical": 0.05,
    "validity.range": 0.03,
    "validity.area_per_room": 0.03,
    "consistency.price_scale": 0.02,
    "consistency.price_outlier": 0.04,
}
"""The gate's default limit per quality finding kind, as a share of the training rows.

A listing source always has some faults (the synthetic demo market has 1-2 % of duplicates,
swapped coordinates, implausible years, price outliers and about 0.5 % of prices off by a
factor of ten); these limits sit at about twice those usual shares, so a source that went
wrong (5 % of prices x10, 5 % of coordinates at (0, 0), 5 % duplicates) blocks the model
trained on it, while an ordinary one does not. ``consistency.price_outlier`` is a warning
(a price far from its group) counted here because wrong prices are what it catches."""


class GateConfig(_Strict):
    """Rules of the promotion gate (``gate:`` section); fractions, 0.01 = 1 point.

    The candidate is compared with the current champion on the newest labelled rows (after
    both training windows), both scored on exactly the same rows.
    """

    max_pe10_drop: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.01, description="overall PE10 may be at most this much below the champion's"
    )
    max_city_pe10_drop: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.03, description="no city's PE10 may be more than this below the champion's"
    )
    min_city_rows: Annotated[int, Field(gt=0)] = Field(
        default=30, description="cities with fewer comparison rows are not judged"
    )
    city_drop_must_be_clear: bool = Field(
        default=True,
        description="a city fails max_city_pe10_drop only when its confidence interval of the "
        "difference lies below zero too (a drop measured on a few dozen rows is often noise)",
    )
    cod_range: tuple[float, float] = Field(
        default=(0.05, 0.15), description="candidate COD must lie in this range (IAAO)"
    )
    max_coverage_gap: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.05, description="interval coverage within this of nominal, when ranges exist"
    )
    interval_level: Annotated[float, Field(gt=0, lt=1)] = 0.8
    critical_severities: list[str] = Field(
        default_factory=lambda: ["critical", "error"],
        description="quality findings of these severities in the candidate's manifest block it "
        "when they affect more than max_critical_share of rows (kinds in quality_limits have "
        "their own limit, whatever their severity)",
    )
    max_critical_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.03,
        description="... the share of rows a critical finding not listed in quality_limits may "
        "affect",
    )
    quality_limits: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: dict(DEFAULT_QUALITY_LIMITS),
        description="largest share of the training rows each finding kind ('rule' or "
        "'rule:column') may affect before it blocks the candidate; listings always have a "
        "few faults, a source with many more is broken",
    )
    ratio_trim: Literal["iqr", "range", "none"] = Field(
        default="iqr",
        description="valuation ratios trimmed before the COD and coverage checks (IAAO): "
        "outside 1.5 IQR of the quartiles, outside 0.5-2.0, or none",
    )
    require_quality_report: bool = False
    min_rows: Annotated[int, Field(gt=0)] = Field(
        default=100, description="fewest newest labelled rows the comparison needs"
    )
    n_boot: Annotated[int, Field(gt=0)] = 500
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    seed: int = 0
    live_outcomes: bool = Field(
        default=False,
        description="also compare champion and candidate on recent live outcomes (appraisals "
        "and sales of the valuations served, from monitor.store_url) and record it in the "
        "decision; `estimo promote --live` turns it on for one decision",
    )
    live_days: Annotated[int, Field(gt=0)] = Field(
        default=90, description="live outcomes of the valuations served in the last N days"
    )
    live_min_rows: Annotated[int, Field(gt=0)] = Field(
        default=100, description="fewest live outcomes for a live verdict (fewer: skipped)"
    )
    live_must_not_lose: bool = Field(
        default=True,
        description="the live_outcomes check fails when the candidate is clearly worse than "
        "the champion on the live outcomes (PE10 difference's interval below zero)",
    )

    @field_validator("cod_range")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= value[0] < value[1]:
            raise ValueError(f"expected [low, high] with 0 <= low < high, got {list(value)!r}")
        return value


class ExplainConfig(_Strict):
    """Explanations shown to home owners (``explain:`` section)."""

    language: Literal["en", "it", "es"] = Field(default="en", description="language of the texts")
    labels: dict[str, str] = Field(
        default_factory=dict, description="plain labels of your own columns: {column: label}"
    )
    concepts: dict[str, str] = Field(
        default_factory=dict,
        description="concept of your own columns: {column: location | size | layout | "
        "age_condition | amenities | floor | market_timing | other}",
    )
    n_reasons: Annotated[int, Field(gt=0, le=12)] = Field(
        default=5, description="reasons shown at most; the rest is folded into 'other factors'"
    )
    rounding: Annotated[int, Field(gt=0)] = Field(
        default=1, description="amounts are whole multiples of this (1 = the currency unit)"
    )
    price_terms: Literal["price", "rent"] = Field(
        default="price",
        description="words of the explanations: a price, or a monthly rent (the default when "
        "data.price_kind is rent)",
    )


class EngineConfig(_Strict):
    """Valuation engine (issue 4): index, location features, city models, comps, ranges."""

    min_city_rows: Annotated[int, Field(gt=0)] = Field(
        default=2000, description="training rows a city needs for its own model"
    )
    validation_months: Annotated[int, Field(gt=0)] = Field(
        default=2,
        description="last months before the training end used for model choice, "
        "blend weights and interval calibration",
    )
    holdout: Literal["random", "spatial"] = Field(
        default="random",
        description="data without time to split on (one date): hold out random properties "
        "or whole ~2 km cells, for the engine's choices and for cross-validation",
    )
    holdout_folds: Annotated[int, Field(ge=2)] = Field(
        default=5, description="the engine's held-out fold is one of this many"
    )
    dedupe: Literal["latest", "first", "weight", "none"] = Field(
        default="latest",
        description="re-listings: keep the latest or the first appearance, weight 1/n, or keep all",
    )
    n_estimators: Annotated[int, Field(gt=0)] = 2000
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    num_leaves: Annotated[int, Field(gt=1)] = 63
    max_depth: int = Field(
        default=8,
        ge=-1,
        description="depth limit of every tree (-1: none); explanations cost less with "
        "shallower trees",
    )
    min_child_samples: Annotated[int, Field(gt=0)] = 20
    colsample_bytree: Annotated[float, Field(gt=0, le=1)] = 0.7
    subsample: float = Field(
        default=0.8, gt=0, le=1, description="share of the training rows each tree is grown on"
    )
    reg_lambda: float = Field(default=1.0, ge=0, description="L2 penalty on the leaf values")
    objective: Literal["huber", "regression", "regression_l1"] = "huber"
    huber_delta: float = Field(
        default=0.15,
        gt=0,
        description="log-price error where the Huber loss turns from squared to absolute",
    )
    knn_k: Annotated[int, Field(gt=0)] = 20
    twin_m: float = Field(
        default=100.0,
        gt=0,
        description="metres within which a training row can be the same or an identical flat",
    )
    twin_log_area: float = Field(
        default=0.01, gt=0, description="largest |log area difference| between twins"
    )
    map_axes: int = Field(
        default=6,
        ge=0,
        le=32,
        description="rotated coordinates the trees can split on (0: latitude and longitude only)",
    )
    use_offset: bool | Literal["auto"] = Field(
        default=True,
        description="learn on top of the neighbours' price per m2 times the area (true), "
        "from the city's level (false), or the latter only where the validation slice "
        "clearly prefers it (auto: one more model fit)",
    )
    index_controls: Literal["characteristics", "location"] = Field(
        default="characteristics",
        description="what the price index holds fixed besides location and area: the "
        "homes' characteristics (a month in which better homes sold is not a price rise) "
        "or nothing more",
    )
    index_smoothing: Annotated[float, Field(gt=0)] | Literal["auto"] = Field(
        default=50.0,
        description="ridge penalty on the index's monthly steps, in rows (larger is "
        "smoother), or auto: chosen per city by leaving out one month at a time",
    )
    index_trend_months: Annotated[int, Field(ge=0)] = 3
    index_damping: Annotated[float, Field(ge=0, le=1)] = 0.8
    index_trend_check: bool = Field(
        default=True,
        description="carry the trend past the data only in cities where it forecast the "
        "index's own past better than a flat level",
    )
    plain_member: bool = Field(
        default=True,
        description="blend the model with a plain LightGBM, weighted by the validation slice",
    )
    comps: bool = Field(default=True, description="blend the model with comparables")
    comps_k: Annotated[int, Field(gt=0)] = 8
    comps_location_features: list[str] = Field(
        default_factory=list,
        description="columns that follow from where the property is (distances to the "
        "centre, to schools, ...), adjusted with its coordinates as one 'location' "
        "adjustment of each comparable",
    )
    interval_levels: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.8, 0.9]
    )
    interval_segment: str | None = Field(
        default="property_type", description="column of the Mondrian segments within a city"
    )
    seed: int = 0
    n_jobs: Annotated[int, Field(gt=0)] = 2


# --------------------------------------------------------------------------- monitor: section

#: Fields of an outcome (an appraisal, a sale or an asking price of a valued property).
OUTCOME_FIELDS: tuple[str, ...] = (
    "property_id",
    "request_id",
    "kind",
    "price",
    "date",
    "appraiser_id",
    "source",
)


class OutcomeImport(_Strict):
    """How ``estimo outcomes import`` maps a CSV/Parquet table onto outcomes.

    Fields found under their own name need no mapping; ``kind`` and ``source`` may be
    constants for the whole file.
    """

    @field_validator("date_format")
    @classmethod
    def _a_date_format(cls, value: str | None) -> str | None:
        return check_date_format(value)

    columns: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description="outcome field -> input column name or {value: constant}",
    )
    date_format: str | None = Field(
        default=None,
        description="strftime format of the dates; 'unix' or 'excel' for dates written as "
        "numbers (default: ISO, or day/month order read from the whole column)",
    )
    kind: str = Field(
        default="sale", description="appraisal | sale | asking, or the name of a column"
    )
    source: str = Field(
        default="import", description="where the outcomes come from, when no column says it"
    )
    read_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _strings_are_columns(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"column": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, ColumnSource]) -> dict[str, ColumnSource]:
        unknown = sorted(set(value) - set(OUTCOME_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown outcome field(s) {unknown!r}; expected some of {list(OUTCOME_FIELDS)!r}"
            )
        if any(s.year is not None for s in value.values()):
            raise ValueError("outcome fields are a column or a {value: ...} constant")
        return value


class MonitorAlerts(_Strict):
    """Alert rules of ``estimo monitor`` (fractions: 0.03 = 3 %)."""

    max_drift: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.03,
        description="alert when a city's valuation error has been trending and its accumulated "
        "drift since the model started serving exceeds this (and half of it at the near end "
        "of its interval)",
    )
    max_bias: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.05,
        description="alert when a city-month's median ratio (valuation / outcome) is, with "
        "its whole confidence interval, further than this from 1",
    )
    min_pe10: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.5, description="alert when a city-month's PE10 interval lies below this"
    )
    max_psi: Annotated[float, Field(gt=0)] = Field(
        default=0.25, description="alert when a feature's PSI against the training data is higher"
    )
    max_missing_change: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.10, description="alert when a feature's missing rate changed more than this"
    )
    max_index_gap: Annotated[float, Field(gt=0)] = Field(
        default=0.05,
        description="alert when a city's price index re-fitted on outcomes moved this much "
        "more (or less) than the model's index since the first month of outcomes (critical "
        "beyond twice)",
    )
    max_outside_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.10,
        description="alert when more requests than this fall outside the training area or ranges",
    )
    stale: bool = Field(
        default=True, description="alert when a model is older than the rolling backtest's advice"
    )
    fail_on: Literal["warning", "critical"] = Field(
        default="warning", description="lowest alert severity that makes the exit code 1"
    )


class MonitorConfig(_Strict):
    """Live monitoring (``monitor:`` section): the store, outcome import, report, alerts."""

    store_url: str = Field(
        default="sqlite:///runs/monitor.db",
        description="SQLAlchemy URL; a relative SQLite path is relative to the project file; "
        "production: postgresql+psycopg://user@host:5432/db",
    )
    table_prefix: str = ""
    flush_seconds: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="the service writes served valuations this often"
    )
    match_days: Annotated[int, Field(gt=0)] = Field(
        default=180,
        description="an outcome without a request id is matched to the property's latest "
        "valuation served at most this many days before it",
    )
    window_months: Annotated[int, Field(gt=0)] = Field(
        default=1, description="recent months compared with the training data for drift"
    )
    min_group_size: Annotated[int, Field(gt=0)] = 30
    n_boot: Annotated[int, Field(gt=0)] = 400
    confidence: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.9, description="level of the accuracy figures' bootstrap intervals"
    )
    trend_confidence: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.95,
        description="level of each city's error-trend interval (the drift rule): every "
        "city's trend is tested again each month, so each look is held to a stricter level",
    )
    max_drift_rows: Annotated[int, Field(gt=0)] = Field(
        default=10_000,
        description="newest served records read per month for feature drift and the envelope",
    )
    outcomes: OutcomeImport = Field(default_factory=OutcomeImport)
    alerts: MonitorAlerts = Field(default_factory=MonitorAlerts)

    def resolved_store_url(self, base_dir: Path) -> str:
        """The store URL, a relative SQLite path resolved against ``base_dir``.

        Examples
        --------
        >>> MonitorConfig().resolved_store_url(Path("/srv/p"))
        'sqlite:////srv/p/runs/monitor.db'
        """
        return resolve_sqlite_url(self.store_url, base_dir)


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """A database URL whose relative SQLite path is resolved against ``base_dir`` (the
    project file's folder: ``runs/monitor.db`` is next to it wherever a command runs);
    other URLs as they are.

    Examples
    --------
    >>> resolve_sqlite_url("sqlite:///runs/k.db", Path("/srv/p"))
    'sqlite:////srv/p/runs/k.db'
    >>> resolve_sqlite_url("postgresql+psycopg://db/x", Path("/srv/p"))
    'postgresql+psycopg://db/x'
    """
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix:
        path = url[len(prefix) :]
        if path != ":memory:" and not Path(path).is_absolute():
            return prefix + str((base_dir / path).resolve())
    return url


class ProjectConfig(_Strict):
    """The whole project file."""

    data: DataConfig
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    serve: dict[str, Any] = Field(
        default_factory=dict,
        description="the valuation service's section, validated by estimo.serve.settings",
    )
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _rent_terms(self) -> ProjectConfig:
        """Explanations of rent data speak of monthly rents unless told otherwise."""
        if self.data.price_kind == "rent" and "price_terms" not in self.explain.model_fields_set:
            self.explain.price_terms = "rent"
        return self

    @model_validator(mode="after")
    def _asking_price_is_not_a_feature(self) -> ProjectConfig:
        """The asking price the label calibration reads is kept by loading although it
        follows the price: it is dropped before training, never a feature."""
        asking = self.quality.calibration.asking_price_column
        if asking is not None and asking not in self.data.allow_price_derived:
            self.data.allow_price_derived.append(asking)
        return self

    def resolved_data_path(self) -> str:
        """The data path, relative paths resolved against the project file's folder."""
        return resolve_path(self.data.path, self.base_dir)


def resolve_path(path: str, base_dir: Path) -> str:
    """Resolve a local relative path against ``base_dir`` (``~`` is the home folder, as in
    a shell); URLs are returned unchanged.

    Examples
    --------
    >>> resolve_path("s3://bucket/a.csv", Path("/p"))
    's3://bucket/a.csv'
    >>> resolve_path("~/a.csv", Path("/p")) == str(Path.home() / "a.csv")
    True
    """
    if "://" in path:
        return path
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if Path(path).is_absolute():
        return path
    return str((base_dir / path).resolve())


def load_config(path: str | Path, env: dict[str, str] | None = None) -> ProjectConfig:
    """Read, override from the environment and validate a project file.

    Parameters
    ----------
    path : str or Path
        The YAML project file.
    env : dict, optional
        Environment to read ``ESTIMO_*`` overrides from (default: ``os.environ``).

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or fails validation; the message lists every
        invalid field with its value.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"project file {str(path)!r} does not exist")
    raw = read_yaml_file(path)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"project file {str(path)!r} must hold a mapping, got {type(raw).__name__}"
        )
    env = os.environ if env is None else env
    raw = apply_env_overrides(raw, env)
    config = validate_config(raw, source=str(path), from_env=env_override_paths(env))
    config.base_dir = path.resolve().parent
    return config


def env_override_paths(env: Any) -> dict[str, str]:
    """The settings the ``ESTIMO_*`` variables of ``env`` override: dotted path ->
    variable (``data.max_date`` -> ``ESTIMO_DATA__MAX_DATE``).

    Examples
    --------
    >>> env_override_paths({"ESTIMO_DATA__MAX_DATE": "2030-01-01", "HOME": "/root"})
    {'data.max_date': 'ESTIMO_DATA__MAX_DATE'}
    """
    return {
        ".".join(p.lower() for p in key[len(ENV_PREFIX) :].split("__")): key
        for key in env
        if key.startswith(ENV_PREFIX) and "__" in key
    }


def validate_config(
    raw: dict[str, Any], source: str = "configuration", from_env: dict[str, str] | None = None
) -> ProjectConfig:
    """Validate a configuration mapping, turning pydantic's errors into one clear message.

    Raises
    ------
    ConfigError
        If a field is invalid, or the retired ``model:`` section is present (its settings
        belong under ``engine:``, the one place the valuation engine is configured).

    Examples
    --------
    >>> validate_config({"data": {"path": "x.csv"}, "model": {"n_estimators": 500}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    estimo.errors.ConfigError: configuration: the 'model:' section is retired ...
    """
    if "model" in raw:
        raise ConfigError(f"{source}: {retired_model_message(raw['model'])}")
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc, source, from_env) from exc


def engine_with(
    engine: EngineConfig, overrides: dict[str, Any], source: str = "engine settings"
) -> EngineConfig:
    """The ``engine`` section with some settings replaced, validated as in a project file.

    Examples
    --------
    >>> engine_with(EngineConfig(), {"knn_k": 10}).knn_k
    10
    >>> engine_with(EngineConfig(), {"knn": 10})
    Traceback (most recent call last):
    ...
    estimo.errors.ConfigError: engine settings is invalid:
      - knn: Extra inputs are not permitted (got 10)
    """
    try:
        return EngineConfig.model_validate({**engine.model_dump(), **overrides})
    except ValidationError as exc:
        raise _config_error(exc, source) from exc


def retired_model_message(section: Any) -> str:
    """What to do with a ``model:`` section: move its settings under ``engine:``.

    Examples
    --------
    >>> retired_model_message({"n_estimators": 500}).split("; ")[-1]
    "write them under 'engine:' instead: engine: {n_estimators: 500}"
    """
    keys = sorted(section) if isinstance(section, dict) else []
    known = [k for k in keys if k in EngineConfig.model_fields]
    unknown = [k for k in keys if k not in EngineConfig.model_fields]
    text = (
        "the 'model:' section is retired (no command read it); the valuation engine has one "
        "place for its settings, 'engine:'"
    )
    if known:
        moved = ", ".join(f"{k}: {section[k]!r}" for k in known)
        text += f"; write them under 'engine:' instead: engine: {{{moved}}}"
    if unknown:
        text += f" ({', '.join(repr(k) for k in unknown)} are not engine settings: drop them)"
    return text


def _config_error(
    exc: ValidationError, source: str, from_env: dict[str, str] | None = None
) -> ConfigError:
    """One message listing every invalid field with its value (and the environment
    variable it came from, when ``from_env`` maps its dotted path to one)."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        variable = next(
            (
                v
                for path, v in (from_env or {}).items()
                if where == path or where.startswith(path + ".")
            ),
            None,
        )
        said = f" (from environment variable {variable})" if variable else ""
        lines.append(f"{where}: {err['msg']} (got {value!r}){said}")
    return ConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(lines))


def apply_env_overrides(raw: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> dict:
    """Apply ``ESTIMO_SECTION__KEY=value`` overrides (values parsed as YAML scalars).

    Examples
    --------
    >>> apply_env_overrides({"model": {"seed": 0}}, {"ESTIMO_MODEL__SEED": "7"})
    {'model': {'seed': 7}}
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for key, text in env.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {key} overrides a non-section {part!r}")
        node[parts[-1]] = parse_yaml(text, f"environment variable {key}")
    return out
