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

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from estimo.errors import ConfigError
from estimo.schema import CANONICAL_COLUMNS, PRICE_KINDS

ENV_PREFIX = "ESTIMO_"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class DataConfig(_Strict):
    """How to read the user's table and map it onto the canonical record."""

    path: str = Field(description="CSV or Parquet file, local path or fsspec URL")
    columns: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description="canonical field -> input column name, {value: constant} or {year, month, day}",
    )
    date_format: str | None = Field(
        default=None, description="strftime format of the date column, e.g. '%Y-%m' or '%Y%m'"
    )
    area_unit: Literal["m2", "sqft"] = "m2"
    price_kind: str = Field(
        default="asking", description="asking | sale | appraisal, or the name of a column"
    )
    currency: str = "EUR"
    extra_features: Literal["all", "none"] | list[str] = "all"
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

    @property
    def price_kind_is_constant(self) -> bool:
        """Whether ``price_kind`` names a kind rather than a column."""
        return self.price_kind in PRICE_KINDS


class ModelConfig(_Strict):
    """LightGBM settings of the valuation model (log-price target)."""

    n_estimators: Annotated[int, Field(gt=0)] = 2000
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.03
    num_leaves: Annotated[int, Field(gt=1)] = 63
    min_child_samples: Annotated[int, Field(gt=0)] = 20
    subsample: Annotated[float, Field(gt=0, le=1)] = 0.8
    colsample_bytree: Annotated[float, Field(gt=0, le=1)] = 0.8
    reg_lambda: Annotated[float, Field(ge=0)] = 1.0
    seed: int = 0
    n_jobs: int = 2


class BacktestConfig(_Strict):
    """Out-of-time evaluation settings."""

    cutoff: str | None = Field(default=None, description="YYYY-MM-DD; default: last 20 % of dates")
    min_group_size: Annotated[int, Field(gt=0)] = 30


class ProjectConfig(_Strict):
    """The whole project file."""

    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolved_data_path(self) -> str:
        """The data path, relative paths resolved against the project file's folder."""
        return resolve_path(self.data.path, self.base_dir)


def resolve_path(path: str, base_dir: Path) -> str:
    """Resolve a local relative path against ``base_dir``; URLs are returned unchanged."""
    if "://" in path or Path(path).is_absolute():
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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"project file {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"project file {str(path)!r} must hold a mapping, got {type(raw).__name__}"
        )
    raw = apply_env_overrides(raw, os.environ if env is None else env)
    config = validate_config(raw, source=str(path))
    config.base_dir = path.resolve().parent
    return config


def validate_config(raw: dict[str, Any], source: str = "configuration") -> ProjectConfig:
    """Validate a configuration mapping, turning pydantic's errors into one clear message."""
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            value = err.get("input")
            lines.append(f"{where}: {err['msg']} (got {value!r})")
        raise ConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(lines)) from exc


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
        node[parts[-1]] = yaml.safe_load(text)
    return out
