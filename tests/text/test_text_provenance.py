"""A fact read from the description is logged with its rule and span and named as such in
the valuation's explanation."""

from __future__ import annotations

import pandas as pd
import pytest

from estimo.config import QualityConfig
from estimo.explain.labels import Labeler
from estimo.explain.text import note_sentences
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline
from estimo.synth import generate_market

FAST = {"n_estimators": 40, "learning_rate": 0.15, "min_city_rows": 300}
TEXT = "Bilocale luminoso al secondo piano con ascensore e box auto."


@pytest.fixture(scope="module")
def pipeline_and_row():
    frame = generate_market(2_000, seed=12, faults=False).frame
    pipeline = ValuationPipeline(engine=AVM(**FAST), quality=QualityConfig()).fit(frame)
    row = frame.iloc[[5]].copy()
    row["floor"] = float("nan")
    row["description"] = TEXT
    return pipeline, row.reset_index(drop=True)


def test_the_explanation_says_the_floor_came_from_the_description(pipeline_and_row) -> None:
    pipeline, row = pipeline_and_row
    valuations, explanations = pipeline.value_explained(row, lang="en")
    assert 'floor was missing; read 2 from the description ("secondo piano")' in (
        valuations[0].warnings
    )
    notes = explanations[0].notes
    assert "Floor was not given; we read 2 from the description (“secondo piano”)." in notes
    assert "from the description (“secondo piano”)" in explanations[0].to_text()
    _, italian = pipeline.value_explained(row, lang="it")
    assert any("dalla descrizione («secondo piano»)" in n for n in italian[0].notes)


def test_a_given_floor_is_not_said_to_come_from_the_description(pipeline_and_row) -> None:
    pipeline, row = pipeline_and_row
    given = row.assign(floor=4.0)
    _, explanations = pipeline.value_explained(given, lang="en")
    assert not any("Floor was not given" in n for n in explanations[0].notes)


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("Bilocale luminoso, niente agenzie, tel 333 1234567, senza ascensore", "1234567"),
        ("Bilocale, scrivere a mario.rossi@example.it, senza ascensore", "mario.rossi"),
        ("Bilocale, foto su www.casa-esempio.it senza ascensore", "casa-esempio"),
    ],
)
def test_no_warning_quotes_the_contact_details_of_a_description(
    pipeline_and_row, text, contact
) -> None:
    """A fact read next to a phone number, e-mail or URL is quoted from the masked text."""
    pipeline, row = pipeline_and_row
    record = {"city": row.loc[0, "city"], "area_m2": 70.0, "rooms": 2.0, "description": text}
    valuation = pipeline.value_one(record, lang="it")
    said = [w for w in valuation.warnings if "description" in w]
    assert said and any("has_elevator" in w for w in said)  # the fact is still read
    assert not any(contact in w for w in valuation.warnings)


def test_the_change_log_names_the_text_rule_and_span(pipeline_and_row) -> None:
    pipeline, row = pipeline_and_row
    out = pipeline.policy_.transform(row.copy(), mode="predict")
    log = out.changes.set_index("rule")
    assert log.loc["text.floor", "span"] == "secondo piano"
    assert log.loc["text.floor", "new_value"] == "2"
    assert pd.isna(log.loc["text.floor", "old_value"])


@pytest.mark.parametrize(
    ("lang", "warning", "expected"),
    [
        (
            "en",
            'has_garage was missing; read yes from the description ("box auto")',
            "Garage was not given; we read yes from the description (“box auto”).",
        ),
        (
            "es",
            'area_m2 was missing; read 85 from the description ("85 m²")',
            "Superficie: no se indicó el dato; hemos leído 85 en la descripción («85 m²»).",
        ),
        ("it", 'has_elevator was missing; read no from the description ("senza ascensore")', None),
    ],
)
def test_note_sentences_word_text_facts(lang, warning, expected) -> None:
    notes = note_sentences([warning], Labeler(lang))
    if expected is None:
        assert len(notes) == 1 and "no" in notes[0] and "«senza ascensore»" in notes[0]
    else:
        assert notes == [expected]


def test_unlabelled_text_fields_stay_out_of_the_owners_text() -> None:
    notes = note_sentences(
        ['zz_internal was missing; read 3 from the description ("x")'], Labeler("en")
    )
    assert notes == []


def test_a_description_that_contradicts_a_given_field_is_said(pipeline_and_row) -> None:
    """The given value is used; the caller and the owner are told the text says otherwise."""
    from estimo.serve.warnings_text import translate_warnings

    pipeline, row = pipeline_and_row
    record = {
        "city": row.loc[0, "city"],
        "area_m2": 70.0,
        "rooms": 2.0,
        "floor": 4.0,
        "has_elevator": "yes",
        "description": "Bilocale al secondo piano, senza ascensore.",
    }
    valuation = pipeline.value_one(record, lang="it")
    said = [w for w in valuation.warnings if "but the description says" in w]
    assert (
        'floor is 4, but the description says 2 ("secondo piano"): the given value was used' in said
    )
    assert any(w.startswith("has_elevator is yes, but the description says no") for w in said)
    notes = pipeline.value_many_explained([record], lang="it")[0][1].notes
    assert any("hai indicato 4, ma la descrizione dice 2" in n for n in notes)
    italian = translate_warnings(said, "it")
    assert any("senza ascensore" in w and "hai indicato" in w for w in italian)
    without = pipeline.value_one({**record, "description": None}, lang="it")
    assert without.price == valuation.price  # the given values, not the text's


def test_the_same_descriptions_are_read_once(monkeypatch) -> None:
    """Training reads the descriptions in the audit, the plan and the cleaning: once."""
    from estimo.text import fill

    calls = []
    real = fill.extract
    monkeypatch.setattr(fill, "extract", lambda *a, **k: calls.append(1) or real(*a, **k))
    texts = [f"Bilocale di {50 + i} mq, tel 333 1234567, senza ascensore" for i in range(60)]
    first = fill.read_descriptions(texts)
    second = fill.read_descriptions(list(texts))
    assert len(calls) == 60
    assert second.redacted == first.redacted and second.contacts == first.contacts
    second.contacts["phone"] = -1  # a caller's change does not reach the kept reading
    assert fill.read_descriptions(texts).contacts == first.contacts
    fill.read_descriptions(texts[:-1])  # other descriptions: read
    assert len(calls) == 60 + 59
