"""The service values with the saved pipeline: a raw record gets the price of `estimo value`,
of the pipeline and of the backtest's path (cleaning in prediction mode), to the unit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _serve_helpers import OPEN, ready_client
from typer.testing import CliRunner

from estimo.cli import app as cli
from estimo.config import QualityConfig
from estimo.errors import EstimoError
from estimo.jsonutil import to_jsonable
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline, load_pipeline
from estimo.schema import FIELDS
from estimo.serve.main import create_app
from estimo.serve.settings import ServeSettings
from estimo.serve.valuer import PipelineValuer, load_valuer

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_city_rows": 300, "n_jobs": 1}
CUTOFF = "2023-09-01"


@pytest.fixture(scope="module")
def saved(market, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    """A pipeline (cleaning on) fitted on the faulty market before the cutoff, saved."""
    frame = market.frame
    train = frame.loc[frame["date"] < CUTOFF]
    pipeline = ValuationPipeline(engine=AVM(**FAST), quality=QualityConfig(), currency="EUR")
    folder = str(tmp_path_factory.mktemp("pipeline") / "model")
    pipeline.fit(train).save(folder)
    test = frame.loc[frame["date"] >= CUTOFF].reset_index(drop=True)
    return folder, test


def _records(test) -> list[dict]:
    records = []
    for _, raw in test.iterrows():
        record = to_jsonable({k: v for k, v in raw.items() if k not in ("price", "price_kind")})
        record = {k: v for k, v in record.items() if v is not None}
        record["date"] = f"{raw['date']:%Y-%m-%d}"
        records.append(record)
    return records


def test_the_api_price_is_estimo_values_and_the_pipelines(saved) -> None:
    folder, test = saved
    pipeline = load_pipeline(folder)
    records = _records(test.head(200))
    extra = sorted({k for r in records for k in r} - set(FIELDS))
    settings = ServeSettings(model=folder, guard=OPEN, alias_poll_seconds=0, extra_fields=extra)
    _, warnings = pipeline.cleaned(test.head(200))
    repaired = [i for i, w in enumerate(warnings) if w][:3]
    assert repaired, "the faulty market has rows the cleaning repairs"
    chosen = [0, 1, *repaired]
    served_repaired = 0
    for client in ready_client(create_app(settings)):
        for i in chosen:
            record = records[i]
            response = client.post("/v1/valuations", json=record)
            if response.status_code == 422:  # a fault the API refuses by field (e.g. area <= 0)
                assert response.json()["errors"], response.json()
                continue
            assert response.status_code == 200, response.json()
            served = response.json()
            out = CliRunner().invoke(
                cli, ["value", "-m", folder, "--json", "-p", json.dumps(record)]
            )
            assert out.exit_code == 0, out.output
            by_cli = json.loads(out.output)[0]["valuation"]
            table = pipeline.predict_table(test.iloc[[i]].drop(columns=["price"]))
            assert served["price"] == by_cli["price"] == pipeline.value_one(record).price
            assert served["price"] == float(table["predicted"].iloc[0])  # the backtest's path
            assert (served["low"], served["high"]) == (by_cli["low"], by_cli["high"])
            assert served["warnings"][: len(warnings[i])] == list(warnings[i])
            assert served["explanation"]["reasons"] and "reasons" not in served
            served_repaired += bool(warnings[i])
        assert served_repaired >= 1  # at least one row the cleaning repaired went through
        batch = client.post("/v1/valuations:batch", json={"properties": [records[0], records[1]]})
        items = batch.json()["items"]
        assert [it["valuation"]["price"] for it in items] == [
            pipeline.value_one(records[0]).price,
            pipeline.value_one(records[1]).price,
        ]


def test_the_cleanings_warnings_are_said_in_the_callers_language(saved) -> None:
    """ "floor was missing; used 2 (city)" in Italian and Spanish; as written in English."""
    folder, test = saved
    record = {k: v for k, v in _records(test.head(1))[0].items() if k != "floor"}
    extra = sorted(set(record) - set(FIELDS))
    settings = ServeSettings(model=folder, guard=OPEN, alias_poll_seconds=0, extra_fields=extra)
    for client in ready_client(create_app(settings)):
        said = {
            lang: client.post(
                "/v1/valuations", json=record, headers={"Accept-Language": lang}
            ).json()["warnings"]
            for lang in ("en", "it", "es")
        }
    english = [w for w in said["en"] if w.startswith("floor was missing; used ")]
    assert len(english) == 1, said["en"]
    at = said["en"].index(english[0])
    value = english[0].removeprefix("floor was missing; used ").split(" ")[0]
    assert said["it"][at].startswith(f"Piano: dato non indicato, abbiamo usato {value}, il valore ")
    assert said["es"][at].startswith(f"Planta: dato no indicado, usamos {value}, el valor ")


def test_the_cleaning_changes_what_is_served(saved) -> None:
    """Without the pipeline's cleaning the engine alone values a repaired row differently:
    the service must be serving the pipeline, not the engine."""
    folder, test = saved
    pipeline = load_pipeline(folder)
    head = test.head(200).drop(columns=["price"])
    _, warnings = pipeline.cleaned(head)
    rows = [i for i, w in enumerate(warnings) if w]
    raw = pipeline.engine_.predict_table(head.iloc[rows])["predicted"].to_numpy()
    cleaned = pipeline.predict_table(head.iloc[rows])["predicted"].to_numpy()
    assert (raw != cleaned).any()
    valuer = load_valuer(folder)
    assert isinstance(valuer, PipelineValuer)
    answers = valuer.value_many(_records(head.iloc[rows]), explain=False)
    # rows the contract refuses (an implausible value is not repaired at serving time) answer
    # with their error; every other one is the cleaned pipeline's price, not the engine's
    valued = [i for i, a in enumerate(answers) if not isinstance(a, Exception)]
    assert all(isinstance(a, EstimoError) for a in answers if isinstance(a, Exception))
    assert valued and (raw[valued] != cleaned[valued]).any()
    assert [answers[i]["price"] for i in valued] == cleaned[valued].tolist()


def test_a_folder_without_a_model_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(EstimoError, match="holds no valuation pipeline"):
        load_valuer(str(tmp_path))
