"""The Ray Serve deployment against a local Ray started here (``pytest -m ray``).

Same bundles, same answers as the FastAPI service; the multiplexed model id routes a city
to its bundle, a city without one to the global bundle.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _serve_helpers import PROPERTY

from estimo.serve.valuer import load_valuer

pytestmark = [
    pytest.mark.ray,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),  # Ray's own pydantic use
    pytest.mark.filterwarnings("ignore::FutureWarning:ray.*"),
]

ROMA = {"city": "Roma", "area_m2": 70.0, "rooms": 3.0, "date": "2024-01-15"}


@pytest.fixture(scope="module")
def ray_app(bundles: Path):
    import ray
    from ray import serve

    from estimo.serve.ray_app import build_app

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        handle = serve.run(build_app({"model": str(bundles)}), name="estimo", route_prefix=None)
        yield handle
    finally:
        serve.shutdown()
        ray.shutdown()


def test_city_is_multiplexed_to_its_bundle(ray_app, bundles: Path) -> None:
    answer = ray_app.options(multiplexed_model_id="roma").value.remote(ROMA).result()
    assert answer["model"] == {"bundle": "roma", "version": "Roma", "fallback": False}
    local = load_valuer(str(bundles / "Roma")).value_one(ROMA)
    assert answer["price"] == pytest.approx(local["price"], rel=1e-12)
    assert answer["explanation"]["reasons"] == local["explanation"]["reasons"]


def test_city_without_bundle_goes_to_global(ray_app, bundles: Path) -> None:
    answer = ray_app.value.remote({**PROPERTY, "date": "2024-01-15"}, explain=False).result()
    assert answer["model"]["bundle"] == "global"
    local = load_valuer(str(bundles / "_global")).value_one(
        {**PROPERTY, "date": "2024-01-15"}, explain=False
    )
    assert answer["price"] == pytest.approx(local["price"], rel=1e-12)
    assert "explanation" not in answer and "comparables" not in answer


def test_words_follow_the_language(ray_app) -> None:
    answer = ray_app.options(multiplexed_model_id="roma").value.remote(ROMA, lang="it").result()
    assert answer["explanation"]["language"] == "it"


def test_a_new_version_is_served_without_restart(ray_app, bundles: Path, tmp_path: Path) -> None:
    """The replica's alias poll swaps the bundle cached for a multiplexed model id."""
    import shutil

    from ray import serve

    from estimo.serve.ray_app import build_app

    folder = tmp_path / "bundles"
    shutil.copytree(bundles, folder)
    handle = serve.run(
        build_app({"model": str(folder), "alias_poll_seconds": 0.05}),
        name="swap",
        route_prefix=None,
    )
    try:
        roma = handle.options(multiplexed_model_id="roma")
        assert roma.value.remote(ROMA, explain=False).result()["model"]["version"] == "Roma"
        shutil.move(folder / "Roma", folder / "roma")  # the same city, a new version
        time.sleep(0.1)
        versions = [roma.value.remote(ROMA, explain=False).result()["model"]["version"]]
        deadline = time.monotonic() + 10
        while versions[-1] != "roma" and time.monotonic() < deadline:
            time.sleep(0.05)
            versions.append(roma.value.remote(ROMA, explain=False).result()["model"]["version"])
        assert versions[-1] == "roma", versions
    finally:
        serve.delete("swap")
