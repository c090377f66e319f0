"""Human concepts and plain labels for every model feature.

Every feature a model can use is mapped to one *concept* a home owner recognises
(:data:`CONCEPTS`: location, size, layout, age and condition, amenities, floor, market timing,
comparables) and to a *value kind* telling how its value is put in words ("85 m²",
"built in 1962", "terrace"). The words themselves live in the locale files
(``estimo/explain/locales/<lang>.json``, key ``features``), so a translator never edits code.

The registry covers the canonical record, the engine's derived features (``loc_*``: the
prices of nearby properties, the distance to the centre, the neighbourhood's price level;
``date_years``), the synthetic market's extras and the extras of the example datasets
(Poland, King County, Grinnell, Ames). A project file can add or override labels for its
own columns (``explain: {labels: {column: "label"}, concepts: {column: "amenities"}}``).
:func:`missing_labels` lists the model features that still have no label: a test and
training call it to fail loudly rather than show a raw column name to a home owner.

Examples
--------
>>> labeler = Labeler("en")
>>> labeler.concept("has_terrace"), labeler.label("has_terrace")
('amenities', 'Terrace')
>>> labeler.concept("loc_centre_km")
'location'
>>> missing_labels(["area_m2", "mystery_column"])
['mystery_column']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from estimo.errors import ConfigError
from estimo.explain.locale import LANGUAGES, Locale, get_locale

CONCEPTS: tuple[str, ...] = (
    "location",
    "size",
    "layout",
    "age_condition",
    "amenities",
    "floor",
    "market_timing",
    "comparables",
    "other",
)
"""Concept keys, in the order used when two concepts weigh the same."""

TIMING_CONCEPT = "market_timing"
CONTRACT_COLUMNS: dict[str, str] = {
    "_base": "base",
    "_time": TIMING_CONCEPT,
    "_comparables": "comparables",
}
"""Non-feature columns of a contribution frame and the concept each belongs to."""

VALUE_KINDS: tuple[str, ...] = (
    "area",
    "sqft",
    "count",
    "year",
    "flag",
    "category",
    "km",
    "metres",
    "number",
    "none",
)


@dataclass(frozen=True)
class FeatureInfo:
    """Where a feature belongs and how its value is put in words."""

    concept: str
    kind: str


def _info(concept: str, kind: str, *names: str) -> dict[str, FeatureInfo]:
    return {name: FeatureInfo(concept, kind) for name in names}


FEATURES: dict[str, FeatureInfo] = {
    # canonical record
    **_info("location", "category", "city", "neighbourhood", "country"),
    **_info("location", "none", "lat", "lon"),
    **_info("size", "area", "area_m2"),
    **_info("layout", "count", "rooms", "bathrooms"),
    **_info("floor", "count", "floor"),
    **_info("age_condition", "year", "year_built"),
    **_info("layout", "category", "property_type"),
    **_info("age_condition", "category", "condition"),
    # derived by the engine (estimo.features.location, estimo.model.valuation)
    **_info("market_timing", "none", "date_years"),
    **_info(
        "location",
        "none",
        "loc_knn",
        "loc_knn_weighted",
        "loc_near",
        "loc_knn_std",
        "loc_building",
        "loc_building_n",
        "loc_neighbourhood",
        "loc_twin",
        "loc_twin_mean",
        "loc_twin_n",
        "loc_twin_diff",
        "loc_twin_days",
    ),
    **_info("location", "none", "loc_kth_km"),
    **_info("location", "km", "loc_centre_km"),
    # synthetic market extras
    **_info("amenities", "flag", "has_elevator", "has_terrace"),
    # read from listing descriptions (estimo.text)
    **_info(
        "amenities",
        "flag",
        "has_balcony",
        "has_garage",
        "has_parking",
        "has_garden",
        "has_cellar",
        "has_air_conditioning",
    ),
    **_info("layout", "count", "bedrooms"),
    **_info("floor", "count", "floors_in_building"),
    # Poland listings
    **_info("floor", "count", "floorCount"),
    **_info("location", "km", "centreDistance"),
    **_info("location", "count", "poiCount"),
    **_info(
        "location",
        "km",
        "schoolDistance",
        "clinicDistance",
        "postOfficeDistance",
        "kindergartenDistance",
        "restaurantDistance",
        "collegeDistance",
        "pharmacyDistance",
    ),
    **_info("other", "category", "ownership"),
    **_info("age_condition", "category", "buildingMaterial"),
    **_info(
        "amenities",
        "flag",
        "hasParkingSpace",
        "hasBalcony",
        "hasElevator",
        "hasSecurity",
        "hasStorageRoom",
    ),
    # King County
    **_info("size", "sqft", "sqft_lot", "sqft_above", "sqft_basement"),
    **_info("layout", "number", "floors"),
    **_info("location", "flag", "waterfront"),
    **_info("location", "number", "view"),
    **_info("age_condition", "number", "grade"),
    **_info("age_condition", "year", "yr_renovated"),
    **_info("location", "sqft", "sqft_living15", "sqft_lot15"),
    # Grinnell
    **_info("size", "sqft", "LotSize"),
    # Ames (columns not mapped onto the canonical record)
    **_info("layout", "category", "MS_SubClass", "House_Style"),
    **_info("location", "category", "MS_Zoning", "Street", "Alley", "Condition_1", "Condition_2"),
    **_info("size", "sqft", "Lot_Area", "First_Flr_SF", "Second_Flr_SF", "Total_Bsmt_SF"),
    **_info("size", "number", "Lot_Frontage"),
    **_info("location", "category", "Lot_Shape", "Land_Contour", "Lot_Config", "Land_Slope"),
    **_info("amenities", "category", "Utilities", "Heating", "Electrical", "Central_Air"),
    **_info("age_condition", "year", "Year_Remod_Add"),
    **_info(
        "age_condition",
        "category",
        "Roof_Style",
        "Roof_Matl",
        "Exterior_1st",
        "Exterior_2nd",
        "Mas_Vnr_Type",
        "Exter_Cond",
        "Foundation",
        "Bsmt_Cond",
        "Bsmt_Exposure",
        "BsmtFin_Type_1",
        "BsmtFin_Type_2",
        "Heating_QC",
        "Functional",
    ),
    **_info("size", "sqft", "Mas_Vnr_Area", "BsmtFin_SF_1", "BsmtFin_SF_2", "Bsmt_Unf_SF"),
    **_info(
        "layout",
        "count",
        "Bsmt_Full_Bath",
        "Bsmt_Half_Bath",
        "Half_Bath",
        "Kitchen_AbvGr",
        "TotRms_AbvGrd",
    ),
    **_info("amenities", "count", "Fireplaces", "Garage_Cars"),
    **_info("amenities", "category", "Garage_Type", "Garage_Finish", "Garage_Cond", "Paved_Drive"),
    **_info(
        "amenities",
        "sqft",
        "Garage_Area",
        "Wood_Deck_SF",
        "Open_Porch_SF",
        "Enclosed_Porch",
        "Three_season_porch",
        "Screen_Porch",
        "Pool_Area",
    ),
    **_info("amenities", "category", "Pool_QC", "Fence", "Misc_Feature"),
    **_info("amenities", "number", "Misc_Val"),
    **_info("other", "category", "Sale_Type", "Sale_Condition"),
    **_info("market_timing", "number", "Mo_Sold", "Year_Sold"),
}
"""Known features: concept and value kind. Labels are in the locale files."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^loc_"), "location"),
    (re.compile(r"^(date|month|year_sold|time)(_|$)"), TIMING_CONCEPT),
)
"""Future engine features recognised by name, with the concept they belong to."""

_LABELLED_AS: tuple[tuple[re.Pattern[str], str], ...] = ((re.compile(r"^loc_axis_\d+$"), "lat"),)
"""Engine features worded as another feature: the map axes
(:mod:`estimo.features.location`) are the position on the map, as latitude is."""


def _labelled_as(feature: str) -> str:
    """The feature whose locale entry words ``feature`` (itself but for :data:`_LABELLED_AS`)."""
    for pattern, other in _LABELLED_AS:
        if pattern.match(feature):
            return other
    return feature


INDICATOR_SUFFIX = "_missing"
"""Suffix of the missing-value indicator columns the cleaning policy adds
(:class:`estimo.quality.clean.CleaningPolicy`): ``year_built_missing`` is 1 where the year
built was not given."""


def indicator_base(feature: str) -> str | None:
    """The column a missing-value indicator stands for, or None for any other feature.

    Examples
    --------
    >>> indicator_base("year_built_missing"), indicator_base("year_built")
    ('year_built', None)
    """
    if feature.endswith(INDICATOR_SUFFIX) and len(feature) > len(INDICATOR_SUFFIX):
        return feature[: -len(INDICATOR_SUFFIX)]
    return None


class Labeler:
    """Concept, label and value wording of features in one language.

    Parameters
    ----------
    language : str
        Locale code (one of ``LANGUAGES``: ``"en"``, ``"it"``, ``"es"``).
    labels : mapping, optional
        User labels ``{column: "label"}`` (project file ``explain.labels``); they win over
        the built-in ones, in every language.
    concepts : mapping, optional
        User concepts ``{column: concept}`` for user columns (default ``"other"``).

    Examples
    --------
    >>> Labeler("it").label("area_m2")
    'Superficie'
    >>> Labeler("en", labels={"garden_m2": "Garden"}).label("garden_m2")
    'Garden'
    """

    def __init__(
        self,
        language: str = "en",
        labels: Mapping[str, str] | None = None,
        concepts: Mapping[str, str] | None = None,
    ) -> None:
        self.locale: Locale = get_locale(language)
        self.user_labels = dict(labels or {})
        self.user_concepts = dict(concepts or {})
        for column, concept in self.user_concepts.items():
            if concept not in CONCEPTS:
                raise ConfigError(
                    f"explain.concepts[{column!r}] is {concept!r}; expected one of {CONCEPTS!r}"
                )
        for column, label in self.user_labels.items():
            if not isinstance(label, str) or not label.strip():
                raise ConfigError(
                    f"explain.labels[{column!r}] is {label!r}; expected a non-empty text"
                )

    def info(self, feature: str) -> FeatureInfo:
        """Concept and value kind of a feature (``other``/``none`` when unknown)."""
        if feature in self.user_concepts:
            kind = FEATURES[feature].kind if feature in FEATURES else "none"
            return FeatureInfo(self.user_concepts[feature], kind)
        if feature in FEATURES:
            return FEATURES[feature]
        if feature in CONTRACT_COLUMNS:
            return FeatureInfo(CONTRACT_COLUMNS[feature], "none")
        base = indicator_base(feature)
        if base is not None:  # "was the year built given?" belongs with the year built
            return FeatureInfo(self.info(base).concept, "none")
        for pattern, concept in _PATTERNS:
            if pattern.search(feature):
                return FeatureInfo(concept, "none")
        return FeatureInfo("other", "none")

    def is_derived(self, feature: str) -> bool:
        """Whether a feature is computed by the engine rather than given by the owner."""
        return feature == "date_years" or any(
            p.search(feature) for p, _ in _PATTERNS if p.pattern.startswith("^loc")
        )

    def concept(self, feature: str) -> str:
        """Concept key of a feature."""
        return self.info(feature).concept

    def has_label(self, feature: str) -> bool:
        """Whether the feature has a human label in this language."""
        if feature in self.user_labels:
            return True
        if self.locale.feature_entry(_labelled_as(feature)).get("label"):
            return True
        base = indicator_base(feature)
        return base is not None and self.has_label(base)

    def label(self, feature: str) -> str:
        """Plain label of a feature.

        Raises
        ------
        KeyError
            If the feature has no label in this language (see :func:`missing_labels`).
        """
        if feature in self.user_labels:
            return self.user_labels[feature]
        label = self.locale.feature_entry(_labelled_as(feature)).get("label")
        base = indicator_base(feature)
        if not label and base is not None and self.has_label(base):
            return self.locale.text("indicator_label", label=self.label(base))
        if not label:
            raise KeyError(f"feature {feature!r} has no label in locale {self.locale.code!r}")
        return str(label)

    def concept_label(self, concept: str) -> str:
        """Plain name of a concept."""
        return self.locale.concept(concept)


def readable_name(column: str) -> str:
    """A column's name as words, the label of a feature nobody labelled.

    Examples
    --------
    >>> readable_name("energy_class"), readable_name("parkingSpaces"), readable_name("GarageCars")
    ('energy class', 'parking spaces', 'garage cars')
    """
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(column))
    text = re.sub(r"[\s_\-.]+", " ", text).strip().lower()
    return text or str(column)


def missing_labels(
    features: Iterable[str],
    languages: Iterable[str] = LANGUAGES,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Model features without a human label in any of ``languages``, in input order.

    Parameters
    ----------
    features : iterable of str
        The model's feature names (contract columns such as ``_base`` are ignored).
    languages : iterable of str
        Locales that must all have a label.
    labels : mapping, optional
        User labels from the project file.

    Examples
    --------
    >>> missing_labels(["area_m2", "loc_knn", "_base"])
    []
    """
    labelers = [Labeler(lang, labels=labels) for lang in languages]
    out: list[str] = []
    for feature in features:
        if feature in CONTRACT_COLUMNS or feature in out:
            continue
        if not all(lab.has_label(feature) for lab in labelers):
            out.append(feature)
    return out


def check_labels(
    features: Iterable[str],
    languages: Iterable[str] = LANGUAGES,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`~estimo.errors.ConfigError` if a model feature has no label.

    Training calls this so that a model whose explanations would show a raw column name is
    never saved silently.
    """
    missing = missing_labels(features, languages, labels)
    if missing:
        raise ConfigError(
            f"{len(missing)} model feature(s) have no human label, e.g. {missing[:5]!r}; "
            'add them to the project file as explain: {labels: {column: "plain label"}}'
        )
