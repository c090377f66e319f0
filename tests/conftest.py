"""Shared fixtures: small synthetic markets and the location of the real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from estimo.synth import SyntheticMarket, generate_market

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def market() -> SyntheticMarket:
    """A small messy synthetic market (with injected faults)."""
    return generate_market(3_000, seed=11)


@pytest.fixture(scope="session")
def clean_market() -> SyntheticMarket:
    """A small synthetic market without injected faults."""
    return generate_market(3_000, seed=12, faults=False)


@pytest.fixture()
def canonical_csv(tmp_path: Path, clean_market: SyntheticMarket) -> Path:
    """The clean market written as a CSV with canonical column names."""
    path = tmp_path / "market.csv"
    clean_market.frame.to_csv(path, index=False)
    return path


def shared_data_dir() -> Path:
    """``../shared/data`` next to the repository (or ``$ESTIMO_SHARED_DATA``)."""
    return Path(os.environ.get("ESTIMO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets; a real-data test fails (not skips) when they are missing."""
    folder = shared_data_dir()
    if not (folder / "kc_house_sales.parquet").exists():
        pytest.fail(f"real data not found in {folder}; real-data tests need ../shared/data")
    return folder


def small_frame(**columns: list) -> pd.DataFrame:
    """A tiny raw table for loader tests."""
    return pd.DataFrame(columns)
