"""Registry: immutable versions, manifests, atomic saves under crashes, concurrent saves."""

from __future__ import annotations

import json
import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest

from _registry_worker import save_copies
from estimo.model import bundle as bundle_module
from estimo.model.bundle import save_model
from estimo.model.valuation import ValuationModel
from estimo.registry import Registry, RegistryError, fingerprint_frame, register_model
from estimo.registry.register import quality_summary
from estimo.synth import SyntheticMarket

CUTOFF = pd.Timestamp("2023-06-01")


@pytest.fixture(scope="module")
def frames(clean_market: SyntheticMarket) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = clean_market.frame
    return frame.loc[frame["date"] < CUTOFF], frame.loc[frame["date"] >= CUTOFF]


@pytest.fixture(scope="module")
def model(frames: tuple[pd.DataFrame, pd.DataFrame]) -> ValuationModel:
    return ValuationModel(n_estimators=20, learning_rate=0.2, n_jobs=1).fit(frames[0])


@pytest.fixture(params=["local", "memory"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "local":
        yield Registry(str(tmp_path / "registry"))
        return
    url = f"memory://reg-{uuid.uuid4().hex}"
    yield Registry(url)
    memory = fsspec.filesystem("memory")
    if memory.exists(url.removeprefix("memory://")):
        memory.rm(url.removeprefix("memory://"), recursive=True)


def test_save_and_load_round_trip(registry: Registry, model: ValuationModel, frames) -> None:
    train, test = frames
    manifest = register_model(registry, model, train_frame=train, test_frame=test)
    assert manifest.version == "v1"
    loaded = registry.load("v1")
    head = test.head(20)
    np.testing.assert_allclose(loaded.model.predict(head), model.predict(head))
    m = loaded.manifest
    assert m.training.n_rows == len(train)
    assert m.training.fingerprint == fingerprint_frame(train)
    assert m.test.data.fingerprint == fingerprint_frame(test)
    assert str(m.training.date_to) == f"{train['date'].max():%Y-%m-%d}"
    assert m.features == model.feature_spec_.names
    assert m.schema_["price"] == "float64"
    assert m.parameters["n_estimators"] == 20
    assert m.code.estimo
    assert {r["city"] for r in m.test.segments["city"]} >= set(test["city"].unique())
    assert 0 < m.test.overall["pe10"] <= 1


def test_versions_are_numbered_and_immutable(registry: Registry, model: ValuationModel) -> None:
    first = registry.save(model)
    before = registry.fs.cat_file(registry.version_path("v1") + "/manifest.json")
    second = registry.save(model, description="again")
    assert (first.version, second.version) == ("v1", "v2")
    assert registry.versions() == ["v1", "v2"]
    assert registry.fs.cat_file(registry.version_path("v1") + "/manifest.json") == before
    assert registry.resolve("latest") == "v2"
    assert registry.resolve("1") == "v1"


@pytest.mark.parametrize("ref", ["v9", "9", "latest", "champion", "../etc"])
def test_unknown_reference_names_what_exists(registry: Registry, ref: str) -> None:
    with pytest.raises(RegistryError, match=r"no version or alias .*versions: none"):
        registry.resolve(ref)


def test_tampered_file_is_detected(tmp_path: Path, model: ValuationModel) -> None:
    registry = Registry(str(tmp_path))
    registry.save(model)
    model_file = Path(registry.version_path("v1")) / "bundle" / "model.txt"
    model_file.write_text(model_file.read_text().replace("tree", "TREE", 1))
    with pytest.raises(RegistryError, match="'bundle/model.txt'.*checksum"):
        registry.load("v1")


def test_nothing_stored_is_a_pickle(tmp_path: Path, model: ValuationModel) -> None:
    registry = Registry(str(tmp_path))
    registry.save(model)
    for path in Path(registry.version_path("v1")).rglob("*"):
        if path.is_file():
            assert path.suffix in {".txt", ".json", ".parquet", ""}, path
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


# --------------------------------------------------------------------------- crashes


def _crash_in_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    def half_save(model, folder, extra=None):
        fs, root = fsspec.core.url_to_fs(folder)
        fs.pipe_file(f"{root}/model.txt", b"half a model")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(bundle_module, "save_model", half_save)


def _crash_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_commit(self, staging, final, commit):
        self.fs.makedirs(final, exist_ok=True)
        self.fs.pipe_file(f"{final}/manifest.json", b"{}")  # partial copy on object stores
        raise OSError("connection reset (simulated)")

    monkeypatch.setattr(Registry, "_move_into_place", broken_commit)


@pytest.mark.parametrize("crash", [_crash_in_bundle, _crash_before_commit])
@pytest.mark.parametrize("cleanup_runs", [True, False])
def test_crash_mid_save_leaves_no_visible_version(
    registry: Registry,
    model: ValuationModel,
    monkeypatch: pytest.MonkeyPatch,
    crash,
    cleanup_runs: bool,
) -> None:
    registry.save(model)
    with monkeypatch.context() as patch:
        crash(patch)
        if not cleanup_runs:  # a killed process never runs its cleanup
            patch.setattr(Registry, "_discard", lambda self, staging: None)
        with pytest.raises(OSError, match="simulated"):
            registry.save(model)
    assert registry.versions() == ["v1"]
    assert registry.resolve("latest") == "v1"
    assert not registry.exists("v2")
    third = registry.save(model)
    assert third.version == "v3"  # the crashed save's number is never reused
    assert registry.versions() == ["v1", "v3"]
    registry.load("v3")
    removed = registry.clean_staging(older_than_s=0)
    assert bool(removed) == (not cleanup_runs)
    assert registry.versions() == ["v1", "v3"]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_thread_saves_get_distinct_versions(
    registry: Registry, model: ValuationModel
) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def save() -> None:
        try:
            results.append(Registry(registry.url).save(model).version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(1, 7)]
    assert registry.versions() == [f"v{i}" for i in range(1, 7)]


def test_concurrent_process_saves_get_distinct_versions(
    tmp_path: Path, model: ValuationModel
) -> None:
    folder = str(tmp_path / "bundle")
    save_model(model, folder)
    url = str(tmp_path / "registry")
    # fork: the children only copy files (no LightGBM), and start in milliseconds
    ctx = multiprocessing.get_context("fork")
    queue, barrier = ctx.Queue(), ctx.Barrier(4)
    procs = [
        ctx.Process(target=save_copies, args=(url, folder, 3, queue, barrier)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    got = [v for _ in procs for v in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(got, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(1, 13)]
    assert Registry(url).versions() == [f"v{i}" for i in range(1, 13)]
    assert not list((tmp_path / "registry" / "_staging").iterdir())


# --------------------------------------------------------------------------- manifests


def test_fingerprint_ignores_row_and_column_order_but_not_values(frames) -> None:
    train = frames[0].head(300)
    shuffled = train.sample(frac=1.0, random_state=0)[list(reversed(train.columns))]
    assert fingerprint_frame(train) == fingerprint_frame(shuffled)
    changed = train.copy()
    changed.loc[changed.index[5], "area_m2"] += 1.0
    assert fingerprint_frame(changed) != fingerprint_frame(train)
    assert fingerprint_frame(train.head(299)) != fingerprint_frame(train)


def test_fingerprint_names_a_missing_column(frames) -> None:
    with pytest.raises(ValueError, match=r"\['nope'\] are not in the table"):
        fingerprint_frame(frames[0], ["price", "nope"])


@pytest.mark.parametrize("cleaned", [False, True])
def test_quality_summary_keeps_the_findings_whether_or_not_cleaned(cleaned) -> None:
    """Cleaning repairs rows but does not make a broken source sound: the findings stay
    open for the gate (only a finding marked resolved in the report is resolved)."""
    report = {
        "summary": {"n_rows": 10},
        "findings": [
            {"rule": "a", "severity": "error", "share": 0.2, "example_ids": ["x"]},
            {"rule": "b", "severity": "warning", "share": 0.3},
            {"rule": "c", "severity": "error", "share": 0.1, "resolved": True},
        ],
    }
    summary = quality_summary(report, cleaned=cleaned)
    assert summary["cleaned"] is cleaned
    assert [f["resolved"] for f in summary["findings"]] == [False, False, True]
    assert [f["share"] for f in summary["findings"]] == [0.2, 0.3, 0.1]
    assert "example_ids" not in summary["findings"][0]
    json.dumps(summary)


def test_add_folder_rejects_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="holds no valuation pipeline"):
        Registry(str(tmp_path / "r")).add_folder(str(tmp_path))


def test_without_test_rows_the_validation_figures_are_recorded_and_labelled(frames) -> None:
    """`estimo train --register` with no rows after the window: the engine's validation
    figures, labelled as such (never passed off as test metrics)."""
    train = frames[0]
    model = ValuationModel(n_estimators=10, n_jobs=1).fit(train)
    validation = {
        "n": 80,
        "from": str(train["date"].max().date()),
        "blend": {"n": 80, "mdape": 0.07, "pe10": 0.64},
    }
    manifest = register_model(
        Registry("memory://validation-kind"), model, train_frame=train, validation=validation
    )
    assert manifest.test is not None and manifest.test.kind == "validation"
    assert manifest.test.overall["pe10"] == 0.64 and manifest.test.overall["n"] == 80
    assert "validation" in manifest.test.target
