"""A learned confidence for each fact: a light logistic model per language and field.

The rules find a value and its span; whether the value is the listing's own (and not the
garden's area, a neighbour's lift, a hypothetical garage) is read from the words around the
span. :func:`fact_features` turns a fact and its context into a few string features (the
rule, the value's bucket, the span's words, the words just before and after it, how far
into the text it sits, which other fields the text states) and :class:`Rescorer` adds up their
weights: the fact's confidence is the logistic of that sum.

The weights and, per field, the acceptance threshold (the lowest confidence at which the
facts' precision reached the field's target in cross-validation) are learned from the
labelled development listings by ``scripts/train_text_rescorer.py``
(:mod:`estimo.text.training`) and shipped as ``rescorer.json`` inside the package: no
model is downloaded and scoring needs no library beyond the standard one. Fields or
languages without a model keep the rule's measured precision
(:mod:`estimo.text.calibration`).

Examples
--------
>>> from estimo.text.facts import Fact
>>> text = "Trilocale di 85 mq con terrazzo"
>>> fact = Fact("area_m2", 85.0, 0.95, 13, 18, "85 mq", "area.whole")
>>> feats = fact_features(fact, text, ("area_m2", "rooms"))
>>> "rule=area.whole" in feats and "l1:di" in feats and "also:rooms" in feats
True
>>> model = Rescorer({"it": {"area_m2": {"bias": 0.0, "weights": {"l1:di": 2.0},
...                                        "threshold": 0.8}}})
>>> round(model.confidence(fact, text, "it", ("area_m2",)), 3)
0.881
>>> model.threshold("it", "area_m2"), model.threshold("it", "rooms")
(0.8, None)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from estimo.text.facts import Fact

RESCORER_FILE = "rescorer.json"
WINDOW = 40
"""Characters of context read on each side of a span."""

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def _words(text: str) -> list[str]:
    return ["#" if w.isdigit() else w.lower() for w in _WORD.findall(text)]


def _bucket(fact: Fact) -> str:
    value = fact.value
    if isinstance(value, (bool, str)):
        return str(value)
    if fact.field == "area_m2":
        return str(int(math.log2(max(float(value), 1.0)) * 2))  # half-octave bins
    if fact.field == "year_built":
        return str(int(float(value)) // 10 * 10)
    return str(min(int(float(value)), 9))


def _offset(start: int) -> str:
    """Where the span starts, in characters (absolute: a short text is like a long one's
    opening)."""
    for limit in (80, 250, 600, 1200):
        if start < limit:
            return f"<{limit}"
    return ">1200"


def fact_features(fact: Fact, text: str, fields: Sequence[str]) -> list[str]:
    """The features of one fact (strings; each present feature counts once).

    Parameters
    ----------
    fact : Fact
        A fact the rules found in ``text``.
    text : str
        The text it was read from (its offsets index it).
    fields : sequence of str
        Every field the rules found in the same text.

    Returns
    -------
    list of str
        Sorted: ``rule=``, ``value=``, ``rule_value=``, span words ``s:``, context words
        ``l:``/``r:``, nearest words ``l1:``/``r1:``, offset ``at=``, other fields ``also:``.
    """
    return sorted(_feature_set(fact, text, fields))


def _feature_set(fact: Fact, text: str, fields: Sequence[str]) -> set[str]:
    """The features of :func:`fact_features` as a set (what scoring reads)."""
    left = _words(text[max(0, fact.start - WINDOW) : fact.start])
    right = _words(text[fact.end : fact.end + WINDOW])
    value = _bucket(fact)
    feats = {
        "rule=" + fact.rule,
        "value=" + value,
        f"rule_value={fact.rule}|{value}",
        "at=" + _offset(fact.start),
    }
    feats.update("s:" + w for w in _words(fact.span))
    feats.update("l:" + w for w in left[-6:])
    feats.update("r:" + w for w in right[:6])
    if left:
        feats.add("l1:" + left[-1])
    if right:
        feats.add("r1:" + right[0])
    feats.update("also:" + f for f in fields if f != fact.field)
    return feats


class Rescorer:
    """Logistic models per language and field (weights from ``rescorer.json``).

    Parameters
    ----------
    models : dict
        ``{lang: {field: {"bias": float, "weights": {feature: float}, "threshold": float}}}``.
    """

    def __init__(self, models: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.models = models

    def has(self, lang: str, field: str) -> bool:
        """Whether a model exists for ``field`` in ``lang``."""
        return field in self.models.get(lang, {})

    def threshold(self, lang: str, field: str) -> float | None:
        """The learned acceptance threshold of ``field`` (None without a model)."""
        model = self.models.get(lang, {}).get(field)
        return None if model is None else float(model["threshold"])

    def confidence(self, fact: Fact, text: str, lang: str, fields: Sequence[str]) -> float:
        """Probability that ``fact`` is right, from its features.

        Raises
        ------
        KeyError
            If there is no model for the fact's field in ``lang`` (see :meth:`has`).
        """
        model = self.models[lang][fact.field]
        weights = model["weights"]
        feats = _feature_set(fact, text, fields)
        z = float(model["bias"]) + sum(weights.get(f, 0.0) for f in feats)
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


@cache
def load_rescorer() -> Rescorer:
    """The shipped models (no model when the package has no ``rescorer.json``)."""
    path = resources.files("estimo.text").joinpath(RESCORER_FILE)
    if not path.is_file():
        return Rescorer({})
    payload = json.loads(path.read_text(encoding="utf-8"))
    return Rescorer(payload.get("models", {}))
