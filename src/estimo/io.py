"""Read a user's table and map it onto the canonical property record.

:func:`load_dataset` reads CSV or Parquet (local or any fsspec URL), applies the column
mapping of the project file (renames, constants, dates assembled from parts, unit
conversion) and validates every field. Problems are collected, never raised one at a time:

- structural problems (a mapped column that is not in the file, a required field without a
  source, an empty table, a field with no parsable value at all) raise one
  :class:`~estimo.errors.DataError` that lists them all;
- row problems (an unparsable date, a missing or non-positive price, a non-numeric value in
  a numeric field) are repaired or the row is dropped, and each is counted with examples in
  the :class:`LoadReport`, so nothing is lost silently (every dropped row is listed with
  its reason in ``LoadReport.dropped``, written to ``dropped.parquet`` by the CLI).

The checks of :mod:`estimo.load_checks` run here too: an undecidable day/month order and
extra features computed from the price are structural problems; dates outside
``data.min_date`` .. ``data.max_date`` drop their rows; an area median that does not fit
``data.area_unit`` is a warning.

Examples
--------
>>> import pandas as pd
>>> from estimo.config import DataConfig
>>> raw = pd.DataFrame({"Price": [100_000, -1, 250_000], "Sold": ["2024-01", "2024-02", "x"],
...                     "sqft": [800, 900, 1000]})
>>> cfg = DataConfig(path="-", columns={"price": "Price", "date": "Sold", "area_m2": "sqft",
...                  "city": {"value": "Ames"}}, date_format="%Y-%m", area_unit="sqft")
>>> result = to_canonical(raw, cfg, max_dropped_share=1.0)
>>> len(result.frame), result.report.n_dropped
(1, 2)
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from estimo.config import (
    NUMERIC_DATE_FORMATS,
    ColumnSource,
    DataConfig,
    ProjectConfig,
    apply_env_overrides,
    load_config,
    validate_config,
)
from estimo.errors import ConfigError, DataError, MappingError
from estimo.load_checks import (
    area_unit_issue,
    date_order_problem,
    date_window,
    day_month_order,
    price_derived_problems,
)
from estimo.schema import (
    CANONICAL_COLUMNS,
    FIELDS,
    PRICE_KINDS,
    REQUIRED_FIELDS,
    SQFT_TO_M2,
)

log = logging.getLogger(__name__)

MAX_EXAMPLES = 3
DROP_COLUMNS = ["row", "id", "rule", "reason"]
"""Columns of the dropped-rows table (the same as the cleaning's ``dropped.parquet``)."""
DEFAULT_MAX_DROPPED_SHARE = 0.5
_PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".tsv", ".txt")


@dataclass
class LoadIssue:
    """One kind of row problem found while loading.

    Attributes
    ----------
    column : str
        Canonical field (and, in brackets, the input column) concerned.
    problem : str
        What is wrong, e.g. ``"unparsable date"``.
    count : int
        Rows affected.
    examples : list
        Up to three offending values, as found in the input.
    action : str
        What was done: ``"row dropped"`` or ``"set to missing"``.
    """

    column: str
    problem: str
    count: int
    examples: list[Any]
    action: str

    def __str__(self) -> str:
        return (
            f"{self.column}: {self.count} {self.problem}, e.g. "
            f"{', '.join(repr(e) for e in self.examples)} ({self.action})"
        )


@dataclass
class LoadReport:
    """What loading did: rows in and out and every problem found."""

    n_input_rows: int
    n_rows: int = 0
    issues: list[LoadIssue] = field(default_factory=list)
    dropped_ids: list[str] = field(default_factory=list)
    n_other_operation: int = 0
    undated: bool = False
    beyond_calendar: pd.Series | None = field(default=None, repr=False)
    """Input rows whose date is a date but outside the years a timestamp can hold
    (1677-09-22 .. 2262-04-11): dropped with the plausible window's reason."""
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DROP_COLUMNS))
    """One row per dropped input row: ``row`` (position in the input, after the operation
    filter), ``id``, ``rule`` (``load.<field>``) and ``reason``, as in ``dropped.parquet``."""

    @property
    def n_dropped(self) -> int:
        """Rows dropped because a required field was missing or invalid."""
        return self.n_input_rows - self.n_rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "n_input_rows": self.n_input_rows,
            "n_rows": self.n_rows,
            "n_dropped": self.n_dropped,
            "n_other_operation": self.n_other_operation,
            "undated": self.undated,
            "issues": [
                {
                    "column": i.column,
                    "problem": i.problem,
                    "count": i.count,
                    "examples": [str(e) for e in i.examples],
                    "action": i.action,
                }
                for i in self.issues
            ],
        }


def with_load_drops(dropped: pd.DataFrame | None, report: LoadReport) -> pd.DataFrame:
    """The rows loading dropped (rule ``load.<field>``, ``row`` = input row) followed by
    ``dropped`` (the cleaning's, ``row`` = row of the loaded frame): every row of the input
    that does not reach the model, with its reason.

    Examples
    --------
    >>> report = LoadReport(n_input_rows=3)
    >>> report.dropped = pd.DataFrame({"row": [1], "id": ["b"], "rule": ["load.price"],
    ...                                "reason": ["missing prices (the target)"]})
    >>> cleaned = pd.DataFrame({"row": [0], "id": ["a"], "rule": ["duplicates.exact"],
    ...                         "reason": ["copy"]})
    >>> with_load_drops(cleaned, report)["rule"].tolist()
    ['load.price', 'duplicates.exact']
    """
    parts = [f for f in (report.dropped, dropped) if f is not None and len(f)]
    if not parts:
        return pd.DataFrame(columns=DROP_COLUMNS) if dropped is None else dropped
    return pd.concat(parts, ignore_index=True)


def summary_with_load_drops(summary: dict[str, Any], load_dropped: pd.DataFrame | None) -> dict:
    """A cleaning summary (``cleaning.json``) that also counts the rows loading dropped:
    ``n_input`` (when present) and ``n_dropped`` include them, ``dropped_by_rule`` lists
    their ``load.<field>`` rules first, and ``n_dropped_loading`` says how many they were.

    Examples
    --------
    >>> load = pd.DataFrame({"row": [0], "id": ["a"], "rule": ["load.date"], "reason": ["x"]})
    >>> s = summary_with_load_drops(
    ...     {"n_input": 9, "n_output": 8, "n_dropped": 1, "dropped_by_rule": {"r": 1}}, load)
    >>> s["n_input"], s["n_dropped"], s["dropped_by_rule"], s["n_dropped_loading"]
    (10, 2, {'load.date': 1, 'r': 1}, 1)
    """
    out = dict(summary)
    n_load = 0 if load_dropped is None else len(load_dropped)
    out["n_dropped_loading"] = n_load
    if not n_load:
        return out
    if "n_input" in out:
        out["n_input"] = int(out["n_input"]) + n_load
    out["n_dropped"] = int(out.get("n_dropped", 0)) + n_load
    by_rule = {str(k): int(v) for k, v in load_dropped["rule"].value_counts().items()}
    for rule, count in dict(out.get("dropped_by_rule") or {}).items():
        by_rule[rule] = by_rule.get(rule, 0) + int(count)
    out["dropped_by_rule"] = by_rule
    return out


@dataclass
class LoadResult:
    """A canonical frame and the report of how it was made."""

    frame: pd.DataFrame
    report: LoadReport
    currency: str = "EUR"


def read_table(path: str, read_options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file from a local path or an fsspec URL.

    Raises
    ------
    DataError
        If the file does not exist, has an unknown extension or cannot be parsed.
    """
    options = dict(read_options or {})
    lower = path.lower()
    if "://" not in path and not Path(path).exists():
        raise DataError([f"file {path!r} does not exist"], header="cannot read the data")
    try:
        if lower.endswith(_PARQUET_SUFFIXES):
            return pd.read_parquet(path, **options)
        if lower.endswith(CSV_SUFFIXES):
            if lower.endswith(".tsv"):
                options.setdefault("sep", "\t")
            frame = pd.read_csv(path, **options)
            if "://" not in path and _title_hint(path, options):
                raise pd.errors.ParserError("the first line is not the header")
            return named_as_written(frame)
    except TypeError as exc:  # an option the reader does not take
        raise ConfigError(
            f"data.read_options {options!r} has an option the "
            f"{'Parquet' if lower.endswith(_PARQUET_SUFFIXES) else 'CSV'} reader does not "
            f"know ({exc}); expected options of pandas' read_csv/read_parquet such as sep, "
            "decimal, thousands or encoding"
        ) from None
    except UnicodeDecodeError as exc:
        guess = guess_encoding(path)
        raise DataError(
            [
                f"{path!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
                f"{exc.start}); it reads as {guess}: set data.read_options: "
                f"{{encoding: {guess}}} (cp1252: Windows, Western Europe; cp1250: Central "
                "Europe)"
            ],
            header="cannot read the data",
        ) from None
    except pd.errors.ParserError as exc:
        hint = _title_hint(path, options)
        raise DataError([f"{path!r}: {exc}", *hint], header="cannot read the data") from exc
    except (OSError, ValueError, ImportError) as exc:
        raise DataError([f"{path!r}: {exc}"], header="cannot read the data") from exc
    raise DataError(
        [
            f"file {path!r} has an unknown extension; expected one of "
            f"{list(_PARQUET_SUFFIXES + CSV_SUFFIXES)!r}"
        ],
        header="cannot read the data",
    )


def title_lines(lines: list[str], delimiter: str, most: int = 20) -> int:
    """How many lines above the header are titles: the lines before the first one with the
    table's usual number of fields (0 when the table starts at once, or when more than
    ``most`` lines would be skipped).

    Examples
    --------
    >>> title_lines(["Sales export 2024", "", "price,city", "1,a", "2,b"], ",")
    2
    >>> title_lines(["price,city", "1,a", "2,b"], ",")
    0
    """
    counts = [
        len(next(csv.reader([line], delimiter=delimiter))) if line.strip() else 0 for line in lines
    ]
    body = [c for c in counts if c > 1]
    if not body:
        return 0
    usual = Counter(body).most_common(1)[0][0]
    first = counts.index(usual)
    if first == 0 or first > most:
        return 0
    header = next(csv.reader([lines[first]], delimiter=delimiter))
    numbers = sum(bool(re.fullmatch(r"\s*-?[\d.,]+\s*", f)) for f in header)
    return first if numbers <= len(header) / 2 else 0  # rows longer than the header: not titles


def _title_hint(path: str, options: dict[str, Any]) -> list[str]:
    """A problem naming ``read_options: {skiprows: N}`` when a CSV that cannot be parsed
    has title lines above its header; else nothing."""
    import fsspec

    if "skiprows" in options or "header" in options:
        return []
    try:
        with fsspec.open(path, "rb", compression="infer") as handle:
            sample = handle.read(20_000).decode(options.get("encoding", "utf-8"), "replace")
    except (OSError, ValueError, LookupError):
        return []
    skip = title_lines(sample.splitlines()[:-1], options.get("sep", ","))
    if not skip:
        return []
    return [
        f"{path!r} has {skip} line(s) above its header (a title?); set data.read_options: "
        f"{{skiprows: {skip}}} in the project file (`estimo init` finds them)"
    ]


def sniff_layout(data: str, encoding: str = "utf-8") -> tuple[str | None, int]:
    """The delimiter of a CSV (compressed or not, local or at a URL) and the number of title
    lines above its header (a report's name, an export date, a blank line), from its first
    lines; (None, 0) for other files or when it cannot be read."""
    import fsspec

    lower = data.lower()
    if not lower.endswith(CSV_SUFFIXES):
        return None, 0
    if "://" not in data and not Path(data).is_file():
        return None, 0
    try:
        with fsspec.open(data, "rb", compression="infer") as handle:
            sample = handle.read(20_000).decode(encoding, errors="replace")
    except (OSError, ValueError):
        return None, 0
    lines = sample.splitlines()[:-1] or sample.splitlines()  # the last one may be cut
    if lower.endswith(".tsv"):
        return None, title_lines(lines, "\t")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        return delimiter, title_lines(lines, delimiter)
    except csv.Error:
        pass
    for delimiter in ",;\t|":  # titles above the header hide the delimiter from the sniffer
        skip = title_lines(lines, delimiter)
        if not skip:
            continue
        try:
            csv.Sniffer().sniff("\n".join(lines[skip:]), delimiters=delimiter)
        except csv.Error:
            continue
        return delimiter, skip
    return None, 0


def read_table_as_found(path: str) -> pd.DataFrame:
    """A CSV or Parquet file read without a project file: a CSV's encoding, delimiter and
    title lines found from its first bytes (:func:`guess_encoding`, :func:`sniff_layout`),
    as ``estimo init`` finds them.

    Raises
    ------
    DataError
        If the file cannot be read (see :func:`read_table`).
    """
    options: dict[str, Any] = {}
    if path.lower().endswith(CSV_SUFFIXES) and ("://" in path or Path(path).is_file()):
        encoding = guess_encoding(path)
        if encoding != "utf-8":
            options["encoding"] = encoding
        delimiter, titles = sniff_layout(path, encoding)
        if delimiter not in (None, ","):
            options["sep"] = delimiter
        if titles:
            options["skiprows"] = titles
    return read_table(path, options)


_ENCODINGS = ("cp1252", "cp1250", "latin-1")


def guess_encoding(path: str, size: int = 200_000) -> str:
    r"""The text encoding of a file: ``utf-8`` when its first ``size`` bytes decode so, else
    the legacy encoding (:data:`_ENCODINGS`) under which most of its non-ASCII characters are
    letters (Polish text read as cp1252 shows "³" and "¿" where cp1250 shows "ł" and "ż").

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "pl.csv").write_bytes("miasto;cena\nŁódź;1\nKraków;2\n".encode("cp1250"))
    >>> _ = (folder / "it.csv").write_bytes("città;prezzo\nForlì;1\n".encode("cp1252"))
    >>> guess_encoding(str(folder / "pl.csv")), guess_encoding(str(folder / "it.csv"))
    ('cp1250', 'cp1252')
    """
    import fsspec

    with fsspec.open(path, "rb", compression="infer") as handle:
        sample = handle.read(size)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass

    def letters(encoding: str) -> float:
        text = sample.decode(encoding, errors="replace")
        wide = [c for c in text if ord(c) > 127]
        return sum(c.isalpha() for c in wide) / max(len(wide), 1)

    return max(_ENCODINGS, key=letters)


def named_as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns pandas renamed for a repeated header name (``price.1``)
    named as the file wrote them, with their position: ``price (column 21)``.

    Examples
    --------
    >>> frame = pd.DataFrame([[1, 2, 3]], columns=["price", "city", "price.1"])
    >>> list(named_as_written(frame).columns)
    ['price', 'city', 'price (column 3)']
    """
    names = [str(c) for c in frame.columns]
    renamed = {}
    for i, name in enumerate(names):
        base, dot, number = name.rpartition(".")
        if dot and number.isdigit() and base in names[:i]:
            renamed[name] = f"{base} (column {i + 1})"
    return frame.rename(columns=renamed) if renamed else frame


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as Parquet; a text column that also holds numbers (a cleaning rule
    filled 1.0 into a column of words) is written as text, its missing values kept.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> write_parquet(pd.DataFrame({"a": ["yes", 1.0, None]}), path)
    >>> pd.read_parquet(path)["a"].isna().tolist(), pd.read_parquet(path)["a"][:2].tolist()
    ([False, False, True], ['yes', '1.0'])
    """
    try:
        frame.to_parquet(path, index=False)
        return
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    fixed = frame.copy()
    for column in [c for c in fixed.columns if pd.api.types.is_object_dtype(fixed[c])]:
        values = fixed[column]
        kinds = {type(v) for v in values.dropna()}
        if len(kinds) > 1:
            fixed[column] = values.map(lambda v: None if v is None or v != v else str(v))
            log.info("%s: values of mixed types written as text", column)
    fixed.to_parquet(path, index=False)


def identity_data_config(path: str, columns: list[str] | None = None) -> DataConfig:
    """Data settings for a file whose columns already have canonical names."""
    mapping = {c: c for c in (columns or []) if c in CANONICAL_COLUMNS and c != "price_kind"}
    kind = "price_kind" if columns and "price_kind" in columns else "asking"
    return DataConfig(path=path, columns=mapping, price_kind=kind)


def load_project(path_or_config: str | Path) -> ProjectConfig:
    """A project file, or a default project around a data file with canonical column names.

    Parameters
    ----------
    path_or_config : str or Path
        ``*.yaml``/``*.yml`` project file, or a CSV/Parquet file (local or URL).
    """
    text = str(path_or_config)
    if text.lower().endswith((".yaml", ".yml")):
        return load_config(text)
    columns = list(read_table(text).columns)
    data = identity_data_config(text, columns)
    raw = {"data": {"path": text, "columns": {k: s.column for k, s in data.columns.items()}}}
    raw["data"]["price_kind"] = data.price_kind
    raw = apply_env_overrides(raw, os.environ)  # ESTIMO_* apply as with a project file
    config = validate_config(raw, source=f"the settings of {text!r} (with ESTIMO_* overrides)")
    config.base_dir = Path.cwd()
    return config


def load_dataset(
    config: ProjectConfig, *, max_dropped_share: float = DEFAULT_MAX_DROPPED_SHARE
) -> LoadResult:
    """Read the project's data and map it onto the canonical record.

    Parameters
    ----------
    config : ProjectConfig
        The validated project file.
    max_dropped_share : float
        Raise instead of dropping when more than this share of rows is unusable (a sign of
        a wrong mapping rather than of a few bad rows).
    """
    raw = read_table(config.resolved_data_path(), read_options_of(config.data))
    log.info("read %d rows x %d columns from %s", len(raw), raw.shape[1], config.data.path)
    return to_canonical(raw, config.data, max_dropped_share=max_dropped_share)


def to_canonical(
    raw: pd.DataFrame,
    data: DataConfig,
    *,
    max_dropped_share: float = DEFAULT_MAX_DROPPED_SHARE,
    not_features: Iterable[str] = (),
) -> LoadResult:
    """Map a raw table onto the canonical record and validate it.

    See the module docstring for the error policy.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read.
    data : DataConfig
        The ``data:`` settings.
    max_dropped_share : float
        Raise instead of dropping when more than this share of rows is unusable.
    not_features : iterable of str
        Extra columns kept that are not model features, exempt from the price-derived
        check (the project's calibration column, ``quality.calibration.asking_price_column``,
        is exempt through ``data.allow_price_derived``).
    """
    raw, n_other_operation = keep_operation(raw, data)
    mapping = _complete_mapping(data, list(raw.columns))
    undated = "date" not in mapping
    if undated:
        mapping["date"] = undated_date_source(data)
    fatal = _structural_problems(raw, data, mapping) + one_column_hint(raw)
    if fatal:
        kind = DataError if raw.empty else MappingError  # an empty file is bad data (exit 1)
        raise kind(fatal, header="the column mapping does not fit the data")
    report = LoadReport(n_input_rows=len(raw), n_other_operation=n_other_operation, undated=undated)
    out = pd.DataFrame(index=raw.index)
    raw_values: dict[str, pd.Series] = {}
    for name in CANONICAL_COLUMNS:
        source = mapping.get(name)
        if source is None:
            continue
        out[name] = _convert_field(name, raw, source, data, report, fatal)
        if source.column is not None:
            raw_values[name] = raw[source.column]
    for name in ("city", "neighbourhood", "property_type", "condition"):
        source = mapping.get(name)
        if source is not None and source.column is not None and name in out:
            out[name] = _one_spelling(name, out[name], report)
    if "price_kind" not in out:
        out["price_kind"] = _price_kinds(raw, data, report, fatal)
    if "id" not in out:
        out["id"] = [f"row-{i}" for i in range(len(raw))]
    for name in CANONICAL_COLUMNS:
        if name not in out:
            out[name] = pd.Series(np.nan, index=raw.index, dtype=_empty_dtype(name))
    used = {c for s in mapping.values() for c in s.input_columns}
    if not data.price_kind_is_constant:
        used.add(data.price_kind)
    if data.operation is not None:  # one value left: not a feature
        used.add(data.operation.column)
    extras = _extra_columns(raw, data, used)
    names = model_safe_names(extras, report)
    for col in extras:
        out[names[col]] = _clean_extra(raw[col])
    extras = [names[c] for c in extras]
    fatal += mixed_price_scales(out["price_kind"], data)
    scales = two_price_scales(out["price"])
    if scales is not None:
        n_priced = int(out["price"].notna().sum())
        report.issues.append(LoadIssue("price", scales, n_priced, [], "kept; check the data"))
    fatal += price_derived_problems(out, extras, [*data.allow_price_derived, *not_features])
    if fatal:
        raise MappingError(fatal, header="the data cannot be mapped onto the canonical record")
    _repair_coordinates(out, report)
    keep = _rows_with_valid_required_fields(out, raw_values, report, date_window(data))
    dropped_share = 1 - keep.mean() if len(keep) else 1.0
    if keep.sum() == 0 or dropped_share > max_dropped_share:
        problems = [str(i) for i in report.issues] or ["no usable rows"]
        raise DataError(
            problems,
            header=(
                f"{(~keep).sum()} of {len(keep)} rows ({dropped_share:.0%}) cannot be used "
                f"(more than the allowed {max_dropped_share:.0%}); check the mapping"
            ),
        )
    report.dropped_ids = out.loc[~keep, "id"].astype(str).tolist()
    frame = out.loc[keep, list(CANONICAL_COLUMNS) + [c for c in out if c not in CANONICAL_COLUMNS]]
    frame = frame.reset_index(drop=True)
    report.n_rows = len(frame)
    for issue in report.issues:
        log.info("load: %s", issue)  # the CLI prints each as a warning
    return LoadResult(frame=frame, report=report, currency=data.currency)


#: share of located rows that must agree before the coordinates are read another way
_COORDINATE_SHARE = 0.95


def _repair_coordinates(out: pd.DataFrame, report: LoadReport) -> None:
    """Coordinates given another way than WGS84 degrees, read as they are meant, in place:

    * latitude and longitude swapped on (nearly) every row (``|lat| > 90`` where
      ``|lon| <= 90``): swapped back;
    * a projected system (UTM, a national grid: metres, ``|lat| > 90`` and ``|lon| > 180``):
      kept as the extra features ``x_coordinate`` / ``y_coordinate`` (the model learns
      places from them; no distance in km can be computed), lat/lon left missing.

    Each is reported as a load issue; a few odd rows among degrees are the cleaning's.
    """
    lat = pd.to_numeric(out["lat"], errors="coerce")
    lon = pd.to_numeric(out["lon"], errors="coerce")
    located = lat.notna() & lon.notna()
    n = int(located.sum())
    if n == 0:
        return
    shown = [
        "(" + ", ".join(f"{v:,.0f}" if abs(v) > 1000 else f"{v:.4f}" for v in pair) + ")"
        for pair in zip(lat[located].head(3), lon[located].head(3), strict=True)
    ]
    swapped = ((lat.abs() > 90) & (lat.abs() <= 180) & (lon.abs() <= 90))[located]
    projected = ((lat.abs() > 180) | (lon.abs() > 180))[located]
    if swapped.mean() >= _COORDINATE_SHARE:
        out["lat"], out["lon"] = lon, lat
        report.issues.append(
            LoadIssue(
                "lat/lon",
                "rows with latitude and longitude swapped (|lat| > 90)",
                n,
                shown,
                "swapped back",
            )
        )
    elif projected.mean() >= _COORDINATE_SHARE:
        out["x_coordinate"], out["y_coordinate"] = lon, lat
        out["lat"], out["lon"] = np.nan, np.nan
        report.issues.append(
            LoadIssue(
                "lat/lon",
                "rows with coordinates that are not degrees (a projected system in metres?)",
                n,
                shown,
                "kept as the features x_coordinate, y_coordinate; give WGS84 degrees for "
                "distances and comparables",
            )
        )


def _complete_mapping(data: DataConfig, columns: list[str]) -> dict[str, Any]:
    """Mapped fields, plus canonical fields found under their own name when not mapped."""
    mapping = dict(data.columns)
    taken = {c for s in mapping.values() for c in s.input_columns}
    for name in CANONICAL_COLUMNS:
        if name not in mapping and name in columns and name not in taken and name != "price_kind":
            mapping[name] = ColumnSource(column=name)
    return mapping


def _structural_problems(raw: pd.DataFrame, data: DataConfig, mapping: dict) -> list[str]:
    problems: list[str] = []
    if raw.empty:
        problems.append(f"the table is empty ({len(raw)} rows, {raw.shape[1]} columns)")
    available = list(raw.columns)
    missing = sorted(
        {
            f"{c!r} (for field {name!r})"
            for name, s in mapping.items()
            for c in s.input_columns
            if c not in available
        }
    )
    if missing:
        problems.append(
            f"mapped columns not found in the data: {', '.join(missing)}; "
            f"available columns: {available!r}"
        )
    for name in REQUIRED_FIELDS:
        if name not in mapping:
            problems.append(
                f"required field {name!r} has no source: map it to a column "
                f"(columns: {{{name}: <column>}}) or a constant ({{{name}: {{value: ...}}}})"
            )
    if not data.price_kind_is_constant and data.price_kind not in available:
        problems.append(
            f"price_kind {data.price_kind!r} is neither one of {list(PRICE_KINDS)!r} "
            f"nor a column of the data"
        )
    if isinstance(data.extra_features, list):
        absent = [c for c in data.extra_features if c not in available]
        if absent:
            problems.append(f"extra_features not found in the data: {absent!r}")
    return problems


def _convert_field(
    name: str, raw: pd.DataFrame, source: Any, data: DataConfig, report: LoadReport, fatal: list
) -> pd.Series:
    spec = FIELDS[name]
    if source.value is not None:
        constant = _constant(name, spec.kind, source.value, fatal)
        return pd.Series([constant] * len(raw), index=raw.index)
    if source.year is not None:
        return _date_from_parts(name, raw, source, report, fatal)
    values = raw[source.column]
    label = name if source.column == name else f"{name} ({source.column!r})"
    if spec.kind == "numeric":
        series = _to_numeric(label, values, report, fatal)
        unit_issue = area_unit_issue(source.column, series, data) if name == "area_m2" else None
        if (
            unit_issue is not None
            and data.check_area_unit
            and "area_unit" not in data.model_fields_set
        ):
            fatal.append(
                f"{label}: {unit_issue}; if they are m² indeed, say so with data.area_unit: m2 "
                "(or data.check_area_unit: false); without a project file, set "
                "ESTIMO_DATA__AREA_UNIT"
            )
        elif unit_issue is not None:
            known = series[series > 0]
            examples = known.iloc[:MAX_EXAMPLES].tolist()
            report.issues.append(
                LoadIssue(label, unit_issue, len(known), examples, "kept; check data.area_unit")
            )
        if name == "area_m2" and data.area_unit == "sqft":
            series = series * SQFT_TO_M2
        return series
    if spec.kind == "date":
        return _to_datetime(label, values, data.date_format, report, fatal)
    if spec.kind == "id":
        return values.astype(str).where(values.notna(), other=None)
    return _to_category(values)


def _constant(name: str, kind: str, value: Any, fatal: list) -> Any:
    """A mapped constant (``{value: ...}``) as a number or a date; one that is not becomes a
    problem naming the setting (missing values then).

    Examples
    --------
    >>> fatal = []
    >>> _constant("date", "date", "not a date", fatal), fatal[0].split(";")[0]
    (NaT, "data.columns.date.value is 'not a date', not a date")
    >>> _constant("area_m2", "numeric", "80", [])
    80.0
    """
    try:
        if kind == "numeric":
            number = float(value)
            if not np.isfinite(number):
                raise ValueError(value)
            return number
        if kind == "date":
            stamp = pd.Timestamp(str(value))
            if pd.isna(stamp):
                raise ValueError(value)
            return stamp.as_unit("ns")
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        expected = "a finite number" if kind == "numeric" else "a date such as '2024-03-31'"
        fatal.append(
            f"data.columns.{name}.value is {str(value)[:60]!r}, not "
            f"{'a number' if kind == 'numeric' else 'a date'}; expected {expected}"
        )
        return np.nan if kind == "numeric" else pd.NaT
    return value


# "47,5", "1.234,50"; not "450,000" (three digits after a lone comma group thousands)
_DECIMAL_COMMA = r"\s*-?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,}))\s*"


def decimal_comma_share(values: pd.Series) -> float:
    """The share of a column's text values written with a decimal comma (``47,51``,
    ``1.234,5``); such a CSV is read with ``data.read_options: {decimal: ","}``.

    Examples
    --------
    >>> decimal_comma_share(pd.Series(["47,5", "1.234,50", "12", None]))
    0.6666666666666666
    >>> decimal_comma_share(pd.Series([1.5, 2.0]))
    0.0
    >>> decimal_comma_share(pd.Series(["450,000", "1,250,000"]))  # thousands, not decimals
    0.0
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return 0.0
    text = values.dropna().astype(str).head(5000)
    return float(text.str.fullmatch(_DECIMAL_COMMA).mean()) if len(text) else 0.0


def _to_numeric(label: str, values: pd.Series, report: LoadReport, fatal: list) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    parsed = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = values.notna() & parsed.isna()
    if bad.any():
        parsed, bad = _written_amounts(label, values, parsed, bad, report)
    if bad.any():
        examples = values[bad].unique()[:MAX_EXAMPLES].tolist()
        if bad.sum() == values.notna().sum():
            hint = (
                "; they are written with a decimal comma: set data.read_options: "
                '{decimal: ","} (and thousands: "." when they group thousands with dots)'
                if decimal_comma_share(values) >= 0.5
                else ""
            )
            fatal.append(
                f"{label}: no value is numeric ({int(bad.sum())} values, e.g. "
                f"{', '.join(repr(e) for e in examples)}); expected numbers{hint}"
            )
        elif not label.startswith(REQUIRED_FIELDS):
            report.issues.append(
                LoadIssue(label, "non-numeric values", int(bad.sum()), examples, "set to missing")
            )
    infinite = np.isinf(parsed)
    if infinite.any():
        report.issues.append(
            LoadIssue(label, "infinite values", int(infinite.sum()), ["inf"], "set to missing")
        )
        parsed = parsed.mask(infinite)
    return parsed


def _written_amounts(
    label: str, values: pd.Series, parsed: pd.Series, bad: pd.Series, report: LoadReport
) -> tuple[pd.Series, pd.Series]:
    """Numbers written with currency signs, units or grouped digits (``"€350,000"``,
    ``"85 m²"``; :func:`estimo.amounts.read_amounts`) read as numbers, when that reads
    most of the values plain parsing could not; the whole column is then read so, with
    one decimal mark, and reported (the values it cannot read stay missing)."""
    from estimo.amounts import read_amounts

    amounts = read_amounts(values.astype(object).where(values.notna(), None))
    recovered = bad & amounts.notna()
    if recovered.sum() < 0.5 * bad.sum():
        return parsed, bad
    examples = values[recovered].unique()[:MAX_EXAMPLES].tolist()
    report.issues.append(
        LoadIssue(
            label,
            "numbers written with currency signs, units or grouped digits",
            int(recovered.sum()),
            examples,
            f"read as numbers, e.g. {amounts[recovered].iloc[0]:g}",
        )
    )
    return amounts, values.notna() & amounts.isna()


def parse_dates(values: pd.Series, fmt: str | None, label: str) -> tuple[pd.Series, list[str]]:
    """A column of dates read as the loader reads the data's (``fmt`` or ISO, the day/month
    order decided by the whole column, ``unix``/``excel`` day numbers; bare numbers refused
    without a format): the dates (NaT where unreadable) and the problems that stop the
    column.

    Examples
    --------
    >>> dates, problems = parse_dates(pd.Series(["25/11/2026", "03/11/2026"]), None, "date")
    >>> dates.dt.strftime("%Y-%m-%d").tolist(), problems
    (['2026-11-25', '2026-11-03'], [])
    >>> parse_dates(pd.Series([20261208]), None, "date")[1][0][:30]
    'date: dates are numbers (e.g. '
    """
    fatal: list[str] = []
    report = LoadReport(n_input_rows=len(values))
    parsed = _to_datetime(label, values, fmt, report, fatal)
    return parsed, fatal


def _to_datetime(
    label: str, values: pd.Series, fmt: str | None, report: LoadReport, fatal: list
) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return _in_calendar(_wall_time(pd.to_datetime(values)), report)
    if fmt in NUMERIC_DATE_FORMATS:
        return _in_calendar(_numbered_dates(label, values, fmt, fatal), report)
    if pd.api.types.is_numeric_dtype(values) and fmt is None:
        fatal.append(
            f"{label}: dates are numbers (e.g. {values.dropna().iloc[:1].tolist()!r}); give "
            "data.date_format (e.g. '%Y%m' or '%Y'; 'unix' for seconds since 1970, 'excel' for "
            "a spreadsheet's day numbers) or assemble the date with {year: ..., month: ...}"
        )
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    text = _date_text(values)
    if fmt is not None:
        try:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        except ValueError:  # offsets that differ between rows under a format with %z
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        parsed = _wall_time(parsed)
    else:
        text = without_utc_offset(text)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if parsed.isna().sum() > text.isna().sum():
            parsed = parsed.fillna(_non_iso_dates(label, text[parsed.isna()], fatal))
    parsed = _in_calendar(parsed, report)
    bad = values.notna() & parsed.isna()
    if bad.any():
        examples = values[bad].unique()[:MAX_EXAMPLES].tolist()
        expected = f"format {fmt!r}" if fmt else "ISO dates such as '2024-03-31'"
        if bad.sum() == values.notna().sum():
            fatal.append(
                f"{label}: no value is a date ({int(bad.sum())} values, e.g. "
                f"{', '.join(repr(e) for e in examples)}); expected {expected}"
            )
    return parsed


#: Day 0 of a spreadsheet's day numbers (Excel's 1900 system, its 1900-02-29 included)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _numbered_dates(label: str, values: pd.Series, fmt: str, fatal: list) -> pd.Series:
    """Dates written as numbers: ``unix`` seconds since 1970 (milliseconds when the numbers
    are that large), ``excel`` day numbers (a fraction is a time of day).

    Examples
    --------
    >>> _numbered_dates("date", pd.Series([1_700_000_000, None]), "unix", []).tolist()
    [Timestamp('2023-11-14 22:13:20'), NaT]
    >>> _numbered_dates("date", pd.Series(["45292", "45292.5"]), "excel", []).tolist()
    [Timestamp('2024-01-01 00:00:00'), Timestamp('2024-01-01 12:00:00')]
    """
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    bad = values.notna() & numbers.isna()
    if bad.all() and values.notna().any():
        examples = ", ".join(repr(v) for v in values[bad].unique()[:MAX_EXAMPLES].tolist())
        fatal.append(
            f"{label}: no value is a number ({examples}); date_format {fmt!r} reads numbers"
        )
    if fmt == "excel":
        days = numbers.where((numbers > 0) & (numbers < 2_958_466))  # up to 9999-12-31
        return EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
    typical = numbers.abs().median()
    unit = "ms" if np.isfinite(typical) and typical > 1e11 else "s"
    seconds = numbers.where(numbers.abs() < (9.2e15 if unit == "ms" else 9.2e12))
    return pd.to_datetime(seconds, unit=unit, errors="coerce")


_OFFSET = r"(?<=\d:\d\d)((?::\d\d(?:\.\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$"


def without_utc_offset(text: pd.Series) -> pd.Series:
    """Date-times as text without a trailing UTC offset (``Z``, ``+02:00``, ``-0500``) after
    their time of day, keeping the local date and time as written: a sale on the evening of
    1 June in New York is a sale of 1 June, not of 2 June in UTC, and a file whose offsets
    change with daylight saving time reads as one column of dates.

    Examples
    --------
    >>> without_utc_offset(pd.Series(["2023-06-01T23:30:00-05:00", "2023-03-26T10:00Z",
    ...                               "2023-06-05", None], dtype=object)).tolist()
    ['2023-06-01T23:30:00', '2023-03-26T10:00', '2023-06-05', None]
    """
    if not text.notna().any():
        return text
    stripped = text.str.replace(_OFFSET, r"\1", regex=True)
    return stripped.where(text.notna(), None)


def _wall_time(parsed: pd.Series) -> pd.Series:
    """Time-zone-aware dates as the local date and time they show (see
    :func:`without_utc_offset`); naive ones as they are."""
    if getattr(parsed.dt, "tz", None) is not None:
        return parsed.dt.tz_localize(None)
    return parsed


def _non_iso_dates(label: str, text: pd.Series, fatal: list) -> pd.Series:
    """Dates that are not ISO: ``dd/mm/yyyy``-like ones in the day/month order a number
    above 12 decides (refused when none does), the others in pandas' mixed formats."""
    order = day_month_order(text)
    problem = date_order_problem(label, order)
    if problem is not None:
        fatal.append(problem)
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if order.format is not None:
        parsed = pd.to_datetime(text, format=order.format, errors="coerce")
        timed = parsed.isna() & text.notna()  # a time after the date
        parsed[timed] = pd.to_datetime(
            text[timed], format="mixed", dayfirst=order.order == "day", errors="coerce"
        )
        log.info("%s: day/month order %s (e.g. %s)", label, order.format, order.examples[0])
    rest = parsed.isna() & text.notna() & ~text.str.contains(r"^\s*\d{1,2}[/.\-]\d", na=False)
    if rest.any():
        parsed[rest] = pd.to_datetime(text[rest], format="mixed", errors="coerce")
    return parsed  # microseconds: 1500 fits; _in_calendar makes them nanoseconds


def _date_text(values: pd.Series) -> pd.Series:
    """Dates as text; integer-like floats (201803.0) lose their decimal point."""
    if pd.api.types.is_float_dtype(values):
        return values.map(lambda v: None if pd.isna(v) else str(int(v)) if v == int(v) else str(v))
    return values.astype("string").astype(object).where(values.notna(), None)


def _date_from_parts(
    name: str, raw: pd.DataFrame, source: Any, report: LoadReport, fatal: list
) -> pd.Series:
    parts = {"year": source.year, "month": source.month, "day": source.day}
    numbers = {}
    for unit, column in parts.items():
        if column is None:
            numbers[unit] = pd.Series(1.0, index=raw.index)
        else:
            numbers[unit] = _to_numeric(f"{name} ({unit}: {column!r})", raw[column], report, fatal)
    frame = pd.DataFrame(numbers)
    # impossible combinations (month 13) become missing; the drop step counts them
    return _in_calendar(pd.to_datetime(frame, errors="coerce"), report)


_CALENDAR = (pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D"))


def _in_calendar(parsed: pd.Series, report: LoadReport) -> pd.Series:
    """Dates as ``datetime64[ns]``; dates outside the years it can hold (before 1677-09-22
    or after 2262-04-11, e.g. ``1500-01-01``) become missing and are marked in
    ``report.beyond_calendar`` so the row is dropped as outside the plausible window.

    Examples
    --------
    >>> report = LoadReport(n_input_rows=2)
    >>> dates = pd.Series(pd.to_datetime(["1500-01-01", "2024-05-01"], format="ISO8601"))
    >>> _in_calendar(dates, report).dt.year.tolist()
    [nan, 2024.0]
    >>> report.beyond_calendar.tolist()
    [True, False]
    """
    if parsed.dtype == "datetime64[ns]":
        return parsed
    if not pd.api.types.is_datetime64_any_dtype(parsed):  # object dtype: mixed results
        parsed = pd.to_datetime(parsed, errors="coerce", format="mixed")
        if not pd.api.types.is_datetime64_any_dtype(parsed):
            parsed = pd.Series(pd.NaT, index=parsed.index, dtype="datetime64[ns]")
    low, high = _CALENDAR
    beyond = parsed.notna() & ~parsed.between(low, high)
    if beyond.any():
        previous = report.beyond_calendar
        report.beyond_calendar = beyond if previous is None else previous | beyond
        parsed = parsed.mask(beyond)
    return parsed.astype("datetime64[ns]")


def _to_category(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values):
        as_int = values.dropna()
        if len(as_int) and np.isfinite(as_int).all() and (as_int == as_int.round()).all():
            return values.map(lambda v: None if pd.isna(v) else str(int(v))).astype(object)
    text = values.astype("string").str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)


def _one_spelling(name: str, values: pd.Series, report: LoadReport) -> pd.Series:
    """Names that differ only in case, accents, spaces or punctuation (``"São Paulo"``,
    ``"sao paulo"``, ``"SÃO PAULO"``; :func:`~estimo.names.name_key`) as the spelling most
    rows use, reported; otherwise each spelling would be a place of its own, with its own
    model, index, comparables and accuracy row.

    Examples
    --------
    >>> report = LoadReport(n_input_rows=4)
    >>> cities = pd.Series(["São Paulo", "sao paulo", "São Paulo", "Rio"], dtype=object)
    >>> _one_spelling("city", cities, report).tolist()
    ['São Paulo', 'São Paulo', 'São Paulo', 'Rio']
    >>> print(report.issues[0])
    city: 1 rows spelled another way, e.g. 'sao paulo' (merged into 'São Paulo')
    """
    from estimo.names import name_key

    counts = values.dropna().astype(str).value_counts()
    if len(counts) < 2:
        return values
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    chosen: dict[str, str] = {}
    merged: dict[str, list[str]] = {}
    for spelling, _ in ranked:
        key = name_key(spelling) or spelling
        first = chosen.setdefault(key, spelling)
        if first != spelling:
            merged.setdefault(first, []).append(spelling)
    if not merged:
        return values
    renamed = {other: first for first, others in merged.items() for other in others}
    changed = values.isin(list(renamed))
    into = ", ".join(repr(first) for first in list(merged)[:MAX_EXAMPLES])
    report.issues.append(
        LoadIssue(
            name,
            "rows spelled another way",
            int(changed.sum()),
            list(renamed)[:MAX_EXAMPLES],
            f"merged into {into}",
        )
    )
    return values.where(~changed, values.map(renamed))


def _price_kinds(raw: pd.DataFrame, data: DataConfig, report: LoadReport, fatal: list) -> pd.Series:
    if data.price_kind_is_constant:
        return pd.Series(data.price_kind, index=raw.index, dtype=object)
    if data.price_kind not in raw:
        return pd.Series(None, index=raw.index, dtype=object)
    kinds = raw[data.price_kind].astype("string").str.strip().str.lower()
    bad = kinds.notna() & ~kinds.isin(PRICE_KINDS)
    if bad.any():
        report.issues.append(
            LoadIssue(
                f"price_kind ({data.price_kind!r})",
                f"values outside {list(PRICE_KINDS)!r}",
                int(bad.sum()),
                raw.loc[bad, data.price_kind].unique()[:MAX_EXAMPLES].tolist(),
                "row dropped",
            )
        )
    return kinds.astype(object).where(kinds.isin(PRICE_KINDS), None)


def _extra_columns(raw: pd.DataFrame, data: DataConfig, used: set[str]) -> list[str]:
    if data.extra_features == "none":
        return []
    if data.extra_features == "all":
        return [c for c in raw.columns if c not in used and c not in CANONICAL_COLUMNS]
    return [c for c in data.extra_features if c not in used]


_NOT_IN_FEATURE_NAMES = str.maketrans(
    {'"': "'", ",": ";", ":": "-", "[": "(", "]": ")", "{": "(", "}": ")"}
)
"""Characters LightGBM refuses in a feature name (its model text is partly JSON)."""


def model_safe_names(columns: list[str], report: LoadReport) -> dict[str, str]:
    """Each extra column's name as a feature name LightGBM takes: ``"``, ``,``, ``:``,
    ``[``, ``]``, ``{`` and ``}`` replaced (``area [m2]`` -> ``area (m2)``), each renaming
    reported; other names unchanged.

    Examples
    --------
    >>> model_safe_names(["rooms", "area [m2]"], LoadReport(n_input_rows=0))
    {'rooms': 'rooms', 'area [m2]': 'area (m2)'}
    """
    taken = {str(c) for c in columns}
    names = {}
    for column in columns:
        name = str(column).translate(_NOT_IN_FEATURE_NAMES)
        while name != str(column) and name in taken:
            name += "_"
        taken.add(name)
        names[column] = name
        if name != str(column):
            report.issues.append(
                LoadIssue(
                    str(column)[:60],
                    f"a column name with characters a model cannot take; renamed {name[:60]!r}",
                    1,
                    [str(column)[:60]],
                    "renamed",
                )
            )
    return names


def _clean_extra(values: pd.Series) -> pd.Series:
    """Pass-through features: numbers stay numbers, booleans become 0/1, the rest text."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values - pd.Timestamp("1970-01-01")).dt.days.astype("float64")
    return _to_category(values)


def _rows_with_valid_required_fields(
    out: pd.DataFrame,
    raw_values: dict[str, pd.Series],
    report: LoadReport,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.Series:
    """Rows whose price, date, city and price kind are usable; each drop reason counted
    once, and every dropped row listed in ``report.dropped`` with its reason."""
    keep = pd.Series(True, index=out.index)
    low, high = window
    beyond = report.beyond_calendar
    beyond = pd.Series(False, index=out.index) if beyond is None else beyond.reindex(out.index)
    beyond = beyond.fillna(False).astype(bool)
    outside = (out["date"].notna() & ~out["date"].between(low, high)) | beyond
    dropped: list[pd.DataFrame] = []

    def given(name: str) -> pd.Series:
        raw = raw_values.get(name)
        return pd.Series(True, index=out.index) if raw is None else raw.notna()

    checks = [
        ("price", ~given("price"), "missing prices (the target)", "id"),
        ("price", given("price") & out["price"].isna(), "non-numeric prices", "raw"),
        ("price", out["price"] <= 0, "non-positive prices (expected > 0)", "price"),
        ("date", ~given("date") & out["date"].isna(), "missing or impossible dates", "id"),
        (
            "date",
            outside,
            f"dates outside the plausible window {low:%Y-%m-%d} .. {high:%Y-%m-%d} "
            "(data.min_date, data.max_date)",
            "date",
        ),
        ("date", given("date") & out["date"].isna(), "unparsable dates", "raw"),
        ("city", out["city"].isna(), "missing cities", "id"),
        ("price_kind", out["price_kind"].isna(), "missing or unknown price kinds", "id"),
    ]
    for column, bad, problem, example_source in checks:
        new = bad & keep
        if not new.any():
            continue
        if example_source == "raw" and column in raw_values:
            examples = raw_values[column][new].unique()[:MAX_EXAMPLES].tolist()
        elif example_source == "date":
            examples = _date_examples(out.loc[new, "date"], raw_values.get("date"))
            if not examples:  # assembled from parts
                examples = out.loc[new, "id"].astype(str).iloc[:MAX_EXAMPLES].tolist()
                problem = f"{problem} (example ids)"
        elif example_source == "price":
            examples = out.loc[new, "price"].unique()[:MAX_EXAMPLES].tolist()
        else:
            examples = out.loc[new, "id"].astype(str).iloc[:MAX_EXAMPLES].tolist()
            problem = f"{problem} (example ids)"
        report.issues.append(LoadIssue(column, problem, int(new.sum()), examples, "row dropped"))
        dropped.append(
            pd.DataFrame(
                {
                    "row": np.flatnonzero(new.to_numpy()),
                    "id": out.loc[new, "id"].astype(str).to_numpy(),
                    "rule": f"load.{column}",
                    "reason": problem.removesuffix(" (example ids)"),
                }
            )
        )
        keep &= ~bad
    if dropped:
        report.dropped = pd.concat(dropped, ignore_index=True).sort_values("row")
        report.dropped = report.dropped.reset_index(drop=True)
    return keep


def _date_examples(dates: pd.Series, raw: pd.Series | None) -> list[str]:
    """Up to three distinct dates as ``YYYY-MM-DD``; a date beyond the calendar (missing
    in ``dates``) as it was written in the input."""
    shown: list[str] = []
    for row, date in dates.items():
        value = date if pd.notna(date) or raw is None or row not in raw.index else raw.loc[row]
        if pd.isna(value):
            continue
        text = f"{value:%Y-%m-%d}" if hasattr(value, "strftime") else str(value)[:40]
        if text not in shown:
            shown.append(text)
        if len(shown) == MAX_EXAMPLES:
            break
    return shown


def _empty_dtype(name: str) -> str:
    kind = FIELDS[name].kind
    return {"numeric": "float64", "date": "datetime64[ns]"}.get(kind, "object")


# ---------------------------------------------------------------------- markets (issue 19)
_SEPARATORS = {";": "';'", "\t": "a tab ('\\t')", "|": "'|'"}


def read_options_of(data: DataConfig) -> dict[str, Any]:
    """``pandas`` read options of the data: ``read_options`` plus ``delimiter`` as ``sep``.

    Examples
    --------
    >>> read_options_of(DataConfig(path="x.csv", delimiter=";"))
    {'sep': ';'}
    """
    options = dict(data.read_options)
    if data.delimiter is not None:
        options["sep"] = data.delimiter
    return options


def one_column_hint(raw: pd.DataFrame) -> list[str]:
    """A problem naming the likely delimiter when a CSV reads as one column.

    Examples
    --------
    >>> one_column_hint(pd.DataFrame({"price;city;date": ["1;a;2024"]}))[0][:46]
    "the table reads as a single column 'price;city"
    """
    if raw.shape[1] != 1:
        return []
    name = str(raw.columns[0])
    for separator, said in _SEPARATORS.items():
        if separator in name:
            return [
                f"the table reads as a single column {name[:60]!r}: its fields look separated "
                f"by {said}; set data.delimiter: {separator!r} in the project file"
            ]
    return []


def keep_operation(raw: pd.DataFrame, data: DataConfig) -> tuple[pd.DataFrame, int]:
    """The rows of the operation ``data.operation`` keeps (all rows without one), and how
    many rows of other operations were left out.

    Raises
    ------
    DataError
        If the column is not in the data or no row has a kept value (the message lists the
        values found).

    Examples
    --------
    >>> raw = pd.DataFrame({"kind": ["sale", "Rent ", "rent"], "price": [9e5, 2e3, 3e3]})
    >>> cfg = DataConfig(path="-", operation={"column": "kind", "keep": "rent"})
    >>> kept, n_other = keep_operation(raw, cfg)
    >>> kept["price"].tolist(), n_other
    ([2000.0, 3000.0], 1)
    """
    rule = data.operation
    if rule is None:
        return raw, 0
    if rule.column not in raw:
        raise DataError(
            [
                f"data.operation.column {rule.column!r} is not a column of the data; "
                f"available columns: {list(raw.columns)!r}"
            ],
            header="cannot select the operation",
        )
    values = raw[rule.column].astype("string").str.strip().str.lower()
    keep = values.isin(rule.kept_values).fillna(False).to_numpy(bool)
    if not keep.any():
        found = values.dropna().unique()[:MAX_EXAMPLES].tolist()
        raise DataError(
            [
                f"data.operation keeps {rule.kept_values!r} of column {rule.column!r}, but no "
                f"row has it; values found: {found!r}"
            ],
            header="cannot select the operation",
        )
    log.info(
        "kept %d rows with %s in %r, left out %d of other operations",
        keep.sum(),
        rule.kept_values,
        rule.column,
        (~keep).sum(),
    )
    return raw.loc[keep].reset_index(drop=True), int((~keep).sum())


def undated_date_source(data: DataConfig) -> ColumnSource:
    """The date of every row of data without a date: ``data.as_of``, else the first day of
    the current month. The price index is then flat and accuracy is measured by
    cross-validation (``estimo backtest --cv K``)."""
    as_of = data.as_of or f"{pd.Timestamp.today():%Y-%m-01}"
    if data.as_of is None:  # the surprising case: today's month, unsaid
        log.warning(
            "the data has no date column: every row is dated %s (set data.as_of); "
            "the price index is off and backtests cross-validate",
            as_of,
        )
    else:
        log.info("the data has no date column: every row is dated %s (data.as_of)", as_of)
    return ColumnSource(value=as_of)


def two_price_scales(prices: pd.Series) -> str | None:
    """A warning when the prices fall in two groups far apart (medians at least 20 times
    apart, each holding 5 % of the rows or more, under 1 % in half a decade between): monthly
    rents and sale prices in one table without a column saying which is which, or prices in
    thousands mixed with full amounts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rents = np.exp(rng.normal(np.log(1_500), 0.3, 400))
    >>> sales = np.exp(rng.normal(np.log(300_000), 0.3, 600))
    >>> two_price_scales(pd.Series(np.r_[rents, sales]))[:36]
    'rows priced in two groups far apart '
    >>> two_price_scales(pd.Series(sales)) is None
    True
    """
    values = prices.to_numpy(float)
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) < 50:
        return None
    log = np.log10(values)
    edges = np.arange(np.floor(log.min() * 10) / 10, log.max() + 0.2, 0.1)
    counts, edges = np.histogram(log, bins=edges)
    share = counts / len(log)
    cumulative = np.cumsum(share)
    # a valley: half a decade holding under 1 % of the rows, 5 % or more on each side, and
    # the two sides' medians at least 20 times apart
    width = 5
    for start in range(1, len(share) - width):
        below, inside = cumulative[start - 1], share[start : start + width].sum()
        above = 1.0 - below - inside
        if below < 0.05 or above < 0.05 or inside >= 0.01:
            continue
        low = 10 ** np.median(log[log < edges[start]])
        high = 10 ** np.median(log[log >= edges[start + width]])
        if high >= 20 * low:
            return (
                f"rows priced in two groups far apart ({below:.0%} around {low:,.0f}, {above:.0%} "
                f"around {high:,.0f}: rents and sale prices, or amounts in thousands, mixed? "
                "keep one kind with data.operation: {column: <column>, keep: sale})"
            )
    return None


def mixed_price_scales(kinds: pd.Series, data: DataConfig) -> list[str]:
    """A problem when monthly rents and prices (sale, asking, appraisal) share one table.

    Rents and prices differ by two orders of magnitude; one model must never learn both.

    Examples
    --------
    >>> mixed_price_scales(pd.Series(["rent", "sale", "rent"]), DataConfig(path="-"))[0][:40]
    'price kinds mix monthly rents (2 rows) a'
    """
    rent = kinds == "rent"
    other = kinds.notna() & ~rent
    if not (rent.any() and other.any()):
        return []
    source = data.price_kind if not data.price_kind_is_constant else "price_kind"
    return [
        f"price kinds mix monthly rents ({int(rent.sum())} rows) and prices "
        f"({int(other.sum())} rows, e.g. {kinds[other].iloc[0]!r}) in column {source!r}; "
        "one model must never learn both: keep one with data.operation: "
        "{column: <column>, keep: rent} (or sale), one project file each"
    ]
