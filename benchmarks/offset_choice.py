"""The engine's offset: on top of the neighbours' price per m² × area, from the city's level,
or chosen on the validation slice (``use_offset: auto``), on the same rows in one run.

For each set of ``benchmarks/markets.py`` (its example project file), the product's
backtest (out of time where the data is dated, 5-fold cross-validation otherwise) runs with
``use_offset`` true, false and auto, printing the test MdAPE and PE10, the 80 % range's
coverage, the engine's fit time (the sum over folds) and, for auto, what each validation
slice chose. Run from the repository root (``../shared/data`` present)::

    OMP_WAIT_POLICY=PASSIVE nice python benchmarks/offset_choice.py --sets ames kc sacramento
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from estimo.evaluate.backtest import run_backtest
from estimo.evaluate.cv import run_cv_backtest
from estimo.split import out_of_time_split
from latency import load_average_line  # this folder is on the path when run as a script
from markets import FOLDS, SETS, _scores, load_set

SETTINGS: tuple[bool | str, ...] = (True, False, "auto")


def run(key: str, use_offset: bool | str, max_rows: int | None) -> dict[str, Any]:
    """Test scores of set ``key``'s backtest with ``use_offset``, the engine's fit seconds
    and the choices of its validation slices."""
    spec = SETS[key]
    config, _, frame = load_set(spec, max_rows, {"use_offset": use_offset})
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    started = time.perf_counter()
    if spec.cutoff is not None:
        result = run_backtest(frame, spec.cutoff, model_params=params, quality=config.quality)
        rows = out_of_time_split(frame, spec.cutoff).test
        engine = result.metrics["engine"]
        chosen = [engine["validation"].get("use_offset", {}).get("chosen")]
        fit = float(engine["fit_seconds"])
    else:
        result = run_cv_backtest(
            frame, FOLDS, seed=config.engine.seed, model_params=params, quality=config.quality
        )
        rows = frame
        folds = result.metrics["cv"]["per_fold"]
        chosen = [fold["use_offset"] for fold in folds]
        fit = float(sum(fold["fit_seconds"] for fold in folds))
    seconds = time.perf_counter() - started
    table = result.predictions.set_index("id").reindex(rows["id"])
    scores = _scores(rows["price"].to_numpy(float), table["predicted"].to_numpy(float), table)
    return {**scores, "chosen": chosen, "fit_seconds": fit, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["ames", "kc", "sacramento"])
    parser.add_argument("--max-rows", type=int, default=None, help="subsample large sets")
    args = parser.parse_args()
    before = os.getloadavg()
    print(
        f"{'set':<15}{'use_offset':<12}{'MdAPE %':>9}{'PE10 %':>8}{'80 % cov':>9}"
        f"{'fit s':>8}  chosen on the validation slice(s)"
    )
    for key in args.sets:
        for setting in SETTINGS:
            out = run(key, setting, args.max_rows)
            chosen = ", ".join(str(c).lower() for c in out["chosen"]) if setting == "auto" else ""
            print(
                f"{key:<15}{str(setting).lower():<12}{100 * out['mdape']:>9.2f}"
                f"{100 * out['pe10']:>8.1f}{100 * out.get('cov80', np.nan):>9.1f}"
                f"{out['fit_seconds']:>8.1f}  {chosen}",
                flush=True,
            )
    print(load_average_line(before, os.getloadavg()))


if __name__ == "__main__":
    main()
