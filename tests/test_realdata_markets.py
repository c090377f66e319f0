"""Real-data tests of the new markets (pytest -m realdata): every example project file
loads, undated data is dated, one operation is kept, and the Polish rents get a validation
slice with the README's cut-off. They fail, not skip, when the data is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from estimo.io import load_dataset, load_project
from estimo.model.avm import AVM

pytestmark = pytest.mark.realdata
REPO = Path(__file__).resolve().parents[1]

MARKETS = {  # project file: (rows loaded, rows of another operation, undated)
    "perth.yaml": (33_656, 0, True),
    "saopaulo_sale.yaml": (6_412, 7_228, True),
    "saopaulo_rent.yaml": (7_228, 6_412, True),
    "sacramento.yaml": (932, 0, True),
    "saratoga.yaml": (1_728, 0, True),
    "poland_rent.yaml": (70_847, 0, False),
}


def _load(shared_data: Path, name: str):
    config = load_project(REPO / "examples" / name)
    config.data.path = str(shared_data / Path(config.data.path).name)
    return config, load_dataset(config)


@pytest.mark.parametrize("name", sorted(MARKETS))
def test_market_project_loads_every_row(shared_data: Path, name: str) -> None:
    rows, other, undated = MARKETS[name]
    config, loaded = _load(shared_data, name)
    assert (loaded.report.n_rows, loaded.report.n_other_operation) == (rows, other)
    assert loaded.report.n_dropped == 0
    assert loaded.report.undated is undated
    assert set(loaded.frame["price_kind"]) == {config.data.price_kind}
    if name == "saopaulo_rent.yaml":
        assert loaded.frame["price"].median() < 5_000  # monthly rents, never sale prices


def test_polish_rents_validate_with_the_readme_cutoff(shared_data: Path) -> None:
    _, loaded = _load(shared_data, "poland_rent.yaml")
    train = loaded.frame[loaded.frame["date"] < "2024-04-01"].reset_index(drop=True)
    held = AVM()._validation_split(train)
    assert held.kind == "out of time"
    assert len(held.test) >= 1_000
    assert len(held.fit_rows) >= 0.5 * len(train)
