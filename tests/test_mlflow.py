"""MLflow export against a local file store: versions, aliases, metrics, artefacts, one to one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from estimo.model.valuation import ValuationModel
from estimo.registry import Registry, register_model
from estimo.synth import SyntheticMarket

mlflow = pytest.importorskip("mlflow")

from estimo.integrations.mlflow import ARTIFACT_DIR, VERSION_TAG, export_registry  # noqa: E402


@pytest.fixture()
def stores(
    tmp_path: Path, clean_market: SyntheticMarket, monkeypatch: pytest.MonkeyPatch
) -> tuple[Registry, str]:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database
    frame = clean_market.frame
    train = frame.loc[frame["date"] < pd.Timestamp("2023-06-01")]
    test = frame.loc[frame["date"] >= pd.Timestamp("2023-06-01")]
    model = ValuationModel(n_estimators=15, learning_rate=0.2, n_jobs=1).fit(train)
    registry = Registry(str(tmp_path / "registry"))
    register_model(registry, model, train_frame=train, test_frame=test, alias="champion")
    register_model(registry, model, train_frame=train, alias="challenger")
    return registry, (tmp_path / "mlruns").as_uri()


def test_export_maps_versions_aliases_metrics_and_artefacts(stores) -> None:
    registry, uri = stores
    result = export_registry(registry, tracking_uri=uri, model_name="avm")
    assert result.created == {"v1": "1", "v2": "2"}
    assert result.aliases == {"challenger": "2", "champion": "1"}

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("avm", "champion")
    assert champion.tags[VERSION_TAG] == "v1"
    run = client.get_run(champion.run_id)
    manifest = registry.manifest("v1")
    assert run.data.metrics["test.pe10"] == pytest.approx(manifest.test.overall["pe10"])
    assert "test.city.Milano.pe10" in run.data.metrics
    assert run.data.params["n_estimators"] == "15"
    assert run.data.tags["estimo.training_fingerprint"] == manifest.training.fingerprint
    listed = {a.path for a in client.list_artifacts(champion.run_id, ARTIFACT_DIR)}
    assert {f"{ARTIFACT_DIR}/manifest.json", f"{ARTIFACT_DIR}/COMMITTED"} <= listed
    assert f"{ARTIFACT_DIR}/bundle" in listed


def test_export_again_adds_only_new_versions_and_syncs_aliases(stores) -> None:
    registry, uri = stores
    export_registry(registry, tracking_uri=uri)
    registry.aliases.set("champion", "v2", reason="promoted")
    registry.aliases.delete("challenger")
    again = export_registry(registry, tracking_uri=uri)
    assert again.created == {}
    assert again.skipped == {"v1": "1", "v2": "2"}
    assert again.aliases == {"champion": "2"}
    assert again.removed_aliases == ["challenger"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert client.get_registered_model("estimo").aliases == {"champion": "2"}
