"""`estimo models ...` and `estimo promote`: outputs, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.model.bundle import save_model
from estimo.model.valuation import ValuationModel
from estimo.synth import SyntheticMarket

runner = CliRunner()
OLD_END, NEW_END = pd.Timestamp("2022-10-01"), pd.Timestamp("2023-10-01")


def _model_dir(root: Path, frame: pd.DataFrame, end: pd.Timestamp, name: str) -> Path:
    train = frame.loc[frame["date"] < end]
    model = ValuationModel(n_estimators=40, learning_rate=0.15, n_jobs=1).fit(train)
    window = {"from": f"{train['date'].min():%Y-%m-%d}", "to": f"{train['date'].max():%Y-%m-%d}"}
    return Path(save_model(model, str(root / name), extra={"training_window": window}))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, clean_market: SyntheticMarket) -> dict:
    root = tmp_path_factory.mktemp("cli-models")
    data = root / "market.parquet"
    clean_market.frame.to_parquet(data, index=False)
    return {
        "data": data,
        "old": _model_dir(root, clean_market.frame, OLD_END, "old"),
        "new": _model_dir(root, clean_market.frame, NEW_END, "new"),
    }


def run(*args: str) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result


def test_register_list_show_alias_history(setup: dict, tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    result = run("models", "register", setup["old"], "-r", reg, "--data", setup["data"])
    assert result.exit_code == 0, result.output
    assert "registered v1" in result.output
    result = run("models", "register", setup["new"], "-r", reg, "--alias", "challenger")
    assert result.exit_code == 0, result.output
    assert "alias challenger -> v2" in result.output

    result = run("models", "list", "-r", reg)
    assert result.exit_code == 0 and "v1" in result.output and "challenger" in result.output
    listed = [
        json.loads(line) for line in run("models", "list", "-r", reg, "--json").output.splitlines()
    ]
    assert [(m["version"], m["aliases"]) for m in listed] == [("v1", []), ("v2", ["challenger"])]

    result = run("models", "show", "v1", "-r", reg)
    assert result.exit_code == 0, result.output
    assert "training data" in result.output and "test accuracy per city" in result.output

    without_data = json.loads(run("models", "show", "v2", "-r", reg, "--json").output)
    window = json.loads((setup["new"] / "model.json").read_text())["extra"]["training_window"]
    assert without_data["valuation_date"] == window["to"]  # the window the model records
    assert without_data["training"]["date_from"] == window["from"]
    assert without_data["training"]["fingerprint_method"] == "none"

    manifest = json.loads(run("models", "show", "1", "-r", reg, "--json").output)
    assert manifest["version"] == "v1"
    assert manifest["training"]["date_to"] < f"{OLD_END:%Y-%m-%d}"
    assert manifest["test"]["data"]["date_from"] >= f"{OLD_END:%Y-%m-%d}"
    assert manifest["quality"]["findings"] is not None

    assert run("models", "alias", "champion", "v1", "-r", reg).exit_code == 0
    assert run("models", "alias", "champion", "latest", "-r", reg, "--reason", "x").exit_code == 0
    result = run("models", "rollback", "champion", "-r", reg, "--reason", "complaints")
    assert result.exit_code == 0 and "v2 -> v1" in result.output
    result = run("models", "history", "champion", "-r", reg)
    assert result.exit_code == 0 and "rollback" in result.output and "complaints" in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["models", "show", "v7"], 1, "no version or alias 'v7'"),
        (["models", "alias", "Champion", "v1"], 1, "not a valid name"),
        (["models", "rollback", "champion"], 1, "alias 'champion' is not set"),
        (["models", "register", "/nonexistent/model"], 2, "does not exist"),
        (["promote", "v1"], 2, "give --data"),
        (["promote", "v1", "--force", "--data", "x.csv"], 2, "--force needs --reason"),
        (["promote", "v9", "--data", "DATA"], 1, "no version or alias 'v9'"),
    ],
)
def test_errors_are_one_clear_message(
    setup: dict, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    reg = tmp_path / "registry"
    run("models", "register", setup["old"], "-r", reg)
    args = [str(setup["data"]) if a == "DATA" else a for a in args]
    result = run(*args, "-r", reg)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())


def test_promote_exit_codes_and_records(setup: dict, tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    run("models", "register", setup["new"], "-r", reg)  # v1: newer window
    run("models", "register", setup["old"], "-r", reg)  # v2: older window
    result = run("promote", "v1", "--data", setup["data"], "-r", reg)
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output
    result = run("promote", "v2", "--data", setup["data"], "-r", reg)
    assert result.exit_code == 1, result.output
    assert "rejected" in result.output and "pe10_overall" in result.output
    result = run("promote", "v2", "--data", setup["data"], "-r", reg, "--force", "--reason", "demo")
    assert result.exit_code == 0 and "forced" in result.output
    result = run("models", "decisions", "-r", reg)
    assert [w for w in ("promoted", "rejected", "forced") if w in result.output] == [
        "promoted",
        "rejected",
        "forced",
    ]
    assert len(list((reg / "decisions").glob("*.md"))) == 3


def test_registry_url_from_environment(setup: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ESTIMO_REGISTRY__URL", str(tmp_path / "env-registry"))
    assert run("models", "register", setup["old"]).exit_code == 0
    assert (tmp_path / "env-registry" / "versions" / "v1" / "COMMITTED").exists()


def test_models_commands_use_the_project_files_registry(
    setup: dict, tmp_path: Path, monkeypatch
) -> None:
    """`estimo models list/show/history` read registry.url of ./estimo.yaml (or --project)."""
    monkeypatch.delenv("ESTIMO_REGISTRY__URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "estimo.yaml").write_text(
        f"data: {{path: {setup['data']}}}\nregistry: {{url: project-registry}}\n"
    )
    assert run("models", "register", setup["old"], "--alias", "champion").exit_code == 0
    assert (tmp_path / "project-registry" / "versions" / "v1" / "COMMITTED").exists()
    for args, shown in ((["list"], "v1"), (["show", "v1"], "v1"), (["history"], "champion")):
        result = run("models", *args)
        assert result.exit_code == 0, result.output
        assert shown in result.output, args  # the default runs/registry holds nothing
    assert "does not exist" in run("models", "list", "-r", "runs/registry").output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("models", "list", "--project", tmp_path / "estimo.yaml")
    assert result.exit_code == 0 and "v1" in result.output


def test_a_registry_option_naming_a_file_is_a_clear_error(setup: dict, tmp_path: Path) -> None:
    project = tmp_path / "estimo.yaml"
    project.write_text(f"data: {{path: {setup['data']}}}\n")
    result = run("models", "list", "-r", project)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "is a file; expected a registry folder" in message
    assert "--project" in message


@pytest.mark.parametrize(
    ("where", "fragment"),
    [("afile/x", "is under the file"), ("nothere", "does not exist")],
)
@pytest.mark.parametrize("command", [["models", "list"], ["models", "show", "v1"]])
def test_a_registry_under_a_file_or_missing_is_an_error(
    tmp_path: Path, monkeypatch, where: str, fragment: str, command: list[str]
) -> None:
    """Both answered "no models in ... yet" with exit 0 (issue 17)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = run(*command, "-r", where)
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split())
    assert "no models" not in result.output


@pytest.fixture()
def two_versions(setup: dict, tmp_path: Path) -> Path:
    reg = tmp_path / "registry"
    assert run("models", "register", setup["old"], "-r", reg).exit_code == 0
    assert run("models", "register", setup["new"], "-r", reg, "--alias", "champion").exit_code == 0
    return reg


def test_a_damaged_manifest_is_named_and_the_healthy_versions_listed(two_versions) -> None:
    manifest = two_versions / "versions" / "v1" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    result = run("models", "list", "-r", two_versions)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "v2" in text and "champion" in text  # the healthy version is still listed
    table, error = text.split("error:")
    assert "damaged" in table
    assert "'versions/v1/manifest.json' is damaged" in error and "restore it" in error
    assert str(two_versions.parent) not in error  # no absolute path
    result = run("models", "show", "v1", "-r", two_versions)
    assert result.exit_code == 1
    assert "'versions/v1/manifest.json' is damaged" in " ".join(result.output.split())
    assert run("models", "show", "v2", "-r", two_versions).exit_code == 0


@pytest.mark.parametrize("content", ['{"version": ', "[]", '{"version": "x"}', "\xff"])
def test_a_damaged_alias_file_is_named_and_can_be_set_again(two_versions, content) -> None:
    (two_versions / "aliases" / "champion.json").write_text(content, encoding="latin-1")
    result = run("models", "list", "-r", two_versions)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "v1" in text and "v2" in text
    assert "'aliases/champion.json' is damaged" in text and "estimo models alias" in text
    result = run("models", "show", "champion", "-r", two_versions)
    assert result.exit_code == 1 and "'aliases/champion.json' is damaged" in " ".join(
        result.output.split()
    )
    assert run("models", "alias", "champion", "v1", "-r", two_versions).exit_code == 0
    result = run("models", "list", "-r", two_versions)
    assert result.exit_code == 0, result.output


def test_an_alias_is_never_moved_onto_a_damaged_version(two_versions) -> None:
    """`models alias` and `models rollback` check the version's files first: a service
    polling the alias would otherwise be pointed at a model it cannot load."""
    folder = two_versions / "versions" / "v1"
    victim = next(p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix == ".txt")
    victim.write_bytes(victim.read_bytes()[:50])
    moved = run("models", "alias", "champion", "v1", "-r", two_versions)
    assert moved.exit_code == 1 and "damaged" in " ".join(moved.output.split())
    back = run("models", "rollback", "champion", "-r", two_versions, "--to", "v1")
    assert back.exit_code == 1 and "damaged" in " ".join(back.output.split())
    held = run("models", "history", "champion", "-r", two_versions)
    assert "rollback" not in held.output  # the alias did not move


@pytest.mark.parametrize(
    ("url", "says"), [("sqlite:///x.db", "not a folder or fsspec URL"), ("s3://b/m", "s3fs")]
)
def test_a_registry_url_estimo_cannot_open_is_named(url: str, says: str) -> None:
    result = run("models", "list", "-r", url)
    assert result.exit_code in (1, 2) and says in " ".join(result.output.split())
    assert "unexpected failure" not in result.output


@pytest.mark.parametrize("day", ["2026-13-01", "yesterday"])
def test_a_monitor_day_that_is_not_a_date_is_a_usage_error(day: str, tmp_path: Path) -> None:
    result = run("monitor", "--since", day, "--out", tmp_path / "m")
    assert result.exit_code == 2, result.output
    assert "--since" in result.output and "expected YYYY-MM-DD" in result.output
