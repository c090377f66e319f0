"""Outcomes in: the file import (CSV/Parquet, column mapping) and POST /v1/outcomes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from estimo.config import OutcomeImport
from estimo.errors import DataError
from estimo.monitor.api import MAX_OUTCOMES, outcomes_router
from estimo.monitor.outcomes import import_outcomes, read_outcomes
from estimo.monitor.store import StoreError, ValuationStore

APPRAISALS = pd.DataFrame(
    {
        "ref": ["P1", "P2", "P3"],
        "valuer": ["A1", "A1", "A2"],
        "value_eur": [250_000, 180_500.5, 99_000],
        "when": ["03/2024", "04/2024", "04/2024"],
        "type": ["appraisal", "appraisal", "appraisal"],
    }
)
MAPPING = OutcomeImport(
    columns={
        "property_id": "ref",
        "appraiser_id": "valuer",
        "price": "value_eur",
        "date": "when",
        "kind": "type",
    },
    date_format="%m/%Y",
    source="bank-x",
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_import_is_idempotent(store: ValuationStore, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"appraisals{suffix}"
    if suffix == ".csv":
        APPRAISALS.to_csv(path, index=False)
    else:
        APPRAISALS.to_parquet(path, index=False)
    first = import_outcomes(store, str(path), MAPPING)
    assert first == {"rows": 3, "inserted": 3, "updated": 0, "unchanged": 0}
    again = import_outcomes(store, str(path), MAPPING)
    assert again == {"rows": 3, "inserted": 0, "updated": 0, "unchanged": 3}
    frame = store.outcomes_frame().sort_values("property_id")
    assert frame["price"].tolist() == [250_000.0, 180_500.5, 99_000.0]
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01",
        "2024-04-01",
        "2024-04-01",
    ]
    assert set(frame["source"]) == {"bank-x"} and set(frame["kind"]) == {"appraisal"}
    assert frame["appraiser_id"].tolist() == ["A1", "A1", "A2"]


def test_canonical_names_need_no_mapping(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    pd.DataFrame(
        {"property_id": ["P1"], "price": [1.0e5], "date": ["2024-01-31"], "request_id": ["r9"]}
    ).to_csv(path, index=False)
    rows = read_outcomes(str(path))
    assert rows == [
        {
            "property_id": "P1",
            "price": 1.0e5,
            "date": pd.Timestamp("2024-01-31"),
            "request_id": "r9",
            "kind": "sale",
            "source": "import",
        }
    ]


def test_a_mapping_that_does_not_fit_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"a": [1]}).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_outcomes(str(path), OutcomeImport(columns={"price": "Price"}, kind="Kind"))
    text = str(err.value)
    assert "mapped columns not found: 'Kind' (for 'kind'), 'Price' (for 'price')" in text
    assert "outcome field 'date' has no column" in text
    assert "neither 'property_id' nor 'request_id'" in text


def test_bad_rows_are_listed_and_nothing_is_stored(store: ValuationStore, tmp_path: Path) -> None:
    bad = APPRAISALS.assign(value_eur=[250_000, -3, 99_000], when=["03/2024", "04/2024", "x"])
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        import_outcomes(store, str(path), MAPPING)
    assert "row 1: price is -3" in str(err.value)
    assert "row 2: date is 'x'" in str(err.value)
    assert store.count_outcomes() == 0


def client_for(store: ValuationStore) -> TestClient:
    app = FastAPI()
    app.include_router(outcomes_router(lambda: store))
    return TestClient(app)


SALE = {
    "kind": "sale",
    "property_id": "P1",
    "price": 250_000,
    "date": "2024-05-01",
    "source": "notary",
}


def test_post_one_or_many_outcomes(store: ValuationStore) -> None:
    client = client_for(store)
    answer = client.post("/v1/outcomes", json=SALE)
    assert answer.status_code == 200
    assert answer.json() == {"received": 1, "inserted": 1, "updated": 0, "unchanged": 0}
    many = [
        SALE,
        {
            **SALE,
            "kind": "appraisal",
            "appraiser_id": "A3",
            "price": 240_000,
            "date": "2024-04-20T09:30:00Z",
            "source": "bank",
        },
    ]
    answer = client.post("/v1/outcomes", json=many)
    assert answer.json() == {"received": 2, "inserted": 1, "updated": 0, "unchanged": 1}
    frame = store.outcomes_frame()
    assert frame["kind"].tolist() == ["appraisal", "sale"]
    assert frame["date"].iloc[0] == pd.Timestamp("2024-04-20 09:30:00")


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ({**SALE, "price": -1}, ["body", "price"], "greater than 0"),
        ({**SALE, "kind": "rent"}, ["body", "kind"], "Input should be 'appraisal'"),
        ({**SALE, "property_id": None}, ["body"], "give property_id or request_id"),
        ({**SALE, "appraiser_id": "A1"}, ["body"], "only appraisals have an appraiser"),
        ({**SALE, "colour": "red"}, ["body", "colour"], "Extra inputs are not permitted"),
        ([SALE, {**SALE, "date": "soon"}], ["body", 1, "date"], "valid date"),
        ({**SALE, "date": "2999-01-01"}, ["body", "date"], "an outcome has happened"),
        ({**SALE, "date": "0024-05-01"}, ["body", "date"], "from 1900-01-01 on"),
        ({**SALE, "date": "9999-12-31T23:59:00-05:00"}, ["body", "date"], "before 9999"),
        ({**SALE, "source": "   "}, ["body", "source"], "source is blank"),
        ({**SALE, "source": "a\u0000b"}, ["body", "source"], "control character"),
        ({**SALE, "property_id": "x\u0000y"}, ["body", "property_id"], "control character"),
    ],
)
def test_bad_outcomes_get_a_422_with_the_field(
    store: ValuationStore, body: object, where: list, message: str
) -> None:
    answer = client_for(store).post("/v1/outcomes", json=body)
    assert answer.status_code == 422
    details = answer.json()["detail"]
    hits = [d for d in details if d["loc"][: len(where)] == where and message in d["msg"]]
    assert hits, details
    assert store.count_outcomes() == 0


def test_an_empty_or_too_long_list_is_refused(store: ValuationStore) -> None:
    client = client_for(store)
    assert client.post("/v1/outcomes", json=[]).status_code == 422
    assert client.post("/v1/outcomes", json=[SALE] * (MAX_OUTCOMES + 1)).status_code == 413


def test_an_unreachable_store_is_a_503() -> None:
    class DownStore:
        def record_outcomes(self, rows: object) -> dict:
            raise StoreError("cannot open the monitoring store at 'postgresql://db'")

    app = FastAPI()
    app.include_router(outcomes_router(lambda: DownStore()))
    answer = TestClient(app).post("/v1/outcomes", json=SALE)
    assert answer.status_code == 503
    assert "cannot open the monitoring store" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("dates", "fmt", "expected"),
    [
        # the day/month order is the whole column's: 03/11 is 3 November beside 25/11
        (["25/11/2024", "03/11/2024"], None, ["2024-11-25", "2024-11-03"]),
        ([1730419200, 1730505600], "unix", ["2024-11-01", "2024-11-02"]),
        ([45597, 45598], "excel", ["2024-11-01", "2024-11-02"]),
        ([20241101, 20241102], "%Y%m%d", ["2024-11-01", "2024-11-02"]),
    ],
)
def test_outcome_dates_are_read_as_the_data_loader_reads_dates(
    tmp_path: Path, dates: list, fmt: str | None, expected: list[str]
) -> None:
    path = tmp_path / "sales.csv"
    pd.DataFrame({"property_id": ["P1", "P2"], "price": [1.0e5, 2.0e5], "date": dates}).to_csv(
        path, index=False
    )
    rows = read_outcomes(str(path), OutcomeImport(date_format=fmt))
    assert [f"{r['date']:%Y-%m-%d}" for r in rows] == expected


def test_dates_written_as_numbers_need_a_format(tmp_path: Path) -> None:
    """Before, 20241101 was stored as 1970-01-01 00:00:00.020241101 (nanoseconds)."""
    path = tmp_path / "sales.csv"
    pd.DataFrame({"property_id": ["P1"], "price": [1.0e5], "date": [20241101]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="dates are numbers"):
        read_outcomes(str(path))


def test_the_same_new_outcome_sent_twice_at_once_is_stored_once(store: ValuationStore) -> None:
    """Two writers (a client retrying a slow post, two importers) of the same outcomes:
    the second one's insert met the first one's rows (a 500 on PostgreSQL)."""
    import threading

    rows = [{**SALE, "property_id": f"P-{i}"} for i in range(50)]
    results: list[dict] = []
    barrier = threading.Barrier(2)

    def write() -> None:
        barrier.wait()
        results.append(store.record_outcomes(rows))

    for _ in range(5):
        threads = [threading.Thread(target=write) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = [{**r, "property_id": r["property_id"] + "x"} for r in rows]  # new ones
    assert len(results) == 10
    assert sum(r["inserted"] for r in results) == 250 == store.count_outcomes()
    assert all(r["inserted"] + r["unchanged"] == 50 for r in results)


def test_an_imported_outcome_in_the_future_or_with_a_control_character_is_refused(
    store: ValuationStore,
) -> None:
    from estimo.errors import DataError

    for bad in ({**SALE, "date": "2999-01-01"}, {**SALE, "source": "a\x00b"}):
        with pytest.raises(DataError, match="row 0: (date|source)"):
            store.record_outcomes([bad])
    assert store.count_outcomes() == 0
