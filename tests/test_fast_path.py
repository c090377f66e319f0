"""The one-property fast path: what the engine precomputes, and the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimo.bundle_folder import BundleFolder
from estimo.model.avm import AVM

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_city_rows": 300, "comps_k": 5}


@pytest.fixture(scope="module")
def engine(clean_market) -> AVM:
    frame = clean_market.frame
    return AVM(**FAST).fit(frame.loc[frame["date"] < "2023-09-01"])


def test_comparables_log_prices_are_the_hedonic_models_exactly(engine) -> None:
    reference = engine.finder_.reference_
    rows = np.arange(0, len(reference), 7)
    comps_at = reference.iloc[rows].reset_index(drop=True).assign(date=pd.Timestamp("2024-02-01"))
    expected = engine.stage_.hedonic_view().predict_log(comps_at)
    cities, dates = comps_at["city"].to_numpy(), comps_at["date"].to_numpy()
    assert np.array_equal(engine._comps_log(rows, cities, dates), expected)
    assert len(engine.comps_log_) == len(reference)


def test_saved_engine_keeps_the_comparables_log_prices(engine, tmp_path) -> None:
    folder = BundleFolder(str(tmp_path / "engine"))
    engine.to_bundle(folder)
    again = AVM.from_bundle(folder)
    assert np.array_equal(again.comps_log_, engine.comps_log_)
    subjects = engine.finder_.reference_.head(20)
    assert np.array_equal(again.predict(subjects), engine.predict(subjects))


def test_a_loaded_engine_reads_each_citys_part_on_first_use(engine, tmp_path) -> None:
    folder = BundleFolder(str(tmp_path / "lazy"))
    engine.to_bundle(folder)
    again = AVM.from_bundle(folder)
    boosters = again.stage_.model.boosters_
    assert boosters.loaded_names() == []
    assert again.finder_._trees == {}
    own = [c for c, r in engine.routing_.items() if r["served_by"] != "global"][0]
    subjects = engine.finder_.reference_.loc[lambda f: f["city"] == own].head(5)
    assert np.array_equal(again.predict(subjects), engine.predict(subjects))
    assert sorted(boosters.loaded_names()) == sorted(["(global)", own])
    assert list(again.finder_._trees) == [own]
    others = [c for c in engine.cities_ if c != own]
    seconds = again.load_cities(others[:1])
    assert set(seconds) == {f"comps:{others[0]}"} | ({others[0]} & set(boosters))
    assert getattr(again, "_reference_contributions", None) is None  # not read yet
    assert "comps contributions" in again.load_cities()  # every city's: read now
    assert again._comps_contributions()._known.all()
    assert "comps contributions" not in again.load_cities()  # read once
    rest = engine.finder_.reference_.loc[lambda f: f["city"] != own].head(30)
    assert np.array_equal(again.predict(rest), engine.predict(rest))


def test_load_pipeline_reads_the_given_cities_parts_now(engine, tmp_path) -> None:
    from estimo.pipeline import ValuationPipeline, load_pipeline

    folder = str(tmp_path / "pipeline")
    ValuationPipeline.from_engine(engine).save(folder)
    city = engine.cities_[0]
    pipeline = load_pipeline(folder, cities=[city])
    boosters = pipeline.engine_.stage_.model.boosters_
    assert set(boosters.loaded_names()) == {"(global)"} | ({city} & set(boosters))
    assert list(pipeline.engine_.finder_._trees) == [city]
    record = {"city": city, "area_m2": 70, "rooms": 3, "date": "2024-01-15"}
    assert (
        pipeline.value_one(record).price
        == ValuationPipeline.from_engine(engine).value_one(record).price
    )


def test_the_location_search_tree_is_stored_not_rebuilt(engine, tmp_path, monkeypatch) -> None:
    import estimo.features.location as location

    folder = BundleFolder(str(tmp_path / "tree"))
    engine.to_bundle(folder)
    built = []
    monkeypatch.setattr(location, "KDTree", lambda *a, **k: built.append(1))
    monkeypatch.setattr(location, "restore_tree", lambda *a, **k: _restore(*a, **k))
    again = AVM.from_bundle(folder)
    assert built == []
    query = engine.stage_.location.xyz_[:50] + 1e-4
    mine, theirs = engine.stage_.location.tree_, again.stage_.location.tree_
    for a, b in zip(mine.query(query, 20), theirs.query(query, 20), strict=True):
        assert np.array_equal(a, b)


def _restore(tree_class, data, table, facts):
    from sklearn.neighbors import KDTree

    from estimo.features.tree_arrays import restore_tree

    return restore_tree(KDTree, data, table, facts)


def test_a_large_citys_comparables_trees_are_stored_not_rebuilt(
    engine, tmp_path, monkeypatch
) -> None:
    import estimo.model.comps_search as comps_search

    big = max(engine.finder_.cities_, key=lambda c: len(engine.finder_._city_rows[c]))
    n_big = len(engine.finder_._city_rows[big])
    monkeypatch.setattr(comps_search, "STORED_TREES_MIN_ROWS", n_big)  # only the biggest
    folder = BundleFolder(str(tmp_path / "comps_trees"))
    engine.to_bundle(folder)
    saved = folder.read_json("model.json")["comps"]["trees"]
    assert list(saved) == [big] and set(saved[big]) == {"geo", "features"}
    again = AVM.from_bundle(folder)
    real = comps_search.BallTree
    built = []

    class Spy(real):
        def __init__(self, data, *args, **kwargs):
            built.append(len(data))
            super().__init__(data, *args, **kwargs)

    monkeypatch.setattr(comps_search, "BallTree", Spy)
    again.load_cities()
    assert n_big not in built  # read, not built (a 2-row template tree aside)
    assert built and all(n < n_big for n in built)  # the smaller cities' are built
    subjects = engine.finder_.reference_.loc[lambda f: f["city"] == big].head(8)
    subjects = subjects.assign(id=None, lat=subjects["lat"] + 0.001)
    mine = engine._parts(subjects, "2023-10-01")["comps"].comparables
    theirs = again._parts(subjects, "2023-10-01")["comps"].comparables
    pd.testing.assert_frame_equal(mine, theirs)


def test_a_tree_saved_by_another_scikit_learn_is_built_again(engine) -> None:
    from sklearn.neighbors import KDTree

    from estimo.features.tree_arrays import restore_tree, tree_table

    data = engine.stage_.location.xyz_
    table, facts = tree_table(engine.stage_.location.tree_)
    assert restore_tree(KDTree, data, table, {**facts, "sklearn": "0.0"}) is None
    assert restore_tree(KDTree, data[:-1], table, facts) is None


def test_comparables_adjustments_are_exact_tree_contributions_kept_per_row(
    engine, monkeypatch
) -> None:
    reference = engine.finder_.reference_
    subjects = reference.sample(6, random_state=1).assign(id=None)
    result = engine._parts(subjects, "2023-10-01", explain=True)["comps"]
    table = result.comparables
    split = engine._comps_contributions()
    rows = table["row"].to_numpy()
    assert split._known[rows].all()
    subjects_at = subjects.reset_index(drop=True).assign(date=pd.Timestamp("2023-10-01"))
    log_split = split(subjects_at, table["subject"].to_numpy(), rows)
    # the subject-minus-comparable contributions add up to the hedonic adjustment
    assert np.allclose(log_split.sum(axis=1), table["hedonic_log"], atol=1e-9)
    assert "city" not in log_split and "location" in log_split
    for adjustments, price, adjusted in zip(
        table["adjustments"], table["price"], table["adjusted_price"], strict=True
    ):
        assert sum(adjustments.values()) == pytest.approx(adjusted - price, abs=1e-6)
    monkeypatch.setattr(split, "grouped", _refuse_reference_rows(split.grouped))
    again = engine._parts(subjects, "2023-10-01", explain=True)["comps"].comparables
    assert again["adjusted_price"].tolist() == table["adjusted_price"].tolist()


def _refuse_reference_rows(grouped):
    """``ReferenceContributions.grouped`` that fails when asked for reference rows (only
    subjects, whose features are given, may be explained)."""

    def only_subjects(frame, features=None, values=None):
        assert features is not None, "a reference row was explained again"
        return grouped(frame, features, values)

    return only_subjects


def test_saved_engine_keeps_every_comparables_contributions(engine, tmp_path) -> None:
    split = engine._comps_contributions()
    folder = BundleFolder(str(tmp_path / "split"))
    engine.to_bundle(folder)
    assert split._known.all()  # computed for every reference row when saved
    again = AVM.from_bundle(folder)
    loaded = again._comps_contributions()
    assert loaded._known.all() and loaded.groups == split.groups
    assert np.array_equal(loaded._values, split._values)
    fresh = split.grouped(engine.finder_.reference_.iloc[:50].reset_index(drop=True))
    assert np.allclose(loaded.of_rows(np.arange(50)), fresh, rtol=0, atol=1e-12)
    assert again.memory_bytes() >= loaded._values.nbytes


def test_a_saved_contributions_table_must_match_the_engine(engine) -> None:
    from estimo.errors import EstimoError

    split = engine._comps_contributions()
    table = split.table()
    with pytest.raises(EstimoError, match="expected .* rows .* and columns"):
        split.use_table(table.iloc[:-1], source="t.parquet")
    with pytest.raises(EstimoError, match="t.parquet has .* columns"):
        split.use_table(table[table.columns[::-1]], source="t.parquet")
    with pytest.raises(EstimoError, match="missing or infinite"):
        split.use_table(table.assign(**{table.columns[0]: np.nan}), source="t.parquet")


def test_subjects_hedonic_features_are_their_own_without_twins(engine) -> None:
    from estimo.features.location import has_twins, without_twins

    reference = engine.finder_.reference_
    subjects = reference.sample(40, random_state=3).assign(id=None).reset_index(drop=True)
    subjects.loc[::2, "area_m2"] += 40.0  # no twin of the same size any more
    full = engine.stage_.features(subjects)
    assert has_twins(full).any() and not has_twins(full).all()  # both kinds are checked
    pd.testing.assert_frame_equal(
        without_twins(full), engine.stage_.features(subjects, twins=False)
    )
    view = engine.stage_.hedonic_view()
    assert np.array_equal(
        view.at_reference(subjects, without_twins(full)), view.at_reference(subjects)
    )


def test_valuation_dates_computed_once_are_handed_down_as_they_are(engine) -> None:
    subjects = engine.finder_.reference_.head(3).reset_index(drop=True)
    dates = engine.stage_.valuation_dates(subjects, "2024-01-01")
    assert engine.stage_.valuation_dates(subjects, dates) is dates
    shifted = dates.set_axis([5, 6, 7])  # another frame's dates: read as values
    again = engine.stage_.valuation_dates(subjects, shifted)
    assert again.index.equals(subjects.index) and again.tolist() == dates.tolist()


CITIES = ("Milano", "Roma", "Torino", "Madrid", "Valencia", "Bologna", "Atlantis")
RECORD = st.fixed_dictionaries(
    {"city": st.one_of(st.sampled_from(CITIES), st.none())},
    optional={
        "area_m2": st.one_of(st.none(), st.floats(5, 400, allow_nan=False)),
        "rooms": st.one_of(st.none(), st.integers(0, 9)),
        "year_built": st.one_of(st.none(), st.integers(1850, 2024)),
        "floor": st.one_of(st.none(), st.integers(-1, 20)),
        "lat": st.one_of(st.none(), st.floats(36.0, 46.0)),
        "lon": st.one_of(st.none(), st.floats(-5.0, 13.0)),
        "property_type": st.one_of(st.none(), st.sampled_from(["flat", "house", "loft"])),
        "condition": st.one_of(st.none(), st.sampled_from(["good", "renovated", "to_renovate"])),
        "has_elevator": st.one_of(st.none(), st.booleans()),
        "date": st.dates(pd.Timestamp("2023-01-01").date(), pd.Timestamp("2024-06-30").date()),
    },
)


@pytest.fixture(scope="module")
def pipeline(market):
    from estimo.config import QualityConfig
    from estimo.pipeline import ValuationPipeline

    train = market.frame.loc[market.frame["date"] < "2023-09-01"]
    return ValuationPipeline(engine=AVM(**FAST), quality=QualityConfig()).fit(train)


def _unit(valuation) -> dict:
    """A valuation's numbers to the currency unit, its comparables and reasons."""
    return {
        "price": round(valuation.price),
        "range": (round(valuation.low), round(valuation.high)),
        "parts": (
            round(valuation.model_price),
            valuation.comps_price and round(valuation.comps_price),
        ),
        "comparables": [
            (c.id, round(c.adjusted_price), {k: round(v) for k, v in c.adjustments.items()})
            for c in valuation.comparables
        ],
        "reasons": [r.get("text") for r in valuation.reasons],
        "warnings": valuation.warnings,
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, min_size=2, max_size=4))
def test_one_property_gives_the_batch_numbers_to_the_currency_unit(pipeline, records) -> None:
    records = [{**r, "date": str(r["date"])} if "date" in r else r for r in records]
    valued = [r for r in records if r["city"] is not None]
    if not valued:
        return
    batch = pipeline.value_many(valued, explain=True)
    for record, in_batch in zip(valued, batch, strict=True):
        if isinstance(in_batch, Exception):  # refused in the batch: refused alone too
            with pytest.raises(type(in_batch)):
                pipeline.value_one(record, explain=True)
            continue
        alone = pipeline.value_one(record, explain=True)
        assert _unit(alone) == _unit(in_batch)
        plain = pipeline.value_one(record, explain=False)
        assert (plain.price, plain.low, plain.high) == (alone.price, alone.low, alone.high)


def test_a_property_is_valued_the_same_whatever_else_is_in_its_batch(pipeline, market) -> None:
    """The area-per-room rule judges an area against the training market's typical areas,
    not against the other properties of the batch: a 10x area typo is caught alone as in a
    batch of 25 homes of its city, and refused naming the usual areas (valued at a typical
    area instead, the owner would read a price for another home)."""
    from estimo.errors import InputError
    from estimo.jsonutil import to_jsonable

    later = market.frame.loc[market.frame["date"] >= "2023-09-01"]
    city = later["city"].value_counts().index[0]
    rows = later.loc[later["city"] == city].dropna(subset=["area_m2", "rooms"]).head(25)
    records = [
        to_jsonable(r)
        for r in rows.drop(columns=["price", "description"], errors="ignore").to_dict("records")
    ]
    records[0]["area_m2"] = records[0]["area_m2"] * 10
    batch = pipeline.value_many(records, explain=False)
    assert isinstance(batch[0], InputError)
    with pytest.raises(InputError) as alone_refused:
        pipeline.value_one(records[0], explain=False)
    assert alone_refused.value.problems == batch[0].problems
    assert "a room is usual" in batch[0].problems[0]["message"]
    for record, in_batch in zip(records[1:], batch[1:], strict=True):
        alone = pipeline.value_one(record, explain=False)
        assert (round(alone.price), alone.warnings) == (round(in_batch.price), in_batch.warnings)
        # and bit for bit: no sum whose order depends on the batch's size (BLAS's products)
        numbers = ("price", "low", "high", "fsd", "blend_weight", "model_price", "ranges")
        assert [getattr(alone, n) for n in numbers] == [getattr(in_batch, n) for n in numbers]
    # the batch path of a frame (a backtest's test rows) still drops such an area, saying so
    frame = pd.DataFrame([{**records[0], "date": pd.Timestamp(records[0]["date"])}])
    typo = f"area_m2 {records[0]['area_m2']:g} is implausible; ignored"
    assert typo in pipeline.value(frame)[0].warnings


def test_the_typical_areas_are_saved_with_the_cleaning_policy(pipeline, tmp_path) -> None:
    from estimo.pipeline import load_pipeline

    again = load_pipeline(pipeline.save(str(tmp_path / "p")))
    stats = pipeline.policy_.area_stats_
    assert stats.per_room and stats.area  # every city of the market has enough rows
    assert again.policy_.area_stats_ == stats


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=pd.Timestamp("1700-01-01"), max_value=pd.Timestamp("2250-01-01")
            ),
        ),
        max_size=30,
    )
)
def test_months_of_nanosecond_dates_equal_months_of_parsed_dates(values) -> None:
    """The engine's dates (``datetime64[ns]``) take a path without parsing: same months,
    to the bit, as the same dates given as Python objects (missing ones NaN)."""
    from estimo.model.comps_encoding import months

    stamps = pd.Series([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype="M8[ns]")
    fast = months(stamps)
    parsed = months(np.array([None if v is None else v for v in values], dtype=object))
    assert np.array_equal(fast, parsed, equal_nan=True)
    assert np.isnan(fast).tolist() == [v is None for v in values]


def test_a_yes_no_feature_given_as_a_boolean_is_read_as_the_training_word(pipeline) -> None:
    """The synthetic market writes ``has_elevator`` as "yes"/"no": a JSON ``true`` (or 1,
    "Yes", "true") is that "yes", not a level the model never saw (read as missing)."""
    assert pipeline.contract().extra_levels["has_elevator"] == ("no", "yes")
    base = {"city": "Milano", "area_m2": 80, "rooms": 3, "date": "2023-06-01"}

    def price(value):
        record = base if value is None else {**base, "has_elevator": value}
        return pipeline.value_one(record, explain=False).price

    yes, no = price("yes"), price("no")
    assert yes != no  # the feature moves the price here, so the test can tell
    assert price(True) == price(1) == price("Yes") == price("true") == yes
    assert price(False) == price(0) == price(" NO ") == no
    assert price("maybe") == price(None)  # a word the model never saw: read as missing


def test_a_numeric_feature_given_as_text_is_read_as_a_number_or_refused(pipeline) -> None:
    """``floors_in_building`` is a number in the synthetic market: "6" is 6, a yes/no word
    or boolean 1/0, and text that is no number is refused naming the field (before, it was
    valued as missing, silently)."""
    from estimo.errors import InputError

    assert "floors_in_building" in pipeline.contract().extra_numbers
    base = {"city": "Milano", "area_m2": 80, "rooms": 3, "date": "2023-06-01"}

    def price(value):
        record = {**base, "floors_in_building": value}
        return pipeline.value_one(record, explain=False).price

    assert price("6") == price(" 6 ") == price(6) == price(6.0)
    assert price(True) == price("yes") == price(1)
    with pytest.raises(InputError) as refused:
        price("0x10")
    problem = refused.value.problems[0]
    assert problem["field"] == "floors_in_building" and "0x10" in problem["value"]
    assert "expected a number" in problem["message"]
    with pytest.raises(InputError):
        price("lots")


def test_a_valuation_date_is_checked_as_the_records_own_date(pipeline) -> None:
    from estimo.errors import InputError

    base = {"city": "Milano", "area_m2": 80, "rooms": 3}
    at = pipeline.value_one(base, valuation_date="2023-06-01", explain=False)
    assert at.price == pipeline.value_one({**base, "date": "2023-06-01"}, explain=False).price
    assert at.valuation_date == pd.Timestamp("2023-06-01")
    for bad in ("1990-01-01", "2023-13-01", "2150-01-01"):
        with pytest.raises(InputError) as refused:
            pipeline.value_one(base, valuation_date=bad, explain=False)
        assert refused.value.problems[0]["field"] == "date"
        assert isinstance(pipeline.value_many([base], valuation_date=bad)[0], InputError)
