"""What the service needs from a model bundle: the :class:`Valuer` protocol and its adapter.

The service never touches an engine directly: it asks a :class:`Valuer` for JSON-ready
answers. :func:`load_valuer` is the one place that turns a bundle folder into a valuer.
Today it wraps a model folder written by ``estimo train`` (loaded with
:func:`estimo.model.bundle.load_model`) and the explainer, the way ``estimo value`` does
(:class:`BundleValuer`). When the saved pipeline lands, ``load_valuer`` returns
``PipelineValuer(load_pipeline(url))`` instead and nothing else in ``estimo.serve`` changes.

Answer shape (one dict per property, JSON-ready): ``price``, ``low``/``high`` (the first
range, 80 %), ``low_90``/``high_90``, ``currency``, ``confidence``, ``confidence_score``,
``fsd``, ``valuation_date``, ``sub_model``, ``model_price``, ``comps_price``,
``blend_weight``, ``comparables`` (numbers), ``warnings`` and, when explained,
``explanation`` (reasons in money and every sentence, see
:meth:`estimo.explain.explainer.Explanation.to_dict`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from estimo.errors import EstimoError

log = logging.getLogger(__name__)

__all__ = [
    "BundleValuer",
    "PipelineValuer",
    "Valuer",
    "load_valuer",
    "record_frame",
    "warm_imports",
]


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


def load_valuer(url: str) -> Valuer:
    """Load the valuer of a bundle folder (local path or fsspec URL).

    This is the single swap point for the saved pipeline (``estimo.load_pipeline``).

    Raises
    ------
    EstimoError
        If the folder holds no servable bundle.
    """
    return BundleValuer.load(url)


def warm_imports() -> None:
    """Import the engine and the explainer (what :func:`load_valuer` and a valuation use)."""
    import estimo.explain.contributions
    import estimo.explain.explainer
    import estimo.model.bundle  # noqa: F401


def record_frame(records: Sequence[Mapping[str, Any]]) -> Any:
    """Canonical frame of validated records (numbers as float, dates as Timestamps).

    A record without ``date`` is valued today (see :func:`_valuation_dates`).

    Examples
    --------
    >>> frame = record_frame([{"city": "Milano", "area_m2": 80, "date": "2024-05-01"}])
    >>> frame["area_m2"].dtype.name, str(frame["date"].iloc[0].date())
    ('float64', '2024-05-01')
    """
    import pandas as pd

    from estimo.schema import FIELDS

    frame = pd.DataFrame.from_records([dict(r) for r in records])
    for name in frame.columns:
        spec = FIELDS.get(name)
        kind = spec.kind if spec is not None else None
        if kind == "numeric":
            frame[name] = pd.to_numeric(frame[name], errors="raise").astype(float)
        elif kind == "date":
            frame[name] = pd.to_datetime(frame[name])
        elif kind in ("category", "id", "text"):
            frame[name] = frame[name].astype(object)
    return frame


class _Computed:
    """Contributions computed with the valuations, handed to the explainer's contract check."""

    def __init__(self, contributions: Any) -> None:
        self.contributions = contributions

    def log_contributions(self, frame: Any) -> Any:
        return self.contributions


class BundleValuer:
    """:class:`Valuer` over today's engine bundle (an ``AVM`` model folder) and explainer.

    Parameters
    ----------
    model : estimo.model.avm.AVM
        A fitted engine.
    reference : estimo.explain.reference.ReferenceTable, optional
        Reference groups of the explanations (``reference.parquet`` in the folder).
    bundle_bytes : int
        Size of the bundle's files, the floor of :meth:`memory_bytes`.
    """

    def __init__(self, model: Any, reference: Any = None, bundle_bytes: int = 0) -> None:
        from estimo.model.avm import AVM

        if not isinstance(model, AVM):
            raise EstimoError(
                f"the bundle holds a {type(model).__name__}; the service needs an engine "
                "bundle (written by `estimo train`) with ranges and comparables"
            )
        self.model = model
        self.reference = reference
        self.bundle_bytes = int(bundle_bytes)
        self._explainers: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, url: str) -> BundleValuer:
        """Load the engine and its reference table (if any) from a model folder."""
        import fsspec

        from estimo.explain.reference import REFERENCE_FILE, ReferenceTable
        from estimo.model.bundle import load_model

        model = load_model(url)
        fs, root = fsspec.core.url_to_fs(url)
        reference = None
        if fs.exists(f"{root}/{REFERENCE_FILE}"):
            text = fs.cat_file(f"{root}/{REFERENCE_FILE}")
            reference = ReferenceTable.from_dict(json.loads(text))
        size = sum(fs.du(root, total=False).values()) if fs.exists(root) else 0
        return cls(model, reference=reference, bundle_bytes=size)

    @property
    def cities(self) -> tuple[str, ...]:
        """Cities with their own sub-model in the engine."""
        return tuple(str(c) for c in self.model.cities_)

    def memory_bytes(self) -> int:
        """Bytes of the bundle's files (the loaded parts); the router adds the RSS delta."""
        return self.bundle_bytes

    def _explainer(self, lang: str) -> Any:
        with self._lock:
            if lang not in self._explainers:
                from estimo.explain.explainer import Explainer

                self._explainers[lang] = Explainer(lang, reference=self.reference)
            return self._explainers[lang]

    def value_one(
        self, record: Mapping[str, Any], *, explain: bool = True, lang: str = "en"
    ) -> dict[str, Any]:
        """The answer for one record (see the module docstring)."""
        return self._value_frame(record_frame([record]), explain=explain, lang=lang)[0]

    def value_many(
        self, records: Sequence[Mapping[str, Any]], *, explain: bool = True, lang: str = "en"
    ) -> list[dict[str, Any] | Exception]:
        """Value all records in one pass; when that fails, one by one (per-record errors)."""
        if not records:
            return []
        try:
            return list(self._value_frame(record_frame(records), explain=explain, lang=lang))
        except (EstimoError, ValueError, TypeError, KeyError):
            log.info("batch of %d failed as a whole; valuing one by one", len(records))
        out: list[dict[str, Any] | Exception] = []
        for record in records:
            try:
                out.append(self.value_one(record, explain=explain, lang=lang))
            except (EstimoError, ValueError, TypeError, KeyError) as exc:
                out.append(exc)
        return out

    def _value_frame(self, frame: Any, *, explain: bool, lang: str) -> list[dict[str, Any]]:
        import pandas as pd

        if "date" not in frame:
            frame["date"] = pd.Timestamp.today().normalize()
        frame["date"] = frame["date"].fillna(pd.Timestamp.today().normalize())
        if explain:
            from estimo.explain.contributions import log_contributions

            valuations, raw, features = self.model.value_with_contributions(frame)
            contributions = log_contributions(_Computed(raw), frame)
            explanations = self._explainer(lang).explain(
                frame,
                contributions,
                valuations,
                currency=self.model.currency or "EUR",
                feature_values=features,
            )
        else:
            valuations = self.model.value(frame, explain=False)
            explanations = [None] * len(valuations)
        extra = self._extra_ranges(frame, valuations)
        answers = []
        for i, (valuation, explanation) in enumerate(zip(valuations, explanations, strict=True)):
            answer = valuation.to_dict()
            answer.update(extra[i])
            answer["explanation"] = None if explanation is None else explanation.to_dict()
            answers.append(answer)
        return answers

    def _extra_ranges(self, frame: Any, valuations: Sequence[Any]) -> list[dict[str, float]]:
        """``low_90``/``high_90`` (every level after the first) around each final price
        (the valuation's own, adaptive ranges when it has them)."""
        import numpy as np

        from estimo.frames import str_values

        model = self.model
        if all(getattr(v, "ranges", None) for v in valuations):
            return [
                {
                    f"{end}_{pct}": b
                    for pct, pair in v.ranges.items()
                    for end, b in zip(("low", "high"), pair, strict=True)
                }
                for v in valuations
            ]
        out: list[dict[str, float]] = [{} for _ in valuations]
        cities = str_values(frame["city"])
        segment = model.interval_segment
        segments = frame[segment].to_numpy(dtype=object) if segment and segment in frame else None
        log_price = np.log([v.price for v in valuations])
        for level in list(model.interval_levels)[1:]:
            lo, hi = model.intervals_.bounds(cities, segments, level=float(level))
            suffix = round(float(level) * 100)
            for i in range(len(valuations)):
                out[i][f"low_{suffix}"] = float(np.exp(log_price[i] + min(lo[i], 0.0)))
                out[i][f"high_{suffix}"] = float(np.exp(log_price[i] + max(hi[i], 0.0)))
        return out


class PipelineValuer:
    """:class:`Valuer` over the saved pipeline (``estimo.load_pipeline``), for the lead's swap.

    Parameters
    ----------
    pipeline : ValuationPipeline
        Offers ``value_one``/``value_many`` returning ``Valuation`` objects with
        ``to_dict()``, ``cities_`` and ``memory_bytes()``.
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    @property
    def cities(self) -> tuple[str, ...]:
        """Cities with their own model."""
        return tuple(str(c) for c in self.pipeline.cities_)

    def memory_bytes(self) -> int:
        """The pipeline's measured size."""
        return int(self.pipeline.memory_bytes())

    def value_one(
        self, record: Mapping[str, Any], *, explain: bool = True, lang: str = "en"
    ) -> dict[str, Any]:
        """The pipeline's answer as a dict."""
        return self.pipeline.value_one(record, explain=explain, lang=lang).to_dict()

    def value_many(
        self, records: Sequence[Mapping[str, Any]], *, explain: bool = True, lang: str = "en"
    ) -> list[dict[str, Any] | Exception]:
        """The pipeline's answers as dicts; errors stay exceptions."""
        out = self.pipeline.value_many(records, explain=explain, lang=lang)
        return [item if isinstance(item, Exception) else item.to_dict() for item in out]
