"""The one-property fast path: what the engine precomputes, and the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    assert np.array_equal(engine._comps_log(rows, comps_at), expected)
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


def test_a_tree_saved_by_another_scikit_learn_is_built_again(engine) -> None:
    from sklearn.neighbors import KDTree

    from estimo.features.tree_arrays import restore_tree, tree_table

    data = engine.stage_.location.xyz_
    table, facts = tree_table(engine.stage_.location.tree_)
    assert restore_tree(KDTree, data, table, {**facts, "sklearn": "0.0"}) is None
    assert restore_tree(KDTree, data[:-1], table, facts) is None
