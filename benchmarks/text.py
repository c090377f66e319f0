"""Facts from listing descriptions (issue 20): precision/recall, contacts, valuation, speed.

Everything is measured in one run on the labelled development files in
``../shared/data/text`` (nothing else is read):

1. extraction: per language (Italian immobiliare.it, Spanish idealista) and field, the
   precision and recall of ``estimo.text.extract`` at its default confidence, and of a
   keyword baseline (first number before the unit or noun, keyword present = amenity present,
   no negation, no context) in the same run (definitions: ``estimo.text.scoring``);
2. contact details: share of phone numbers and e-mail addresses masked by
   ``estimo.text.redact`` on a hand-checked sample of descriptions
   (``benchmarks/text_contacts_sample.csv``: 198 listing ids, seed 20: 100 drawn among
   descriptions holding a candidate, 100 at random; ``text_contacts_truth.csv``: listing id,
   offsets and kind of every candidate, no text), and whether any price, date, reference
   or area was masked. The truth was built by a deliberately broad candidate regex (every
   run of 6+ digits, every ``@``, ``www.``/``http`` and ``.it/.com/.es`` name) whose 245
   hits were each read in context and labelled phone, email, url or none (prices, dates,
   law and reference numbers, bus lines, sizes, a street number with its postcode);
3. valuation: Italian sale listings, random 75/25 split by listing (they have no date, so
   each gets a random date in one year), the engine with the portal's structured fields
   vs the same plus the text's fields and amenities (filled where missing, never over a
   given value), MdAPE and PE10 with paired bootstrap intervals; then with 50 % of the
   structured cells blanked at random, how much of the lost accuracy the text recovers;
4. throughput: descriptions per second on one core (language detection included), per
   CPU second of the process (the machine is shared) and per wall-clock second.

Run from the repository root::

    python benchmarks/text.py                 # everything (about 2-4 minutes)
    python benchmarks/text.py --skip-valuation
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.config import TextSettings
from estimo.evaluate.paired import difference, paired_bootstrap
from estimo.text import extract, extract_frame
from estimo.text.extractor import extraction_table
from estimo.text.fill import apply_text, plan_text
from estimo.text.redact import find_contacts
from estimo.text.scoring import (
    idealista_conditions,
    score,
    truth_from_idealista,
    truth_from_immobiliare,
    with_garage_or_parking,
)
from estimo.text.training import cross_validated

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ESTIMO_SHARED_DATA", ROOT.parent / "shared" / "data")) / "text"
TRUTH_CONTACTS = ROOT / "benchmarks" / "text_contacts_truth.csv"
SAMPLE_CONTACTS = ROOT / "benchmarks" / "text_contacts_sample.csv"
TARGET_FIELDS = [
    "area_m2",
    "rooms",
    "bedrooms",
    "bathrooms",
    "floor",
    "has_elevator",
    "has_terrace",
    "has_garage_or_parking",
    "condition",
    "year_built",
]
STRUCTURED = ["area_m2", "rooms", "bathrooms", "floor", "floors_in_building"]


def load(lang: str) -> pd.DataFrame:
    """One development file."""
    return pd.read_parquet(DATA / f"listings_{lang}_dev.parquet")


# --------------------------------------------------------------------------- baseline
_KEYWORDS = {
    "area": r"(\d+(?:[.,]\d+)?)\s*(?:mq|m2|m²|metri quadr|metros|mts)",
    "rooms": r"(\d+)\s+(?:locali|vani)",
    "bedrooms": r"(\d+)\s+(?:camer|habitaci|dormitor)",
    "bathrooms": r"(\d+)\s+(?:bagn|servizi|baño|banos|aseo)",
    "floor": r"(\d+)\s*[°ºª]?\s*(?:piano|planta)",
    "ground": r"piano terra|planta baja|\bbajo\b",
    "year": r"(?:nel|en)\s+(19\d\d|20[0-2]\d)",
}
_AMENITY_WORDS = {
    "has_elevator": r"ascensor",
    "has_terrace": r"terrazz|terraza",
    "has_balcony": r"balcon|balcón",
    "has_garage": r"\bbox\b|garage|garaje",
    "has_parking": r"posto auto|parcheggio|parking|aparcamiento|garaje",
    "has_garden": r"giardin|jard[ií]n",
    "has_cellar": r"cantin|trastero",
    "has_air_conditioning": r"aria condizionata|climatizz|aire acondicionado",
}
_CONDITION_WORDS = [
    ("to_renovate", r"da ristrutturare|a reformar|para reformar"),
    ("new", r"nuova costruzione|obra nueva|a estrenar"),
    ("renovated", r"ristrutturat|reformad"),
    ("good", r"buono stato|buen estado"),
]


def keyword_baseline(texts: list[str]) -> pd.DataFrame:
    """The keyword baseline's table (same columns as the extractor's)."""
    compiled = {k: re.compile(v, re.IGNORECASE) for k, v in _KEYWORDS.items()}
    amen = {k: re.compile(v, re.IGNORECASE) for k, v in _AMENITY_WORDS.items()}
    cond = [(k, re.compile(v, re.IGNORECASE)) for k, v in _CONDITION_WORDS]
    rows = []
    for text in texts:
        row: dict = {}
        for field, key in (
            ("area_m2", "area"),
            ("rooms", "rooms"),
            ("bedrooms", "bedrooms"),
            ("bathrooms", "bathrooms"),
            ("year_built", "year"),
        ):
            m = compiled[key].search(text)
            row[field] = float(m.group(1).replace(",", ".")) if m else None
        m, g = compiled["floor"].search(text), compiled["ground"].search(text)
        if m and (not g or m.start() < g.start()):
            row["floor"] = float(m.group(1))
        elif g:
            row["floor"] = 0.0
        else:
            row["floor"] = None
        for field, pattern in amen.items():
            row[field] = True if pattern.search(text) else None
        row["condition"] = next((k for k, p in cond if p.search(text)), None)
        rows.append(row)
    out = pd.DataFrame(rows)
    for field in _AMENITY_WORDS:
        out[field] = out[field].astype("boolean")
    out["condition"] = out["condition"].astype("string")
    return out


# --------------------------------------------------------------------------- 1. extraction
def extraction(lang: str, folds: int = 5) -> pd.DataFrame:
    """Precision and recall per field: shipped extractor (in-sample), cross-validated, rules
    alone (no learned model, floor 0.75) and the keyword baseline, side by side."""
    frame = load(lang)
    texts = frame["description"].fillna("").tolist()
    adapter = truth_from_immobiliare if lang == "it" else truth_from_idealista
    truth, positive_only = adapter(frame)
    view = idealista_conditions if lang == "es" else (lambda p: p)
    everything = view(
        with_garage_or_parking(
            extraction_table(
                [extract(t, lang=lang, min_confidence=0.0, rescore=False) for t in texts]
            )
        )
    )
    tables = {
        "": extract_frame(texts, lang=lang),
        "cv_": cross_validated(
            texts, truth, positive_only, lang, k=folds, view=view if lang == "es" else None
        ),
        "rules_": extract_frame_rules_only(texts, lang),
        "base_": keyword_baseline(texts),
    }
    fields = [f for f in TARGET_FIELDS if f in truth]
    # rows where some rule reads the right value (at any confidence): the text states it
    stated = _right_rows(everything, truth, fields)
    out = None
    for prefix, pred in tables.items():
        pred = view(with_garage_or_parking(pred))
        s = score(pred, truth, positive_only, fields=fields)
        if out is None:
            out = s[["field", "n_pred", "precision", "recall", "positive_only"]].copy()
            out["n_stated"] = [int(stated[f].sum()) for f in fields]
            out["recall_stated"] = [
                float(_right_rows(pred, truth, [f])[f][stated[f]].mean()) for f in fields
            ]
            continue
        out[f"{prefix}precision"] = s["precision"].to_numpy()
        out[f"{prefix}recall"] = s["recall"].to_numpy()
        print(f"  ({lang}: {prefix or 'shipped'} scored)", flush=True)
    out.insert(0, "lang", lang)
    return out


def _right_rows(pred: pd.DataFrame, truth: pd.DataFrame, fields: list[str]) -> dict:
    """Per field, the rows where ``pred`` holds the right value (flags: a right True)."""
    from estimo.text.scoring import _right

    pred, truth = pred.reset_index(drop=True), truth.reset_index(drop=True)
    out = {}
    for f in fields:
        right = _right(f, pred[f], truth, 0.05).fillna(False).to_numpy(bool)
        if str(truth[f].dtype) == "boolean":
            right &= truth[f].fillna(False).to_numpy(bool)
        out[f] = right & truth[f].notna().to_numpy()
    return out


def extract_frame_rules_only(texts: list[str], lang: str) -> pd.DataFrame:
    """The extractor before the learned models: rules' measured precision, floor 0.75."""
    rows = [extract(t, lang=lang, min_confidence=0.75, rescore=False) for t in texts]
    return extraction_table(rows)


# --------------------------------------------------------------------------- 2. contacts
def contacts() -> dict:
    """Masked share of the hand-checked phone numbers and e-mails; false masks."""
    truth = pd.read_csv(TRUTH_CONTACTS, dtype={"listing_id": str})
    texts = (
        pd.concat(
            [load("it")[["listing_id", "description"]], load("es")[["listing_id", "description"]]]
        )
        .drop_duplicates("listing_id")
        .set_index("listing_id")["description"]
    )
    sample = pd.read_csv(SAMPLE_CONTACTS, dtype={"listing_id": str})["listing_id"].unique()
    found = {lid: find_contacts(texts[lid]) for lid in sample}

    def masked(row) -> bool:
        return any(s < row.end and row.start < e for _, s, e in found[row.listing_id])

    truth["masked"] = [masked(r) for r in truth.itertuples()]
    out: dict = {"descriptions": len(sample)}
    for kind in ("phone", "email", "url"):
        part = truth[truth["kind"] == kind]
        out[kind] = {"n": len(part), "masked": float(part["masked"].mean()) if len(part) else None}
    none = truth[truth["kind"] == "none"]
    out["not_contact"] = {"n": len(none), "masked": int(none["masked"].sum())}
    areas = masked_areas = 0
    for lid in sample:
        text = texts[lid]
        for m in re.finditer(r"\d[\d.,]*\s*(?:mq|m2|m²|metri quadr|metros)", text, re.I):
            areas += 1
            masked_areas += any(s < m.end() and m.start() < e for _, s, e in found[lid])
    out["areas"] = {"n": areas, "masked": masked_areas}
    return out


# --------------------------------------------------------------------------- 3. valuation
def _canonical(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = pd.to_numeric(frame["price_raw"].str.replace(r"[^\d]", "", regex=True), errors="coerce")
    out = pd.DataFrame(
        {
            "id": frame["listing_id"].to_numpy(),
            "price": price.to_numpy(),
            "price_kind": "asking",
            "date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 365, len(frame)), unit="D"),
            "city": frame["city"].to_numpy(),
            "country": "IT",
            "area_m2": frame["gt_area_m2"].to_numpy(),
            "rooms": frame["gt_rooms"].to_numpy(),
            "bathrooms": frame["gt_bathrooms"].to_numpy(),
            "floor": frame["gt_floor"].to_numpy(),
            "floors_in_building": frame["gt_total_floors"].to_numpy(),
            "property_type": frame["property_type"].str.split(" | ", regex=False).str[0].to_numpy(),
            "year_built": np.nan,
            "condition": None,
            "description": frame["description"].to_numpy(),
        }
    )
    return out[(out["price"] > 10_000) & (out["price"] < 1e7)].reset_index(drop=True)


def _fit_predict(train: pd.DataFrame, test: pd.DataFrame, with_text: bool) -> np.ndarray:
    from estimo.model.avm import AVM

    train, test = train.copy(), test.copy()
    if with_text:
        settings = TextSettings()
        plan = plan_text(train, settings)
        train = apply_text(train, plan, settings).frame
        test = apply_text(test, plan, settings).frame
    drop = ["description"]
    model = AVM(n_estimators=400, n_jobs=1, seed=0).fit(train.drop(columns=drop))
    return model.predict(test.drop(columns=drop))


def valuation(seed: int = 0, n_boot: int = 1000) -> dict:
    """Engine with vs without text, full and with half the structured cells blanked."""
    frame = load("it")
    data = _canonical(frame[frame["operation"] == "sale"].reset_index(drop=True), seed)
    rng = np.random.default_rng(seed)
    test = rng.uniform(size=len(data)) < 0.25
    train, holdout = data[~test].reset_index(drop=True), data[test].reset_index(drop=True)
    blank_train, blank_test = train.copy(), holdout.copy()
    for part in (blank_train, blank_test):
        for column in STRUCTURED:
            part.loc[rng.uniform(size=len(part)) < 0.5, column] = np.nan
    preds = {
        "full": _fit_predict(train, holdout, False),
        "full+text": _fit_predict(train, holdout, True),
        "blanked": _fit_predict(blank_train, blank_test, False),
        "blanked+text": _fit_predict(blank_train, blank_test, True),
    }
    actual = holdout["price"].to_numpy(float)
    names = list(preds)
    est, reps = paired_bootstrap(
        actual, [preds[k] for k in names], ["mdape", "pe10"], n_boot=n_boot, seed=seed
    )
    out = {"n_train": len(train), "n_test": len(holdout), "metrics": {}, "differences": {}}
    for i, name in enumerate(names):
        out["metrics"][name] = {m: float(est[m][i]) for m in ("mdape", "pe10")}
    for a, b in (("full", "full+text"), ("blanked", "blanked+text"), ("full", "blanked")):
        pair = (names.index(a), names.index(b))
        for m in ("mdape", "pe10"):
            d = difference(m, est[m], reps[m], 0.95, pair=pair)
            out["differences"][f"{b} - {a} {m}"] = (d.diff, d.low, d.high)
    for m in ("mdape", "pe10"):
        full, blank, text = (out["metrics"][k][m] for k in ("full", "blanked", "blanked+text"))
        lost = blank - full
        out[f"recovered_{m}"] = (blank - text) / lost if lost else float("nan")
    return out


# --------------------------------------------------------------------------- 4. throughput
def throughput() -> dict:
    """Descriptions per second on one core (language detected per text).

    ``per_cpu_second`` divides by the process's CPU time (what one core delivers, whatever
    else the machine runs); ``per_wall_second`` by the elapsed time (depends on the load).
    The best of three passes over every description of both files.
    """
    texts = [
        t
        for t in pd.concat([load("it")["description"], load("es")["description"]])
        if isinstance(t, str)
    ]
    for t in texts[:200]:
        extract(t)
    cpu = wall = 0.0
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        for t in texts:
            extract(t)
        wall = max(wall, len(texts) / (time.perf_counter() - start))
        cpu = max(cpu, len(texts) / (time.process_time() - start_cpu))
    return {
        "n": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts]))),
        "per_cpu_second": round(cpu),
        "per_wall_second": round(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-valuation", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    print(f"load: {os.getloadavg()}")
    print(
        "== 1. extraction (precision / recall: shipped models in-sample; cv_ = 5-fold by "
        "listing, models and thresholds learned without the fold; rules_ = rules alone, "
        "floor 0.75; base_ = keyword baseline; recall_stated = recall over the rows where "
        "some rule reads the right value; same run)",
        flush=True,
    )
    table = pd.concat([extraction("it"), extraction("es")], ignore_index=True)
    print(table.round(3).to_string(index=False))
    print("\n== 2. contact details on the hand-checked sample")
    for key, value in contacts().items():
        print(f"  {key}: {value}")
    print("\n== 4. throughput (one core, language detection included)")
    print(f"  {throughput()}")
    if not args.skip_valuation:
        print("\n== 3. valuation (Italian sale listings, random split by listing)")
        result = valuation()
        print(f"  rows: train {result['n_train']}, test {result['n_test']}")
        for name, metrics in result["metrics"].items():
            print(f"  {name:<14} MdAPE {metrics['mdape']:.4f}  PE10 {metrics['pe10']:.4f}")
        for name, (d, low, high) in result["differences"].items():
            print(f"  {name:<30} {d:+.4f}  95% CI [{low:+.4f}, {high:+.4f}]")
        print(
            f"  share of the lost accuracy the text recovers: MdAPE "
            f"{result['recovered_mdape']:.1%}, PE10 {result['recovered_pe10']:.1%}"
        )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
