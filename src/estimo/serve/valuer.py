"""What the service needs from a model bundle: the :class:`Valuer` protocol and its adapter.

The service never touches an engine directly: it asks a :class:`Valuer` for JSON-ready
answers. :func:`load_valuer` is the one place that turns a bundle folder into a valuer: the
saved :class:`~estimo.pipeline.ValuationPipeline` (``estimo.load_pipeline``) wrapped in a
:class:`PipelineValuer`. The service therefore values a raw record exactly like
``estimo value`` and the backtest do: the pipeline's cleaning policy in prediction mode
first, then the engine, with the same numbers to the unit. A folder holding only an engine
(saved before pipelines) is served as a pipeline without a cleaning policy.

Answer shape (one dict per property, JSON-ready): ``price``, ``low``/``high`` (the first
range, 80 %), ``low_90``/``high_90``, ``currency``, ``confidence``, ``confidence_score``,
``fsd``, ``valuation_date``, ``sub_model``, ``model_price``, ``comps_price``,
``blend_weight``, ``comparables`` (numbers), ``warnings`` (the cleaning's first), ``model``
(the pipeline's training facts; the service replaces them with the bundle and version that
answered) and, when explained, ``explanation`` (reasons in money and every sentence, see
:meth:`estimo.explain.explainer.Explanation.to_dict`). An answer asked for with
``?explain=false`` is cut down to :data:`PRICE_ONLY` by :func:`price_only` (after it is
recorded for monitoring): price, both ranges, currency, confidence, date, warnings and which
model answered; no comparables, explanation or blend internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from estimo.errors import EstimoError

log = logging.getLogger(__name__)

__all__ = ["PRICE_ONLY", "PipelineValuer", "Valuer", "load_valuer", "price_only", "warm_imports"]

#: The keys of an answer without explanation (``?explain=false``): price and ranges, what the
#: confidence is, when, what to know, and which bundle and sub-model answered.
PRICE_ONLY: tuple[str, ...] = (
    "subject_id",
    "price",
    "low",
    "high",
    "low_90",
    "high_90",
    "currency",
    "confidence",
    "confidence_score",
    "fsd",
    "valuation_date",
    "warnings",
    "sub_model",
    "model",
)


def price_only(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``answer`` cut down to :data:`PRICE_ONLY` (the ``?explain=false`` answer).

    Examples
    --------
    >>> sorted(price_only({"price": 1.0, "comparables": [], "blend_weight": 0.2}))
    ['price']
    """
    return {key: answer[key] for key in PRICE_ONLY if key in answer}


@runtime_checkable
class Valuer(Protocol):
    """A loaded model bundle that values properties (see the module docstring)."""

    @property
    def cities(self) -> tuple[str, ...]:
        """Cities with their own model inside this bundle."""
        ...

    def value_one(
        self, record: Mapping[str, Any], *, explain: bool = True, lang: str = "en"
    ) -> dict[str, Any]:
        """The answer for one canonical record; raises ``EstimoError`` on bad input."""
        ...

    def value_many(
        self, records: Sequence[Mapping[str, Any]], *, explain: bool = True, lang: str = "en"
    ) -> list[dict[str, Any] | Exception]:
        """One answer or one exception per record, in order."""
        ...

    def memory_bytes(self) -> int:
        """Bytes this bundle holds in memory (measured by the implementation)."""
        ...


def load_valuer(url: str, coalesce: int = 1) -> Valuer:
    """Load the valuer of a bundle folder (local path or fsspec URL): its saved pipeline.
    ``coalesce``: the most single valuations it values together when they queue up while
    it is busy (1: each alone; see :mod:`estimo.serve.coalesce`).

    Raises
    ------
    EstimoError
        If the folder holds no servable bundle.
    """
    return PipelineValuer.load(url, coalesce=coalesce)


def warm_imports() -> None:
    """Import the pipeline, engine and explainer (what :func:`load_valuer` and a valuation use)."""
    import estimo.explain.explainer
    import estimo.pipeline  # noqa: F401


class PipelineValuer:
    """:class:`Valuer` over a saved :class:`~estimo.pipeline.ValuationPipeline`.

    Parameters
    ----------
    pipeline : ValuationPipeline
        A fitted pipeline whose engine gives ranges and comparables (an ``AVM``).
    bundle_bytes : int
        Size of the bundle's files, a floor of :meth:`memory_bytes`.
    coalesce : int
        The most calls of :meth:`value_one` valued together in one pass when they arrive
        while the pipeline is busy (:class:`~estimo.serve.coalesce.Coalescer`); 1: each
        call is valued on its own, concurrently with the others.

    Examples
    --------
    >>> from estimo.model.avm import AVM
    >>> from estimo.pipeline import ValuationPipeline
    >>> from estimo.synth import generate_market
    >>> frame = generate_market(1_500, seed=1, faults=False).frame
    >>> engine = AVM(n_estimators=10, min_city_rows=300, n_jobs=1, progress=False)
    >>> pipeline = ValuationPipeline(engine=engine, currency="EUR").fit(frame)
    >>> record = {"city": "Milano", "area_m2": 70, "date": "2024-01-15"}
    >>> answer = PipelineValuer(pipeline).value_one(record)
    >>> answer["price"] == pipeline.value_one(record).price, answer["explanation"]["language"]
    (True, 'en')
    """

    def __init__(self, pipeline: Any, bundle_bytes: int = 0, coalesce: int = 1) -> None:
        from estimo.model.avm import AVM
        from estimo.serve.coalesce import Coalescer

        engine = getattr(pipeline, "engine_", None)
        if not isinstance(engine, AVM):
            raise EstimoError(
                f"the bundle holds a {type(engine or pipeline).__name__}; the service needs an "
                "engine bundle (a pipeline written by `estimo train`) with ranges and comparables"
            )
        self.pipeline = pipeline
        self.bundle_bytes = int(bundle_bytes)
        self.coalescer = Coalescer(self._coalesced, int(coalesce)) if coalesce > 1 else None

    @classmethod
    def load(cls, url: str, coalesce: int = 1) -> PipelineValuer:
        """The pipeline saved in ``url`` (``estimo.load_pipeline``); a pre-pipeline engine
        folder's own explanation reference (``explain_reference.json``) is used when present.

        Raises
        ------
        EstimoError
            If the folder holds no pipeline or engine (a plain model cannot be served).
        """
        from estimo.bundle_folder import BundleFolder
        from estimo.explain.reference import REFERENCE_FILE, ReferenceTable
        from estimo.model.avm import BUNDLE_KIND, BUNDLE_META
        from estimo.pipeline import PIPELINE_FILE, load_pipeline

        root = BundleFolder(url)
        if not root.exists(PIPELINE_FILE) and root.exists(BUNDLE_META):
            kind = root.read_json(BUNDLE_META).get("kind")
            if kind != BUNDLE_KIND:
                raise EstimoError(
                    f"{url!r} holds a {kind!r} model; the service needs an engine bundle "
                    "(a pipeline written by `estimo train`) with ranges and comparables"
                )
        pipeline = load_pipeline(url)
        if pipeline.reference_ is None and root.exists(REFERENCE_FILE):
            pipeline.use_reference(ReferenceTable.from_dict(root.read_json(REFERENCE_FILE)))
        return cls(pipeline, bundle_bytes=_folder_bytes(url), coalesce=coalesce)

    @property
    def cities(self) -> tuple[str, ...]:
        """Cities with their own sub-model."""
        return tuple(str(c) for c in self.pipeline.cities_)

    @property
    def model(self) -> Any:
        """The fitted engine (what the valuation page reads its fields from)."""
        return self.pipeline.engine_

    def memory_bytes(self) -> int:
        """The pipeline's measured size (at least its files'); the router adds the RSS delta."""
        return max(int(self.pipeline.memory_bytes()), self.bundle_bytes)

    def value_one(
        self, record: Mapping[str, Any], *, explain: bool = True, lang: str = "en"
    ) -> dict[str, Any]:
        """The answer for one raw record (see the module docstring).

        Raises
        ------
        EstimoError
            If the record cannot be valued, naming the field.
        """
        if self.coalescer is not None:
            return self.coalescer.submit((explain, lang), record)
        answer = self._pass([record], explain, lang)[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _coalesced(
        self, key: tuple[bool, str], records: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any] | Exception]:
        """Single calls that queued up together, valued in one pass (one answer or error
        each; a record the pass cannot take is valued alone, as :meth:`value_many` does)."""
        explain, lang = key
        if len(records) == 1:
            return self._pass(records, explain, lang)
        return self.value_many(records, explain=explain, lang=lang)

    def value_many(
        self, records: Sequence[Mapping[str, Any]], *, explain: bool = True, lang: str = "en"
    ) -> list[dict[str, Any] | Exception]:
        """Value all records in one pass of the pipeline; a record that cannot be valued gets
        its error in its place (when the pass fails as a whole, they are valued one by one)."""
        if not records:
            return []
        try:
            return self._pass(records, explain, lang)
        except (EstimoError, ValueError, TypeError, KeyError):
            if len(records) == 1:
                raise
            log.info("batch of %d failed as a whole; valuing one by one", len(records))
        out: list[dict[str, Any] | Exception] = []
        for record in records:
            try:
                out.extend(self._pass([record], explain, lang))
            except (EstimoError, ValueError, TypeError, KeyError) as exc:
                out.append(exc)
        return out

    def _pass(
        self, records: Sequence[Mapping[str, Any]], explain: bool, lang: str
    ) -> list[dict[str, Any] | Exception]:
        """:meth:`ValuationPipeline.value_many`'s path (its validation, cleaning, engine),
        keeping the explanations it builds when ``explain``."""
        pipeline = self.pipeline
        if not explain:
            out = pipeline.value_many(records, explain=False, lang=lang)
            return [item if isinstance(item, Exception) else _answer(item, None) for item in out]
        return [
            item if isinstance(item, Exception) else _answer(*item)
            for item in pipeline.value_many_explained(records, lang=lang)
        ]


def _answer(valuation: Any, explanation: Any) -> dict[str, Any]:
    """A valuation as the service answers it: the reasons live in ``explanation``."""
    answer = valuation.to_dict()
    answer.pop("reasons", None)
    answer["explanation"] = None if explanation is None else explanation.to_dict()
    return answer


def _folder_bytes(url: str) -> int:
    """Total size of the files under ``url`` (0 when it cannot be listed)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    try:
        return int(sum(fs.du(root, total=False).values()))
    except (OSError, ValueError):
        return 0
