"""Mirror an Estimo registry into MLflow (optional extra: ``pip install 'estimo[mlflow]'``).

The mapping is one to one:

==========================  ===============================================================
Estimo                      MLflow
==========================  ===============================================================
registry version ``v3``     a run (tags ``estimo.*``) + a version of the registered model,
                            tagged ``estimo.version=v3``
manifest parameters         run params (``param.<name>``)
test metrics                run metrics ``test.<metric>`` and ``test.<segment>.<group>.<metric>``
version folder              run artefacts under ``estimo_bundle/`` (bundle, manifest,
                            COMMITTED), the model version's ``source``
alias ``champion``          registered-model alias ``champion`` (removed when Estimo's is)
==========================  ===============================================================

Exporting again only adds the versions not yet exported (found by their ``estimo.version``
tag) and re-synchronises the aliases, so it can run after every registration. MLflow is
imported only when an export runs.

Examples
--------
>>> result = MlflowExport()
>>> result.created, result.aliases
({}, {})
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estimo.errors import EstimoError
from estimo.registry import ModelManifest, Registry

log = logging.getLogger(__name__)

__all__ = ["MlflowExport", "export_registry", "metrics_of", "params_of"]

VERSION_TAG = "estimo.version"
ARTIFACT_DIR = "estimo_bundle"
_MAX_PARAM = 6000
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass
class MlflowExport:
    """What an export did: Estimo version -> MLflow version number."""

    created: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    removed_aliases: list[str] = field(default_factory=list)


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise EstimoError(
            "the MLflow export needs MLflow: pip install 'estimo[mlflow]' (or mlflow-skinny)"
        ) from exc
    return mlflow


def _safe(name: str) -> str:
    return _NAME_SAFE.sub("_", str(name))


def params_of(manifest: ModelManifest) -> dict[str, str]:
    """Run parameters of a version: its model parameters, as strings.

    Examples
    --------
    >>> from estimo.registry.manifest import ModelManifest, CodeVersion
    >>> from datetime import datetime, UTC
    >>> m = ModelManifest(version="v1", number=1, created_at=datetime.now(UTC), created_by="me",
    ...     code=CodeVersion(estimo="0"), model_class="M", parameters={"num_leaves": 31})
    >>> params_of(m)
    {'num_leaves': '31'}
    """
    return {_safe(k): str(v)[:_MAX_PARAM] for k, v in manifest.parameters.items()}


def metrics_of(manifest: ModelManifest) -> dict[str, float]:
    """Run metrics of a version: overall and per-segment test metrics (numbers only)."""
    if manifest.test is None:
        return {}
    out: dict[str, float] = {}
    for name, value in manifest.test.overall.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"test.{_safe(name)}"] = float(value)
    for column, records in manifest.test.segments.items():
        for record in records:
            if record.get("too_small"):
                continue
            group = _safe(record.get(column))
            for name in ("n", "mdape", "pe10", "pe20", "cod", "coverage"):
                value = record.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out[f"test.{_safe(column)}.{group}.{name}"] = float(value)
    return out


def _tags_of(registry: Registry, manifest: ModelManifest) -> dict[str, str]:
    tags = {
        VERSION_TAG: manifest.version,
        "estimo.registry": registry.url,
        "estimo.created_at": manifest.created_at.isoformat(),
        "estimo.created_by": manifest.created_by,
        "estimo.code_version": manifest.code.estimo,
        "estimo.git_commit": manifest.code.git_commit or "",
        "estimo.model_class": manifest.model_class,
        "estimo.valuation_date": str(manifest.valuation_date or ""),
    }
    if manifest.training is not None:
        tags["estimo.training_window"] = (
            f"{manifest.training.date_from}..{manifest.training.date_to}"
        )
        tags["estimo.training_fingerprint"] = manifest.training.fingerprint
    if manifest.test is not None:
        tags["estimo.test_fingerprint"] = manifest.test.data.fingerprint
    tags.update({f"estimo.tag.{_safe(k)}": v for k, v in manifest.tags.items()})
    return tags


def _exported_versions(client: Any, model_name: str) -> dict[str, str]:
    found = {}
    for mv in client.search_model_versions(f"name='{model_name}'"):
        tag = (mv.tags or {}).get(VERSION_TAG)
        if tag:
            found[tag] = str(mv.version)
    return found


def _ensure_model(client: Any, mlflow: Any, model_name: str) -> Any:
    try:
        return client.get_registered_model(model_name)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(
            model_name, description="Mirrored from an Estimo registry; see tags estimo.*"
        )
        return client.get_registered_model(model_name)


def _export_version(
    client: Any, registry: Registry, manifest: ModelManifest, experiment_id: str, model_name: str
) -> str:
    run = client.create_run(
        experiment_id, tags=_tags_of(registry, manifest), run_name=f"estimo-{manifest.version}"
    )
    run_id = run.info.run_id
    for key, value in params_of(manifest).items():
        client.log_param(run_id, key, value)
    for key, value in metrics_of(manifest).items():
        client.log_metric(run_id, key, value)
    with tempfile.TemporaryDirectory(prefix="estimo-mlflow-") as tmp:
        local = Path(tmp) / ARTIFACT_DIR
        registry.fs.get(registry.version_path(manifest.version), str(local), recursive=True)
        client.log_artifacts(run_id, str(local), artifact_path=ARTIFACT_DIR)
    client.set_terminated(run_id)
    mv = client.create_model_version(
        model_name,
        source=f"runs:/{run_id}/{ARTIFACT_DIR}",
        run_id=run_id,
        tags={VERSION_TAG: manifest.version},
        description=manifest.description or f"Estimo {manifest.version}",
    )
    return str(mv.version)


def export_registry(
    registry: Registry | str,
    *,
    tracking_uri: str,
    registry_uri: str | None = None,
    model_name: str = "estimo",
    experiment_name: str = "estimo-registry",
) -> MlflowExport:
    """Export every version and alias of an Estimo registry to MLflow.

    Parameters
    ----------
    registry : Registry or str
        The Estimo registry or its URL.
    tracking_uri : str
        MLflow tracking URI (``sqlite:///mlflow.db``, ``http://...``, a ``file:`` store).
    registry_uri : str, optional
        MLflow model registry URI (default: ``tracking_uri``).
    model_name : str
        Name of the MLflow registered model.
    experiment_name : str
        Experiment holding one run per exported version.

    Returns
    -------
    MlflowExport
    """
    mlflow = _import_mlflow()
    registry = registry if isinstance(registry, Registry) else Registry(registry)
    client = mlflow.MlflowClient(
        tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri
    )
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(experiment_name)
    )
    _ensure_model(client, mlflow, model_name)
    result = MlflowExport()
    exported = _exported_versions(client, model_name)
    for manifest in registry.manifests():
        if manifest.version in exported:
            result.skipped[manifest.version] = exported[manifest.version]
            continue
        number = _export_version(client, registry, manifest, experiment_id, model_name)
        exported[manifest.version] = number
        result.created[manifest.version] = number
        log.info("exported %s as MLflow %s version %s", manifest.version, model_name, number)
    wanted = registry.aliases.all()
    for alias, version in wanted.items():
        client.set_registered_model_alias(model_name, alias, exported[version])
        result.aliases[alias] = exported[version]
    current = client.get_registered_model(model_name).aliases or {}
    for alias in sorted(set(current) - set(wanted)):
        client.delete_registered_model_alias(model_name, alias)
        result.removed_aliases.append(alias)
    return result
