"""Extraction detection: synthetic sweeps are caught, real-looking traffic is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimo.serve.guard.extraction import (
    FEATURES,
    AuditLog,
    ExtractionDetector,
    FeatureScale,
)
from estimo.serve.guard.settings import ExtractionSettings
from estimo.synth import generate_market


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return generate_market(8_000, seed=11, faults=False).frame


@pytest.fixture(scope="module")
def scale(market: pd.DataFrame) -> FeatureScale:
    return FeatureScale.from_frame(market.iloc[:3000])


def _detector(scale: FeatureScale, tmp_path: Path, **settings) -> ExtractionDetector:
    audit = AuditLog(str(tmp_path / "audit.jsonl"))
    return ExtractionDetector(ExtractionSettings(**settings), scale, audit)


def _replay(detector: ExtractionDetector, client: str, records: list[dict]) -> list[str]:
    return [detector.observe(client, [r]).action for r in records]


def _first_flag(actions: list[str]) -> int | None:
    return next((i + 1 for i, a in enumerate(actions) if a != "allow"), None)


def test_a_grid_over_two_features_is_blocked_early(
    market: pd.DataFrame, scale: FeatureScale, tmp_path: Path
) -> None:
    base = market.iloc[4000].to_dict()
    grid = [
        {**base, "area_m2": float(a), "floor": int(f)}
        for a in np.linspace(30, 250, 30)
        for f in range(10)
    ]
    detector = _detector(scale, tmp_path)
    actions = _replay(detector, "bot", grid)
    assert _first_flag(actions) == 40  # the first verdict (min_queries)
    assert actions[-1] == "block"
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    first = lines[0]
    assert first["client"] == "bot" and first["action"] == "block"
    assert "sweep" in first["signals"] and first["evidence"]["sweep_share"] >= 0.5
    assert first["evidence"]["n"] == 40 and "prada_w" in first["evidence"]
    # blocked for block_seconds: even a normal query is refused now
    assert detector.observe("bot", [market.iloc[10].to_dict()]).action == "block"
    assert detector.observe("someone-else", [market.iloc[10].to_dict()]).action == "allow"


def test_a_diagonal_sweep_trips_the_distance_test(
    market: pd.DataFrame, scale: FeatureScale, tmp_path: Path
) -> None:
    base = market.iloc[4100].to_dict()
    sweep = [
        {**base, "area_m2": 40 + 2.0 * i, "year_built": 1950 + i % 60, "rooms": 1 + i % 5}
        for i in range(120)
    ]
    verdict = None
    detector = _detector(scale, tmp_path, actions={"prada": "captcha"})
    for record in sweep:
        verdict = detector.observe("bot", [record])
    assert verdict.signals == ["prada"] and verdict.evidence["prada_w"] < 0.80
    assert verdict.action == "captcha"


def test_many_cities_and_out_of_range_queries_throttle(
    market: pd.DataFrame, scale: FeatureScale, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    spread = [
        {**r, "city": f"City {i % 20}"}
        for i, r in enumerate(market.iloc[3000:3100].to_dict("records"))
    ]
    verdict = _detector(scale, tmp_path).observe("tour", spread)
    assert "cities" in verdict.signals and verdict.evidence["cities"] == 20
    assert verdict.action == "throttle"
    odd = [
        {**r, "area_m2": float(rng.uniform(2_000, 9_000))}
        for r in market.iloc[3100:3200].to_dict("records")
    ]
    verdict = _detector(scale, tmp_path).observe("odd", odd)
    assert "ood" in verdict.signals and verdict.evidence["ood_share"] == 1.0


def test_no_verdict_before_min_queries(scale: FeatureScale, tmp_path: Path) -> None:
    detector = _detector(scale, tmp_path, min_queries=50)
    same = [{"city": "Roma", "area_m2": 80.0 + i} for i in range(49)]
    assert set(_replay(detector, "c", same)) == {"allow"}
    assert detector.observe("c", [{"city": "Roma", "area_m2": 200.0}]).action == "block"


def test_legitimate_clients_are_not_flagged(
    market: pd.DataFrame, scale: FeatureScale, tmp_path: Path
) -> None:
    """200 clients (agencies in one or two cities) each value 100 real-looking properties."""
    traffic = market.iloc[3000:]
    cities = traffic["city"].unique()
    detector = _detector(scale, tmp_path)
    rng = np.random.default_rng(1)
    flagged = []
    for client in range(200):
        mine = rng.choice(cities, size=int(rng.integers(1, 3)), replace=False)
        pool = traffic[traffic["city"].isin(mine)]
        rows = pool.sample(100, random_state=client).to_dict("records")
        actions = _replay(detector, f"agency-{client}", rows)
        if set(actions) != {"allow"}:
            flagged.append(client)
    assert len(flagged) <= 2, f"{len(flagged)} of 200 honest clients flagged: {flagged}"


def test_running_scale_follows_the_traffic(market: pd.DataFrame) -> None:
    running = FeatureScale(running=True)
    for record in market.iloc[:500].to_dict("records"):
        z = running.z(running.raw(record))
    area = FEATURES.index("area_m2")
    assert abs(running._mean[area] - market["area_m2"].iloc[:500].mean()) < 1e-6
    assert abs(z[area]) < 5
