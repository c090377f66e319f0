from __future__ import annotations

from pathlib import Path

import pytest

from estimo.config import apply_env_overrides, load_config, validate_config
from estimo.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "estimo.yaml"
    path.write_text(text)
    return path


def test_load_resolves_data_path_against_the_project_file(tmp_path: Path) -> None:
    path = write(tmp_path, "data:\n  path: data/sales.csv\n  columns: {price: p}\n")
    config = load_config(path)
    assert config.resolved_data_path() == str((tmp_path / "data" / "sales.csv").resolve())
    assert config.data.columns["price"].column == "p"


def test_urls_are_not_resolved(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data:\n  path: s3://bucket/x.parquet\n"))
    assert config.resolved_data_path() == "s3://bucket/x.parquet"


def test_constant_and_date_parts() -> None:
    config = validate_config(
        {
            "data": {
                "path": "x.csv",
                "columns": {"city": {"value": "Melbourne"}, "date": {"year": "Y", "month": "M"}},
            }
        }
    )
    assert config.data.columns["city"].value == "Melbourne"
    assert config.data.columns["date"].input_columns == ["Y", "M"]


def test_a_date_shaped_value_that_is_no_date_is_named_not_a_crash(tmp_path: Path) -> None:
    from estimo.config import load_config

    path = tmp_path / "estimo.yaml"
    path.write_text("data:\n  path: x.csv\nbacktest:\n  cutoff: 2023-13-01\n")
    with pytest.raises(ConfigError, match=r"backtest.cutoff.*'2023-13-01' is not a date"):
        load_config(path)
    path.write_text("data:\n  path: x.csv\nbacktest:\n  cutoff: 2023-12-01\n")  # unquoted
    assert load_config(path).backtest.cutoff == "2023-12-01"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            {"data": {"path": "x", "columns": {"prize": "p"}}},
            "unknown canonical field(s) ['prize']",
        ),
        ({"data": {"path": "x", "area_unit": "acres"}}, "data.area_unit"),
        (
            {"data": {"path": "x", "columns": {"city": {"value": "A", "column": "c"}}}},
            "exactly one of",
        ),
        ({"data": {"path": "x"}, "engine": {"n_estimators": 0}}, "engine.n_estimators"),
        ({"data": {"path": "x"}, "modle": {}}, "modle"),
        ({"data": {"path": "x"}, "backtest": {"cutoff": "yesterday"}}, "backtest.cutoff"),
        ({"data": {"path": "x"}, "backtest": {"cutoff": "2023-02-30"}}, "backtest.cutoff"),
        ({}, "data"),
    ],
)
def test_invalid_configs_name_the_field(raw: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(raw)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


def test_env_overrides_reach_nested_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "data:\n  path: x.csv\nengine:\n  n_estimators: 100\n")
    config = load_config(
        path,
        env={"ESTIMO_ENGINE__N_ESTIMATORS": "7", "OTHER": "1", "ESTIMO_DATA__CURRENCY": "PLN"},
    )
    assert config.engine.n_estimators == 7
    assert config.data.currency == "PLN"


def test_env_override_into_a_scalar_is_refused() -> None:
    with pytest.raises(ConfigError, match="non-section"):
        apply_env_overrides({"data": "x"}, {"ESTIMO_DATA__PATH__DEEP": "1"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("data: [1, 2", "not valid YAML"), ("- a\n- b\n", "must hold a mapping")],
)
def test_unreadable_project_files(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text))


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_the_retired_model_section_points_to_engine(tmp_path: Path) -> None:
    """`model:` was read by no command: a project file with it is refused, saying where its
    settings go."""
    path = tmp_path / "estimo.yaml"
    path.write_text("data: {path: x.csv}\nmodel: {n_estimators: 500, learning_rate: 0.1}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "'model:' section is retired" in message
    assert "engine: {learning_rate: 0.1, n_estimators: 500}" in message


def test_a_model_override_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "estimo.yaml"
    path.write_text("data: {path: x.csv}\n")
    with pytest.raises(ConfigError, match="retired"):
        load_config(path, env={"ESTIMO_MODEL__N_ESTIMATORS": "40"})
    assert load_config(path, env={"ESTIMO_ENGINE__N_ESTIMATORS": "40"}).engine.n_estimators == 40


# ------------------------------------------------------- loading failures named (issue 17)
def test_a_repeated_key_is_refused_naming_the_key_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "data:\n  path: a.csv\n  path: b.csv\n")
    with pytest.raises(ConfigError, match=r"key 'path' appears twice \(lines 2 and 3\)"):
        load_config(path)


def test_a_project_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "estimo.yaml"
    path.write_bytes("data:\n  path: x.csv\n  columns: {city: {value: Mérida}}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text: byte 0xe9 on line 3.*UTF-8"):
        load_config(path)


@pytest.mark.parametrize("text", ["[", "{a: ", "a: b: c"])
def test_an_env_override_that_is_not_yaml_names_the_variable(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "data:\n  path: x.csv\n")
    with pytest.raises(ConfigError, match="environment variable ESTIMO_ENGINE__N_ESTIMATORS"):
        load_config(path, env={"ESTIMO_ENGINE__N_ESTIMATORS": text})


def test_a_home_folder_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'~/h.parquet' "did not exist" and registry.url '~/reg' made a folder named '~'."""
    from estimo.config import load_config

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project = tmp_path / "project" / "estimo.yaml"
    project.parent.mkdir()
    project.write_text("data:\n  path: ~/h.parquet\nregistry:\n  url: ~/reg\n")
    config = load_config(project)
    assert config.resolved_data_path() == str(tmp_path / "home" / "h.parquet")
    assert config.registry.resolved_url(config.base_dir) == str(tmp_path / "home" / "reg")


def test_unquoted_dates_and_yaml_words_are_read_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`max_date: 2030-01-01` was refused as 'datetime.date(2030, 1, 1)', `currency: NO`
    read as False, and a bad override blamed on the file."""
    from estimo.config import load_config

    path = tmp_path / "estimo.yaml"
    path.write_text(
        "data:\n  path: x.csv\n  currency: NO\n  min_date: 2000-01-01\n  as_of: 2024-05-01\n"
        "backtest:\n  cutoff: 2023-07-01\n"
    )
    monkeypatch.setenv("ESTIMO_DATA__MAX_DATE", "2030-01-01")
    config = load_config(path)
    assert (config.data.currency, config.data.min_date, config.data.max_date) == (
        "NO",
        "2000-01-01",
        "2030-01-01",
    )
    assert (config.data.as_of, config.backtest.cutoff) == ("2024-05-01", "2023-07-01")
    monkeypatch.setenv("ESTIMO_DATA__AREA_UNIT", "acres")
    with pytest.raises(ConfigError, match="from environment variable ESTIMO_DATA__AREA_UNIT"):
        load_config(path)
