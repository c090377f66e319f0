"""Prometheus metrics of one service instance (``GET /metrics``).

Each app gets its own :class:`~prometheus_client.CollectorRegistry`, so two apps in one
process (tests) do not share counters. With several uvicorn workers each worker counts its
own requests; scrape the pods, not the service, or run one worker per pod (the Kubernetes
layout in ``deploy/`` does).
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from estimo.serve.catalog import BundleRef

__all__ = ["ServiceMetrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """Requests, latency, errors, bundle loads, evictions and memory per bundle."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "estimo_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "estimo_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "estimo_errors", "answers with a problem (4xx/5xx)", ["route", "status"], registry=r
        )
        self.valuations = Counter(
            "estimo_valuations", "properties valued", ["bundle", "explained"], registry=r
        )
        self.loads = Counter(
            "estimo_model_loads", "bundle loads", ["bundle", "outcome"], registry=r
        )
        self.load_seconds = Histogram(
            "estimo_model_load_seconds", "bundle load time", buckets=LATENCY_BUCKETS, registry=r
        )
        self.evictions = Counter(
            "estimo_model_evictions",
            "bundles dropped (LRU or new version)",
            ["bundle"],
            registry=r,
        )
        self.memory = Gauge(
            "estimo_model_memory_bytes",
            "memory of each loaded bundle",
            ["bundle", "version"],
            registry=r,
        )
        self.budget = Gauge(
            "estimo_memory_budget_bytes", "memory budget of the loaded bundles", registry=r
        )

    # RouterEvents
    def loaded(self, ref: BundleRef, seconds: float, memory: int) -> None:
        """A bundle was loaded."""
        self.loads.labels(ref.key, "ok").inc()
        self.load_seconds.observe(seconds)
        self.memory.labels(ref.key, ref.version).set(memory)

    def load_failed(self, ref: BundleRef) -> None:
        """A bundle could not be loaded."""
        self.loads.labels(ref.key, "failed").inc()

    def evicted(self, ref: BundleRef) -> None:
        """A bundle left memory."""
        self.evictions.labels(ref.key).inc()
        with contextlib.suppress(KeyError):  # never set when the load failed
            self.memory.remove(ref.key, ref.version)
