"""Data-quality benchmark (issue 3): detection, accuracy gain, calibration, audit speed.

Everything is measured in one run:

1. detection precision/recall per injected fault kind on the synthetic market (seed 0,
   12,000 properties) against its ground truth;
2. accuracy gain: the same LightGBM trained on the raw training rows vs on the rows from
   :func:`estimo.quality.prepare.prepare_training_data` (and, as an ablation, cleaned but not
   calibrated), all scored on the same clean out-of-time test rows (truth ``faulty == False``)
   against the true sale price (``truth.true_sale_price``: what a valuation should predict);
3. Grinnell: 5-fold cross-validated MdAPE of the calibrated vs the raw list price against
   the sale price;
4. Poland (195k rows): wall-clock time of ``estimo audit examples/poland.yaml`` (the CLI,
   loading included) and the counts of ``estimo clean``'s policy, checked to add up.

Run from the repository root::

    python benchmarks/quality.py            # everything
    python benchmarks/quality.py --skip-poland
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.config import QualityConfig
from estimo.evaluate.metrics import mdape, pe
from estimo.io import load_dataset, load_project
from estimo.model.valuation import ValuationModel
from estimo.quality import audit
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy
from estimo.quality.prepare import prepare_training_data
from estimo.split import out_of_time_split
from estimo.synth import generate_market

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MODEL = {"n_estimators": 600, "learning_rate": 0.05, "n_jobs": 2}


def detection_masks(report_flags: pd.DataFrame) -> dict[str, np.ndarray]:
    """Which audit flags detect which fault kind."""

    def any_of(test) -> np.ndarray:
        cols = [c for c in report_flags.columns if test(c)]
        if not cols:
            return np.zeros(len(report_flags), dtype=bool)
        return report_flags[cols].any(axis=1).to_numpy()

    return {
        "swapped_coords": any_of(lambda c: c == "location.swapped"),
        "centroid_coords": any_of(lambda c: c == "location.stacked"),
        "zero_coords": any_of(lambda c: c == "location.zero"),
        "area_x10": any_of(lambda c: c.startswith("validity.") and c.endswith(":area_m2")),
        "year_zero": any_of(lambda c: c.startswith("validity.") and c.endswith(":year_built")),
        "duplicate": any_of(lambda c: c in ("duplicates.exact", "duplicates.near")),
        "label_noise": any_of(lambda c: c.startswith("consistency.")),
        "missing_random": any_of(lambda c: c.startswith("completeness.missing")),
        "missing_dependent": any_of(lambda c: c.startswith("completeness.missing")),
    }


def detection(seed: int = 0, n: int = 12_000) -> dict:
    market = generate_market(n, seed=seed)
    started = time.perf_counter()
    report = audit(market.frame)
    seconds = time.perf_counter() - started
    masks = detection_masks(report.flags)
    truth = market.truth
    groups = {
        "wrong coordinates": ["swapped_coords", "centroid_coords", "zero_coords"],
        "implausible values": ["area_x10", "year_zero"],
        "duplicates": ["duplicate"],
        "label noise": ["label_noise"],
    }
    rows = []
    for kind, mask in masks.items():
        rows.append(_pr(kind, mask, truth[f"fault_{kind}"].to_numpy()))
    for name, kinds in groups.items():
        mask = np.logical_or.reduce([masks[k] for k in kinds])
        actual = np.logical_or.reduce([truth[f"fault_{k}"].to_numpy() for k in kinds])
        rows.append(_pr(name, mask, actual))
    table = pd.DataFrame(rows)
    print(
        f"\n## 1. Detection on the synthetic market (seed {seed}, {len(market.frame):,} rows, "
        f"audit {seconds:.1f} s)"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return {"rows": len(market.frame), "audit_seconds": seconds, "table": table.to_dict("records")}


def _pr(name: str, detected: np.ndarray, actual: np.ndarray) -> dict:
    tp = int((detected & actual).sum())
    return {
        "fault": name,
        "faulty rows": int(actual.sum()),
        "flagged": int(detected.sum()),
        "precision": tp / detected.sum() if detected.sum() else float("nan"),
        "recall": tp / actual.sum() if actual.sum() else float("nan"),
    }


def accuracy_gain(seed: int = 0, n: int = 12_000) -> dict:
    market = generate_market(n, seed=seed)
    frame = market.frame.assign(_row=np.arange(len(market.frame)))
    cutoff = (market.end - pd.DateOffset(months=4)).to_period("M").to_timestamp()
    split = out_of_time_split(frame, cutoff)
    truth = market.truth.iloc[split.test["_row"].to_numpy()]
    clean_test = ~truth["faulty"].to_numpy()
    test = split.test.loc[clean_test]
    actual = truth.loc[clean_test, "true_sale_price"].to_numpy(float)
    results = {}
    variants = {
        "raw": lambda: (split.train, None),
        "cleaned, not calibrated": lambda: _prepared(split.train, calibrate=False),
        "cleaned + calibrated (default)": lambda: _prepared(split.train, calibrate=True),
    }
    for name, make in variants.items():
        train, weight = make()
        started = time.perf_counter()
        model = ValuationModel(**MODEL).fit(train.drop(columns="_row"), sample_weight=weight)
        predicted = model.predict(test)
        results[name] = {
            "n_train": len(train),
            "mdape": mdape(actual, predicted),
            "pe10": pe(actual, predicted, 0.10),
            "seconds": time.perf_counter() - started,
        }
    table = pd.DataFrame(results).T
    print(
        f"\n## 2. Accuracy: raw vs cleaned training rows (cut-off {cutoff:%Y-%m-%d}; "
        f"{len(test):,} clean out-of-time test properties, target = true sale price)"
    )
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return {"cutoff": f"{cutoff:%Y-%m-%d}", "n_test": len(test), "variants": results}


def _prepared(train: pd.DataFrame, calibrate: bool) -> tuple[pd.DataFrame, np.ndarray]:
    config = QualityConfig()
    config.calibration.enabled = calibrate
    data = prepare_training_data(train, config)
    return data.frame, data.weight


def grinnell(folds: int = 5) -> dict:
    raw = pd.read_parquet(SHARED / "grinnell_houses.parquet")
    frame = pd.DataFrame(
        {
            "id": raw.index.astype(str),
            "price": raw["SalePrice"].astype(float),
            "price_kind": "sale",
            "date": pd.to_datetime(
                {"year": raw["YearSold"], "month": raw["MonthSold"], "day": raw["DaySold"]}
            ),
            "city": "Grinnell",
            "ListPrice": raw["ListPrice"].astype(float),
        }
    )
    frame = frame[(frame["price"] > 0) & (frame["ListPrice"] > 0)].reset_index(drop=True)
    rng = np.random.default_rng(0)
    fold = rng.integers(0, folds, len(frame))
    calibrated = np.empty(len(frame))
    for k in range(folds):
        train, test = frame[fold != k], frame[fold == k]
        cal = LabelCalibrator(
            segment_columns=[], time_unit="year", asking_price_column="ListPrice"
        ).fit(train)
        calibrated[fold == k] = cal.calibrated_prices(test, asking=test["ListPrice"]).to_numpy()
    sale = frame["price"].to_numpy()
    out = {
        "n": len(frame),
        "folds": folds,
        "mdape_raw_list_price": mdape(sale, frame["ListPrice"].to_numpy()),
        "mdape_calibrated": mdape(sale, calibrated),
        "pe10_raw_list_price": pe(sale, frame["ListPrice"].to_numpy(), 0.10),
        "pe10_calibrated": pe(sale, calibrated, 0.10),
    }
    print(
        f"\n## 3. Grinnell: list price vs calibrated list price against the sale price "
        f"({folds}-fold CV, {len(frame)} sales)"
    )
    for key, value in out.items():
        print(f"{key:24s} {value:.4f}" if isinstance(value, float) else f"{key:24s} {value}")
    return out


def poland() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "estimo"),
                "audit",
                "examples/poland.yaml",
                "--out",
                tmp,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
            cpu_after.ru_stime - cpu_before.ru_stime
        )
        report = (
            json.loads((Path(tmp) / "quality.json").read_text()) if proc.returncode == 0 else {}
        )
    if proc.returncode != 0:
        print(proc.stderr)
    config = load_project(ROOT / "examples" / "poland.yaml")
    frame = load_dataset(config).frame
    started = time.perf_counter()
    result = CleaningPolicy(config.quality).fit_transform(frame)
    clean_seconds = time.perf_counter() - started
    adds_up = len(result.frame) + len(result.dropped) == len(frame)
    print(f"\n## 4. Poland ({len(frame):,} rows)")
    print(
        f"estimo audit (CLI, loading included): {seconds:.1f} s wall, {cpu:.1f} s CPU, "
        f"exit code {proc.returncode} (machine load average before: {load_before:.1f} "
        f"on {os.cpu_count()} cores)"
    )
    print(f"findings: {report.get('summary', {}).get('findings')}")
    for f in report.get("findings", [])[:12]:
        print(f"  {f['severity']:8s} {f['rule']:32s} {f['column'] or '':16s} {f['count']:>8,}")
    print(
        f"clean policy (fit + transform): {clean_seconds:.1f} s; kept {len(result.frame):,}, "
        f"dropped {len(result.dropped):,} ({result.summary['dropped_by_rule']}); "
        f"{len(result.changes):,} changes in {result.summary['rows_changed']:,} rows; "
        f"kept + dropped == input: {adds_up}"
    )
    return {
        "audit_seconds": seconds,
        "exit_code": proc.returncode,
        "summary": report.get("summary"),
        "clean_seconds": clean_seconds,
        "clean": result.summary,
        "adds_up": adds_up,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-poland", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {"detection": detection(), "accuracy": accuracy_gain(), "grinnell": grinnell()}
    if not args.skip_poland:
        results["poland"] = poland()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
