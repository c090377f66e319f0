"""The valuation service on Ray Serve, with model multiplexing (city -> bundle).

Ray Serve keeps each replica's bundles in its own LRU (``max_models_per_replica``) and
routes a request to a replica that already holds its bundle: the multiplexed model id is
the bundle key (:func:`~estimo.serve.catalog.city_key` of the city, or ``"global"``), sent
by HTTP callers in the ``serve_multiplexed_model_id`` header, or by Python callers with
``handle.options(multiplexed_model_id=...)``. :func:`model_id` gives the id of a city.
The bundles, the valuers and the answers are the same as the FastAPI service's
(:mod:`estimo.serve.catalog`, :mod:`estimo.serve.valuer`); a city without its own bundle,
or whose bundle cannot be loaded, is valued by the global bundle with the same warning.

Over HTTP (Ray's proxy), a replica answers like the FastAPI service's valuation routes:
``POST <route>/v1/valuations`` takes one property, checked with the same request schema
(:class:`~estimo.serve.schemas.PropertyIn`, unknown fields refused by name), and
``POST <route>/v1/valuations:batch`` takes ``{"properties": [...]}`` (at most
``serve.batch_max``; one item each, a bad property does not fail the batch);
``?explain=false`` and ``Accept-Language`` as the service; every error is RFC 9457 problem
details (422 naming the fields, 413 for a batch too large, 503 without a model), with the
request id (``X-Request-ID``: the client's with a unique suffix, or a new one). The guard
(API keys, tiers, limits) and the monitoring store are the FastAPI service's: put Ray's
proxy behind them, or use the FastAPI service where they are needed.

Each replica re-reads the aliases every ``serve.alias_poll_seconds`` (5 s by default; 0:
never), in a background thread started by the first request after that time: a bundle
whose alias moved is loaded and swapped into the replica's cache slot for its model id, so
a new champion is served without a restart, no request waits for the load, and requests in
flight finish on the version they started with.

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
import json
import logging
import threading
import time
import weakref
from typing import Any

from pydantic import ValidationError

from estimo.errors import EstimoError
from estimo.serve.catalog import GLOBAL, BundleRef, Catalog, city_key, make_catalog
from estimo.serve.logs import request_id
from estimo.serve.problems import (
    MEDIA_TYPE,
    ProblemError,
    cannot_value,
    field_errors,
    internal_error,
    invalid_input,
    shorten,
)
from estimo.serve.schemas import BatchIn, PropertyIn, check_extra_fields
from estimo.serve.settings import ServeSettings
from estimo.serve.valuer import Valuer, price_only
from estimo.serve.warnings_text import translate_warnings

log = logging.getLogger(__name__)

__all__ = ["BundleSlot", "ValuationsReplica", "app", "build_app", "deployment", "model_id"]

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


class BundleSlot:
    """What Ray Serve caches for a model id: the bundle's version and its valuer, swapped
    together (one attribute) when the alias moves, so a cached id follows its alias."""

    def __init__(self, ref: BundleRef, valuer: Valuer) -> None:
        self.current: tuple[BundleRef, Valuer] = (ref, valuer)


class ValuationsReplica:
    """What one Ray Serve replica does (the deployment class wraps it, see
    :func:`deployment`): bundles by multiplexed model id, answers as the FastAPI service.

    Parameters
    ----------
    settings : dict
        :class:`~estimo.serve.settings.ServeSettings` fields (``registry``/``alias`` or
        ``model``; ``alias_poll_seconds``, ``batch_max``, ``extra_fields``...).
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = ServeSettings(**settings)
        self.catalog: Catalog = make_catalog(self.settings)
        self.refs: dict[str, BundleRef] = self.catalog.refresh()
        self._slots: weakref.WeakValueDictionary[str, BundleSlot] = weakref.WeakValueDictionary()
        self._next_poll = time.monotonic() + self.settings.alias_poll_seconds
        self._refreshing = threading.Lock()

    async def get_model(self, key: str) -> BundleSlot:
        """The cache slot of a bundle key, its valuer loaded (the deployment caches it per
        replica)."""
        ref = self.refs.get(key)
        if ref is None:
            raise EstimoError(f"no bundle {key!r}; bundles: {sorted(self.refs)!r}")
        log.info("replica loads bundle %s %s", ref.key, ref.version)
        slot = BundleSlot(ref, await asyncio.to_thread(self.catalog.load, ref))
        self._slots[key] = slot
        return slot

    def requested_model_id(self) -> str:
        """The model id the request was routed with ('' when none)."""
        return ""

    def refresh(self) -> list[str]:
        """Re-read the aliases; load the new version of each bundle this replica holds and
        swap it into its slot. A catalog that cannot be read keeps what is served.

        Returns
        -------
        list of str
            Keys whose version changed.
        """
        with self._refreshing:
            try:
                new_refs = self.catalog.refresh()
            except Exception as exc:
                log.error("cannot read the catalog (%s): %s", self.catalog.source, exc)
                return []
            changed = [k for k, ref in new_refs.items() if self.refs.get(k) != ref]
            for key in changed:
                slot = self._slots.get(key)
                if slot is None:
                    continue
                try:
                    slot.current = (new_refs[key], self.catalog.load(new_refs[key]))
                except Exception as exc:  # the slot keeps its version; tried again next poll
                    log.error("bundle %s %s cannot be loaded: %s", key, new_refs[key].version, exc)
                    new_refs[key] = slot.current[0]
                    continue
                log.info("bundle %s now %s", key, new_refs[key].version)
            self.refs = new_refs
            return changed

    def _poll(self) -> None:
        """Re-read the aliases in a background thread when ``alias_poll_seconds`` have
        passed (no request waits for the catalog or a new version's load)."""
        seconds = self.settings.alias_poll_seconds
        if seconds <= 0 or time.monotonic() < self._next_poll or self._refreshing.locked():
            return
        self._next_poll = time.monotonic() + seconds
        threading.Thread(target=self.refresh, name="estimo-alias-poll", daemon=True).start()

    async def _slot(self, key: str) -> BundleSlot:
        slot = await self.get_model(key)
        ref = self.refs.get(key)
        if ref is not None and slot.current[0] != ref:  # cached before the last refresh
            slot.current = (ref, await asyncio.to_thread(self.catalog.load, ref))
        return slot

    async def value(
        self, record: dict[str, Any], explain: bool = True, lang: str = "en", routed: bool = True
    ) -> dict[str, Any]:
        """The answer for one canonical record (as ``POST /v1/valuations``); ``routed``: the
        multiplexed model id of the request picks the bundle (a batch item's city does)."""
        self._poll()
        key = (routed and self.requested_model_id()) or model_id(record.get("city"), self.refs)
        warnings: list[str] = []
        if key not in self.refs:
            key = GLOBAL
        try:
            slot = await self._slot(key)
        except Exception as exc:
            if key == GLOBAL:
                raise
            log.error("bundle %s cannot be loaded: %s", key, exc)
            warnings.append(
                f"the model for {record.get('city')} could not be loaded; "
                "this valuation comes from the global model"
            )
            slot = await self._slot(GLOBAL)
        ref, valuer = slot.current
        answer = await asyncio.to_thread(valuer.value_one, record, explain=explain, lang=lang)
        answer["model"] = {"bundle": ref.key, "version": ref.version, "fallback": bool(warnings)}
        answer["warnings"] = translate_warnings([*warnings, *answer.get("warnings", [])], lang)
        return answer if explain else price_only(answer)

    async def __call__(self, request: Any) -> Any:
        """HTTP (see the module docstring): one property, or a batch on a path ending in
        ``:batch``; problems as the FastAPI service's."""
        from estimo.serve.deps import pick_language
        from estimo.serve.middleware import request_id_from
        from estimo.serve.responses import SafeJSONResponse as JSONResponse

        rid = request_id_from(request.headers.get("x-request-id"))
        token = request_id.set(rid)
        path = request.url.path
        lang = pick_language(request.headers.get("accept-language"), "en")
        headers = {"X-Request-ID": rid, "Content-Language": lang}
        try:
            explain = request.query_params.get("explain", "true").lower() != "false"
            body = await _json_body(request)
            if path.endswith(":batch"):
                answer = await self._batch(body, explain, lang, rid)
            else:
                answer = await self._one(body, explain, lang)
            return JSONResponse(answer, headers=headers)
        except ProblemError as exc:
            return _problem_response(exc, path, headers)
        except EstimoError as exc:
            return _problem_response(cannot_value(exc), path, headers)
        except Exception:
            log.exception("unexpected error on %s", path)
            return _problem_response(internal_error(), path, headers)
        finally:
            request_id.reset(token)

    async def _one(self, body: Any, explain: bool, lang: str) -> dict[str, Any]:
        item = self._checked(body)
        return await self.value(item.record(), explain=explain, lang=lang)

    def _checked(self, body: Any) -> PropertyIn:
        """``body`` as a property, or the 422 problem naming every bad field."""
        try:
            item = PropertyIn.model_validate(body)
        except ValidationError as exc:
            errors = field_errors(list(exc.errors()), skip=0)
            if isinstance(body, dict):
                named = {e["field"] for e in errors}
                extras = {
                    k: v
                    for k, v in body.items()
                    if k not in PropertyIn.model_fields and k not in named
                }
                errors += check_extra_fields(
                    PropertyIn.model_construct(**extras), frozenset(self.settings.extra_fields)
                )
            raise invalid_input(errors) from None
        errors = check_extra_fields(item, frozenset(self.settings.extra_fields))
        if errors:
            raise invalid_input(errors)
        return item

    async def _batch(self, body: Any, explain: bool, lang: str, rid: str) -> dict[str, Any]:
        try:
            batch = BatchIn.model_validate(body)
        except ValidationError as exc:
            raise invalid_input(field_errors(list(exc.errors()), skip=0)) from None
        n, most = len(batch.properties), self.settings.batch_max
        if n > most:
            raise ProblemError(
                413,
                "too-large",
                "Batch too large",
                f"the batch holds {n} properties; at most {most} are accepted",
                [
                    {
                        "field": "properties",
                        "value": f"{n} properties",
                        "message": f"a batch holds at most {most} properties",
                    }
                ],
            )

        async def one(i: int, raw: Any) -> dict[str, Any]:
            try:
                item = self._checked(raw)
                answer = await self.value(item.record(), explain, lang, routed=False)
            except ProblemError as exc:
                return _failed(i, exc)
            except EstimoError as exc:
                return _failed(i, cannot_value(exc))
            except Exception:
                log.exception("unexpected error valuing a batch item")
                return _failed(i, internal_error())
            return {"index": i, "ok": True, "request_id": f"{rid}:{i}", "valuation": answer}

        items = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.properties)))
        n_ok = sum(1 for item in items if item["ok"])
        return {"items": list(items), "n_ok": n_ok, "n_failed": n - n_ok}


async def _json_body(request: Any) -> Any:
    """The request's JSON, or the 422 problem of a body that is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        message = "expected a JSON object (a property, or {'properties': [...]} for a batch)"
        raise invalid_input(
            [{"field": "body", "value": shorten(raw[:80]), "message": message}]
        ) from None


def _problem_response(problem: ProblemError, path: str, headers: dict[str, str]) -> Any:
    from estimo.serve.responses import SafeJSONResponse as JSONResponse

    return JSONResponse(
        problem.body(path),
        problem.status,
        headers={**headers, **(problem.headers or {})},
        media_type=MEDIA_TYPE,
    )


def _failed(index: int, problem: ProblemError) -> dict[str, Any]:
    return {"index": index, "ok": False, "problem": problem.body("/v1/valuations:batch")}


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
        async def get_model(self, key: str) -> BundleSlot:
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
    per_replica = int(args.get("max_models_per_replica", MAX_MODELS_PER_REPLICA))
    ongoing = int(args.get("max_ongoing_requests", MAX_ONGOING_REQUESTS))
    return deployment(per_replica, ongoing).bind(settings)


app = build_app
