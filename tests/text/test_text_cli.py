"""`estimo text extract` and its report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from estimo.cli import app
from estimo.text import FIELDS

runner = CliRunner()


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "ads.csv"
    pd.DataFrame(
        {
            "listing_id": ["a1", "a2", "a3"],
            "description": [
                "Trilocale di 85 mq al secondo piano con ascensore. Tel. 333 1234567",
                "Piso de 3 dormitorios y 2 baños, sin ascensor, info@inmo.es",
                None,
            ],
        }
    ).to_csv(path, index=False)
    return path


def test_extract_writes_the_table_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["text", "extract", str(_table(tmp_path)), "--id-column", "listing_id", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "extracted.parquet")
    assert list(table.columns[: 1 + len(FIELDS)]) == ["listing_id", *FIELDS]
    assert table["listing_id"].tolist() == ["a1", "a2", "a3"]
    assert table.loc[0, "floor"] == 2.0
    assert table.loc[0, "floor_span"] == "secondo piano"
    assert table.loc[1, "bedrooms"] == 3.0
    assert not table.loc[1, "has_elevator"]
    assert table.loc[2, FIELDS].isna().all()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<mark>secondo piano</mark>" in page
    assert "1234567" not in page and "info@inmo.es" not in page
    assert "1 phone, 1 email" in result.output


def test_a_lower_floor_keeps_less_certain_facts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["text", "extract", str(_table(tmp_path)), "--id-column", "listing_id"]
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    strict = pd.read_parquet(out / "extracted.parquet")
    assert pd.isna(strict.loc[0, "area_m2"])  # below the Italian area's learned threshold
    result = runner.invoke(app, [*args, "--min-confidence", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "extracted.parquet")
    assert table.loc[0, "area_m2"] == 85.0
    assert table.loc[0, "area_m2_span"] == "85 mq"
    assert 0.5 <= table.loc[0, "area_m2_confidence"] < 0.95


def test_missing_column_is_named(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "text",
            "extract",
            str(_table(tmp_path)),
            "--text-column",
            "testo",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "--text-column 'testo' is not a column" in result.output


def test_bad_language_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["text", "extract", str(_table(tmp_path)), "--lang", "fr", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--lang is 'fr'" in result.output


def test_an_excel_export_with_accents_and_semicolons_is_read(tmp_path) -> None:
    """A cp1252 or ';' CSV could not be read, and the advice named a setting this command
    does not have."""
    import pandas as pd

    from estimo.cli import app

    path = tmp_path / "listings.csv"
    path.write_bytes("id;description\n1;Trilocale di 80 mq con box, città\n".encode("cp1252"))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["text", "extract", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    extracted = pd.read_parquet(out / "extracted.parquet")
    assert len(extracted) == 1 and extracted["rooms"].iloc[0] == 3  # "Trilocale"
