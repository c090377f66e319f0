"""The Python client, `estimo value --url` and `estimo serve`, against a real local server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from _serve_helpers import OPEN, PROPERTY
from typer.testing import CliRunner

from estimo.cli import app
from estimo.client import EstimoClient, ServiceError
from estimo.serve.background import ServiceThread, free_port
from estimo.serve.main import create_app
from estimo.serve.settings import ServeSettings

runner = CliRunner()


@pytest.fixture(scope="module")
def service(bundles: Path):
    settings = ServeSettings(
        guard=OPEN, model=str(bundles), alias_poll_seconds=0, hot_cities=["global"]
    )
    with ServiceThread(create_app(settings)) as running:
        client = EstimoClient(running.url)
        deadline = time.monotonic() + 60
        while not client.health()["ready"]:
            assert time.monotonic() < deadline, "the service was not ready within 60 s"
            time.sleep(0.05)
        yield running


def test_client_values_one_and_many(service: ServiceThread) -> None:
    client = EstimoClient(service.url, lang="it")
    one = client.value(PROPERTY)
    assert one["explanation"]["language"] == "it"
    many = client.value_batch([PROPERTY, {"city": "Roma", "area_m2": 50}])
    assert [item["ok"] for item in many["items"]] == [True, True]
    assert many["items"][0]["valuation"]["price"] == pytest.approx(one["price"])
    assert "explanation" not in many["items"][0]["valuation"]  # batches skip reasons


def test_client_models_and_health(service: ServiceThread) -> None:
    client = EstimoClient(service.url)
    assert client.health() == {"alive": True, "ready": True}
    bundles = {b["bundle"]: b["state"] for b in client.models()["bundles"]}
    assert bundles["global"] == "loaded"


def test_client_raises_the_problem_with_its_fields(service: ServiceThread) -> None:
    with pytest.raises(ServiceError) as info:
        EstimoClient(service.url).value({"city": "Roma", "area_m2": -1, "pool": True})
    assert info.value.status == 422
    assert {e["field"] for e in info.value.problem["errors"]} == {"area_m2", "pool"}
    assert "area_m2 = -1" in str(info.value)


def test_client_says_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceError, match="no answer from") as info:
        EstimoClient(url, timeout=2).models()
    assert info.value.status == 0
    assert EstimoClient(url, timeout=2).health() == {"alive": False, "ready": False}


def test_value_command_with_url(service: ServiceThread) -> None:
    result = runner.invoke(
        app, ["value", "--url", service.url, "--property", json.dumps(PROPERTY), "--json"]
    )
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output)
    assert answers[0]["model"]["bundle"] == "global" and answers[0]["price"] > 0
    text = runner.invoke(app, ["value", "--url", service.url, "--property", json.dumps(PROPERTY)])
    assert text.exit_code == 0 and "Our valuation" in text.output


def test_value_command_reports_the_service_problem(service: ServiceThread) -> None:
    bad = json.dumps({"city": "Roma", "pool": 1})
    result = runner.invoke(app, ["value", "--url", service.url, "--property", bad])
    assert result.exit_code == 1
    assert "unknown field 'pool'" in result.output


def test_value_command_needs_a_model_or_url() -> None:
    result = runner.invoke(app, ["value", "--property", json.dumps(PROPERTY)])
    assert result.exit_code == 2
    assert "--model DIR" in result.output and "--url URL" in result.output


def test_serve_command_refuses_two_sources(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("ESTIMO_SERVE__MODEL", "ESTIMO_SERVE__REGISTRY"):
        monkeypatch.delenv(key, raising=False)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "exactly one of" in result.output and "registry" in result.output


def test_serve_refuses_a_model_folder_that_does_not_exist(tmp_path, monkeypatch) -> None:
    """Before binding a port: a missing local folder is a usage error (exit 2), not a
    service that starts and answers 503 for ever."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["serve", "--model", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "--model 'nowhere' is not a folder; expected a model folder" in result.output


@pytest.mark.parametrize("url", ["not-a-url", "localhost:8000", "ftp://x", "http://"])
def test_a_service_url_that_is_not_http_is_a_usage_error(url: str) -> None:
    """It crashed as a bug (urllib's ValueError) or was tried as 'HTTP 0 unreachable'."""
    from typer.testing import CliRunner

    from estimo.cli import app

    result = CliRunner().invoke(app, ["value", "--url", url, "-p", '{"city": "Milano"}'])
    assert result.exit_code == 2, result.output
    assert "is not an http(s) URL" in result.output and "unexpected" not in result.output


def test_an_unreachable_service_says_so_without_a_status() -> None:
    from estimo.client import EstimoClient, ServiceError

    with pytest.raises(ServiceError, match=r"^cannot reach: no answer from http://127\.0\.0\.1:9"):
        EstimoClient("http://127.0.0.1:9", timeout=2).value({"city": "Milano"})


@pytest.mark.parametrize("local", [["--html", "h"], ["--reference", "r.json"], ["--model", "m"]])
def test_local_options_with_a_service_url_are_refused(local: list[str]) -> None:
    """They were accepted and dropped: the service answered, no HTML was written."""
    from typer.testing import CliRunner

    from estimo.cli import app

    argv = ["value", "--url", "http://127.0.0.1:9", "-p", '{"city": "Milano"}', *local]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert f"{local[0]} cannot be used with --url" in " ".join(result.output.split())
