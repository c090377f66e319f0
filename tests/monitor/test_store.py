"""The monitoring store on SQLite and PostgreSQL: migrations, writes, reads, idempotency."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import inspect

from estimo.errors import ConfigError, DataError
from estimo.monitor import migrate
from estimo.monitor.store import StoreError, ValuationStore
from estimo.monitor.tables import build_tables


def served(i: int, **over: object) -> dict:
    row = {
        "request_id": f"r{i}",
        "served_at": f"2024-05-{1 + i % 28:02d}T10:00:00+02:00",
        "property": {"id": f"P{i}", "city": "Milano", "property_type": "flat", "area_m2": 70.5},
        "answer": {
            "price": 300_000.0 + i,
            "low": 270_000.0,
            "high": 330_000.0,
            "sub_model": "city:Milano",
            "reasons": ["near the centre"],
        },
        "model_version": "v7",
        "tier": "pro",
    }
    row.update(over)
    return row


def test_migrations_build_the_tables_the_code_uses(store: ValuationStore) -> None:
    inspector = inspect(store.engine)
    expected = build_tables(store.table_prefix)
    for table in (expected.valuations, expected.outcomes):
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, column.name
        assert {tuple(i["column_names"]) for i in inspector.get_indexes(table.name)} == {
            tuple(c.name for c in i.columns) for i in table.indexes
        }
    assert store.revision() == migrate.head_revision()
    assert store.table_names() == sorted(
        [expected.version_table, expected.valuations.name, expected.outcomes.name]
    )


def test_opening_again_keeps_the_data_and_does_not_migrate(
    store: ValuationStore, store_url: str
) -> None:
    store.record_valuations([served(1)])
    again = ValuationStore.from_url(store_url, table_prefix=store.table_prefix, upgrade=False)
    assert again.count_valuations() == 1
    again.dispose()


def test_an_empty_database_without_upgrade_is_refused(store_url: str, table_prefix: str) -> None:
    with pytest.raises(StoreError, match="estimo monitor db upgrade"):
        ValuationStore.from_url(store_url, table_prefix=table_prefix, upgrade=False)


def test_valuations_round_trip(store: ValuationStore) -> None:
    assert store.record_valuations([served(1), served(2)]) == 2
    frame = store.valuations_frame(records=True)
    assert frame["request_id"].tolist() == ["r1", "r2"]
    first = frame.iloc[0]
    assert first["served_at"] == pd.Timestamp("2024-05-02T08:00:00")  # UTC
    assert (first["city"], first["property_type"], first["property_id"]) == ("Milano", "flat", "P1")
    assert (first["model_version"], first["sub_model"], first["tier"]) == (
        "v7",
        "city:Milano",
        "pro",
    )
    assert (first["price"], first["low"], first["high"]) == (300_001.0, 270_000.0, 330_000.0)
    assert first["record"] == {
        "id": "P1",
        "city": "Milano",
        "property_type": "flat",
        "area_m2": 70.5,
    }
    assert store.valuations_frame(since="2024-05-03", until="2024-05-04")[
        "request_id"
    ].tolist() == ["r2"]


def test_a_retried_request_is_stored_once(store: ValuationStore) -> None:
    store.record_valuations([served(1)])
    store.record_valuations([served(1, answer={"price": 1.0}), served(2)])
    frame = store.valuations_frame()
    assert frame["request_id"].tolist() == ["r1", "r2"]
    assert frame["price"].iloc[0] == 300_001.0  # the first answer stays


def test_bad_valuations_are_all_listed_and_nothing_is_written(store: ValuationStore) -> None:
    rows = [
        served(1),
        served(2, request_id=""),
        served(3, answer={"price": -5}),
        served(4, served_at="yesterday-ish"),
        served(5, property=[1, 2]),
    ]
    with pytest.raises(DataError) as err:
        store.record_valuations(rows)
    text = str(err.value)
    assert "4 served valuations cannot be stored" in text
    assert "row 1: request_id is ''" in text
    assert "row 2: answer.price is -5; expected a finite number > 0" in text
    assert "row 3: served_at is 'yesterday-ish'" in text
    assert "row 4: property is [1, 2]; expected a mapping" in text
    assert store.count_valuations() == 0


def outcome(**over: object) -> dict:
    row = {
        "kind": "appraisal",
        "property_id": "P1",
        "price": 305_000,
        "date": "2024-06-01",
        "appraiser_id": "A7",
        "source": "bank",
    }
    row.update(over)
    return row


def test_outcomes_are_idempotent_and_corrections_replace_the_price(store: ValuationStore) -> None:
    rows = [outcome(), outcome(kind="sale", appraiser_id=None, price=310_000, source="notary")]
    assert store.record_outcomes(rows) == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert store.record_outcomes(rows) == {"inserted": 0, "updated": 0, "unchanged": 2}
    corrected = [outcome(price=299_000)]
    assert store.record_outcomes(corrected) == {"inserted": 0, "updated": 1, "unchanged": 0}
    frame = store.outcomes_frame()
    assert store.count_outcomes() == 2
    appraisal = frame.loc[frame["kind"] == "appraisal"].iloc[0]
    assert (appraisal["price"], appraisal["appraiser_id"], appraisal["source"]) == (
        299_000.0,
        "A7",
        "bank",
    )
    assert appraisal["date"] == pd.Timestamp("2024-06-01")
    assert store.outcomes_frame(kinds=["sale"])["price"].tolist() == [310_000.0]


def test_duplicates_inside_one_batch_count_once(store: ValuationStore) -> None:
    assert store.record_outcomes([outcome(), outcome()]) == {
        "inserted": 1,
        "updated": 0,
        "unchanged": 1,
    }


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "rent"}, "kind is 'rent'; expected one of ['appraisal', 'sale', 'asking']"),
        ({"property_id": None}, None),
        ({"price": "abc"}, "price is 'abc'; expected a finite number > 0"),
        ({"date": None}, "date is missing"),
        ({"source": " "}, "source is ' '; expected a non-empty text"),
        ({"kind": "sale"}, "appraiser_id is 'A7' on a 'sale' outcome"),
    ],
)
def test_bad_outcomes_are_refused(store: ValuationStore, bad: dict, message: str | None) -> None:
    row = outcome(**bad)
    if message is None:  # a property id alone is missing: fine, as long as a request id is given
        with pytest.raises(DataError, match="property_id and request_id are both missing"):
            store.record_outcomes([row])
        assert store.record_outcomes([{**row, "request_id": "r1"}])["inserted"] == 1
        return
    with pytest.raises(DataError) as err:
        store.record_outcomes([outcome(), row])
    assert message in str(err.value)
    assert store.count_outcomes() == 0


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="monitor store URL 'nonsense:/x' is not valid"):
        ValuationStore.from_url("nonsense:/x")
    with pytest.raises(ConfigError, match="nosuchdriver.*is not valid .*Can't load plugin"):
        ValuationStore.from_url("postgresql+nosuchdriver://u@h/db")


def test_an_unreachable_database_is_a_store_error(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    with pytest.raises(StoreError, match="cannot open the monitoring store"):
        ValuationStore.from_url(url)


def test_bad_table_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="table_prefix is 'X;'"):
        ValuationStore.from_url("sqlite://", table_prefix="X;")


def test_naive_times_are_utc(store: ValuationStore) -> None:
    store.record_valuations([served(1, served_at=dt.datetime(2024, 1, 2, 3, 4, 5))])
    assert store.valuations_frame()["served_at"].iloc[0] == pd.Timestamp("2024-01-02 03:04:05")
