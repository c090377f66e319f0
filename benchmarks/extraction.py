"""Model extraction against Estimo: how well a copy trained on its answers agrees with it.

An attacker with a budget of queries asks Estimo for valuations and trains a surrogate
LightGBM on the answers; it is scored by the share of fresh properties on which the
surrogate lands within +-10 % of Estimo's own answer. Three attackers:

* ``realistic``: properties drawn from held-back listings (never seen by Estimo's training);
* ``random``: each numeric feature uniform within its 1-99 % range, a random known city and
  random categories, coordinates around the city's centre;
* ``grid``: per city, a grid of area x floor x rooms around one base property (1,380
  points), repeated with the year of construction stepped by decades until the largest
  budget is reached.

Each attacker is scored against the ``internal`` answer (the exact price) and public
answers (:class:`~estimo.serve.guard.tiers.PublicShaping`): ``fixed 5000`` (the former
default: rounded to 5,000), ``public`` (the default: rounded to a 1-2-5 step of at most 2 %
of the price) and ``shift X%`` (also the keyed shift of ``serve.guard.public_shift``: the
public prices of a city and size band moved X % up or down), at several budgets: the
columns are the curves of agreement against queries. The extraction detector (default
settings) replays each attacker's queries: the query at which it first acts, the action,
and the agreement the attacker reaches with the default public answers it got before that.
The default public limit (300 a day per key) gives the curve "with limits": the agreement
an attacker reaches with the answers one key gets through over N days (with and without
detection), and the days one key needs for each budget. In the same run: the baseline, a
LightGBM trained on the market's own listing prices (what anyone gets without querying
Estimo at all); the cost of each public shaping to an honest owner (how far the public
price is from the full one); and 200 honest clients (``--clients``) replaying the
out-of-time rows of another synthetic market (and of Poland with ``--poland``), with the
number the detector flags.

Run from the repository root (a few minutes)::

    nice python benchmarks/extraction.py
    nice python benchmarks/extraction.py --budgets 300 1000 --rows 12000   # quicker
    python benchmarks/extraction.py --rows 3000 --budgets 100 300 --fresh 200 --clients 20 \
        --trees 20 --surrogate-trees 30 --days 1    # seconds: the smoke test's size
    nice python benchmarks/extraction.py --poland ../shared/data/poland_apartments_sale.parquet
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from estimo.model.avm import AVM
from estimo.serve.guard.extraction import AuditLog, ExtractionDetector, FeatureScale
from estimo.serve.guard.settings import ExtractionSettings, GuardSettings
from estimo.serve.guard.tiers import PublicShaping
from estimo.synth import generate_market

NUMERIC = ["area_m2", "rooms", "bathrooms", "floor", "year_built", "lat", "lon"]
CATEGORIES = ["city", "property_type", "condition"]


def attacker_queries(kind: str, pool: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` query rows of one attacker (see the module docstring)."""
    rng = np.random.default_rng(seed)
    if kind == "realistic":
        return pool.sample(n, replace=n > len(pool), random_state=seed).reset_index(drop=True)
    if kind == "random":
        rows = pool.sample(n, replace=True, random_state=seed).reset_index(drop=True)
        for col in ["area_m2", "rooms", "bathrooms", "floor", "year_built"]:
            lo, hi = pool[col].quantile([0.01, 0.99])
            rows[col] = rng.uniform(lo, hi, n).round(0 if col != "area_m2" else 1)
        rows["city"] = rng.choice(pool["city"].unique(), n)
        centre = pool.groupby("city")[["lat", "lon"]].median()
        rows["lat"] = centre.loc[rows["city"], "lat"].to_numpy() + rng.normal(0, 0.03, n)
        rows["lon"] = centre.loc[rows["city"], "lon"].to_numpy() + rng.normal(0, 0.03, n)
        for col in ["property_type", "condition"]:
            rows[col] = rng.choice(pool[col].dropna().unique(), n)
        return rows
    if kind == "grid":
        return grid_queries(pool, n)
    raise ValueError(f"attacker {kind!r} is unknown; expected realistic, random or grid")


def grid_queries(pool: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` grid queries: area x floor x rooms around one base property per city (the
    cities taken in turn), then the same grid with the year of construction 10 years
    earlier, 10 later, 20 earlier... as long as the budget needs more points.

    Examples
    --------
    >>> pool = pd.DataFrame({"city": ["A", "B"], "area_m2": [50.0, 60.0], "floor": [1, 2],
    ...                      "rooms": [2, 3], "year_built": [1980.0, None]})
    >>> grid = grid_queries(pool, 3000)
    >>> len(grid), len(grid.drop_duplicates())
    (3000, 3000)
    >>> sorted(grid["year_built"].unique().tolist())
    [1970.0, 1980.0, 1990.0]
    """
    bases = pool.groupby("city").head(1).reset_index(drop=True)
    bases["year_built"] = bases["year_built"].fillna(pool["year_built"].median())
    plane = list(itertools.product(np.linspace(30, 250, 23), range(0, 10), range(1, 7)))
    out = []
    for step in itertools.count():
        offset = 10 * ((step + 1) // 2) * (-1 if step % 2 else 1)  # 0, -10, +10, -20, ...
        for area, floor, rooms in plane:
            base = bases.iloc[len(out) % len(bases)].copy()
            base["area_m2"], base["floor"], base["rooms"] = area, floor, rooms
            base["year_built"] += offset
            out.append(base)
            if len(out) == n:
                return pd.DataFrame(out).reset_index(drop=True)
    raise AssertionError("unreachable")  # pragma: no cover


def daily_limit(limit: str) -> int:
    """The per-day amount of a limit such as ``'2/second;300/day'``.

    >>> daily_limit("2/second;300/day")
    300
    """
    from limits import parse_many

    for item in parse_many(limit):
        if item.get_expiry() == 86400:
            return int(item.amount)
    raise ValueError(f"limit {limit!r} has no per-day part; expected e.g. '2/second;300/day'")


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The surrogate's inputs."""
    out = frame[NUMERIC].astype(float).copy()
    for col in CATEGORIES:
        out[col] = frame[col].astype("category")
    return out


def surrogate_agreement(
    queries: pd.DataFrame,
    answers: np.ndarray,
    fresh: pd.DataFrame,
    truth: np.ndarray,
    trees: int = 300,
) -> float:
    """Share of fresh rows where a LightGBM (``trees`` trees) trained on (queries, answers)
    is within 10 %."""
    x = features(queries)
    cats = pd.concat([x, features(fresh)])
    for col in CATEGORIES:  # one category list for training and scoring
        kinds = cats[col].astype(str).unique()
        x[col] = pd.Categorical(x[col].astype(str), categories=kinds)
    model = lgb.LGBMRegressor(
        n_estimators=trees, learning_rate=0.05, num_leaves=31, min_child_samples=10,
        n_jobs=1, verbose=-1,
    )  # fmt: skip
    model.fit(x, np.log(answers))
    xf = features(fresh)
    for col in CATEGORIES:
        xf[col] = pd.Categorical(xf[col].astype(str), categories=x[col].cat.categories)
    guess = np.exp(model.predict(xf))
    return float(np.mean(np.abs(guess / truth - 1) <= 0.10))


def first_action(queries: pd.DataFrame, scale: FeatureScale) -> tuple[int | None, str]:
    """The query at which the default detector first acts on this stream, and the action."""
    detector = ExtractionDetector(ExtractionSettings(), scale, AuditLog(None))
    detector.audit.write = lambda event: None  # quiet: the benchmark prints its own table
    for i, record in enumerate(queries.to_dict("records")):
        verdict = detector.observe("attacker", [record])
        if verdict.action != "allow":
            return i + 1, f"{verdict.action} ({', '.join(verdict.signals)})"
    return None, "never"


def honest_clients(
    frame: pd.DataFrame, cutoff: str, n_clients: int = 200, seed: int = 0
) -> tuple[int, list[dict]]:
    """Replay the out-of-time rows of ``frame`` as ``n_clients`` honest clients.

    The detector's scale comes from the rows before ``cutoff`` (the training period); the
    rows from ``cutoff`` on are the traffic. Each client is an agency working in one city
    (60 %), two (35 %) or three (5 %), chosen in proportion to the market, and values a
    number of properties drawn from a log-normal (median 80, capped at 1,500: a few heavy
    users), in date order, one request each. Returns the number of clients flagged (any
    action other than allow) and the first verdict of each flagged one.
    """
    rng = np.random.default_rng(seed)
    dates = pd.to_datetime(frame["date"])
    train, traffic = frame[dates < cutoff], frame[dates >= cutoff]
    scale = FeatureScale.from_frame(train)
    detector = ExtractionDetector(ExtractionSettings(), scale, AuditLog(None))
    detector.audit.write = lambda event: None
    shares = traffic["city"].value_counts(normalize=True)
    flagged = []
    for client in range(n_clients):
        k = int(rng.choice([1, 2, 3], p=[0.60, 0.35, 0.05]))
        mine = rng.choice(shares.index, size=min(k, len(shares)), replace=False, p=shares)
        pool = traffic[traffic["city"].isin(mine)]
        n = int(min(1500, len(pool), max(10, rng.lognormal(np.log(80), 1.0))))
        rows = pool.sample(n, random_state=client).sort_values("date")
        for i, record in enumerate(rows.to_dict("records")):
            verdict = detector.observe(f"agency-{client}", [record])
            if verdict.action != "allow":
                flagged.append(
                    {"client": client, "cities": k, "n": n, "at": i + 1, **vars(verdict)}
                )
                break
    return len(flagged), flagged


def poland_frame(path: str) -> pd.DataFrame:
    """Poland's sale listings (``poland_apartments_sale.parquet``) as canonical columns."""
    raw = pd.read_parquet(path)
    return pd.DataFrame(
        {
            "date": pd.to_datetime(raw["snapshot_month"]),
            "city": raw["city"],
            "area_m2": raw["squareMeters"],
            "rooms": raw["rooms"],
            "floor": raw["floor"],
            "year_built": raw["buildYear"],
            "lat": raw["latitude"],
            "lon": raw["longitude"],
        }
    )


class _Attack:
    """One attacker's answers, scored once per tier and number of queries."""

    def __init__(
        self,
        queries: pd.DataFrame,
        answers: np.ndarray,
        shown: dict[str, np.ndarray],
        fired_at: int | None,
        fresh: pd.DataFrame,
        estimo: np.ndarray,
        trees: int,
    ) -> None:
        self.queries, self.answers, self.shown = queries, answers, shown
        self.fired_at, self.fresh, self.estimo, self.trees = fired_at, fresh, estimo, trees
        self._scores: dict[tuple[str, int], float] = {}

    def agreement(self, tier: str, n: int) -> float:
        """The surrogate's agreement after the first ``n`` answers of ``tier`` (``internal``
        or a public shaping's name)."""
        if (tier, n) not in self._scores:
            got = self.answers if tier == "internal" else self.shown[tier]
            self._scores[tier, n] = surrogate_agreement(
                self.queries.iloc[:n], got[:n], self.fresh, self.estimo, self.trees
            )
        return self._scores[tier, n]

    def until_detected(self, n: int) -> float | None:
        """Agreement with the public answers got before the detector acts (None: < 50)."""
        got = n if self.fired_at is None else min(n, self.fired_at)
        return self.agreement("public", got) if got >= 50 else None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The benchmark's options (``argv``: default the command line)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=30_000, help="synthetic market size")
    parser.add_argument("--budgets", type=int, nargs="+", default=[300, 1000, 3000, 10000])
    parser.add_argument("--fresh", type=int, default=2000, help="fresh properties scored")
    parser.add_argument(
        "--poland",
        default=None,
        help="poland_apartments_sale.parquet: also replay its out-of-time rows as honest "
        "clients (e.g. /work/shared/data/poland_apartments_sale.parquet)",
    )
    parser.add_argument(
        "--shifts", type=float, nargs="+", default=[0.05, 0.08], help="public shifts measured"
    )
    parser.add_argument("--clients", type=int, default=200, help="honest clients replayed")
    parser.add_argument("--trees", type=int, default=200, help="trees of Estimo's engine")
    parser.add_argument(
        "--surrogate-trees", type=int, default=300, help="trees of the attacker's surrogate"
    )
    parser.add_argument(
        "--days",
        type=int,
        nargs="+",
        default=[1, 3, 10, 33],
        help="days one public key queries at its daily limit (the 'with limits' curve)",
    )
    parser.add_argument("--only-honest", action="store_true", help="skip the attackers")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the benchmark measures, as plain data (:func:`report` prints it).

    Keys: ``honest`` (market name -> ``{"clients", "flagged", "events"}``), and unless
    ``args.only_honest``: ``rows``, ``n_train``, ``fresh``, ``costs`` (shaping -> median,
    p95 and max distance of the public price from the full one), ``baseline`` (agreement
    without queries), ``detection`` (attacker -> query at which the detector first acts,
    and the action), ``curves`` (one row per attacker and budget: agreement by tier and
    defence), ``limits`` (one row per attacker and number of days: agreement through one
    public key's daily limit, with and without detection), ``daily_limit``; ``seconds``.
    """
    started = time.time()
    result: dict[str, Any] = {"honest": {}}
    honest_market = generate_market(args.rows, seed=8, faults=False).frame
    n_flagged, flagged = honest_clients(honest_market, "2023-07-01", args.clients)
    result["honest"]["synthetic market (rows from 2023-07 on)"] = {
        "clients": args.clients, "flagged": n_flagged, "events": flagged,
    }  # fmt: skip
    if args.poland:
        n_flagged, flagged = honest_clients(poland_frame(args.poland), "2024-04-01", args.clients)
        result["honest"]["Poland (rows from 2024-04 on)"] = {
            "clients": args.clients, "flagged": n_flagged, "events": flagged,
        }  # fmt: skip
    if args.only_honest:
        result["seconds"] = time.time() - started
        return result
    guard = GuardSettings()
    per_day = daily_limit(guard.key_limits["public"])
    market = generate_market(args.rows, seed=7, faults=False).frame
    market = market.sample(frac=1.0, random_state=0).reset_index(drop=True)  # every month
    n_train = args.rows // 3
    train, rest = market.iloc[:n_train], market.iloc[n_train:]
    fresh = rest.sample(args.fresh, random_state=1)
    pool = rest.drop(fresh.index)
    avm = AVM(n_estimators=args.trees, n_jobs=1, currency="EUR").fit(train)
    estimo = avm.predict(fresh.drop(columns=["price"]))
    result.update(rows=args.rows, n_train=n_train, fresh=len(fresh), daily_limit=per_day)

    secret = b"benchmark"
    shapings = {
        "fixed 5000": PublicShaping(price_step=5000.0, secret=secret),
        "public": PublicShaping(relative_step=guard.public_relative_step, secret=secret),
        **{
            f"shift {s:.0%}": PublicShaping(
                relative_step=guard.public_relative_step, shift=s, secret=secret
            )
            for s in args.shifts
        },
    }
    fresh_records = fresh.to_dict("records")
    result["costs"] = {}
    for name, shaping in shapings.items():
        shown = np.array([shaping.price(p, r) for p, r in zip(estimo, fresh_records, strict=True)])
        cost = np.abs(shown / estimo - 1)
        result["costs"][name] = {
            "median": float(np.median(cost)),
            "p95": float(np.percentile(cost, 95)),
            "max": float(cost.max()),
        }
    largest = max(args.budgets)
    result["baseline"] = surrogate_agreement(
        pool.iloc[:largest], pool["price"].iloc[:largest].to_numpy(), fresh, estimo,
        args.surrogate_trees,
    )  # fmt: skip

    scale = FeatureScale.from_frame(train)
    result["detection"], result["curves"], result["limits"] = {}, [], []
    for kind in ("realistic", "random", "grid"):
        queries = attacker_queries(kind, pool, max(largest, per_day * max(args.days)), seed=3)
        answers = avm.predict(queries.drop(columns=["price"], errors="ignore"))
        records = queries.to_dict("records")
        shown = {
            name: np.array([shaping.price(p, r) for p, r in zip(answers, records, strict=True)])
            for name, shaping in shapings.items()
        }
        fired_at, action = first_action(queries, scale)
        result["detection"][kind] = {"at": fired_at, "action": action}
        attack = _Attack(queries, answers, shown, fired_at, fresh, estimo, args.surrogate_trees)
        for budget in args.budgets:
            row: dict[str, Any] = {"attacker": kind, "queries": budget}
            row["internal"] = attack.agreement("internal", budget)
            for name in shapings:
                row[name] = attack.agreement(name, budget)
            row["public, until detected"] = attack.until_detected(budget)
            row["days/key"] = int(np.ceil(budget / per_day))
            result["curves"].append(row)
        for days in args.days:
            n = per_day * days
            result["limits"].append(
                {
                    "attacker": kind,
                    "days": days,
                    "queries": n,
                    "public": attack.agreement("public", n),
                    "public, until detected": attack.until_detected(n),
                }
            )
    result["seconds"] = time.time() - started
    return result


def _percent(value: float | None) -> str:
    """A share as a percentage; None (or NaN, as a frame holds None) as "< 50" answers."""
    return "< 50" if value is None or value != value else f"{value:.1%}"


def report(result: dict[str, Any]) -> None:
    """Print what :func:`run` measured."""
    for market, honest in result["honest"].items():
        print(f"honest clients, {market}: {honest['flagged']} of {honest['clients']} flagged")
        for event in honest["events"]:
            print(f"  {event}")
    if "curves" not in result:
        return
    print(
        f"market {result['rows']} rows; Estimo trained on {result['n_train']}; "
        f"{result['fresh']} fresh properties"
    )
    for name, cost in result["costs"].items():
        print(
            f"cost for an honest owner, {name}: distance of the public price from the full "
            f"one: median {cost['median']:.2%}, p95 {cost['p95']:.2%}, max {cost['max']:.2%}"
        )
    largest = max(row["queries"] for row in result["curves"])
    print(f"baseline (no queries: LightGBM on {largest} listing prices): {result['baseline']:.1%}")
    for kind, detection in result["detection"].items():
        print(f"{kind}: detector acts at query {detection['at']} -> {detection['action']}")
    per_day = result["daily_limit"]
    print(
        "agreement of the surrogate with Estimo (within +-10 %) by tier and defence; "
        f"days/key: days one public key needs at {per_day} a day"
    )
    curves = pd.DataFrame(result["curves"])
    for col in curves.columns[2:-1]:
        curves[col] = curves[col].map(_percent)
    print(curves.to_string(index=False))
    print(
        f"with limits: agreement with the public answers one key gets through its daily "
        f"limit ({per_day}) over N days, and with detection too"
    )
    limited = pd.DataFrame(result["limits"])
    for col in ("public", "public, until detected"):
        limited[col] = limited[col].map(_percent)
    print(limited.to_string(index=False))
    print(f"({result['seconds']:.0f} s)")


def main() -> None:
    report(run(parse_args()))


if __name__ == "__main__":
    main()
