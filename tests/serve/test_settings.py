"""Service settings: estimo.yaml's serve section, ESTIMO_SERVE__* overrides, one source."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from estimo.config import load_config
from estimo.serve.settings import ServeSettings, get_settings

YAML = """
data:
  path: sales.csv
serve:
  registry: models/
  hot_cities: [Milano, Roma]
  memory_budget_mb: 256
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "estimo.yaml"
    path.write_text(YAML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for key in ("ESTIMO_CONFIG", "ESTIMO_SERVE__MEMORY_BUDGET_MB", "ESTIMO_SERVE__REGISTRY"):
        monkeypatch.delenv(key, raising=False)
    return path


def test_reads_the_serve_section(project: Path) -> None:
    settings = ServeSettings()
    assert (settings.registry, settings.hot_cities) == ("models/", ["Milano", "Roma"])
    assert settings.memory_budget_bytes == 256 * 2**20
    assert load_config(project).serve["memory_budget_mb"] == 256  # the project file stays valid


def test_environment_wins_over_the_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTIMO_SERVE__MEMORY_BUDGET_MB", "64")
    monkeypatch.setenv("ESTIMO_SERVE__HOT_CITIES", '["Torino"]')
    settings = ServeSettings()
    assert (settings.memory_budget_mb, settings.hot_cities) == (64.0, ["Torino"])


def test_config_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "prod.yaml"
    other.write_text("serve:\n  model: runs/model\n  batch_max: 7\n", encoding="utf-8")
    monkeypatch.setenv("ESTIMO_CONFIG", str(other))
    assert ServeSettings().batch_max == 7


def test_a_project_file_without_a_serve_section_means_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "estimo.yaml"  # as `estimo init` writes it
    other.write_text("data:\n  path: m.parquet\n", encoding="utf-8")
    monkeypatch.setenv("ESTIMO_CONFIG", str(other))
    settings = ServeSettings(model="runs/model")
    assert (settings.model, settings.batch_max) == (
        "runs/model",
        ServeSettings.model_fields["batch_max"].default,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of registry"),
        ({"registry": "r", "model": "m"}, "exactly one of registry"),
        ({"model": "m", "memory_budget_mb": 0}, "memory_budget_mb"),
        ({"model": "m", "colour": "red"}, "colour"),
    ],
)
def test_invalid_settings_are_named(
    kwargs: dict, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=message):
        ServeSettings(**kwargs)


def test_settings_are_read_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ESTIMO_SERVE__MODEL", "a")
    get_settings.cache_clear()
    first = get_settings()
    monkeypatch.setenv("ESTIMO_SERVE__MODEL", "b")
    assert get_settings() is first and first.model == "a"
    get_settings.cache_clear()


def test_languages_are_the_explainers() -> None:
    from estimo.explain.locale import LANGUAGES as EXPLAINER_LANGUAGES
    from estimo.serve.settings import LANGUAGES

    assert LANGUAGES == EXPLAINER_LANGUAGES


def test_keys_live_in_the_monitoring_store_unless_told(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'monitor.db'}"
    follows = ServeSettings(model="m", monitor={"store_url": store})
    assert follows.guard.keys_url == store
    told = ServeSettings(model="m", monitor={"store_url": store}, guard={"keys_url": "sqlite://"})
    assert told.guard.keys_url == "sqlite://"
    assert ServeSettings(model="m").guard.keys_url is None  # then the default file


def test_keys_command_uses_the_service_s_monitoring_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from estimo.cli import app
    from estimo.serve.guard.keys import KeyStore

    store = f"sqlite:///{tmp_path / 'monitor.db'}"
    (tmp_path / "estimo.yaml").write_text(
        f"data: {{path: x.csv}}\nserve:\n  model: m\n  monitor:\n    store_url: {store}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ESTIMO_SERVE__GUARD__KEYS_URL", raising=False)
    monkeypatch.delenv("ESTIMO_SERVE__MONITOR__STORE_URL", raising=False)
    made = CliRunner().invoke(app, ["keys", "create", "form", "--tier", "public"])
    assert made.exit_code == 0, made.output
    assert [k.name for k in KeyStore.from_url(store).list()] == ["form"]
    assert not (tmp_path / "runs" / "monitor.db").exists()


def test_relative_sqlite_stores_of_the_project_file_are_next_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another folder, the service and `estimo keys` opened stores relative to the
    working directory while `estimo monitor` opened the one next to the project file."""
    project = tmp_path / "proj" / "estimo.yaml"
    project.parent.mkdir()
    project.write_text(
        "serve:\n  model: runs/model\n  monitor:\n    store_url: sqlite:///runs/monitor.db\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("ESTIMO_CONFIG", str(project))
    for key in ("ESTIMO_SERVE__MONITOR__STORE_URL", "ESTIMO_SERVE__GUARD__KEYS_URL"):
        monkeypatch.delenv(key, raising=False)
    settings = ServeSettings()
    expected = f"sqlite:///{project.parent.resolve() / 'runs' / 'monitor.db'}"
    assert settings.monitor.store_url == expected and settings.guard.keys_url == expected
    monkeypatch.setenv("ESTIMO_SERVE__MONITOR__STORE_URL", "sqlite:///other.db")
    assert ServeSettings().monitor.store_url == "sqlite:///other.db"  # the environment's own
