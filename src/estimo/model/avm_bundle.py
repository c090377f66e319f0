"""Save and load a fitted :class:`~estimo.model.avm.AVM` without pickles.

Folder layout (local path or fsspec URL)::

    model.json              kind "avm", parameters, routing, blend weights, validation report
    models/<name>.txt       one LightGBM text model per sub-model ("(global)", cities)
    index.parquet           the price index table (city, month, log_index, ...)
    calibration.parquet     conformal quantiles and FSD per group
    location.parquet        training positions (x, y, z km), time-adjusted log price/m², ids
    neighbourhoods.parquet  neighbourhood encoding table (when the data has neighbourhoods)
    comps.parquet           the comparables reference table (training rows)

Loading reads text, JSON and Parquet only; KD-trees are rebuilt from the stored tables.
Used through :func:`estimo.model.bundle.save_model` / :func:`estimo.model.bundle.load_model`.
"""

from __future__ import annotations

import io
import json
from typing import Any

import fsspec
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.neighbors import KDTree

from estimo.features.location import TWIN_KEY_COLUMNS, LocationFeatures
from estimo.index import PriceIndex
from estimo.model.avm import AVM
from estimo.model.blend import BlendWeights
from estimo.model.comps import ComparablesFinder
from estimo.model.engine import EngineStage
from estimo.model.intervals import ConformalIntervals
from estimo.model.segmented import SegmentedModel
from estimo.model.valuation import FeatureSpec

KIND = "avm"


def _write_parquet(fs: Any, path: str, table: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    with fs.open(path, "wb") as fh:
        fh.write(buffer.getvalue())


def _read_parquet(fs: Any, path: str) -> pd.DataFrame:
    with fs.open(path, "rb") as fh:
        return pd.read_parquet(io.BytesIO(fh.read()))


def _model_file(name: str) -> str:
    return "models/" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + ".txt"


def avm_meta(model: AVM) -> dict[str, Any]:
    """JSON description of a fitted AVM (everything but the tables and tree models)."""
    stage = model.stage_
    seg = stage.model
    loc = stage.location
    return {
        "kind": KIND,
        "params": model.get_params(),
        "cities": list(model.cities_),
        "trained_until": model.trained_until_.isoformat(),
        "n_train": model.n_train_,
        "fit_seconds": model.fit_seconds_,
        "validation": model.validation_,
        "blend": None if model.blend_ is None else model.blend_.to_dict(),
        "intervals": {
            "params": model.intervals_.get_params(),
            "use_segments": model.intervals_.use_segments_,
        },
        "comps": None if model.finder_ is None else model.finder_.get_params(),
        "stage": {
            "dedupe": stage.dedupe,
            "use_offset": stage.use_offset,
            "twin_offset": stage.twin_offset,
            "reference_date": stage.reference_date_.isoformat(),
            "city_level": stage.city_level_,
            "global_level": stage.global_level_,
            "feature_names": stage.feature_names_,
            "n_train": stage.n_train_,
            "median_log_area": stage.median_log_area_,
        },
        "index_params": stage.index.get_params(),
        "location": {
            "params": loc.get_params(),
            "centres": {k: [float(x) for x in v] for k, v in loc.centres_.items()},
            "city_mean": None
            if loc.neighbourhood_table_ is None
            else {str(k): float(v) for k, v in loc.city_mean_.items()},
            "n_train": loc.n_train_,
        },
        "segmented": {
            "params": seg.get_params(),
            "numeric": list(seg.spec_.numeric),
            "categorical": {k: list(v) for k, v in seg.spec_.categorical.items()},
            "routing": seg.routing_,
            "rounds": seg.rounds_,
            "cities": list(seg.cities_),
            "n_train": seg.n_train_,
            "base_score": seg.base_score_,
            "files": {name: _model_file(name) for name in seg.boosters_},
        },
    }


def save_avm(model: AVM, fs: Any, root: str, meta: dict[str, Any]) -> None:
    """Write the AVM's tables and tree models under ``root``; ``meta`` goes to model.json."""
    stage = model.stage_
    seg = stage.model
    loc = stage.location
    fs.makedirs(f"{root}/models", exist_ok=True)
    for name, booster in seg.boosters_.items():
        with fs.open(f"{root}/{_model_file(name)}", "w") as fh:
            fh.write(booster.model_to_string())
    _write_parquet(fs, f"{root}/index.parquet", stage.index.table())
    _write_parquet(fs, f"{root}/calibration.parquet", model.intervals_.table_)
    location = pd.DataFrame(loc.xyz_, columns=["x", "y", "z"])
    location["value"] = loc.values_
    location["id"] = loc.ids_.astype(str)
    for i, name in enumerate(TWIN_KEY_COLUMNS):
        location[name] = loc.twin_keys_[:, i]
    _write_parquet(fs, f"{root}/location.parquet", location)
    if loc.neighbourhood_table_ is not None:
        _write_parquet(fs, f"{root}/neighbourhoods.parquet", loc.neighbourhood_table_)
    if model.finder_ is not None:
        _write_parquet(fs, f"{root}/comps.parquet", model.finder_.reference_)
    with fs.open(f"{root}/model.json", "w") as fh:
        json.dump(meta, fh, indent=2)


def load_avm(fs: Any, root: str, meta: dict[str, Any]) -> AVM:
    """Rebuild a fitted AVM from a folder written by :func:`save_avm`."""
    index = PriceIndex.from_table(_read_parquet(fs, f"{root}/index.parquet"), meta["index_params"])
    location = _load_location(fs, root, meta["location"])
    segmented = _load_segmented(fs, root, meta["segmented"])
    info = meta["stage"]
    stage = EngineStage(
        index,
        location,
        segmented,
        info["dedupe"],
        info["use_offset"],
        twin_offset=bool(info.get("twin_offset", False)),
    )
    stage.reference_date_ = pd.Timestamp(info["reference_date"])
    stage.city_level_ = {k: float(v) for k, v in info["city_level"].items()}
    stage.global_level_ = float(info["global_level"])
    stage.feature_names_ = list(info["feature_names"])
    stage.n_train_ = int(info["n_train"])
    stage.median_log_area_ = float(info["median_log_area"])

    model = AVM(**meta["params"])
    model.stage_ = stage
    model.cities_ = tuple(meta["cities"])
    model.trained_until_ = pd.Timestamp(meta["trained_until"])
    model.reference_date_ = stage.reference_date_
    model.routing_ = segmented.routing_
    model.n_train_ = int(meta["n_train"])
    model.fit_seconds_ = float(meta["fit_seconds"])
    model.validation_ = meta["validation"]
    model.blend_ = None if meta["blend"] is None else BlendWeights.from_dict(meta["blend"])
    model.intervals_ = ConformalIntervals.from_table(
        _read_parquet(fs, f"{root}/calibration.parquet"),
        meta["intervals"]["params"],
        bool(meta["intervals"]["use_segments"]),
    )
    model.finder_ = None
    if meta["comps"] is not None:
        reference = _read_parquet(fs, f"{root}/comps.parquet")
        model.finder_ = ComparablesFinder(**meta["comps"]).fit(reference)
    model.bundle_extra_ = meta.get("extra", {})
    return model


def _load_location(fs: Any, root: str, info: dict[str, Any]) -> LocationFeatures:
    # a bundle written before the twin features has no "twins" parameter: its trees never saw them
    loc = LocationFeatures(**{"twins": False, **info["params"]})
    table = _read_parquet(fs, f"{root}/location.parquet")
    loc.xyz_ = table[["x", "y", "z"]].to_numpy(float)
    loc.values_ = table["value"].to_numpy(float)
    loc.ids_ = table["id"].to_numpy(dtype=object)
    if all(name in table for name in TWIN_KEY_COLUMNS):
        loc.twin_keys_ = table[list(TWIN_KEY_COLUMNS)].to_numpy(float)
    else:  # a bundle written before the twin features
        loc.twin_keys_ = np.full((len(table), len(TWIN_KEY_COLUMNS)), np.nan)
    loc.tree_ = KDTree(loc.xyz_) if len(table) else None
    loc.centres_ = {k: np.asarray(v, dtype=float) for k, v in info["centres"].items()}
    loc.neighbourhood_table_ = None
    if info["city_mean"] is not None:
        loc.neighbourhood_table_ = _read_parquet(fs, f"{root}/neighbourhoods.parquet")
        loc.city_mean_ = pd.Series(info["city_mean"], dtype=float)
    loc.n_train_ = int(info["n_train"])
    return loc


def _load_segmented(fs: Any, root: str, info: dict[str, Any]) -> SegmentedModel:
    seg = SegmentedModel(**info["params"])
    seg.spec_ = FeatureSpec(
        numeric=tuple(info["numeric"]),
        categorical={k: tuple(v) for k, v in info["categorical"].items()},
    )
    seg.boosters_ = {}
    for name, path in info["files"].items():
        with fs.open(f"{root}/{path}", "r") as fh:
            seg.boosters_[name] = lgb.Booster(model_str=fh.read())
    seg.rounds_ = {k: int(v) for k, v in info["rounds"].items()}
    seg.cities_ = tuple(info["cities"])
    seg.routing_ = info["routing"]
    seg.n_train_ = int(info["n_train"])
    seg.base_score_ = float(info["base_score"])
    return seg


def open_folder(folder: str) -> tuple[Any, str]:
    """fsspec filesystem and root path of a folder URL."""
    return fsspec.core.url_to_fs(folder)
