"""The manifest of a registered model version: what it is, what it learned from, how it scored.

A :class:`ModelManifest` is written as ``manifest.json`` next to the model bundle of every
version. It records the version, the creation time, the code that produced it, the training
window and a fingerprint of the canonical training table, the feature list and the table's
schema, the model parameters, the data-quality summary, and the per-segment metrics on the
test set with a fingerprint of that test set. Two tables with the same rows (in any order)
and the same values have the same fingerprint, so "which data was this model trained on?"
has a checkable answer.

Examples
--------
>>> import pandas as pd
>>> a = pd.DataFrame({"price": [1.0, 2.0], "city": ["x", "y"]})
>>> fingerprint_frame(a) == fingerprint_frame(a.iloc[::-1])
True
>>> fingerprint_frame(a) == fingerprint_frame(a.assign(price=[1.0, 2.5]))
False
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import platform
import socket
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # pandas is imported by the functions over frames: reading a manifest
    import pandas as pd  # (the service's catalog) does not need it

from estimo import __version__
from estimo.schema import CANONICAL_COLUMNS

log = logging.getLogger(__name__)

MANIFEST_FORMAT_VERSION = 1
FINGERPRINT_METHOD = "pandas-hash-rows-sorted-v1"

__all__ = [
    "CodeVersion",
    "DataWindow",
    "ModelManifest",
    "TestReport",
    "code_version",
    "current_user",
    "fingerprint_frame",
    "frame_schema",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class CodeVersion(_Model):
    """The code that produced a model."""

    estimo: str = Field(description="estimo.__version__")
    git_commit: str | None = Field(default=None, description="commit of the source tree, if any")
    git_dirty: bool | None = Field(default=None, description="uncommitted changes in the tree")
    python: str = Field(default_factory=platform.python_version)
    lightgbm: str | None = None


class DataWindow(_Model):
    """A table described by its date range, size and fingerprint."""

    date_from: date | None = None
    date_to: date | None = None
    n_rows: int = Field(ge=0)
    fingerprint: str
    fingerprint_method: str = FINGERPRINT_METHOD
    columns: list[str] = Field(default_factory=list)


class TestReport(_Model):
    """Metrics of a model on its test set, overall and per segment.

    ``segments`` maps a segment column (``city``, ``property_type``, ...) to one record per
    group, as produced by :func:`estimo.evaluate.segments.metrics_by_segment`.
    """

    __test__ = False  # not a pytest class

    kind: Literal["test", "validation"] = Field(
        default="test",
        description="'test': rows after the training window the model never saw; "
        "'validation': the engine's own held-out slice at the end of its training window "
        "(recorded when no test rows exist)",
    )
    data: DataWindow
    target: str = Field(default="observed price", description="the price scored against")
    overall: dict[str, Any] = Field(default_factory=dict)
    segments: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    interval_level: float | None = None


class ModelManifest(_Model):
    """Everything recorded about one registered model version (``manifest.json``)."""

    format_version: int = MANIFEST_FORMAT_VERSION
    version: str = Field(description="registry version id, e.g. 'v3'")
    number: int = Field(ge=1, description="monotonically increasing version number")
    created_at: datetime
    created_by: str
    code: CodeVersion
    model_class: str = Field(description="class of the saved model, e.g. 'ValuationModel'")
    model_kind: str = Field(default="", description="what the model is, in words")
    training: DataWindow | None = None
    valuation_date: date | None = None
    features: list[str] = Field(default_factory=list)
    schema_: dict[str, str] = Field(
        default_factory=dict, alias="schema", description="column -> dtype of the training table"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    quality: dict[str, Any] | None = Field(default=None, description="quality report summary")
    test: TestReport | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), populate_by_name=True)

    def to_json(self) -> str:
        """The manifest as indented JSON (dates in ISO format)."""
        return self.model_dump_json(indent=2, by_alias=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelManifest:
        """Parse a manifest written by :meth:`to_json`."""
        return cls.model_validate_json(text)

    @property
    def trained_until(self) -> pd.Timestamp | None:
        """Last date of the training window, if known."""
        if self.training is None or self.training.date_to is None:
            return None
        import pandas as pd

        return pd.Timestamp(self.training.date_to)

    def test_metric(self, name: str) -> float | None:
        """An overall test metric such as ``"pe10"``, or None when absent."""
        if self.test is None:
            return None
        value = self.test.overall.get(name)
        return None if value is None else float(value)


def _normalised(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns in a dtype-independent form: floats, int64 nanoseconds or object strings."""
    import pandas as pd

    out: dict[str, pd.Series] = {}
    for name in columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = pd.to_datetime(values).dt.tz_localize(None) if values.dt.tz else values
            out[name] = pd.Series(
                stamps.to_numpy("datetime64[ns]").astype("int64"), index=frame.index
            )
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            out[name] = values.astype("float64")
        else:
            text = values.astype(object)
            out[name] = text.where(text.notna(), None).map(
                lambda v: None if v is None else str(v), na_action="ignore"
            )
    return pd.DataFrame(out, index=frame.index)


def fingerprint_frame(frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A stable hash of a table's values that ignores row order and column order.

    Each row is hashed with :func:`pandas.util.hash_pandas_object` over the columns in
    sorted order (values normalised: numbers as float64, dates as nanoseconds, the rest as
    strings); the sorted row hashes, the column names and the row count are then hashed
    with SHA-256.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, e.g. the canonical training table.
    columns : list of str, optional
        Columns to include (default: the canonical columns present, then the other columns
        that do not start with ``_``).

    Returns
    -------
    str
        ``"sha256:<hex>"``.

    Examples
    --------
    >>> import pandas as pd
    >>> fingerprint_frame(pd.DataFrame({"a": [1, 2]}))[:7]
    'sha256:'
    """
    if columns is None:
        columns = [c for c in frame.columns if not str(c).startswith("_")]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"columns {missing!r} are not in the table; it has {list(frame.columns)!r}"
        )
    import numpy as np
    import pandas as pd

    ordered = sorted(str(c) for c in columns)
    digest = hashlib.sha256()
    digest.update(f"{FINGERPRINT_METHOD}|{len(frame)}|{'|'.join(ordered)}".encode())
    if len(frame) and ordered:
        rows = pd.util.hash_pandas_object(_normalised(frame, ordered), index=False)
        digest.update(np.sort(rows.to_numpy(np.uint64)).tobytes())
    return f"sha256:{digest.hexdigest()}"


def frame_schema(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> dtype name, canonical columns first.

    Examples
    --------
    >>> import pandas as pd
    >>> frame_schema(pd.DataFrame({"garden": [True], "price": [1.0]}))
    {'price': 'float64', 'garden': 'bool'}
    """
    canonical = [c for c in CANONICAL_COLUMNS if c in frame.columns]
    others = [c for c in frame.columns if c not in canonical]
    return {str(c): str(frame[c].dtype) for c in canonical + others}


def data_window(frame: pd.DataFrame, columns: list[str] | None = None) -> DataWindow:
    """Describe a canonical table: date range, size, fingerprint and columns."""
    import pandas as pd

    dates = pd.to_datetime(frame["date"]) if "date" in frame and len(frame) else None
    return DataWindow(
        date_from=None if dates is None else dates.min().date(),
        date_to=None if dates is None else dates.max().date(),
        n_rows=len(frame),
        fingerprint=fingerprint_frame(frame, columns),
        columns=[str(c) for c in (columns or frame.columns) if not str(c).startswith("_")],
    )


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version() -> CodeVersion:
    """The running Estimo version and, when installed from a git tree, its commit.

    Examples
    --------
    >>> code_version().estimo == __version__
    True
    """
    here = Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], here)
    dirty = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no"], here)
        dirty = bool(status) if status is not None else None
    try:
        import lightgbm

        lgb_version: str | None = lightgbm.__version__
    except ImportError:  # pragma: no cover - lightgbm is a dependency
        lgb_version = None
    return CodeVersion(estimo=__version__, git_commit=commit, git_dirty=dirty, lightgbm=lgb_version)


def current_user() -> str:
    """``user@host`` of the running process, for audit records."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def utc_now() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)
