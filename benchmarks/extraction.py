"""Model extraction against Estimo: how well a copy trained on its answers agrees with it.

An attacker with a budget of queries asks Estimo for valuations and trains a surrogate
LightGBM on the answers; it is scored by the share of fresh properties on which the
surrogate lands within +-10 % of Estimo's own answer. Three attackers:

* ``realistic``: properties drawn from held-back listings (never seen by Estimo's training);
* ``random``: each numeric feature uniform within its 1-99 % range, a random known city and
  random categories, coordinates around the city's centre;
* ``grid``: per city, a grid of area x floor x rooms around one base property.

Each attacker is scored against the ``internal`` answer (the exact price) and public
answers (:class:`~estimo.serve.guard.tiers.PublicShaping`): ``fixed 5000`` (the former
default: rounded to 5,000), ``public`` (the default: rounded to a 1-2-5 step of at most 2 %
of the price) and ``shift X%`` (also the keyed shift of ``serve.guard.public_shift``: the
public prices of a city and size band moved X % up or down), at several budgets: the
columns are the curves of agreement against queries. The extraction detector (default
settings) replays each attacker's queries: the query at which it first acts, the action,
and the agreement the attacker reaches with the default public answers it got before that.
The default public limit (300 a day per key) is shown as the days one key needs for each
budget. In the same run: the baseline, a LightGBM trained on the market's own listing
prices (what anyone gets without querying Estimo at all); the cost of each public shaping
to an honest owner (how far the public price is from the full one); and 200 honest
clients replaying the out-of-time rows of another synthetic market (and of Poland with
``--poland``), with the number the detector flags.

Run from the repository root (a few minutes)::

    nice python benchmarks/extraction.py
    nice python benchmarks/extraction.py --budgets 300 1000 --rows 12000   # quicker
    nice python benchmarks/extraction.py --poland ../shared/data/poland_apartments_sale.parquet
"""

from __future__ import annotations

import argparse
import time

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
        bases = pool.groupby("city").head(1).reset_index(drop=True)
        out = []
        for area in np.linspace(30, 250, 23):
            for floor in range(0, 10):
                for rooms in range(1, 7):
                    base = bases.iloc[len(out) % len(bases)].copy()
                    base["area_m2"], base["floor"], base["rooms"] = area, floor, rooms
                    out.append(base)
                    if len(out) == n:
                        return pd.DataFrame(out).reset_index(drop=True)
        return pd.DataFrame(out).reset_index(drop=True)
    raise ValueError(f"attacker {kind!r} is unknown; expected realistic, random or grid")


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The surrogate's inputs."""
    out = frame[NUMERIC].astype(float).copy()
    for col in CATEGORIES:
        out[col] = frame[col].astype("category")
    return out


def surrogate_agreement(
    queries: pd.DataFrame, answers: np.ndarray, fresh: pd.DataFrame, truth: np.ndarray
) -> float:
    """Share of fresh rows where a LightGBM trained on (queries, answers) is within 10 %."""
    x = features(queries)
    cats = pd.concat([x, features(fresh)])
    for col in CATEGORIES:  # one category list for training and scoring
        kinds = cats[col].astype(str).unique()
        x[col] = pd.Categorical(x[col].astype(str), categories=kinds)
    model = lgb.LGBMRegressor(
        n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=10,
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


def main() -> None:
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
    parser.add_argument("--only-honest", action="store_true", help="skip the attackers")
    args = parser.parse_args()
    started = time.time()
    honest_market = generate_market(args.rows, seed=8, faults=False).frame
    n_flagged, flagged = honest_clients(honest_market, "2023-07-01")
    print(f"honest clients, synthetic market (rows from 2023-07 on): {n_flagged} of 200 flagged")
    for event in flagged:
        print(f"  {event}")
    if args.poland:
        n_flagged, flagged = honest_clients(poland_frame(args.poland), "2024-04-01")
        print(f"honest clients, Poland (rows from 2024-04 on): {n_flagged} of 200 flagged")
        for event in flagged:
            print(f"  {event}")
    if args.only_honest:
        return
    guard = GuardSettings()
    market = generate_market(args.rows, seed=7, faults=False).frame
    market = market.sample(frac=1.0, random_state=0).reset_index(drop=True)  # every month
    n_train = args.rows // 3
    train, rest = market.iloc[:n_train], market.iloc[n_train:]
    fresh = rest.sample(args.fresh, random_state=1)
    pool = rest.drop(fresh.index)
    avm = AVM(n_estimators=200, n_jobs=1, currency="EUR").fit(train)
    estimo = avm.predict(fresh.drop(columns=["price"]))
    print(f"market {args.rows} rows; Estimo trained on {n_train}; {len(fresh)} fresh properties")

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
    for name, shaping in shapings.items():
        shown = np.array([shaping.price(p, r) for p, r in zip(estimo, fresh_records, strict=True)])
        cost = np.abs(shown / estimo - 1)
        print(
            f"cost for an honest owner, {name}: distance of the public price from the full "
            f"one: median {np.median(cost):.2%}, p95 {np.percentile(cost, 95):.2%}, "
            f"max {cost.max():.2%}"
        )
    base = surrogate_agreement(
        pool.iloc[: max(args.budgets)],
        pool["price"].iloc[: max(args.budgets)].to_numpy(),
        fresh,
        estimo,
    )
    print(f"baseline (no queries: LightGBM on {max(args.budgets)} listing prices): {base:.1%}")

    scale = FeatureScale.from_frame(train)
    rows = []
    for kind in ("realistic", "random", "grid"):
        queries = attacker_queries(kind, pool, max(args.budgets), seed=3)
        answers = avm.predict(queries.drop(columns=["price"], errors="ignore"))
        records = queries.to_dict("records")
        shown = {
            name: np.array([shaping.price(p, r) for p, r in zip(answers, records, strict=True)])
            for name, shaping in shapings.items()
        }
        fired_at, action = first_action(queries, scale)
        for budget in args.budgets:
            if budget > len(queries):
                continue
            q = queries.iloc[:budget]
            row: dict[str, object] = {"attacker": kind, "queries": budget}
            row["internal"] = f"{surrogate_agreement(q, answers[:budget], fresh, estimo):.1%}"
            for name in shapings:
                agreement = surrogate_agreement(q, shown[name][:budget], fresh, estimo)
                row[name] = f"{agreement:.1%}"
            got = budget if fired_at is None else min(budget, fired_at)
            detected = (
                surrogate_agreement(queries.iloc[:got], shown["public"][:got], fresh, estimo)
                if got >= 50
                else float("nan")
            )
            row["public, until detected"] = f"{detected:.1%}" if got >= 50 else "< 50"
            row["days/key"] = int(np.ceil(budget / 300))
            rows.append(row)
        print(f"{kind}: detector acts at query {fired_at} -> {action}")
    print(
        "agreement of the surrogate with Estimo (within +-10 %) by tier and defence; "
        "days/key: days one public key needs at 300 a day"
    )
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
