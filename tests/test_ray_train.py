"""``estimo train --backend ray``: the city models as Ray tasks, the same as the local fit.

Run in CI after ``pip install -e .[ray]`` with ``pytest -m ray``; fails without Ray.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.model.avm import AVM
from estimo.model.training_backend import current_backend, training_backend
from estimo.pipeline import load_pipeline
from estimo.synth import generate_market

pytestmark = [
    pytest.mark.ray,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:ray.*"),
]

SMALL = {"n_estimators": 30, "min_city_rows": 500, "seed": 1, "progress": False}


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_tasks_train_the_same_boosters_bit_for_bit(local_ray) -> None:
    frame = generate_market(4_000, seed=3, faults=False).frame
    local = AVM(**SMALL).fit(frame)
    with training_backend("ray"):
        assert current_backend() == "ray"
        remote = AVM(**SMALL).fit(frame)
    assert current_backend() == "local"
    mine, theirs = local.stage_.model.boosters_, remote.stage_.model.boosters_
    assert sorted(mine) == sorted(theirs) and len(mine) > 2  # global + city models
    for name in mine:
        assert mine[name].model_to_string() == theirs[name].model_to_string(), name
    rows = frame.head(100)
    np.testing.assert_array_equal(
        local.predict_table(rows)["predicted"].to_numpy(),
        remote.predict_table(rows)["predicted"].to_numpy(),
    )


def test_train_command_with_the_ray_backend(local_ray, tmp_path: Path) -> None:
    frame = generate_market(3_000, seed=5).frame
    data = tmp_path / "market.parquet"
    frame.to_parquet(data, index=False)
    folders = {}
    for backend in ("local", "ray"):
        folders[backend] = tmp_path / backend
        result = CliRunner().invoke(
            app, ["train", str(data), "--out", str(folders[backend]), "--backend", backend]
        )
        assert result.exit_code == 0, result.output
    local, remote = (load_pipeline(str(folders[b])) for b in ("local", "ray"))
    rows = frame.drop(columns=["price"]).head(50)
    np.testing.assert_array_equal(
        local.predict_table(rows)["predicted"].to_numpy(),
        remote.predict_table(rows)["predicted"].to_numpy(),
    )
