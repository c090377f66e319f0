"""Measure each extraction rule's precision on the labelled listings; write calibration.json.

Usage::

    python scripts/calibrate_text.py [--data ../shared/data/text] [--out FILE]

For every language with labelled data (Italian immobiliare.it, Spanish idealista), every field
and every rule, the confidence is the posterior mean of the rule's precision under a
Beta(1, 1) prior: ``(right + 1) / (n + 2)``; rules seen fewer than ``--min-n`` times are left
out (they keep the default confidence written in their module). For flags the portal shows
only when present, affirmed mentions are not measured (a missing tag is no evidence against
them; they keep their default) and a predicted ``False`` is right unless the portal shows
the tag. Deterministic: the same
data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

from estimo.text.extractor import FIELDS, extract, extraction_table
from estimo.text.scoring import (
    idealista_conditions,
    truth_from_idealista,
    truth_from_immobiliare,
)

log = logging.getLogger("calibrate_text")
SOURCES = {
    "it": ("listings_it_dev.parquet", truth_from_immobiliare, lambda p: p),
    "es": ("listings_es_dev.parquet", truth_from_idealista, idealista_conditions),
}


def rule_precision(pred: pd.DataFrame, truth: pd.DataFrame, positive_only: set[str]) -> dict:
    """``"<field>|<rule>"`` to (right, n) over rows whose truth is known."""
    out: dict[str, tuple[int, int]] = {}
    for name in FIELDS:
        if name not in truth:
            continue
        value, known = pred[name], truth[name]
        is_flag = str(known.dtype) == "boolean"
        for rule, rows in pred.groupby(f"{name}_rule").groups.items():
            v, t = value.loc[rows], known.loc[rows]
            if is_flag:
                if name in positive_only:
                    if v.astype(bool).any():
                        continue  # a missing tag is no evidence against an affirmed mention
                    right = ~t.fillna(False).astype(bool)
                else:
                    right = (v.astype("boolean") == t)[t.notna()].astype(bool)
            elif name == "area_m2":
                ok = t.notna()
                right = (v[ok] - t[ok]).abs() <= 0.05 * t[ok]
            elif name in ("rooms", "bathrooms") and f"{name}_at_least" in truth:
                ok = t.notna()
                at_least = truth.loc[rows, f"{name}_at_least"].fillna(False)[ok].astype(bool)
                right = (v[ok] == t[ok]) | (at_least & (v[ok] >= t[ok]))
            else:
                ok = t.notna()
                right = v[ok].astype(str) == t[ok].astype(str)
            out[f"{name}|{rule}"] = (int(right.sum()), len(right))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/text")
    parser.add_argument("--out", default="src/estimo/text/calibration.json")
    parser.add_argument("--min-n", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    confidence: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, list[int]]] = {}
    for lang, (name, adapter, view) in SOURCES.items():
        frame = pd.read_parquet(Path(args.data) / name)
        rows = [extract(text, lang=lang, min_confidence=0.0) for text in frame["description"]]
        pred = view(extraction_table(rows, rules=True))
        truth, positive_only = adapter(frame)
        measured = rule_precision(pred, truth.reset_index(drop=True), positive_only)
        confidence[lang] = {
            key: round((right + 1) / (n + 2), 3)
            for key, (right, n) in sorted(measured.items())
            if n >= args.min_n
        }
        counts[lang] = {key: [right, n] for key, (right, n) in sorted(measured.items())}
        log.info("%s: %d rules measured on %d listings", lang, len(confidence[lang]), len(frame))
    payload = {
        "about": "precision of each extraction rule on labelled listings, Beta(1,1) posterior "
        "mean; written by scripts/calibrate_text.py",
        "min_n": args.min_n,
        "confidence": confidence,
        "counts": counts,
    }
    Path(args.out).write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", "utf-8")
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
