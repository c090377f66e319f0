"""Fuzzed properties through every value path: a clear error or a valid answer (issue 17).

Random records (random types, huge, negative, NaN and infinite numbers, markup and odd
strings, dates in and out of range and of pandas' calendar, missing and unknown fields, lists
and objects) go through the input contract, ``ValuationPipeline.value_one`` /
``value_many``, ``estimo value`` (Typer's CliRunner) and ``POST /v1/valuations`` /
``/v1/valuations:batch`` (FastAPI's TestClient) on one small model fitted once. The property
checked everywhere: an :class:`~estimo.errors.EstimoError` naming its fields (exit 1 in the
CLI, 422 problem details in the API) or a valid valuation (finite price,
``low <= price <= high``, low confidence and a warning when the contract widened it); never
another exception, a traceback, a 500 or the malformed input echoed in full; and what must be
refused (NaN, Infinity, lists, markup, out-of-range numbers) never values.

The number of examples scales with ``ESTIMO_FUZZ_SCALE`` (default 1: about 20 s, ~700 cases;
CI runs 5).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from estimo.cli import app as cli_app
from estimo.errors import EstimoError, InputError
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline, load_pipeline
from estimo.property_input import PropertyContract
from estimo.schema import FIELDS, NUMERIC_FIELDS
from estimo.synth import generate_market

SCALE = max(1, int(os.environ.get("ESTIMO_FUZZ_SCALE", "1")))


def fuzz(examples: int) -> settings:
    """Hypothesis settings: ``examples`` times the scale, no deadline, derandomized at 1."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=SCALE == 1,
        database=None,
    )


CITIES = ("Milano", "Roma", "Madrid", "Atlantis")
_ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "[/]",
        "[/x]",
        "[bold]x[/bold]",
        "<script>alert(1)</script>",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e9",
        "1e400",
        "-50",
        "80",
        "0x10",
        "1_000",
        "€ 250.000",
        "Milano",
        "castle",
        "flat",
        "x" * 500,
        "\x00\x1b[31m",
        "é∞",
        "2024-05-01",
        "1500-01-01",
        "2100-01-01",
        "01/02/2023",
        "2024-13-45",
        "99999-01-01",
    ]
)
_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e4, 1e4),
    st.integers(-(10**15), 10**15),
    st.integers(-5, 3000),
)
_DATE = st.one_of(
    st.dates().map(str),
    st.dates(dt.date(2021, 1, 1), dt.date(2027, 12, 31)).map(str),
)
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    _NUMBER,
    _ODD_TEXT,
    st.text(max_size=20),
    _DATE,
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "$gt"]), st.integers(), max_size=2),
)
NAMES = st.one_of(
    st.sampled_from([*FIELDS, "floors_in_building", "has_terrace", "pool", "[/x]", "", "city "]),
    st.text(max_size=10),
)
PLAUSIBLE = st.fixed_dictionaries(
    {"city": st.sampled_from(CITIES[:3])},
    optional={
        "area_m2": st.floats(25, 300),
        "rooms": st.integers(1, 6),
        "bathrooms": st.integers(1, 3),
        "floor": st.integers(0, 8),
        "year_built": st.integers(1900, 2023),
        "lat": st.floats(36.0, 46.0),
        "lon": st.floats(-5.0, 13.0),
        "property_type": st.sampled_from(["flat", "house"]),
        "date": st.dates(dt.date(2022, 1, 1), dt.date(2025, 6, 30)).map(str),
    },
)
RECORD = st.one_of(
    PLAUSIBLE,
    st.tuples(PLAUSIBLE, st.dictionaries(NAMES, VALUE, max_size=3)).map(lambda t: {**t[0], **t[1]}),
    st.dictionaries(NAMES, VALUE, max_size=8),
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small pipeline fitted once, saved for the CLI, its engine saved for the service."""
    frame = generate_market(1_200, seed=3, faults=False).frame
    engine = AVM(n_estimators=15, min_city_rows=300, n_jobs=1, progress=False, currency="EUR")
    pipeline = ValuationPipeline(engine=engine).fit(frame)
    root = tmp_path_factory.mktemp("fuzz_value")
    folder = pipeline.save(str(root / "pipeline"))
    from estimo.model.bundle import save_model

    save_model(pipeline.engine_, str(root / "engine"))
    return {
        "pipeline": load_pipeline(folder),
        "folder": folder,
        "engine_folder": str(root / "engine"),
        "contract": pipeline.contract(),
    }


@pytest.fixture(scope="module")
def api(model: dict[str, Any]) -> Iterator[Any]:
    """A TestClient of the service over the engine bundle, open to anonymous callers."""
    from fastapi.testclient import TestClient

    from estimo.serve.main import create_app
    from estimo.serve.settings import ServeSettings

    settings_ = ServeSettings(
        model=model["engine_folder"],
        alias_poll_seconds=0,
        guard={  # open, and no rate limit in the way of the fuzzing
            "anonymous_tier": "internal",
            "address_limit": "1000000/second",
            "key_limits": {"internal": "1000000/second"},
        },
        extra_fields=["floors_in_building", "has_terrace"],
    )
    with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service never became ready"
            time.sleep(0.02)
        yield client


# ---------------------------------------------------------------------- oracles
def must_refuse(record: Any) -> bool:
    """Whether the contract must refuse ``record`` whatever the model (independent rules)."""
    if not isinstance(record, dict) or not isinstance(record.get("city"), str):
        return True
    if not record["city"].strip():
        return True
    for name, value in record.items():
        if isinstance(value, list | dict):
            return True
        if name in NUMERIC_FIELDS and value is not None:
            if isinstance(value, bool):
                return True
            if isinstance(value, float) and not math.isfinite(value):
                return True
            if name == "area_m2" and isinstance(value, int | float) and value <= 0:
                return True
        categories = ("city", "neighbourhood", "property_type")
        if isinstance(value, str) and name in categories and any(c in value for c in "[]<>{}"):
            return True
    return False


def check_valuation(answer: dict[str, Any]) -> None:
    """A valid answer: finite price inside a finite range; a widened one says why."""
    price, low, high = answer["price"], answer["low"], answer["high"]
    assert all(isinstance(x, int | float) and math.isfinite(x) for x in (price, low, high))
    assert 0 < low <= price <= high
    if answer.get("confidence") == "low":
        assert isinstance(answer["warnings"], list)


def check_problems(problems: list[dict[str, str]], contract: bool = True) -> None:
    """Field-level problems: each names a field, shows a short value and (the contract's)
    says what is expected."""
    assert problems
    for problem in problems:
        assert set(problem) >= {"field", "value", "message"}
        assert len(problem["value"]) <= 100, problem
        assert problem["message"]
        if contract:
            assert "expected" in problem["message"] or "unknown field" in problem["message"]


def contract_outcome(model: dict[str, Any], record: Any) -> Any:
    """The contract's verdict: the checked property, or the InputError."""
    try:
        return model["contract"].check(record)
    except InputError as exc:
        return exc


# ---------------------------------------------------------------------- entry points
@fuzz(400)
@given(record=RECORD)
def test_contract_refuses_with_field_messages_or_accepts_parsed_values(model, record) -> None:
    outcome = contract_outcome(model, record)
    if isinstance(outcome, InputError):
        check_problems(outcome.problems)
        assert len(str(outcome)) < 4_000
        return
    assert not must_refuse(record), record
    contract: PropertyContract = model["contract"]
    for name in NUMERIC_FIELDS:
        value = outcome.record.get(name)
        if value is None or name in ("price",):
            continue
        assert isinstance(value, float) and math.isfinite(value)
        low, high = contract.ranges.get(name, (None, None))
        assert (low is None or value >= low) and (high is None or value <= high), (name, value)
    assert outcome.widen == bool(outcome.warnings)


@fuzz(40)
@given(record=RECORD, explain=st.booleans())
def test_value_one_values_or_refuses_clearly(model, record, explain) -> None:
    pipeline = model["pipeline"]
    try:
        valuation = pipeline.value_one(record, explain=explain)
    except EstimoError as exc:
        assert isinstance(exc, InputError), repr(exc)
        check_problems(exc.problems)
        return
    assert not must_refuse(record), record
    check_valuation(valuation.to_dict())
    checked = model["contract"].check(record)
    if checked.widen:
        assert valuation.confidence == "low"
        assert set(checked.warnings) <= set(valuation.warnings)


@fuzz(12)
@given(records=st.lists(RECORD, min_size=1, max_size=10))
def test_value_many_answers_each_record_in_place(model, records) -> None:
    answers = model["pipeline"].value_many(records, explain=False)
    assert len(answers) == len(records)
    for record, answer in zip(records, answers, strict=True):
        if isinstance(answer, EstimoError):
            check_problems(answer.problems)
        else:
            assert not must_refuse(record), record
            check_valuation(answer.to_dict())


runner = CliRunner()


@fuzz(15)
@given(
    payload=st.one_of(
        RECORD.map(lambda r: json.dumps(r, allow_nan=True)),
        st.lists(RECORD, min_size=1, max_size=3).map(lambda r: json.dumps(r, allow_nan=True)),
        st.sampled_from(["", "{", "[]", "null", "[1, 2]", '"Milano"', "[" * 3000, "{'a': 1}"]),
        st.text(max_size=40),
    )
)
def test_cli_value_exits_as_documented_and_prints_no_traceback(model, payload) -> None:
    result = runner.invoke(cli_app, ["value", "-m", model["folder"], "--json", "-p", payload])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert "Traceback" not in result.output and "unexpected failure" not in result.output
    if result.exit_code == 1:
        assert result.stderr.startswith("error:")
        assert len(result.stderr) < 4_000  # the malformed input is never echoed in full
        assert str(Path(model["folder"]).parent) not in result.stderr  # no absolute path
        return
    answers = json.loads(result.stdout)
    for answer in answers:
        check_valuation(answer["valuation"])


def _post(client: Any, path: str, body: Any) -> Any:
    content = json.dumps(body, allow_nan=True)
    return client.post(path, content=content, headers={"content-type": "application/json"})


@fuzz(40)
@given(record=RECORD, explain=st.booleans())
def test_api_answers_a_valuation_or_a_problem_never_a_500(api, model, record, explain) -> None:
    response = _post(api, f"/v1/valuations?explain={str(explain).lower()}", record)
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    body = response.json()
    if response.status_code == 422:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert body["type"].startswith("urn:estimo:problem:")
        assert "Traceback" not in response.text and len(response.text) < 8_000
        if body.get("errors"):
            check_problems(body["errors"], contract=False)
        return
    assert not must_refuse(record), record
    check_valuation(body)


@fuzz(10)
@given(records=st.lists(RECORD, min_size=1, max_size=10))
def test_api_batch_answers_each_item_with_a_valuation_or_a_problem(api, records) -> None:
    response = _post(api, "/v1/valuations:batch?explain=false", {"properties": records})
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    if response.status_code == 422:
        return
    items = response.json()["items"]
    assert [i["index"] for i in items] == list(range(len(records)))
    for record, item in zip(records, items, strict=True):
        if item["ok"]:
            assert not must_refuse(record), record
            check_valuation(item["valuation"])
        else:
            assert item["problem"]["status"] == 422, item["problem"]
