"""deploy/: Kubernetes manifests valid against the schemas, probes and memory as documented,
a slim non-root Dockerfile whose install steps are the script CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").rglob("*.yaml"))
K8S_VERSION = "1.30.0"
BASE_MIB = 250  # the process without bundles (benchmarks/RESULTS.md, issue 16)


def documents() -> list[tuple[str, dict]]:
    out = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                out.append((f"{path.relative_to(DEPLOY)}:{doc['kind']}", doc))
    return out


@pytest.mark.parametrize(("name", "doc"), documents(), ids=[n for n, _ in documents()])
def test_manifest_is_valid(name: str, doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_kind_is_there() -> None:
    kinds = {doc["kind"] for _, doc in documents()}
    expected = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert expected <= kinds


def test_an_invalid_manifest_is_caught() -> None:
    _, deployment = next(d for d in documents() if d[1]["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()
    return float(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize(
    "doc",
    [d for _, d in documents() if d["kind"] == "Deployment"],
    ids=lambda d: d["metadata"]["name"],
)
def test_deployment_probes_and_memory_follow_the_budget(doc: dict) -> None:
    pod = doc["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    config_name = container["envFrom"][0]["configMapRef"]["name"]
    config = next(
        d
        for _, d in documents()
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == config_name
    )
    budget = float(config["data"]["ESTIMO_SERVE__MEMORY_BUDGET_MB"])
    request = mebibytes(container["resources"]["requests"]["memory"])
    limit = mebibytes(container["resources"]["limits"]["memory"])
    assert request >= budget + BASE_MIB
    assert limit >= request * 1.2


def test_dockerfile_is_slim_non_root_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "deploy/install.sh" in text  # the same script CI runs
    assert "OMP_NUM_THREADS=1" in text
