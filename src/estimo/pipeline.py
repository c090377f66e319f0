"""The valuation pipeline: the one fitted object that is saved, registered, evaluated and served.

A :class:`ValuationPipeline` holds, fitted on the same training rows:

1. the **cleaning policy** (:class:`~estimo.quality.clean.CleaningPolicy`) in prediction
   mode: it never drops a row, it repairs and imputes features and says so in warnings;
2. the **label calibration** (:class:`~estimo.quality.calibrate.LabelCalibrator`): the
   asking-to-sale ratio the engine's sale-equivalent prices were trained with (used to
   score asking-price test rows against the same scale);
3. the **engine** (:class:`~estimo.model.avm.AVM`): index, location features, city models,
   comparables, blend and price ranges;
4. the **explanation reference** and the feature **labels** (reasons in plain words);
5. the **training facts**: window, currency, row counts, data fingerprints, quality summary.

Every way Estimo values a property goes through it: ``estimo backtest`` values its test
rows with :meth:`ValuationPipeline.predict_table`, ``estimo value`` and the service with
:meth:`ValuationPipeline.value_one` / :meth:`ValuationPipeline.value_many`; the numbers are
the same for the same raw row.

A saved pipeline is one folder (local or fsspec URL)::

    pipeline.json             kind, versions, facts, labels, cleaning and calibration facts
    cleaning/regions.parquet  the policy's city regions
    engine/                   the engine (LightGBM text models, Parquet tables, JSON)
    explain_reference.json    the explanation reference groups
    checksums.json            SHA-256 of every file, written last; checked at load

No pickles: loading reads text, JSON and Parquet only. The folder is written atomically
and a missing, truncated or altered file is refused at load with one
:class:`~estimo.errors.BundleError` (see :mod:`estimo.bundle_folder`).

Examples
--------
>>> import tempfile
>>> from estimo.synth import generate_market
>>> from estimo.model.avm import AVM, BUNDLE_META, with_prices
>>> frame = generate_market(2_500, seed=3).frame
>>> engine = AVM(n_estimators=30, min_city_rows=300, comps_k=5, progress=False)
>>> pipeline = ValuationPipeline(engine=engine, currency="EUR").fit(frame)
>>> folder = pipeline.save(tempfile.mkdtemp())
>>> again = load_pipeline(folder)
>>> record = {"city": "Milano", "area_m2": 70, "rooms": 3, "date": "2024-01-15"}
>>> again.value_one(record, explain=False).price == pipeline.value_one(record).price
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from estimo import __version__
from estimo.bundle_folder import CHECKSUM_FILE, MANIFEST_KEY, BundleFolder
from estimo.config import ProjectConfig, QualityConfig
from estimo.errors import EstimoError, NotFittedError
from estimo.explain.explainer import Explainer, Explanation
from estimo.explain.labels import missing_labels, readable_name
from estimo.explain.reference import REFERENCE_FILE, ReferenceTable, reference_sample
from estimo.frames import with_columns
from estimo.model.avm import AVM, BUNDLE_META, with_prices
from estimo.model.valuation_result import Valuation
from estimo.property_input import PropertyContract, widen_valuation
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy, CleanResult, unseen_city_warning
from estimo.quality.prepare import TrainingData, prepare_training_data
from estimo.records import parsed_frame

log = logging.getLogger(__name__)

__all__ = ["PIPELINE_FILE", "ValuationPipeline", "load_bundle", "load_pipeline", "save_bundle"]

PIPELINE_FILE = "pipeline.json"
KIND = "valuation_pipeline"
FORMAT_VERSION = 1
ENGINE_FOLDER = "engine"
CLEANING_FOLDER = "cleaning"


class ValuationPipeline(BaseEstimator):
    """Cleaning policy + label calibration + engine + explanations (see the module doc).

    Parameters
    ----------
    engine : AVM, optional
        The unfitted engine with its settings (default: ``AVM()``); it is cloned by
        :meth:`fit`.
    quality : QualityConfig, optional
        The project's ``quality:`` section (default settings when omitted). With
        ``enabled: false`` the rows are only audited and calibrated, no policy is kept.
    labels, concepts : mapping, optional
        The project's ``explain.labels`` / ``explain.concepts`` for the user's own columns.
        :meth:`fit` fails when a model feature has no label.
    currency : str
        Currency of the prices.
    clean : bool
        Audit, clean and calibrate the training rows (default). ``False``: the engine learns
        from the rows as given and valuations use them as given (no policy is kept).
    explanations : bool
        Check every model feature has a label and learn the explanation reference
        (default). ``False`` (a backtest that only scores) skips both; such a pipeline's
        reasons are measured against the model's overall average (see
        :class:`~estimo.explain.explainer.Explainer`).
    """

    def __init__(
        self,
        *,
        engine: AVM | None = None,
        quality: QualityConfig | None = None,
        labels: Mapping[str, str] | None = None,
        concepts: Mapping[str, str] | None = None,
        currency: str = "EUR",
        clean: bool = True,
        explanations: bool = True,
    ) -> None:
        self.engine = engine
        self.quality = quality
        self.labels = labels
        self.concepts = concepts
        self.currency = currency
        self.clean = clean
        self.explanations = explanations

    @classmethod
    def from_config(
        cls, config: ProjectConfig, currency: str | None = None, **engine_overrides: Any
    ) -> ValuationPipeline:
        """An unfitted pipeline with a project file's ``engine``, ``quality`` and
        ``explain`` sections (``currency``: the loaded data's, default the project's)."""
        currency = config.data.currency if currency is None else currency
        engine = AVM(**{**config.engine.model_dump(), "currency": currency, **engine_overrides})
        return cls(
            engine=engine,
            quality=config.quality,
            labels=dict(config.explain.labels),
            concepts=dict(config.explain.concepts),
            currency=currency,
        )

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame, y: Any = None) -> ValuationPipeline:
        """Audit, clean and calibrate ``frame``, fit the engine on the cleaned rows and the
        explanation reference on a sample of them.

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical training rows as loaded (``price``, ``date``, ``city`` required).
        y : array-like, optional
            The prices, as scikit-learn's tools pass them (``fit(X, y)``): they replace
            ``frame["price"]``.

        Returns
        -------
        ValuationPipeline
            ``self``; ``training_data_`` keeps the audit, change log and dropped rows of
            this fit (not saved: ``estimo train`` writes them as the quality report).

        Raises
        ------
        DataError
            If the rows cannot be trained on.
        """
        started = time.perf_counter()
        if y is not None:
            frame = with_prices(frame, y)
        engine = clone(self.engine) if self.engine is not None else AVM()
        engine.set_params(currency=self.currency)
        prepared = None
        if self.clean:
            quality = self.quality if self.quality is not None else QualityConfig()
            prepared = prepare_training_data(frame, quality)
            engine.fit(prepared.frame, **prepared.fit_arguments(engine.fit))
        else:
            engine.fit(frame)
        train = prepared.frame if prepared is not None else frame
        self.engine_ = engine
        self.policy_ = prepared.policy if prepared is not None else None
        self.calibrator_ = prepared.calibrator if prepared is not None else None
        self.reference_ = None
        self._explainers: dict[str, Explainer] = {}
        if self.explanations:
            self.fit_reference(train)
        self.training_data_ = prepared
        self.facts_ = _training_facts(frame, train, prepared, self.currency)
        self.facts_["fit_seconds"] = time.perf_counter() - started
        return self

    def fit_reference(self, train: pd.DataFrame) -> ValuationPipeline:
        """Learn the explanation reference from the engine's training rows
        (``training_data_.frame``: as cleaned); returns ``self``. A model feature without a
        label (``explain.labels``) is named by its column's name as words, with a warning.

        :meth:`fit` does this unless ``explanations=False``.
        """
        sample = reference_sample(train)
        contributions = self.engine_.log_contributions(sample)
        features = [c for c in contributions.columns if not c.startswith("_")]
        missing = missing_labels(features, labels=self.labels)
        self.named_labels_ = {name: readable_name(name) for name in missing}
        if missing:
            named = ", ".join(f"{k} -> {v!r}" for k, v in list(self.named_labels_.items())[:5])
            log.warning(
                "%d model feature(s) have no label in the explanations; their names are used "
                "as words (%s%s): give each a plain label in the project file, "
                'explain: {labels: {column: "plain label"}}',
                len(missing),
                named,
                ", ..." if len(missing) > 5 else "",
            )
        self.use_reference(ReferenceTable().fit(sample, contributions))
        return self

    def all_labels(self) -> dict[str, str]:
        """The project's labels and, for the features it left without one, their names as
        words (:func:`~estimo.explain.labels.readable_name`)."""
        return {**getattr(self, "named_labels_", {}), **dict(self.labels or {})}

    def _check_fitted(self) -> None:
        if not hasattr(self, "engine_"):
            raise NotFittedError("this ValuationPipeline is not fitted yet; call fit(frame)")

    # ------------------------------------------------------------------ what it is
    @property
    def cities_(self) -> tuple[str, ...]:
        """Cities seen in training (valued with their data; the others are unvalued)."""
        self._check_fitted()
        return tuple(self.engine_.cities_)

    @property
    def city_models_(self) -> tuple[str, ...]:
        """Cities served by a model of their own (alone or averaged with the global one)."""
        self._check_fitted()
        return tuple(c for c, r in self.engine_.routing_.items() if r.get("served_by") != "global")

    @property
    def trained_until_(self) -> pd.Timestamp:
        """Date of the last training row."""
        self._check_fitted()
        return self.engine_.trained_until_

    @property
    def interval_levels(self) -> tuple[float, ...]:
        """Nominal coverages of the price ranges (the first is ``low``/``high``)."""
        source = self.engine_ if hasattr(self, "engine_") else (self.engine or AVM())
        return tuple(float(x) for x in source.interval_levels)

    @property
    def values_new_cities(self) -> bool:
        """Whether a city not seen in training is valued (the engine's global sub-model)."""
        return bool(getattr(self.engine_, "values_new_cities", False))

    @property
    def feature_names_(self) -> list[str]:
        """The engine's model features (canonical, extra, indicator and location columns)."""
        self._check_fitted()
        return list(self.engine_.stage_.feature_names_)

    def describe(self) -> dict[str, Any]:
        """The training facts (window, currency, rows, fingerprints, quality, engine)."""
        self._check_fitted()
        return {
            **self.facts_,
            "cities": list(self.cities_),
            "city_models": list(self.city_models_),
            "cleaning": self.policy_ is not None,
            "trained_until": f"{self.trained_until_:%Y-%m-%d}",
        }

    def memory_bytes(self) -> int:
        """Bytes the fitted pipeline holds: tree models (their text size, a close measure
        of LightGBM's in-memory trees), location and comparables tables, index, ranges."""
        self._check_fitted()
        return self.engine_.memory_bytes()

    # ------------------------------------------------------------------ predicting
    def cleaned(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[list[str]]]:
        """Rows as the engine sees them, and per row what the cleaning policy did.

        The fitted policy in prediction mode (never drops a row); without a policy (cleaning
        disabled, or an engine saved on its own) the rows as given and no warnings.
        """
        self._check_fitted()
        if self.policy_ is None:
            return frame.reset_index(drop=True), [[] for _ in range(len(frame))]
        result = self.policy_.transform(frame, mode="predict")
        return result.frame, self._told_once(result)

    def _cleaned_for_valuing(
        self, frame: pd.DataFrame, explain: bool
    ) -> tuple[pd.DataFrame, list[list[str]], dict[str, list[int]] | None]:
        """:meth:`cleaned`, and (when explaining) the cells the policy imputed (column ->
        rows): facts the owner did not give, which are never a reason in money."""
        if not explain or self.policy_ is None:
            served, warnings = self.cleaned(frame)
            return served, warnings, None
        self._check_fitted()
        result = self.policy_.transform(frame, mode="predict")
        imputed: dict[str, list[int]] = {}
        if len(result.changes):
            changes = result.changes
            logged = zip(
                changes["rule"].tolist(),
                changes["column"].tolist(),
                changes["row"].tolist(),
                strict=True,
            )
            for rule, column, row in logged:
                if str(rule).startswith("impute."):
                    imputed.setdefault(str(column), []).append(int(row))
        return result.frame, self._told_once(result), imputed

    def _told_once(self, result: CleanResult) -> list[list[str]]:
        """The cleaning's warnings without its note of a city unseen in training when the
        engine values such a city itself: the engine's own warning says it (and how it was
        valued), so the owner reads the fact once."""
        if not self.values_new_cities:
            return result.warnings
        if "city" not in result.frame:
            return result.warnings
        cities = result.frame["city"].tolist()
        return [
            [w for w in row if w != unseen_city_warning(cities[i])] if row else row
            for i, row in enumerate(result.warnings)
        ]

    def predict_table(self, frame: pd.DataFrame, valuation_date: Any = None) -> pd.DataFrame:
        """Everything a backtest stores per row (``predicted``, ``model``, ``comps``,
        ``blend_weight``, ``low``/``high`` and the other ranges, ``fsd``, ``sub_model``),
        for raw rows: they are cleaned first. Row-aligned with ``frame`` (positional)."""
        served, _ = self.cleaned(frame)
        return self.engine_.predict_table(served, valuation_date)

    def predict(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray:
        """Valuations of raw rows (cleaned first)."""
        return self.predict_table(frame, valuation_date)["predicted"].to_numpy(float)

    def predict_interval(
        self, frame: pd.DataFrame, level: float | None = None, valuation_date: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the price range of raw rows at nominal coverage ``level``
        (default: the first of :attr:`interval_levels`)."""
        served, _ = self.cleaned(frame)
        return self.engine_.predict_interval(served, level, valuation_date)

    def value(
        self,
        frame: pd.DataFrame,
        *,
        explain: bool = False,
        lang: str = "en",
        valuation_date: Any = None,
    ) -> list[Valuation]:
        """Full valuations of raw rows (cleaned first; the cleaning's warnings come first in
        each valuation's warnings). ``explain``: with the reasons in plain words and each
        comparable's adjustment split by feature (without: the same prices, ranges and
        comparables, faster)."""
        valuations, _ = self._value_frame(frame, explain, lang, valuation_date)
        return valuations

    def value_explained(
        self, frame: pd.DataFrame, *, lang: str = "en", valuation_date: Any = None
    ) -> tuple[list[Valuation], list[Explanation]]:
        """The valuations of raw rows and their explanations in language ``lang``."""
        valuations, explanations = self._value_frame(frame, True, lang, valuation_date)
        return valuations, explanations or []

    def value_one(
        self,
        record: Mapping[str, Any],
        *,
        explain: bool = True,
        lang: str = "en",
        valuation_date: Any = None,
    ) -> Valuation:
        """Value one raw property record (a mapping of canonical fields and extra features).

        Without a ``date`` field or ``valuation_date`` the property is valued today;
        ``valuation_date`` replaces the record's date and is checked as it would be (a date
        that does not parse or lies outside the model's window is refused). The numbers are
        the batch path's (:meth:`value` of a one-row frame: this is that path).

        Raises
        ------
        DataError
            If the record cannot be valued (no city, a value that is not a number or date),
            naming each field.
        """
        frame, warnings, widen = self.check_records([_dated(record, valuation_date)])
        valuations, _ = self._value_frame(frame, explain, lang, None, warnings, widen)
        return valuations[0]

    def value_many(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        explain: bool = True,
        lang: str = "en",
        valuation_date: Any = None,
    ) -> list[Valuation | EstimoError]:
        """Value many records in one pass; a record that cannot be valued gets its error in
        its place (the others are valued, with the same numbers as :meth:`value_one`)."""
        return [
            item if isinstance(item, EstimoError) else item[0]
            for item in self._value_isolated(list(records), explain, lang, valuation_date)
        ]

    def value_many_explained(
        self, records: Iterable[Mapping[str, Any]], *, lang: str = "en", valuation_date: Any = None
    ) -> list[tuple[Valuation, Explanation] | EstimoError]:
        """:meth:`value_many` with reasons, keeping each valuation's explanation in
        language ``lang`` (what the service answers)."""
        return self._value_isolated(list(records), True, lang, valuation_date)  # type: ignore[return-value]

    def _value_isolated(
        self, records: list[Mapping[str, Any]], explain: bool, lang: str, valuation_date: Any
    ) -> list[tuple[Valuation, Explanation | None] | EstimoError]:
        """Each record through the input contract on its own (a refused record gets its
        error in its place), the accepted ones valued together in one frame."""
        out: list[Any] = [None] * len(records)
        contract = self.contract()
        records = [_dated(record, valuation_date) for record in records]
        valuation_date = None  # each record's date now: checked by the contract
        good: list[int] = []
        checked = []
        for i, record in enumerate(records):
            try:
                checked.append(contract.check(record))
            except EstimoError as exc:
                out[i] = exc
                continue
            good.append(i)
        if good:
            frame = parsed_frame([c.record for c in checked])  # one frame for the batch
            valuations, explanations = self._value_frame(
                frame,
                explain,
                lang,
                valuation_date,
                [list(c.warnings) for c in checked],
                [c.widen for c in checked],
            )
            said = explanations if explanations is not None else [None] * len(valuations)
            for i, valuation, explanation in zip(good, valuations, said, strict=True):
                out[i] = (valuation, explanation)
        return out

    def contract(self) -> PropertyContract:
        """The input contract of this pipeline (:mod:`estimo.property_input`): the cleaning
        policy's ranges, the training window, the model's features and categories."""
        self._check_fitted()
        contract = getattr(self, "_contract", None)
        if contract is None:
            contract = PropertyContract.for_pipeline(self)
            self._contract = contract
        return contract

    def check_records(
        self, records: Sequence[Mapping[str, Any]]
    ) -> tuple[pd.DataFrame, list[list[str]], list[bool]]:
        """Raw records through the input contract: a canonical frame (dated today where no
        date is given), each record's warnings and whether its range is widened.

        Raises
        ------
        InputError
            Naming every refused field (of every record, when there are several).
        """
        contract = self.contract()
        if len(records) == 1:
            checked = [contract.check(records[0])]
        else:
            checked = contract.check_many(records)
        frame = parsed_frame([c.record for c in checked])
        return frame, [list(c.warnings) for c in checked], [c.widen for c in checked]

    def value_records(
        self, records: Sequence[Mapping[str, Any]], *, lang: str = "en"
    ) -> tuple[list[Valuation], list[Explanation]]:
        """Raw records checked by the input contract (all or none: one
        :class:`~estimo.errors.InputError` lists every problem), valued and explained."""
        frame, warnings, widen = self.check_records(list(records))
        valuations, explanations = self._value_frame(frame, True, lang, None, warnings, widen)
        return valuations, explanations or []

    def _value_frame(
        self,
        frame: pd.DataFrame,
        explain: bool,
        lang: str,
        valuation_date: Any,
        input_warnings: Sequence[Sequence[str]] | None = None,
        widen: Sequence[bool] | None = None,
    ) -> tuple[list[Valuation], list[Explanation] | None]:
        served, cleaning, imputed = self._cleaned_for_valuing(frame, explain)
        if input_warnings is not None:
            cleaning = [[*a, *b] for a, b in zip(input_warnings, cleaning, strict=True)]
        wide = list(widen) if widen is not None else [False] * len(cleaning)
        engine = self.engine_
        facts = self._model_facts()
        if not explain:  # no reasons, and no split of the comparables' adjustments
            valuations = engine.value(served, valuation_date, explain=False)
            return [_with(v, cleaning[i], facts, wide[i]) for i, v in enumerate(valuations)], None
        passed = engine.value_with_contributions(served, valuation_date)
        valuations = [
            _with(v, cleaning[i], facts, wide[i]) for i, v in enumerate(passed.valuations)
        ]
        explanations = self.explainer(lang).explain(
            _marked_not_given(served, imputed),
            passed.contributions,
            valuations,
            currency=self.currency,
            feature_values=passed.features,
        )
        valuations = [
            replace(v, reasons=tuple(e.to_dict()["reasons"]))
            for v, e in zip(valuations, explanations, strict=True)
        ]
        return valuations, explanations

    def _model_facts(self) -> dict[str, Any]:
        return {
            "trained_until": f"{self.trained_until_:%Y-%m-%d}",
            "training_window": self.facts_.get("training_window"),
            "fingerprint": self.facts_.get("fingerprints", {}).get("train"),
            "estimo_version": self.facts_.get("estimo_version"),
        }

    def warm_up(self) -> float:
        """Value one typical property of the first city with reasons, to compile (or load
        from numba's cache) the explanation kernels and build every per-model cache before
        the first request; returns the seconds it took."""
        self._check_fitted()
        started = time.perf_counter()
        self.value_one({"city": self.cities_[0]})
        return time.perf_counter() - started

    def use_reference(self, reference: ReferenceTable) -> None:
        """Explain against another reference table (e.g. one written by ``estimo explain``)."""
        self._check_fitted()
        self.reference_ = reference
        self._explainers = {}

    def explainer(self, lang: str = "en") -> Explainer:
        """The explainer of this pipeline in language ``lang`` (built once per language)."""
        self._check_fitted()
        if lang not in self._explainers:
            self._explainers[lang] = Explainer(
                lang, labels=self.all_labels(), concepts=self.concepts, reference=self.reference_
            )
        return self._explainers[lang]

    # ------------------------------------------------------------------ saving
    def save(self, folder: str, extra: Mapping[str, Any] | None = None) -> str:
        """Write the pipeline into ``folder`` (local path or fsspec URL; see the module
        docstring for the layout) and return ``folder``. ``extra``: JSON-ready facts kept
        with it (e.g. the registry's).

        The folder is written atomically with a ``checksums.json`` manifest written last
        (:meth:`~estimo.bundle_folder.BundleFolder.writing`); a model folder already at
        ``folder`` is replaced only once the new one is complete."""
        self._check_fitted()
        with BundleFolder.writing(folder) as root:
            self.engine_.to_bundle(root.sub(ENGINE_FOLDER))
            policy = None
            if self.policy_ is not None:
                policy = self.policy_.to_bundle(root.sub(CLEANING_FOLDER))
            if self.reference_ is not None:
                root.write_json(REFERENCE_FILE, self.reference_.to_dict())
            root.write_json(
                PIPELINE_FILE,
                {
                    "kind": KIND,
                    MANIFEST_KEY: CHECKSUM_FILE,
                    "format_version": FORMAT_VERSION,
                    "estimo_version": __version__,
                    "currency": self.currency,
                    "clean": self.clean,
                    "labels": self.all_labels(),
                    "concepts": dict(self.concepts or {}),
                    "facts": self.facts_,
                    "extra": dict(extra or {}),
                    "cleaning": policy,
                    "calibration": None
                    if self.calibrator_ is None
                    else self.calibrator_.to_bundle(),
                },
            )
        return folder

    @classmethod
    def from_engine(cls, engine: AVM) -> ValuationPipeline:
        """A pipeline around an engine fitted and saved on its own (before pipelines): no
        cleaning policy (rows are valued as given), no explanation reference."""
        extra = dict(engine.bundle_extra_)
        currency = engine.currency or extra.get("currency") or "EUR"
        pipeline = cls(engine=clone(engine), currency=currency, clean=False, explanations=False)
        pipeline.engine_ = engine
        pipeline.policy_ = None
        pipeline.calibrator_ = None
        pipeline.reference_ = None
        pipeline.training_data_ = None
        pipeline.facts_ = {
            "estimo_version": None,
            "currency": currency,
            "training_window": extra.get("training_window"),
            "n_train": engine.n_train_,
            "fingerprints": {},
            "quality": extra.get("quality"),
            "extra": extra,
        }
        pipeline._explainers = {}
        return pipeline

    @classmethod
    def load(cls, folder: str, cities: Sequence[str] | None = None) -> ValuationPipeline:
        """Read a pipeline written by :meth:`save` (see :func:`load_pipeline`)."""
        pipeline = cls._load(folder)
        if cities is not None:
            pipeline.engine_.load_cities(cities)
        return pipeline

    @classmethod
    def _load(cls, folder: str) -> ValuationPipeline:
        root = BundleFolder.open(folder)  # every file checked against checksums.json first
        if not root.exists(PIPELINE_FILE) and root.exists(BUNDLE_META):
            log.info("%s holds an engine saved without its pipeline: no cleaning", folder)
            return cls.from_engine(AVM.from_bundle(root))
        if not root.exists(PIPELINE_FILE):
            raise EstimoError(
                f"{folder!r} holds no valuation pipeline: expected {PIPELINE_FILE} "
                "(written by `estimo train`)"
            )
        meta = root.read_json(PIPELINE_FILE)
        if meta.get("kind") != KIND or meta.get("format_version") != FORMAT_VERSION:
            raise EstimoError(
                f"{folder!r}/{PIPELINE_FILE} has kind {meta.get('kind')!r}, format_version "
                f"{meta.get('format_version')!r}; this Estimo reads {KIND!r} version "
                f"{FORMAT_VERSION}"
            )
        engine = AVM.from_bundle(root.sub(ENGINE_FOLDER))
        pipeline = cls(
            engine=AVM(**engine.get_params()),
            labels=meta["labels"] or None,
            concepts=meta["concepts"] or None,
            currency=meta["currency"],
            clean=bool(meta.get("clean", True)),
            explanations=root.exists(REFERENCE_FILE),
        )
        pipeline.engine_ = engine
        pipeline.policy_ = None
        if meta["cleaning"] is not None:
            cleaning = meta["cleaning"]
            pipeline.policy_ = CleaningPolicy.from_bundle(root.sub(CLEANING_FOLDER), cleaning)
            pipeline.quality = pipeline.policy_.config
        calibration = meta["calibration"]
        pipeline.calibrator_ = (
            None if calibration is None else LabelCalibrator.from_bundle(calibration)
        )
        pipeline.reference_ = (
            ReferenceTable.from_dict(root.read_json(REFERENCE_FILE))
            if root.exists(REFERENCE_FILE)
            else None
        )
        pipeline.facts_ = {**meta["facts"], "extra": meta.get("extra", {})}
        pipeline._explainers = {}
        return pipeline

    @property
    def bundle_extra_(self) -> dict[str, Any]:
        """The ``extra`` facts saved with the pipeline (and the training window, currency)."""
        self._check_fitted()
        return {
            "currency": self.currency,
            "training_window": self.facts_.get("training_window"),
            **self.facts_.get("extra", {}),
        }


def load_pipeline(folder_or_url: str, cities: Sequence[str] | None = None) -> ValuationPipeline:
    """Load a saved :class:`ValuationPipeline` from a folder or fsspec URL.

    A folder holding only an engine (``model.json`` of kind ``avm``, saved before
    pipelines) loads as a pipeline without cleaning policy or explanation reference.

    The engine's per-city parts (each city's sub-model, its comparables' search trees) and
    the global sub-model are read the first time a valuation needs them; ``cities`` reads
    those of the given cities (and the global sub-model) now, e.g. the cities a service
    answers for (:meth:`~estimo.model.avm.AVM.load_cities`).

    Raises
    ------
    EstimoError
        If the folder holds no pipeline (or one of another format).
    BundleError
        If a file is missing, truncated or altered (checked against ``checksums.json``).
    """
    return ValuationPipeline.load(str(folder_or_url), cities=cities)


def save_bundle(model: Any, folder: str, extra: dict[str, Any] | None = None) -> str:
    """Save what the registry stores: a pipeline (its :meth:`~ValuationPipeline.save`),
    or an engine or plain model saved on its own (:func:`estimo.model.bundle.save_model`)."""
    if isinstance(model, ValuationPipeline):
        return model.save(folder, extra=extra)
    from estimo.model.bundle import save_model

    return save_model(model, folder, extra)


def load_bundle(folder: str) -> Any:
    """Load what :func:`save_bundle` saved: a pipeline, else the engine or plain model."""
    if BundleFolder(folder).exists(PIPELINE_FILE):
        return load_pipeline(folder)
    from estimo.model.bundle import load_model

    return load_model(folder)


def _marked_not_given(
    served: pd.DataFrame, imputed: Mapping[str, Sequence[int]] | None
) -> pd.DataFrame:
    """The rows the explanations describe: ``served`` with ``<field>_missing = 1`` where the
    cleaning policy imputed ``field`` (``imputed``: field -> rows; the indicators that are
    not already columns, added in one step, by field name), so that the words never present
    an imputed value as the owner's fact."""
    flags = {}
    for column in sorted(imputed or {}):
        flag = f"{column}_missing"
        if flag in served.columns:
            continue
        values = np.zeros(len(served), dtype=np.int8)
        values[np.asarray(imputed[column], dtype=int)] = 1
        flags[flag] = values
    return with_columns(served, flags) if flags else served


def _dated(record: Mapping[str, Any], valuation_date: Any) -> Any:
    """``record`` valued at ``valuation_date`` (when given): its date, so that the input
    contract checks it as it checks a record's own date (format, training window)."""
    if valuation_date is None or not isinstance(record, Mapping):
        return record
    return {**record, "date": valuation_date}


def _with(
    valuation: Valuation, warnings: Sequence[str], facts: dict[str, Any], widen: bool = False
) -> Valuation:
    """A valuation with the input's and the cleaning's warnings first and the model's facts;
    ``widen``: its ranges widened and its confidence low (the input contract's policy)."""
    if widen:
        return replace(widen_valuation(valuation, warnings), model=facts)
    return replace(valuation, warnings=(*warnings, *valuation.warnings), model=facts)


def _training_facts(
    frame: pd.DataFrame, train: pd.DataFrame, prepared: TrainingData | None, currency: str
) -> dict[str, Any]:
    from estimo.registry.manifest import fingerprint_frame  # a leaf helper; keeps this light

    dates = pd.to_datetime(frame["date"])
    return {
        "estimo_version": __version__,
        "currency": currency,
        "training_window": {"from": f"{dates.min():%Y-%m-%d}", "to": f"{dates.max():%Y-%m-%d}"},
        "n_input": len(frame),
        "n_train": len(train),
        "fingerprints": {"input": fingerprint_frame(frame), "train": fingerprint_frame(train)},
        "quality": prepared.summary() if prepared is not None else None,
    }
