"""The description in the cleaning policy: fills, never overwrites, logs, audits, masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.config import QualityConfig, TextSettings
from estimo.quality import audit
from estimo.quality.clean import CHANGE_COLUMNS, CleaningPolicy

TEXTS = [
    "Trilocale di 85 mq al secondo piano con ascensore e box auto. Tel. 333 1234567",
    "Bilocale di 55 mq al piano terra, senza ascensore, con cantina",
    "Quadrilocale di 120 mq, terzo piano, con terrazzo e box auto",
    "Monolocale di 30 mq con balcone, info@agenzia.it",
]


def _frame(n_copies: int = 30) -> pd.DataFrame:
    """A small market where some structured values are missing and the text states them."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_copies * len(TEXTS)):
        k = i % len(TEXTS)
        area = [85.0, 55.0, 120.0, 30.0][k]
        rows.append(
            {
                "id": f"L{i:04d}",
                "price": area * 3000 * float(rng.uniform(0.9, 1.1)),
                "date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(i)),
                "city": "Milano",
                "area_m2": area,
                "rooms": [3.0, 2.0, 4.0, 1.0][k],
                "floor": [2.0, 0.0, 3.0, 1.0][k],
                "description": TEXTS[k],
            }
        )
    frame = pd.DataFrame(rows)
    frame.loc[frame.index % 4 == 0, "floor"] = np.nan  # the text states floors 2
    frame.loc[1, "floor"] = 3.0  # given value the text contradicts ("piano terra")
    return frame


@pytest.fixture(scope="module")
def result():
    frame = _frame()
    policy = CleaningPolicy(QualityConfig(critical_columns=["price", "city"])).fit(frame)
    return frame, policy, policy.transform(frame, mode="predict")


def test_missing_floor_is_filled_from_the_text_and_logged(result) -> None:
    frame, _, out = result
    missing = frame["floor"].isna().to_numpy()
    assert (out.frame.loc[missing, "floor"] == 2.0).all()
    log = out.changes[out.changes["rule"] == "text.floor"]
    assert list(out.changes.columns) == CHANGE_COLUMNS
    assert set(log["row"]) == set(np.flatnonzero(missing))
    assert set(log["span"]) == {"secondo piano"}
    expected = "floor was missing; read 2 from the description ("
    assert any(w.startswith(expected) for w in out.warnings[0])


def test_given_values_are_never_overwritten(result) -> None:
    frame, _, out = result
    assert out.frame.loc[1, "floor"] == 3.0
    given = frame["floor"].notna().to_numpy()
    assert (out.frame.loc[given, "floor"].to_numpy() == frame.loc[given, "floor"]).all()
    assert not out.changes[(out.changes["rule"] == "text.floor")]["row"].isin([1]).any()


def test_amenities_become_columns_in_the_table_representation(result) -> None:
    _, policy, out = result
    assert {"has_elevator", "has_garage", "has_cellar"} <= set(policy.text_plan_["amenities"])
    assert out.frame.loc[0, "has_elevator"] == 1.0
    assert out.frame.loc[1, "has_elevator"] == 0.0
    assert np.isnan(out.frame.loc[3, "has_elevator"])
    assert out.summary["text"]["filled"]["has_garage"] == 60


def test_contact_details_are_masked_and_counted(result) -> None:
    _, _, out = result
    assert out.frame.loc[0, "description"].endswith("Tel. [phone]")
    assert "[email]" in out.frame.loc[3, "description"]
    assert out.summary["text"]["contacts_masked"] == {"phone": 30, "email": 30, "url": 0}


def test_disagreement_is_an_audit_finding() -> None:
    report = audit(_frame())
    found = {(f.rule, f.column): f for f in report.findings}
    assert found[("text.disagreement", "floor")].count == 1
    assert found[("text.contacts", "description")].count == 60


def test_predict_mode_creates_the_same_amenity_columns(result) -> None:
    _, policy, _ = result
    one = pd.DataFrame(
        {
            "id": ["x"],
            "price": [1.0],
            "date": [pd.Timestamp("2024-06-01")],
            "city": ["Milano"],
            "area_m2": [70.0],
            "description": ["Bilocale con cantina, senza ascensore"],
        }
    )
    out = policy.transform(one, mode="predict")
    for column in policy.text_plan_["amenities"]:
        assert column in out.frame
    assert out.frame.loc[0, "has_elevator"] == 0.0
    assert out.frame.loc[0, "has_cellar"] == 1.0


def test_reading_can_be_switched_off() -> None:
    frame = _frame(5)
    config = QualityConfig(critical_columns=["price", "city"], text=TextSettings(enabled=False))
    out = CleaningPolicy(config).fit(frame).transform(frame, mode="predict")
    assert "has_garage" not in out.frame
    assert not out.changes["rule"].str.startswith("text.").any()
    assert "text" not in out.summary


def test_a_table_without_description_is_unchanged_by_text() -> None:
    frame = _frame(5).drop(columns=["description"])
    policy = CleaningPolicy(QualityConfig(critical_columns=["price", "city"])).fit(frame)
    assert policy.text_plan_ is None
