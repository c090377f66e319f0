"""`estimo value` and `estimo explain` on a small saved model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _explain_helpers import fitted_model
from estimo.cli import app
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline

runner = CliRunner()
PROPERTY = {
    "city": "Milano",
    "area_m2": 95,
    "rooms": 3,
    "year_built": 1962,
    "property_type": "flat",
    "condition": "to_renovate",
    "has_terrace": "yes",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    _, train, _ = fitted_model()
    engine = AVM(n_estimators=40, min_city_rows=300, comps_k=5)
    pipeline = ValuationPipeline(engine=engine, currency="EUR").fit(train)
    folder = tmp_path_factory.mktemp("model")
    pipeline.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory) -> Path:
    _, train, _ = fitted_model()
    path = tmp_path_factory.mktemp("data") / "train.csv"
    train.to_csv(path, index=False)
    return path


def test_value_prints_an_explanation(model_dir):
    result = runner.invoke(
        app, ["value", "--model", str(model_dir), "--property", json.dumps(PROPERTY)]
    )
    assert result.exit_code == 0, result.output
    assert "Why this price" in result.output and "Size (95 m²)" in result.output
    assert "area_m2" not in result.output


def test_value_json_in_italian_adds_up(model_dir):
    args = [
        "value",
        "-m",
        str(model_dir),
        "--lang",
        "it",
        "--json",
        "-p",
        json.dumps([PROPERTY] * 2),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    explanations = json.loads(result.output)
    assert len(explanations) == 2
    for e in explanations:
        assert e["baseline"] + sum(r["amount"] for r in e["reasons"]) == e["price"]
        assert e["text"]["reasons"][0].startswith(e["reasons"][0]["label"])


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [  # README: 1 bad data (the property), 2 bad usage
        (["--property", '{"city": "Milano", "area_m2": '], "not valid JSON", 1),
        (["--property", '"Milano"'], "expected a JSON object", 1),
        (["--property", '{"city": "Milano", "area_m2": "big"}'], "'area_m2' is 'big'", 1),
        (["--property", '{"area_m2": 80}'], "'city'", 1),
        (["--property", "{}", "--lang", "fr"], "--lang", 2),
        ([], "exactly one of", 2),
    ],
)
def test_bad_input_gives_a_clear_message_and_the_documented_exit_code(
    model_dir, args, message, code
):
    result = runner.invoke(app, ["value", "--model", str(model_dir), *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_value_from_a_file_with_html(model_dir, tmp_path):
    path = tmp_path / "props.json"
    path.write_text(json.dumps([PROPERTY, {**PROPERTY, "area_m2": 50}]), encoding="utf-8")
    out = tmp_path / "html"
    result = runner.invoke(
        app, ["value", "-m", str(model_dir), "-f", str(path), "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["explanation_1.html", "explanation_2.html"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("props.csv", "id,city,area_m2\n007,Milano,80\n"),
        ("props.json", '[{"id": "007", "city": "Milano", "area_m2": 80}]'),
        ("one.json", '{"id": "007", "city": "Milano", "area_m2": 80}'),  # one object
    ],
)
def test_value_from_a_file_keeps_the_id_as_written(model_dir, tmp_path, name, text):
    """A CSV or JSON file's "007" came back as 7 (a single JSON object was refused)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["value", "-m", str(model_dir), "-f", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (answer,) = json.loads(result.output)
    assert answer["valuation"]["subject_id"] == "007"


def test_explain_writes_the_report_and_a_reference_used_by_value(model_dir, data_csv, tmp_path):
    out = tmp_path / "explain"
    result = runner.invoke(
        app,
        ["explain", "-m", str(model_dir), "-d", str(data_csv), "-o", str(out), "--sample", "40"],
    )
    assert result.exit_code == 0, result.output
    html = (out / "global_report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 4 and "Milano" in html
    report = json.loads((out / "global_report.json").read_text(encoding="utf-8"))
    assert {c["city"] for c in report["cities"]} >= {"Milano", "Roma"}
    result = runner.invoke(
        app,
        [
            "value",
            "-m",
            str(model_dir),
            "--reference",
            str(out / "explain_reference.json"),
            "-p",
            json.dumps(PROPERTY),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "typical 3-room flat in Milano" in result.output
