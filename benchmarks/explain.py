"""Cost of an explanation on top of a valuation, measured in the same run.

For the plain :class:`~estimo.model.valuation.ValuationModel` and the engine
(:class:`~estimo.model.avm.AVM`), on held-out rows of the synthetic market, this times

* ``value``: the valuation alone (``predict`` / ``AVM.value``);
* ``contributions``: the log contributions of the contract (exact TreeSHAP,
  :func:`estimo.model.treeshap.tree_contributions`: numba with the ``fast`` extra, else
  LightGBM's ``pred_contrib``); for the engine, the step its one valuation-and-explanation
  pass adds to the valuation;
* ``words``: reasons in money, reference, comparables, blend and confidence sentences
  (:meth:`estimo.explain.explainer.Explainer.explain`), from the contributions and, for the
  engine, the feature rows of its pass (as :func:`~estimo.explain.explainer.explain_properties`
  does);

per valuation, both in batches and one property at a time (as the web form does), and
reports the extra cost of explaining (``contributions + words``) and its ratio to ``value``,
as wall time (what the person waiting sees) and as CPU time of all threads (what a loaded
server pays; a batch's contributions may use both cores). For the engine it also times the
whole API call (:func:`~estimo.explain.explainer.explain_properties`) and prints its
difference to ``value`` (``api_minus_value_ms``): the same extra, measured end to end, but
the difference of two totals fifty times larger, so within their noise for one property.

Run from the repository root::

    python benchmarks/explain.py            # synthetic market, a few minutes
    python benchmarks/explain.py --project examples/poland.yaml --test-rows 500
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import numpy as np
import pandas as pd

from estimo.explain.contributions import log_contributions
from estimo.explain.explainer import Explainer, additivity_gap, explain_properties
from estimo.io import load_project, read_table, to_canonical
from estimo.model.avm import AVM
from estimo.model.valuation import ValuationModel
from estimo.split import out_of_time_split
from estimo.synth import generate_market


def best_of(
    steps: dict[str, tuple[Callable[[Any], object], list[Any]]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Wall time and CPU time (all threads) of each step over its items, in seconds: each
    item's smallest time of ``repeat`` runs, summed.

    The runs of the steps take turns (every step once over its items, then again): this
    shared machine has slow spells of several seconds (the same code runs up to twice as
    slowly, in CPU time too), and taking turns spreads each step's runs over the whole
    measurement, so that one spell does not spoil every run of one step and none of
    another's. One property at a time, a short burst spoils one item's run, not a repeat.
    """
    wall = {name: np.full(len(items), np.inf) for name, (_, items) in steps.items()}
    cpu = {name: np.full(len(items), np.inf) for name, (_, items) in steps.items()}
    for _ in range(repeat):
        for name, (step, items) in steps.items():
            for i, item in enumerate(items):
                start, start_cpu = time.perf_counter(), time.process_time()
                step(item)
                wall[name][i] = min(wall[name][i], time.perf_counter() - start)
                cpu[name][i] = min(cpu[name][i], time.process_time() - start_cpu)
    return {name: (float(wall[name].sum()), float(cpu[name].sum())) for name in steps}


def measure(name: str, model, train, test, explainer, repeat: int, singles: int) -> list[dict]:
    """Per-valuation milliseconds of value / contributions / words, batch and single."""
    engine = hasattr(model, "value")

    def value(rows):
        return model.value(rows) if engine else model.predict(rows)

    rows_out = []
    for mode, batches in (
        ("batch", [test]),
        ("single", [test.iloc[[i]] for i in range(min(singles, len(test)))]),
    ):
        n = sum(len(b) for b in batches)
        if engine:  # the words quote the feature rows of the engine's pass, as in the API
            cached = [model.value_with_contributions(b) for b in batches]
        else:
            cached = [(value(b), log_contributions(model, b), None) for b in batches]

        def words(item: tuple) -> list:
            b, (v, c, X) = item
            return explainer.explain(b, c, v if engine else None, feature_values=X)

        pairs = list(zip(batches, cached, strict=True))
        steps: dict[str, tuple[Callable[[Any], object], list[Any]]] = {"value": (value, batches)}
        if engine:
            # the engine values and explains in one pass (value_with_contributions): the
            # contributions cost what that pass adds to the valuation, the step timed here on
            # the pass's own features and parts
            prepared = []
            for b in batches:
                subjects = b.reset_index(drop=True)
                X = model.stage_.features(subjects)
                prepared.append((b.index, X, model._parts(subjects, explain=True, features=X)))
            steps["contributions"] = (
                lambda item: model._contributions(item[2], None, item[0], features=item[1]),
                prepared,
            )
            steps["api"] = (lambda b: explain_properties(model, b, explainer), batches)
        else:
            steps["contributions"] = (lambda b: log_contributions(model, b), batches)
        steps["words"] = (words, pairs)
        times = best_of(steps, repeat)
        (t_value, _), (t_contrib, cpu_contrib) = times["value"], times["contributions"]
        t_words, cpu_words = times["words"]
        t_api = times["api"][0] if engine else np.nan
        gaps = [additivity_gap(e) for item in pairs for e in words(item)]
        assert not any(gaps), "reasons do not add up"
        extra = t_contrib + t_words
        rows_out.append(
            {
                "model": name,
                "mode": mode,
                "n": n,
                "value_ms": 1000 * t_value / n,
                "contributions_ms": 1000 * t_contrib / n,
                "words_ms": 1000 * t_words / n,
                "extra_ms": 1000 * extra / n,
                "extra_ratio": extra / t_value,
                "extra_cpu_ms": 1000 * (cpu_contrib + cpu_words) / n,
                "api_minus_value_ms": 1000 * (t_api - t_value) / n if engine else np.nan,
            }
        )
    return rows_out


def engine_on_project(path: str, test_rows: int) -> tuple[AVM, pd.DataFrame, pd.DataFrame]:
    """The engine at the project file's settings, trained before its backtest cut-off, and
    a random sample of the properties listed after it."""
    config = load_project(path)
    loaded = to_canonical(read_table(config.resolved_data_path()), config.data)
    split = out_of_time_split(loaded.frame, config.backtest.cutoff)
    avm = AVM(**config.engine.model_dump(), currency=loaded.currency).fit(split.train)
    test = split.test.sample(min(test_rows, len(split.test)), random_state=0)
    return avm, split.train, test.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--properties", type=int, default=5_000)
    parser.add_argument("--test-rows", type=int, default=500)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--trees", type=int, default=2000, help="cap of the trees (early stopping)")
    parser.add_argument(
        "--project", help="measure the engine trained on this project's data instead"
    )
    args = parser.parse_args()
    results = []
    if args.project:
        avm, train, test = engine_on_project(args.project, args.test_rows)
        title = f"{args.project}: {len(train)} training rows, {len(test)} test rows"
    else:
        frame = generate_market(args.properties, seed=5, faults=False).frame
        cut = len(frame) - args.test_rows
        train, test = frame.iloc[:cut], frame.iloc[cut:].reset_index(drop=True)
        title = (
            f"synthetic market, {args.properties} properties, {len(train)} training rows, "
            f"{len(test)} test rows"
        )
        plain = ValuationModel(n_estimators=args.trees, learning_rate=0.05, num_leaves=31)
        plain.fit(train)
        explainer = Explainer("en").fit_reference(plain, train)
        results += measure(
            "ValuationModel", plain, train, test, explainer, args.repeat, args.singles
        )
        avm = AVM(n_estimators=args.trees, min_city_rows=800, comps_k=8).fit(train)
    explainer = Explainer("en").fit_reference(avm, train)
    results += measure("AVM (engine)", avm, train, test, explainer, args.repeat, args.singles)
    trees = {name: b.num_trees() for name, b in avm.stage_.model.boosters_.items()}
    table = pd.DataFrame(results)
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(
            f"{title} (ms per valuation; each item's best of {args.repeat} runs, summed; "
            "the steps' runs take turns)"
        )
        print("engine trees per sub-model:", trees)
        backend = "numba (the fast extra)" if find_spec("numba") else "LightGBM pred_contrib"
        print("exact TreeSHAP by:", backend)
        print(table.to_string(index=False))
    np.testing.assert_array_less(0, table["value_ms"].to_numpy())


if __name__ == "__main__":
    main()
