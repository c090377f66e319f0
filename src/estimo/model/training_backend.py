"""Where the city models are trained: threads of this process, or Ray tasks.

The default ``local`` backend trains the sub-models of
:class:`~estimo.model.segmented.SegmentedModel` in joblib threads, one LightGBM thread each.
The ``ray`` backend (``pip install 'estimo[ray]'``) sends each sub-model's training to a Ray
task instead: the encoded training matrix is put once in Ray's object store, every task
trains the same booster with the same parameters (one LightGBM thread, the same seed), so
the models are the same, bit for bit, as the local fit's. Ray connects to the cluster named
by ``RAY_ADDRESS`` when it is set (training that outgrows one machine), and otherwise
starts a local Ray.

The backend is chosen around a fit, not stored in the model (it changes where the work
runs, not what is learned)::

    with training_backend("ray"):
        pipeline.fit(frame)

``estimo train --backend ray`` does the same.

Examples
--------
>>> current_backend()
'local'
>>> with training_backend("local"):
...     current_backend()
'local'
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from estimo.errors import ConfigError

__all__ = ["BACKENDS", "current_backend", "run_on_ray", "training_backend"]

log = logging.getLogger(__name__)

BACKENDS = ("local", "ray")
"""The training backends."""

_BACKEND: contextvars.ContextVar[str] = contextvars.ContextVar(
    "estimo_training_backend", default="local"
)
_RAY_EXTRA = "the ray training backend needs Ray: pip install 'estimo[ray]'"


def current_backend() -> str:
    """The backend the fits in this context use (``local`` unless set)."""
    return _BACKEND.get()


@contextmanager
def training_backend(name: str) -> Iterator[None]:
    """Train the city models of the fits inside the block on ``name`` (local or ray).

    Raises
    ------
    ConfigError
        If ``name`` is not a backend, or is ``ray`` and Ray is not installed.
    """
    if name not in BACKENDS:
        raise ConfigError(f"training backend is {name!r}; expected one of {', '.join(BACKENDS)}")
    if name == "ray":
        _ray()
    token = _BACKEND.set(name)
    try:
        yield
    finally:
        _BACKEND.reset(token)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(_RAY_EXTRA) from None
    return ray


def _connect(ray: Any) -> None:
    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS")
    if address:
        log.info("connecting to the Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        log.info("starting a local Ray for the training tasks")
        ray.init(include_dashboard=False, log_to_driver=False)


def _call(function: Callable[..., Any], task: Any, shared: tuple[Any, ...]) -> Any:
    return function(task, *shared)


def run_on_ray(
    function: Callable[..., Any], tasks: Iterable[Any], shared: tuple[Any, ...]
) -> Iterator[Any]:
    """``function(task, *shared)`` for every task as Ray tasks (one CPU each), yielding
    the results as they finish; ``shared`` is put once in the object store.

    ``function`` must be picklable (a module-level function or a bound method of a
    picklable object).
    """
    ray = _ray()
    _connect(ray)
    shared_ref = ray.put(shared)
    remote = ray.remote(num_cpus=1)(_call)
    pending = [remote.remote(function, task, shared_ref) for task in tasks]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])
