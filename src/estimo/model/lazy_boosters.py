"""Sub-models read from a saved bundle on first use, one city at a time.

A Poland-size engine holds a global LightGBM model and one per large city; reading every
model's text at load costs most of a load, while a service (or a command valuing one
property) uses one or two of them. :class:`LazyBoosters` is the mapping of sub-model name
to :class:`lightgbm.Booster` a :class:`~estimo.model.segmented.SegmentedModel` loaded from a
bundle holds: it knows every name at once (routing reads them) and reads a model's text
the first time it is asked for (thread-safe; :meth:`LazyBoosters.load` reads some or all of
them ahead, e.g. the cities a pod serves).

Examples
--------
>>> import lightgbm as lgb, numpy as np
>>> X = np.random.default_rng(0).normal(size=(200, 2))
>>> booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), 3)
>>> texts = {"(global)": booster.model_to_string()}
>>> lazy = LazyBoosters({"(global)": "g.txt"}, lambda path: texts["(global)"])
>>> "(global)" in lazy, lazy.loaded_names()
(True, [])
>>> lazy["(global)"].num_trees(), lazy.loaded_names()
(3, ['(global)'])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from estimo.errors import BundleError

log = logging.getLogger(__name__)

__all__ = ["LazyBoosters"]


class LazyBoosters(Mapping[str, Any]):
    """Read-only mapping of sub-model name to booster, each read on first access.

    Parameters
    ----------
    files : mapping of str to str
        Sub-model name to the path of its LightGBM text model (in the bundle folder).
    read_text : callable
        Reads a path of ``files`` as text (the bundle folder's ``read_lightgbm``, which
        checks the file's checksum and header before LightGBM parses it).
    """

    def __init__(self, files: Mapping[str, str], read_text: Callable[[str], str]) -> None:
        self._files = dict(files)
        self._read_text = read_text
        self._boosters: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.load_seconds: dict[str, float] = {}

    def __getitem__(self, name: str) -> Any:
        booster = self._boosters.get(name)
        if booster is not None:
            return booster
        if name not in self._files:
            raise KeyError(name)
        with self._lock:
            booster = self._boosters.get(name)
            if booster is None:
                import lightgbm as lgb

                started = time.perf_counter()
                booster = _parse(lgb, self._read_text(self._files[name]), self._files[name])
                self._boosters[name] = booster
                self.load_seconds[name] = time.perf_counter() - started
                log.debug("sub-model %s read in %.3f s", name, self.load_seconds[name])
        return booster

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def loaded_names(self) -> list[str]:
        """Names of the sub-models read so far."""
        return list(self._boosters)

    def loaded(self) -> list[Any]:
        """The boosters read so far."""
        return list(self._boosters.values())

    def load(self, names: Iterable[str] | None = None) -> None:
        """Read ``names`` now (default: every sub-model); unknown names are ignored."""
        for name in self._files if names is None else names:
            if name in self._files:
                self[name]


def _parse(lgb: Any, text: str, path: str) -> Any:
    """A booster from its text model; LightGBM's own failure as a :class:`BundleError`."""
    try:
        return lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise BundleError(
            f"sub-model file {path!r} cannot be read by LightGBM ({exc}); re-save the model "
            "or re-train it (`estimo train --out <folder>`)"
        ) from None
