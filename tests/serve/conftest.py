"""Small synthetic engine bundles for the service tests (trained once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from estimo.model.avm import AVM
from estimo.model.bundle import save_model
from estimo.synth import generate_market

SMALL = {"n_estimators": 15, "min_city_rows": 300, "n_jobs": 1, "currency": "EUR"}


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of bundles: ``_global`` (every city) and ``Roma`` (a city part)."""
    frame = generate_market(1_200, seed=3, faults=False).frame
    root = tmp_path_factory.mktemp("bundles")
    save_model(AVM(**SMALL).fit(frame), str(root / "_global"))
    roma = frame.loc[frame["city"] == "Roma"]
    save_model(AVM(**{**SMALL, "min_city_rows": 100, "seed": 1}).fit(roma), str(root / "Roma"))
    return root


@pytest.fixture()
def bundle_copy(bundles: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`bundles` that a test may damage."""
    target = tmp_path / "bundles"
    shutil.copytree(bundles, target)
    return target
