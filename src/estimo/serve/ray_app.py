"""The valuation service on Ray Serve, with model multiplexing (city -> bundle).

Ray Serve keeps each replica's bundles in its own LRU (``max_models_per_replica``) and
routes a request to a replica that already holds its bundle: the multiplexed model id is
the bundle key (:func:`~estimo.serve.catalog.city_key` of the city, or ``"global"``), sent
by HTTP callers in the ``serve_multiplexed_model_id`` header, or by Python callers with
``handle.options(multiplexed_model_id=...)``. :func:`model_id` gives the id of a city.
The bundles, the valuers and the answers are the same as the FastAPI service's
(:mod:`estimo.serve.catalog`, :mod:`estimo.serve.valuer`); a city without its own bundle,
or whose bundle cannot be loaded, is valued by the global bundle with the same warning.

Install with ``pip install "estimo[ray]"``; run with::

    serve run estimo.serve.ray_app:app registry=runs/registry alias=champion

or from Python: ``serve.run(build_app({"registry": "runs/registry"}))``.

A replica values off its event loop (in a worker thread), so the requests it holds at once
(up to ``max_ongoing_requests``, 16 by default) queue up at the
bundle's :class:`~estimo.serve.coalesce.Coalescer` and are valued together in its next pass,
as in the FastAPI service; valued on the loop itself, they would run one after another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from estimo.errors import EstimoError
from estimo.serve.catalog import GLOBAL, BundleRef, Catalog, city_key, make_catalog
from estimo.serve.settings import ServeSettings
from estimo.serve.valuer import Valuer

log = logging.getLogger(__name__)

__all__ = ["ValuationsReplica", "app", "build_app", "deployment", "model_id"]

MAX_MODELS_PER_REPLICA = 8
MAX_ONGOING_REQUESTS = 16


def model_id(city: str | None, keys: Any = ()) -> str:
    """The multiplexed model id of a city: its bundle key when it has a bundle (``keys``
    empty means any key may exist), else ``"global"``.

    Examples
    --------
    >>> model_id("Kraków"), model_id("Napoli", {"global", "milano"}), model_id(None)
    ('krakow', 'global', 'global')
    """
    if not city:
        return GLOBAL
    key = city_key(city)
    return key if not keys or key in keys else GLOBAL


class ValuationsReplica:
    """What one Ray Serve replica does (the deployment class wraps it, see
    :func:`deployment`): bundles by multiplexed model id, answers as the FastAPI service.

    Parameters
    ----------
    settings : dict
        :class:`~estimo.serve.settings.ServeSettings` fields (``registry``/``alias`` or
        ``model``).
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = ServeSettings(**settings)
        self.catalog: Catalog = make_catalog(self.settings)
        self.refs: dict[str, BundleRef] = self.catalog.refresh()

    async def get_model(self, key: str) -> Valuer:
        """The valuer of a bundle key (the deployment caches it per replica)."""
        ref = self.refs.get(key)
        if ref is None:
            raise EstimoError(f"no bundle {key!r}; bundles: {sorted(self.refs)!r}")
        log.info("replica loads bundle %s %s", ref.key, ref.version)
        return self.catalog.load(ref)

    def requested_model_id(self) -> str:
        """The model id the request was routed with ('' when none)."""
        return ""

    async def value(
        self, record: dict[str, Any], explain: bool = True, lang: str = "en"
    ) -> dict[str, Any]:
        """The answer for one canonical record (as ``POST /v1/valuations``)."""
        key = self.requested_model_id() or model_id(record.get("city"), self.refs)
        warnings: list[str] = []
        if key not in self.refs:
            key = GLOBAL
        try:
            valuer = await self.get_model(key)
        except Exception as exc:
            if key == GLOBAL:
                raise
            log.error("bundle %s cannot be loaded: %s", key, exc)
            warnings.append(
                f"the model for {record.get('city')} could not be loaded; "
                "this valuation comes from the global model"
            )
            key = GLOBAL
            valuer = await self.get_model(key)
        answer = await asyncio.to_thread(valuer.value_one, record, explain=explain, lang=lang)
        ref = self.refs[key]
        answer["model"] = {"bundle": ref.key, "version": ref.version, "fallback": bool(warnings)}
        answer["warnings"] = [*warnings, *answer.get("warnings", [])]
        return answer

    async def __call__(self, request: Any) -> dict[str, Any]:
        """HTTP: a JSON record; ``?explain=false`` and ``Accept-Language`` as the service."""
        from estimo.serve.deps import pick_language

        record = await request.json()
        explain = request.query_params.get("explain", "true").lower() != "false"
        lang = pick_language(request.headers.get("accept-language"), "en")
        return await self.value(record, explain=explain, lang=lang)


def deployment(
    max_models_per_replica: int = MAX_MODELS_PER_REPLICA,
    max_ongoing_requests: int = MAX_ONGOING_REQUESTS,
) -> Any:
    """The Ray Serve deployment class (imports Ray); a replica holds up to
    ``max_ongoing_requests`` requests at once (those for one bundle are valued together)."""
    from ray import serve

    @serve.deployment(ray_actor_options={"num_cpus": 1}, max_ongoing_requests=max_ongoing_requests)
    class EstimoValuations(ValuationsReplica):
        @serve.multiplexed(max_num_models_per_replica=max_models_per_replica)
        async def get_model(self, key: str) -> Valuer:
            return await ValuationsReplica.get_model(self, key)

        def requested_model_id(self) -> str:
            return serve.get_multiplexed_model_id()

    return EstimoValuations


def build_app(args: dict[str, Any]) -> Any:
    """The Ray Serve application (``serve run estimo.serve.ray_app:build_app key=value``):
    ``max_models_per_replica`` and ``max_ongoing_requests`` set the deployment, the other
    keys are :class:`~estimo.serve.settings.ServeSettings` fields."""
    deployment_keys = ("max_models_per_replica", "max_ongoing_requests")
    settings = {k: v for k, v in args.items() if k not in deployment_keys}
    settings.setdefault("alias_poll_seconds", 0)
    per_replica = int(args.get("max_models_per_replica", MAX_MODELS_PER_REPLICA))
    ongoing = int(args.get("max_ongoing_requests", MAX_ONGOING_REQUESTS))
    return deployment(per_replica, ongoing).bind(settings)


app = build_app
