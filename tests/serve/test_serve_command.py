"""`estimo serve`'s options: given ones outrank ESTIMO_SERVE__* and estimo.yaml, the others
are left to them (uvicorn is replaced by a stub that records what it would run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.serve.settings import ENV_PREFIX, get_settings

runner = CliRunner()
KEYS = ("ALIAS", "HOST", "PORT", "WORKERS", "MODEL", "REGISTRY", "HOT_CITIES", "MEMORY_BUDGET_MB")


@pytest.fixture()
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each `estimo serve` would have run: uvicorn's arguments and the settings."""
    import uvicorn

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ESTIMO_CONFIG", raising=False)
    for key in KEYS:  # the command sets them: set and deleted here, monkeypatch restores them
        monkeypatch.setenv(ENV_PREFIX + key, "")
        monkeypatch.delenv(ENV_PREFIX + key)
    (tmp_path / "registry").mkdir()
    (tmp_path / "model").mkdir()
    calls: list[dict[str, Any]] = []

    def run(target: str, **kwargs: Any) -> None:
        calls.append({**kwargs, "settings": get_settings()})

    monkeypatch.setattr(uvicorn, "run", run)
    yield calls
    get_settings.cache_clear()


def _serve(args: list[str]) -> None:
    result = runner.invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output


YAML = "serve:\n  registry: registry\n  alias: staging\n  port: 9001\n  host: 0.0.0.0\n"


@pytest.mark.parametrize(
    ("yaml", "env", "args", "alias"),
    [
        (YAML, {}, [], "staging"),
        (YAML, {"ALIAS": "canary"}, [], "canary"),
        (None, {"ALIAS": "canary", "REGISTRY": "registry"}, [], "canary"),
        (YAML, {"ALIAS": "canary"}, ["--alias", "blue"], "blue"),
        (None, {}, ["--registry", "registry"], "champion"),
    ],
    ids=["yaml", "env-over-yaml", "env", "option-over-env", "default"],
)
def test_alias_comes_from_yaml_or_env_unless_given(
    started: list, monkeypatch: pytest.MonkeyPatch, yaml, env: dict, args: list, alias: str
) -> None:
    if yaml:
        Path("estimo.yaml").write_text(yaml)
    for key, value in env.items():
        monkeypatch.setenv(ENV_PREFIX + key, value)
    _serve(args)
    assert started[0]["settings"].alias == alias


def test_host_port_workers_come_from_yaml_and_env_unless_given(
    started: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("estimo.yaml").write_text(YAML)
    monkeypatch.setenv(ENV_PREFIX + "WORKERS", "3")
    _serve([])
    assert {k: started[0][k] for k in ("host", "port", "workers")} == {
        "host": "0.0.0.0",
        "port": 9001,
        "workers": 3,
    }
    _serve(["--port", "9100", "--host", "127.0.0.1", "--workers", "2"])
    assert {k: started[1][k] for k in ("host", "port", "workers")} == {
        "host": "127.0.0.1",
        "port": 9100,
        "workers": 2,
    }


def test_a_source_given_replaces_the_other_source_of_the_yaml(started: list) -> None:
    """estimo.yaml names a registry; --model serves a folder instead (not 'two sources')."""
    Path("estimo.yaml").write_text(YAML)
    _serve(["--model", "model"])
    settings = started[0]["settings"]
    assert settings.registry is None
    assert settings.model == str(Path("model").resolve())


def test_a_registry_and_a_model_folder_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    args = ["serve", "--registry", str(tmp_path / "reg"), "--model", str(tmp_path / "model")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "expected one" in " ".join(result.output.split())
