"""Learn the per-field fact models of ``estimo.text.rescore``; write ``rescorer.json``.

Usage::

    python scripts/train_text_rescorer.py [--data ../shared/data/text] [--out FILE]

Reads only the labelled development listings (Italian immobiliare.it, Spanish idealista):
per language and field a logistic regression on the rules' facts (see
``estimo.text.training``), its acceptance threshold from 5-fold out-of-fold confidences.
Run ``scripts/calibrate_text.py`` first (the rules' own confidences are features' rules,
not inputs, so the order only matters for fields without a model). Deterministic: the same
data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

from estimo.text.scoring import idealista_conditions, truth_from_idealista, truth_from_immobiliare
from estimo.text.training import examples, read_all, train

log = logging.getLogger("train_text_rescorer")
SOURCES = {
    "it": ("listings_it_dev.parquet", truth_from_immobiliare),
    "es": ("listings_es_dev.parquet", truth_from_idealista),
}


def labelled(lang: str, data: Path):
    """Texts, rules' readings and examples of one language."""
    name, adapter = SOURCES[lang]
    frame = pd.read_parquet(data / name)
    texts = frame["description"].fillna("").tolist()
    truth, positive_only = adapter(frame)
    readings = read_all(texts, lang)
    view = idealista_conditions if lang == "es" else None
    return texts, readings, examples(texts, readings, truth, positive_only, view)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/text")
    parser.add_argument("--out", default="src/estimo/text/rescorer.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models = {}
    for lang in SOURCES:
        _, _, ex = labelled(lang, Path(args.data))
        models[lang] = train(ex)
        for name, m in models[lang].items():
            log.info(
                "%s %-22s n=%5d weights=%4d threshold=%.3f oof precision=%s",
                lang,
                name,
                m["n"],
                len(m["weights"]),
                m["threshold"],
                m["oof_precision"],
            )
    payload = {
        "about": "logistic models per language and field rating the rules' facts; written by "
        "scripts/train_text_rescorer.py from the labelled development listings",
        "models": models,
    }
    Path(args.out).write_text(
        json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n", "utf-8"
    )
    log.info("wrote %s (%d bytes)", args.out, Path(args.out).stat().st_size)


if __name__ == "__main__":
    main()
