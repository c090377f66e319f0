"""The model router: each request to a city bundle or the global fallback, under a budget.

:class:`ModelRouter` keeps loaded bundles (:class:`~estimo.serve.valuer.Valuer` objects) in
an LRU cache whose total memory stays under a budget:

- **Resolve**: a request's city (by :func:`~estimo.serve.catalog.city_key`) goes to its city
  bundle when the catalog has one, else to the ``global`` bundle (which may hold a model for
  the city inside it).
- **Lazy loads, measured**: a bundle is loaded on first use. Loads are serialised; before
  each, free memory goes back to the system (:func:`~estimo.serve.memory.release_free_memory`),
  and the memory charged to the bundle is the growth of resident memory during its load, at
  least its file size (the valuer's ``memory_bytes()``) and at least the largest growth
  measured at its earlier loads (a reload can still reuse freed memory and measure less).
  Bundles hold reference cycles:
  after an eviction the garbage collector runs once before the next load. :meth:`warm`
  absorbs the libraries' one-time allocations before the first measured load.
- **LRU under the budget**: after a load, least recently used bundles are dropped until the
  total fits (never the bundle just loaded). Requests that hold a dropped bundle finish with
  it.
- **Preload**: :meth:`start` loads the hot cities; the service is ready after it.
- **New versions without restart**: :meth:`refresh` re-reads the catalog; a changed bundle
  that was loaded is loaded in its new version *before* the switch, so no request waits or
  fails; the old version is dropped after the switch.
- **Fallback**: a city bundle that is missing or broken is remembered as broken (logged as an
  error, listed by :meth:`snapshot`) and its requests are valued by the global bundle with a
  warning in the answer.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from estimo.errors import EstimoError
from estimo.serve.catalog import GLOBAL, BundleRef, Catalog, city_key
from estimo.serve.memory import release_free_memory, rss_bytes
from estimo.serve.valuer import Valuer, warm_imports

log = logging.getLogger(__name__)

__all__ = ["LoadedBundle", "ModelRouter", "NoModelError", "Route", "RouterEvents"]


class NoModelError(EstimoError):
    """Not even the global bundle can be loaded: the service cannot value anything."""


class RouterEvents(Protocol):
    """What the router reports (the Prometheus metrics implement it)."""

    def loaded(self, ref: BundleRef, seconds: float, memory: int) -> None: ...

    def load_failed(self, ref: BundleRef) -> None: ...

    def evicted(self, ref: BundleRef) -> None: ...


class _NoEvents:
    def loaded(self, ref: BundleRef, seconds: float, memory: int) -> None:
        pass

    def load_failed(self, ref: BundleRef) -> None:
        pass

    def evicted(self, ref: BundleRef) -> None:
        pass


@dataclass
class LoadedBundle:
    """A bundle in memory with what its load measured."""

    ref: BundleRef
    valuer: Valuer
    memory: int
    rss_delta: int
    load_seconds: float
    loaded_at: float = field(default_factory=time.time)
    requests: int = 0


@dataclass(frozen=True)
class Route:
    """Where one request goes: the valuer, which bundle it is and any warning to add."""

    valuer: Valuer
    ref: BundleRef
    warnings: tuple[str, ...] = ()

    @property
    def model(self) -> dict[str, Any]:
        """The model facts added to every answer."""
        return {
            "bundle": self.ref.key,
            "version": self.ref.version,
            "fallback": bool(self.warnings),
        }


class ModelRouter:
    """Routes cities to bundles, loading lazily under a memory budget (module docstring).

    Parameters
    ----------
    catalog : Catalog
        Where the bundles are.
    budget_bytes : int
        Memory the loaded bundles may take together.
    hot_cities : iterable of str
        Cities loaded by :meth:`start` (``"global"`` names the fallback).
    events : RouterEvents, optional
        Receives loads and evictions (metrics).
    """

    def __init__(
        self,
        catalog: Catalog,
        budget_bytes: int,
        hot_cities: Iterable[str] = (),
        events: RouterEvents | None = None,
    ) -> None:
        self.catalog = catalog
        self.budget_bytes = int(budget_bytes)
        self.hot_cities = tuple(hot_cities)
        self.events = events or _NoEvents()
        self.ready = False
        self.warmed = False
        self.refs: dict[str, BundleRef] = {}
        self.catalog_error: str | None = None
        # versions an alias moved to that could not be loaded: the previous one serves on
        self.unloadable: dict[BundleRef, str] = {}
        self._learned: dict[BundleRef, frozenset[str]] = {}
        self._loaded: OrderedDict[BundleRef, LoadedBundle] = OrderedDict()
        self._broken: dict[BundleRef, str] = {}
        self._dropped = False  # bundles left memory since the last load
        self._measured: dict[BundleRef, int] = {}  # largest measurement of each bundle
        self._lock = threading.Lock()  # guards refs, _loaded, _broken
        self._load_lock = threading.Lock()  # one load at a time: RSS deltas are per bundle

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Read the catalog and load the hot cities; then :attr:`ready` is True."""
        self.refresh()
        if self.hot_cities:  # measured loads follow: warm up first
            self.warm()
        for city in self.hot_cities:
            route = self.resolve(None if city_key(city) == GLOBAL else city)
            log.info("preloaded %s %s for %r", route.ref.key, route.ref.version, city)
        self.ready = True

    def warm(self) -> None:
        """Import what loading a bundle needs and load the global bundle once, throwing it
        away, under the load lock: the libraries' one-time allocations (tens of MB) are then
        not charged to the first bundle that loads. Before the hot cities in :meth:`start`;
        without hot cities, right after (the service is ready meanwhile)."""
        with self._load_lock:
            if self.warmed:
                return
            started = time.perf_counter()
            warm_imports()
            ref = self.refs.get(GLOBAL)
            if ref is not None:
                with contextlib.suppress(Exception):  # a broken bundle shows up when used
                    self.catalog.load(ref)
            self.warmed = True
            log.info("warmed up in %.0f ms", (time.perf_counter() - started) * 1000)

    def refresh(self) -> list[str]:
        """Re-read the catalog; switch changed bundles after loading their new version.

        Returns
        -------
        list of str
            Keys of the bundles whose version changed.
        """
        try:
            new_refs = self.catalog.refresh()
        except Exception as exc:  # keep serving what we have; say so in /v1/models
            self.catalog_error = f"{type(exc).__name__}: {exc}"
            if not self.refs:  # nothing to serve: the caller says so (start's retries)
                raise
            log.error("cannot read the catalog (%s): %s", self.catalog.source, exc)
            return []
        self.catalog_error = None
        with self._lock:
            old_refs = dict(self.refs)
            loaded_keys = {ref.key for ref in self._loaded}
        changed = [k for k, ref in new_refs.items() if old_refs.get(k) != ref]
        for key in changed:
            new = new_refs[key]
            if key not in loaded_keys:
                continue  # loaded on first use (a broken city bundle falls back to global)
            if new in self.unloadable:
                new_refs[key] = old_refs[key]
                continue
            try:  # warm the new version before anyone is routed to it
                self._get(new)
            except Exception as exc:  # a damaged version never replaces one that serves
                old = old_refs.get(key)
                if old is None:
                    continue
                self.unloadable[new] = f"{type(exc).__name__}: {exc}"
                log.error(
                    "bundle %s: version %s cannot be loaded (%s); still serving %s",
                    key,
                    new.version,
                    exc,
                    old.version,
                )
                new_refs[key] = old
        changed = [k for k in changed if new_refs[k] != old_refs.get(k)]
        with self._lock:
            self.refs = new_refs
            stale = [ref for ref in self._loaded if new_refs.get(ref.key) != ref]
            for ref in stale:
                del self._loaded[ref]
                self.events.evicted(ref)
            self._dropped = self._dropped or bool(stale)
        for key in changed:
            old = old_refs.get(key)
            log.info(
                "bundle %s: %s -> %s", key, old.version if old else None, new_refs[key].version
            )
        return changed

    # ------------------------------------------------------------------ routing

    def resolve(self, city: str | None) -> Route:
        """The bundle that values a property of ``city`` (loading it if needed).

        Raises
        ------
        NoModelError
            If the global bundle is needed and cannot be loaded.
        """
        with self._lock:
            refs = self.refs
        key = city_key(city) if city else GLOBAL
        ref = refs.get(key) if key != GLOBAL else None
        if ref is not None:
            try:
                loaded = self._get(ref)
            except Exception:
                warning = (
                    f"the model for {ref.city or key} could not be loaded; "
                    "this valuation comes from the global model"
                )
                return self._global(refs, (warning,))
            learned = self._learned_keys(ref, loaded)
            if learned and key not in learned:  # an alias pointed at another market's model
                log.error(
                    "bundle %s (%s) never learned %s: valued by the global model",
                    key,
                    ref.version,
                    city,
                )
                return self._global(refs, ())
            return Route(loaded, ref)
        return self._global(refs, ())

    def _learned_keys(self, ref: BundleRef, valuer: Any) -> frozenset[str]:
        """The city keys a bundle's model learned (empty when it does not say), once per
        version, not on every request."""
        keys = self._learned.get(ref)
        if keys is None:
            keys = frozenset(city_key(c) for c in getattr(valuer, "cities", ()) or ())
            self._learned[ref] = keys
        return keys

    def _global(self, refs: dict[str, BundleRef], warnings: tuple[str, ...]) -> Route:
        ref = refs.get(GLOBAL)
        if ref is None:
            raise NoModelError("the service has no global model to value with")
        try:
            return Route(self._get(ref), ref, warnings)
        except Exception as exc:
            raise NoModelError(
                "the global model cannot be loaded; the service cannot value properties now"
            ) from exc

    def _get(self, ref: BundleRef) -> Valuer:
        with self._lock:
            hit = self._loaded.get(ref)
            if hit is not None:
                self._loaded.move_to_end(ref)
                hit.requests += 1
                return hit.valuer
            if ref in self._broken:
                raise EstimoError(self._broken[ref])
        with self._load_lock:
            with self._lock:  # loaded by another thread while we waited?
                hit = self._loaded.get(ref)
                if hit is not None:
                    self._loaded.move_to_end(ref)
                    return hit.valuer
            return self._load(ref).valuer

    def _load(self, ref: BundleRef) -> LoadedBundle:
        started = time.perf_counter()
        if self._dropped:  # bundles hold reference cycles: free the dropped ones first
            gc.collect()
            self._dropped = False
        release_free_memory()
        before = rss_bytes()
        try:
            valuer = self.catalog.load(ref)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("bundle %s %s cannot be loaded: %s", ref.key, ref.version, reason)
            with self._lock:
                self._broken[ref] = reason
            self.events.load_failed(ref)
            raise
        seconds = time.perf_counter() - started
        delta = rss_bytes() - before
        memory = max(delta, valuer.memory_bytes(), self._measured.get(ref, 0), 1)
        bundle = LoadedBundle(ref, valuer, memory, max(delta, 0), seconds, requests=1)
        with self._lock:
            self._measured[ref] = memory
            self._loaded[ref] = bundle
            self._broken.pop(ref, None)
            evicted = self._evict_over_budget(keep=ref)
        self.events.loaded(ref, seconds, bundle.memory)
        for old in evicted:
            self.events.evicted(old)
        log.info(
            "loaded bundle %s %s in %.0f ms (%.1f MiB; %d bundles, %.1f MiB in memory)",
            ref.key,
            ref.version,
            seconds * 1000,
            bundle.memory / 2**20,
            len(self._loaded),
            self.memory_bytes() / 2**20,
        )
        return bundle

    def _evict_over_budget(self, keep: BundleRef) -> list[BundleRef]:
        evicted = []
        total = sum(b.memory for b in self._loaded.values())
        for ref in list(self._loaded):
            if total <= self.budget_bytes:
                break
            if ref == keep:
                continue
            total -= self._loaded.pop(ref).memory
            evicted.append(ref)
        self._dropped = self._dropped or bool(evicted)
        if total > self.budget_bytes:
            log.warning(
                "bundle %s alone takes %.1f MiB, over the budget of %.1f MiB",
                keep.key,
                total / 2**20,
                self.budget_bytes / 2**20,
            )
        return evicted

    # ------------------------------------------------------------------ reporting

    def memory_bytes(self) -> int:
        """Memory charged to the loaded bundles."""
        with self._lock:
            return sum(b.memory for b in self._loaded.values())

    def loaded(self) -> list[LoadedBundle]:
        """The loaded bundles, least recently used first."""
        with self._lock:
            return list(self._loaded.values())

    def snapshot(self) -> dict[str, Any]:
        """Every bundle with its version, state, cities and memory (for ``/v1/models``)."""
        with self._lock:
            refs = dict(self.refs)
            loaded = {ref: b for ref, b in self._loaded.items()}
            broken = dict(self._broken)
        bundles = []
        for key in sorted(refs, key=lambda k: (k != GLOBAL, k)):
            ref = refs[key]
            bundle = loaded.get(ref)
            entry: dict[str, Any] = {
                "bundle": key,
                "city": ref.city,
                "version": ref.version,
                "state": "loaded" if bundle else ("broken" if ref in broken else "not loaded"),
                "cities": list(bundle.valuer.cities)
                if bundle
                else ([ref.city] if ref.city else []),
                "memory_bytes": bundle.memory if bundle else None,
                "load_ms": round(bundle.load_seconds * 1000, 1) if bundle else None,
                "requests": bundle.requests if bundle else 0,
            }
            if ref in broken:
                entry["error"] = (
                    "the bundle could not be loaded (see the server log); "
                    "its cities are valued by the global model"
                )
            refused = [r.version for r in self.unloadable if r.key == key]
            if refused:
                entry["refused_versions"] = refused
                entry["error"] = (
                    f"version(s) {', '.join(refused)} could not be loaded (see the server "
                    f"log); version {ref.version} serves on"
                )
            bundles.append(entry)
        return {
            "source": self.catalog.source,
            "ready": self.ready,
            "memory_budget_bytes": self.budget_bytes,
            "memory_bytes": sum(b.memory for b in loaded.values()),
            "catalog_error": None if self.catalog_error is None else "the catalog cannot be read",
            "bundles": bundles,
        }
