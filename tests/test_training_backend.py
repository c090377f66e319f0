"""The training backend switch (the Ray side is in tests/test_ray_train.py, ``-m ray``)."""

from __future__ import annotations

import sys

import pytest

from estimo.errors import ConfigError
from estimo.model.training_backend import current_backend, training_backend


def test_an_unknown_backend_is_refused_by_name() -> None:
    expected = "training backend is 'spark'; expected one of local"
    with pytest.raises(ConfigError, match=expected), training_backend("spark"):
        raise AssertionError("an unknown backend was entered")
    assert current_backend() == "local"


def test_the_ray_backend_without_ray_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match=r"pip install 'estimo\[ray\]'"), training_backend("ray"):
        raise AssertionError("the Ray backend was entered without Ray")
    assert current_backend() == "local"


def test_the_backend_is_reset_after_an_error() -> None:
    with pytest.raises(RuntimeError), training_backend("local"):
        raise RuntimeError("boom")
    assert current_backend() == "local"
