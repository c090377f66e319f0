"""The canonical property record: field names, kinds, units and dtypes.

Every input table is mapped onto these columns by :mod:`estimo.io`; every later stage
(audit, clean, train, evaluate, serve) reads canonical frames only. Extra columns of the
user's table are passed through unchanged and become model features.

Examples
--------
>>> from estimo.schema import FIELDS, REQUIRED_FIELDS
>>> REQUIRED_FIELDS
('price', 'date', 'city')
>>> FIELDS["area_m2"].kind
'numeric'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pandas is imported where a frame is built: the service starts without it
    import pandas as pd

FieldKind = Literal["id", "numeric", "category", "date", "text"]
PRICE_KINDS: tuple[str, ...] = ("asking", "sale", "appraisal", "rent")
"""Kinds of price; ``rent`` is a monthly rent (never mixed with the others in one model)."""
SQFT_TO_M2 = 0.09290304


@dataclass(frozen=True)
class FieldSpec:
    """One canonical column.

    Parameters
    ----------
    name : str
        Canonical column name.
    kind : {"id", "numeric", "category", "date", "text"}
        How values are parsed and validated.
    description : str
        One line for docs and error messages.
    required : bool
        Whether a mapping must provide it.
    feature : bool
        Whether the valuation model may use it as an input.
    """

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    feature: bool = True


_FIELD_LIST: tuple[FieldSpec, ...] = (
    FieldSpec("id", "id", "property identifier; re-listings share it", feature=False),
    FieldSpec(
        "price", "numeric", "price in the data's currency (> 0)", required=True, feature=False
    ),
    FieldSpec("price_kind", "category", "asking | sale | appraisal", feature=False),
    FieldSpec("date", "date", "listing, sale or appraisal date", required=True, feature=False),
    FieldSpec("city", "category", "city (the model segment)", required=True),
    FieldSpec("neighbourhood", "category", "neighbourhood, district or zip code"),
    FieldSpec("country", "category", "country"),
    FieldSpec("lat", "numeric", "latitude, WGS84 degrees"),
    FieldSpec("lon", "numeric", "longitude, WGS84 degrees"),
    FieldSpec("area_m2", "numeric", "living area in square metres"),
    FieldSpec("rooms", "numeric", "number of rooms (or bedrooms)"),
    FieldSpec("bathrooms", "numeric", "number of bathrooms"),
    FieldSpec("floor", "numeric", "floor of the unit (0 = ground)"),
    FieldSpec("year_built", "numeric", "year of construction"),
    FieldSpec("property_type", "category", "flat, house, ..."),
    FieldSpec("condition", "category", "state of repair"),
    FieldSpec("description", "text", "free text of the listing", feature=False),
)

FIELDS: dict[str, FieldSpec] = {f.name: f for f in _FIELD_LIST}
CANONICAL_COLUMNS: tuple[str, ...] = tuple(FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.required)
NUMERIC_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.kind == "numeric")
CATEGORY_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.kind == "category")
FEATURE_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.feature)
NON_FEATURE_COLUMNS: frozenset[str] = frozenset(f.name for f in _FIELD_LIST if not f.feature)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of a canonical frame that a model may use as inputs.

    Canonical feature fields that are present, then every extra (pass-through) column,
    in frame order. Identifiers, the target, its kind, the date and free text are excluded.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame (see :func:`estimo.io.to_canonical`).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> feature_columns(pd.DataFrame(columns=["id", "price", "date", "city", "area_m2", "garden"]))
    ['city', 'area_m2', 'garden']
    """
    return [c for c in frame.columns if c not in NON_FEATURE_COLUMNS and not c.startswith("_")]


def empty_canonical_frame() -> pd.DataFrame:
    """A zero-row frame with every canonical column and its dtype."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(dtype=dtype_of(name)) for name in CANONICAL_COLUMNS})


def dtype_of(name: str) -> str:
    """Pandas dtype used for a canonical field.

    Examples
    --------
    >>> dtype_of("date"), dtype_of("rooms"), dtype_of("city")
    ('datetime64[ns]', 'float64', 'object')
    """
    kind = FIELDS[name].kind
    if kind == "numeric":
        return "float64"
    if kind == "date":
        return "datetime64[ns]"
    return "object"
