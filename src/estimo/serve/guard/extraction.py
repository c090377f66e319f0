"""Extraction detection per client: is someone copying the model with our answers?

For every client (a key, or an address for anonymous calls) :class:`ExtractionDetector`
keeps the last ``window`` queries and computes five signals:

* ``prada``: PRADA (Juuti et al., 2019). Each new query's minimum distance to the client's
  earlier queries, in standardised feature space, is added to a list; honest traffic gives
  distances close to a normal distribution, crafted queries (grids, steps, synthetic
  neighbours) do not. The score is the Shapiro-Wilk ``W`` of the square roots of the
  distances (minimum distances are skewed like a chi distribution; on real-looking
  properties the raw ``W`` of honest clients has a median of 0.88, the square roots' 0.96,
  while a grid scores 0.32 either way); flagged below ``prada_threshold``. Exact repeats
  (an owner checking the same home again, a listing re-valued next month) add no
  distance: they teach an attacker nothing and would otherwise pile up at zero. Identical
  distances, as a regular grid gives, count as ``W = 0``. Random queries inside the
  plausible ranges pass this test (their distances look honest): the other signals and the
  limits are the defence against them.
* ``sweep``: the share of the last ``sweep_window`` steps that change exactly one feature
  while every other field stays the same (stepping the area, the floor, a coordinate).
* ``cities``: more than ``max_cities`` distinct cities among the kept queries.
* ``coverage``: the client covers the market the way only someone copying the model needs
  to. An agency, a lender or a home owner values properties in one or two areas; an
  attacker who wants a copy that works everywhere must query the whole market's
  distribution (realistic attackers replay listings of every city; random ones spread
  evenly). The statistic is the effective number of cities of the kept queries, the
  inverse Simpson index ``1 / sum(p_c ** 2)`` of the client's city shares ``p_c`` (1 for
  one city, 2 for two equally used ones, 4.8 for a sample of the synthetic market, 6.7 for
  Poland's); flagged at ``coverage_cities`` or more once the client has sent
  ``coverage_min_queries`` queries. Unlike a count of distinct cities, a few stray queries
  elsewhere barely move it. In a market of one or two cities it cannot fire: there the
  limits per key and address are the defence.
* ``ood``: the share of kept queries with a feature more than ``ood_z`` scales from the
  centre (the scale of the training data when known, else of all traffic seen so far).

The strictest action of the fired signals wins (``allow`` < ``throttle`` < ``captcha`` <
``block``); a block lasts ``block_seconds``. No verdict before ``min_queries`` queries.
Every decision other than a plain allow, and every return to allow, goes to the audit log
(:class:`AuditLog`, JSON lines) with its evidence.

Examples
--------
>>> detector = ExtractionDetector(ExtractionSettings(min_queries=10))
>>> sweep = [{"city": "Roma", "area_m2": 40 + i, "rooms": 3, "lat": 41.9, "lon": 12.5}
...          for i in range(60)]
>>> [detector.observe("bot", [q]).action for q in sweep][-1]
'block'
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from estimo.serve.guard.settings import Action, ExtractionSettings

log = logging.getLogger("estimo.serve.audit")

__all__ = [
    "FEATURES",
    "AuditLog",
    "ExtractionDetector",
    "FeatureScale",
    "Verdict",
    "effective_cities",
]

#: Numeric features of a query that the detector looks at.
FEATURES: tuple[str, ...] = (
    "area_m2", "rooms", "bathrooms", "floor", "year_built", "lat", "lon",
)  # fmt: skip
SEVERITY: dict[str, int] = {"allow": 0, "throttle": 1, "captcha": 2, "block": 3}


def effective_cities(cities: Iterable[str]) -> float:
    """The effective number of cities of a client's queries (inverse Simpson index).

    ``1 / sum(p_c ** 2)`` over the shares ``p_c`` of each city: ``k`` for ``k`` equally
    used cities, close to 1 when nearly every query is in one city (0 without queries).

    Examples
    --------
    >>> effective_cities(["Roma"] * 90 + ["Milano"] * 10)
    1.2195121951219512
    >>> effective_cities(["a", "b", "c", "d"])
    4.0
    """
    counts = np.array(list(Counter(cities).values()), dtype=float)
    if not counts.size:
        return 0.0
    shares = counts / counts.sum()
    return float(1.0 / np.sum(shares**2))


#: the largest magnitude a query's feature keeps (see :meth:`FeatureScale.raw`)
RAW_CAP = 1e12


class FeatureScale:
    """Centre and scale of each feature; with ``running=True`` they follow all traffic.

    Parameters
    ----------
    center, scale : mapping of str to float, optional
        Known centre and scale (e.g. of the training rows, :meth:`from_frame`).
    running : bool, default False
        Update centre and scale with every query (Welford), for a service that does not
        know its training data.
    """

    def __init__(
        self,
        center: Mapping[str, float] | None = None,
        scale: Mapping[str, float] | None = None,
        running: bool = False,
    ) -> None:
        self.center = np.array([float((center or {}).get(f, 0.0)) for f in FEATURES])
        self.scale = np.array([float((scale or {}).get(f, 1.0)) or 1.0 for f in FEATURES])
        self.running = running
        self._n = np.zeros(len(FEATURES))
        self._mean = np.zeros(len(FEATURES))
        self._m2 = np.zeros(len(FEATURES))

    @classmethod
    def from_frame(cls, frame: Any) -> FeatureScale:
        """Median and interquartile-range scale of the features of a training frame."""
        center, scale = {}, {}
        for name in FEATURES:
            if name in frame:
                values = frame[name].astype(float).dropna()
                if len(values):
                    q1, q2, q3 = np.percentile(values, [25, 50, 75])
                    center[name] = float(q2)
                    scale[name] = float((q3 - q1) / 1.349) or float(values.std()) or 1.0
        return cls(center, scale)

    @property
    def known(self) -> bool:
        """Whether the centre and scale are given (e.g. the training rows'), not running."""
        return not self.running

    def raw(self, record: Mapping[str, Any]) -> np.ndarray:
        """The features of a query (NaN where missing or not a number)."""
        out = np.full(len(FEATURES), np.nan)
        for i, name in enumerate(FEATURES):
            value = record.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[i] = float(value)
        # a value no home has (a year built of 1.7e308) must not overflow the statistics:
        # beyond a trillion it is out of distribution whatever it is
        return np.clip(out, -RAW_CAP, RAW_CAP)

    def z(self, raw: np.ndarray) -> np.ndarray:
        """Standardised features (missing ones at 0, the centre)."""
        if self.running:
            self._update(raw)
            center, scale = self._mean, np.sqrt(self._m2 / np.maximum(self._n - 1, 1))
            scale = np.where((self._n > 30) & (scale > 0), scale, 1.0)
        else:
            center, scale = self.center, self.scale
        return np.nan_to_num((raw - center) / scale, nan=0.0)

    def _update(self, raw: np.ndarray) -> None:
        seen = ~np.isnan(raw)
        self._n[seen] += 1
        delta = np.where(seen, raw - self._mean, 0.0)
        self._mean += np.where(seen, delta / np.maximum(self._n, 1), 0.0)
        self._m2 += np.where(seen, delta * (np.nan_to_num(raw) - self._mean), 0.0)


@dataclass
class Verdict:
    """What to do with one request of one client, and why.

    Attributes
    ----------
    action : {"allow", "throttle", "captcha", "block"}
        The strictest action of the fired signals.
    signals : list of str
        The signals that fired.
    evidence : dict
        The statistics behind them (queries seen, W, shares, cities).
    """

    action: Action
    signals: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Client:
    raw: deque  # raw feature vectors
    z: deque  # standardised vectors
    cities: deque
    distances: deque
    n: int = 0
    blocked_until: float = 0.0
    last_action: str = "allow"


def _add_distance(state: _Client, z: np.ndarray) -> None:
    """The distance of a new query (``z``) to the nearest of the client's kept ones."""
    if state.z:
        previous = np.asarray(state.z)
        nearest = float(np.sqrt(((previous - z) ** 2).sum(axis=1)).min())
        if nearest > 1e-9:  # an exact repeat tells an attacker nothing new
            state.distances.append(nearest)


class AuditLog:
    """Every guard decision as one JSON line (a file, or the ``estimo.serve.audit`` log)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: dict[str, Any]) -> None:
        """Append one decision (a ``time`` field is added)."""
        line = json.dumps({"time": datetime.now(UTC).isoformat(), **event}, default=str)
        if self.path is None:
            log.warning("%s", line)
            return
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class ExtractionDetector:
    """Signals of model extraction per client (see the module docstring).

    Parameters
    ----------
    settings : ExtractionSettings
        Thresholds and actions.
    scale : FeatureScale, optional
        Standardisation (default: a running scale over all traffic).
    audit : AuditLog, optional
        Where decisions go (default: the log).
    max_clients : int, default 50000
        Clients remembered (the least recently seen are forgotten first).
    """

    def __init__(
        self,
        settings: ExtractionSettings,
        scale: FeatureScale | None = None,
        audit: AuditLog | None = None,
        max_clients: int = 50_000,
    ) -> None:
        self.settings = settings
        self.scale = scale or FeatureScale(running=True)
        self.audit = audit or AuditLog(settings.audit_log)
        self.max_clients = max_clients
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, client_id: str, records: Sequence[Mapping[str, Any]]) -> Verdict:
        """Add a request's properties to the client's history and decide.

        Parameters
        ----------
        client_id : str
            The key id, or ``anon:<address>``.
        records : sequence of mapping
            The properties of the request (one, or a batch).
        """
        now = time.time()
        with self._lock:
            state = self._state(client_id)
            if state.blocked_until > now:
                verdict = Verdict(
                    "block", ["blocked"], {"blocked_until": state.blocked_until, "n": state.n}
                )
            else:
                for record in records:
                    self._add(state, record)
                verdict = self._decide(state)
                if verdict.action == "block":
                    state.blocked_until = now + self.settings.block_seconds
            changed = verdict.action != state.last_action
            state.last_action = verdict.action
        if verdict.action != "allow" or changed:
            self.audit.write(
                {
                    "client": client_id,
                    "action": verdict.action,
                    "signals": verdict.signals,
                    "evidence": verdict.evidence,
                }
            )
        return verdict

    def use_scale(self, scale: FeatureScale) -> None:
        """Standardise with ``scale`` from now on (the training rows', once a model is
        loaded), and again every client's kept queries: their distances under a running
        scale that had seen a few queries would otherwise keep judging them."""
        with self._lock:
            self.scale = scale
            for state in self._clients.values():
                raws = [np.where(r <= -1e299, np.nan, r) for r in state.raw]
                state.z.clear()
                state.distances.clear()
                for raw in raws:
                    z = scale.z(raw)
                    _add_distance(state, z)
                    state.z.append(z)

    def _state(self, client_id: str) -> _Client:
        state = self._clients.get(client_id)
        if state is None:
            w = self.settings.window
            state = _Client(deque(maxlen=w), deque(maxlen=w), deque(maxlen=w), deque(maxlen=w))
            self._clients[client_id] = state
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(client_id)
        return state

    def _add(self, state: _Client, record: Mapping[str, Any]) -> None:
        raw = self.scale.raw(record)
        z = self.scale.z(raw)
        _add_distance(state, z)
        state.raw.append(np.where(np.isnan(raw), -1e300, raw))  # missing equals missing
        state.z.append(z)
        state.cities.append(str(record.get("city", "")).strip().casefold())
        state.n += 1

    def _decide(self, state: _Client) -> Verdict:
        s = self.settings
        if state.n < s.min_queries:
            return Verdict("allow", [], {"n": state.n})
        evidence: dict[str, Any] = {"n": state.n}
        fired: list[str] = []

        distances = np.sqrt(np.asarray(state.distances))
        if len(distances) < 3:  # nearly all repeats: nothing to test
            w = 1.0
        elif np.ptp(distances) <= 1e-6:  # a regular grid: every step the same length
            w = 0.0
        else:
            from scipy import stats  # 0.8 s of imports: paid when a client is first tested

            w = float(stats.shapiro(distances).statistic)
        evidence["prada_w"] = round(w, 4)
        if w < s.prada_threshold:
            fired.append("prada")

        raw = np.asarray(state.raw)[-(s.sweep_window + 1) :]
        cities = list(state.cities)[-(s.sweep_window + 1) :]
        changed = (np.abs(np.diff(raw, axis=0)) > 1e-9).sum(axis=1)
        same_city = np.array([a == b for a, b in zip(cities[:-1], cities[1:], strict=True)])
        one_step = float(np.mean((changed == 1) & same_city)) if len(changed) else 0.0
        evidence["sweep_share"] = round(one_step, 3)
        if one_step >= s.sweep_share:
            fired.append("sweep")

        n_cities = len(set(state.cities))
        evidence["cities"] = n_cities
        if n_cities > s.max_cities:
            fired.append("cities")

        if state.n >= s.coverage_min_queries:
            effective = effective_cities(state.cities)
            evidence["effective_cities"] = round(effective, 2)
            if effective >= s.coverage_cities:
                fired.append("coverage")

        z = np.asarray(state.z)
        ood = float(np.mean(np.abs(z).max(axis=1) > s.ood_z))
        evidence["ood_share"] = round(ood, 3)
        if ood >= s.ood_share:
            fired.append("ood")

        action: Action = "allow"
        for signal in fired:
            candidate = s.actions.get(signal, "allow")  # type: ignore[call-overload]
            if SEVERITY[candidate] > SEVERITY[action]:
                action = candidate
        if math.isnan(w):
            evidence["prada_w"] = None
        return Verdict(action, fired, evidence)
