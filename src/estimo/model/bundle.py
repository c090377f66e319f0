"""Save and load fitted models without pickles: :class:`ValuationModel` and :class:`AVM`.

A bundle is a folder (local or any fsspec URL). A single
:class:`~estimo.model.valuation.ValuationModel` is its LightGBM text model (``model.txt``)
and a JSON description of the inputs and settings (``model.json``). An
:class:`~estimo.model.avm.AVM` is several LightGBM text models, Parquet tables (price index,
interval calibration, location and comparables reference) and ``model.json`` with
``"kind": "avm"``; each part of the engine saves and loads its own files
(``to_bundle``/``from_bundle``)::

    model.json              kind "avm", parameters, routing, blend weights, validation report
    models/<name>.txt       one LightGBM text model per sub-model ("(global)", cities)
    index.parquet           the price index table (city, month, log_index, ...)
    calibration.parquet     conformal quantiles and FSD per group
    location.parquet        training positions (x, y, z km), time-adjusted log price/m², ids
    neighbourhoods.parquet  neighbourhood encoding table (when the data has neighbourhoods)
    comps.parquet           the comparables reference table (training rows)
    checksums.json          SHA-256 of every file, written last; checked at load

Every model folder is written atomically (:meth:`~estimo.bundle_folder.BundleFolder.writing`)
and checked against its ``checksums.json`` before anything is parsed: a missing, truncated
or altered file gives one :class:`~estimo.errors.BundleError`. Loading parses text, JSON
and Parquet only: nothing stored executes code. What is served
is the :class:`~estimo.pipeline.ValuationPipeline`, which keeps its engine in such a folder.

Examples
--------
>>> import tempfile
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> market = generate_market(1_000, seed=2, faults=False)
>>> model = ValuationModel(n_estimators=20).fit(market.frame)
>>> folder = tempfile.mkdtemp()
>>> _ = save_model(model, folder)
>>> again = load_model(folder)
>>> head = market.frame.head(5)
>>> bool(abs(again.predict(head) - model.predict(head)).max() < 1e-6)
True
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import pandas as pd

from estimo import __version__
from estimo.bundle_folder import CHECKSUM_FILE, MANIFEST_KEY, BundleFolder
from estimo.errors import BundleError, EstimoError
from estimo.model.avm import AVM
from estimo.model.valuation import FeatureSpec, ValuationModel

FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
META_FILE = "model.json"


def save_model(
    model: ValuationModel | AVM, folder: str, extra: dict[str, Any] | None = None
) -> str:
    """Write a fitted model to ``folder`` and return the folder.

    Parameters
    ----------
    model : ValuationModel or AVM
        A fitted model.
    folder : str
        Local path or fsspec URL; created if needed.
    extra : dict, optional
        JSON-serialisable facts to keep with the model (currency, training window, ...).
    """
    model._check_fitted()
    with BundleFolder.writing(folder) as root:
        if isinstance(model, AVM):
            model.to_bundle(root, extra=extra)
            return folder
        meta = {
            "format_version": FORMAT_VERSION,
            "estimo_version": __version__,
            MANIFEST_KEY: CHECKSUM_FILE,
            "params": model.get_params(),
            "numeric": list(model.feature_spec_.numeric),
            "categorical": {k: list(v) for k, v in model.feature_spec_.categorical.items()},
            "cities": list(model.cities_),
            "trained_until": model.trained_until_.isoformat(),
            "extra": extra or {},
        }
        root.write_text(MODEL_FILE, model.booster_.model_to_string())
        root.write_json(META_FILE, meta)
    return folder


def load_model(folder: str) -> ValuationModel | AVM:
    """Load a model saved by :func:`save_model` (a ValuationModel or an AVM).

    Every file is checked against the folder's ``checksums.json`` before it is parsed.

    Raises
    ------
    EstimoError
        If the folder holds no model or a model of an unknown format.
    BundleError
        If a file is missing, truncated or altered.
    """
    root = BundleFolder.open(folder)
    if root.exists(META_FILE) and not root.exists(MODEL_FILE):
        meta = root.read_json(META_FILE)
        if meta.get("kind") == "avm" and meta.get("format_version") == FORMAT_VERSION:
            return AVM.from_bundle(root)
    if not root.exists(META_FILE) or not root.exists(MODEL_FILE):
        raise EstimoError(
            f"{folder!r} holds no valuation pipeline: expected pipeline.json (written by "
            "`estimo train`)"
        )
    meta = root.read_json(META_FILE)
    if meta.get("format_version") != FORMAT_VERSION:
        raise EstimoError(
            f"model in {folder!r} has format_version {meta.get('format_version')!r}; "
            f"this Estimo reads {FORMAT_VERSION}"
        )
    booster = _parse_booster(root.read_lightgbm(MODEL_FILE), folder)
    model = ValuationModel(**meta["params"])
    model.feature_spec_ = FeatureSpec(
        numeric=tuple(meta["numeric"]),
        categorical={k: tuple(v) for k, v in meta["categorical"].items()},
    )
    model.booster_ = booster
    model.cities_ = tuple(meta["cities"])
    model.trained_until_ = pd.Timestamp(meta["trained_until"])
    model.bundle_extra_ = meta.get("extra", {})
    model.currency = str(model.bundle_extra_.get("currency") or "")
    return model


def _parse_booster(text: str, folder: str) -> lgb.Booster:
    """The booster of a checked text model; LightGBM's own failure as a BundleError."""
    try:
        return lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise BundleError(
            f"model folder {folder.rstrip('/').rsplit('/', 1)[-1]!r} cannot be loaded: "
            f"{MODEL_FILE!r} cannot be read by LightGBM ({exc}); re-save the model or "
            "re-train it (`estimo train --out <folder>`)"
        ) from None
