"""Confidences learned from labelled listings: the measured precision of each rule.

``calibration.json`` (shipped in the package, written by ``scripts/calibrate_text.py`` from
the labelled development listings) holds, per language, field and rule, how often the rule's
value was right on listings where the portal's own feature box gives the truth, with a
Beta(1, 1) prior so rare rules stay near their default. A rule without a measurement keeps
the confidence written in its module.

Examples
--------
>>> from estimo.text.facts import Fact
>>> fact = Fact("area_m2", 85.0, 0.95, 0, 5, "85 mq", "area.whole")
>>> 0.0 < calibrated(fact, "it").confidence <= 1.0
True
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from importlib import resources

from estimo.text.facts import Fact

CALIBRATION_FILE = "calibration.json"


@cache
def load_calibration() -> dict[str, dict[str, float]]:
    """Language to ``"<field>|<rule>"`` to confidence (empty when no file is shipped)."""
    path = resources.files("estimo.text").joinpath(CALIBRATION_FILE)
    if not path.is_file():
        return {}
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {lang: dict(table) for lang, table in payload.get("confidence", {}).items()}


def calibrated(fact: Fact, lang: str) -> Fact:
    """``fact`` with its rule's measured confidence for ``lang`` (unchanged if unmeasured)."""
    table = load_calibration().get(lang)
    if not table:
        return fact
    value = table.get(f"{fact.field}|{fact.rule}")
    if value is None:
        return fact
    return dataclasses.replace(fact, confidence=value)
