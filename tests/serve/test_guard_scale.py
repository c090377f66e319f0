"""Extraction detection in a fresh process judges queries against the model's training rows.

A new pod has seen no traffic: a scale computed from traffic divides by 1 for its first
queries, and an honest owner's ordinary homes then read as out of distribution (a one-city
client was throttled at its 41st query). The service hands the detector the served model's
training rows as soon as the global bundle is loaded, and re-judges what it kept.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _serve_helpers import ready_client

from estimo.serve.guard import Client, Guard
from estimo.serve.guard.extraction import FeatureScale
from estimo.serve.guard.settings import GuardSettings
from estimo.serve.main import create_app
from estimo.serve.problems import ProblemError
from estimo.serve.settings import ServeSettings
from estimo.synth import generate_market

LOOSE = {
    "anonymous_tier": "public",
    "key_limits": {"public": "1000/second"},
    "address_limit": "1000/second",
}


@pytest.fixture(scope="module")
def market():
    return generate_market(30_000, seed=8, faults=False).frame


def _honest_queries(market, n: int = 60) -> list[dict]:
    """An owner (or an agency) valuing ordinary homes of one city."""
    rows = market.loc[market["city"] == "Milano"].sample(n, random_state=1)
    return rows.drop(columns=["price"]).to_dict("records")


def _first_refusal(guard: Guard, queries: list[dict]) -> int | None:
    client = Client("anon:10.0.0.1", "public", "10.0.0.1")
    for i, query in enumerate(queries, 1):
        try:
            guard.admit(client, [query])
        except ProblemError:
            return i
    return None


def test_a_running_scale_throttles_an_honest_owner_the_training_scale_does_not(market):
    queries = _honest_queries(market)
    assert _first_refusal(Guard(GuardSettings(**LOOSE)), queries) is not None  # the old way
    guard = Guard(GuardSettings(**LOOSE))
    assert guard.learn_scale(market)
    assert guard.detector.scale.known
    assert _first_refusal(guard, queries) is None


def test_what_was_kept_before_the_scale_is_judged_again(market):
    queries = _honest_queries(market)
    guard = Guard(GuardSettings(**LOOSE))
    assert _first_refusal(guard, queries[:35]) is None  # before any verdict
    guard.learn_scale(market)
    assert _first_refusal(guard, queries[35:]) is None
    state, scale = guard.detector._clients["anon:10.0.0.1"], guard.detector.scale
    assert state.n == len(state.z) == 60
    for raw, z in zip(state.raw, state.z, strict=True):  # the first 35 standardised again
        np.testing.assert_array_equal(z, scale.z(np.where(raw <= -1e299, np.nan, raw)))


def test_a_given_scale_is_kept(market):
    given = FeatureScale(center={"area_m2": 70.0}, scale={"area_m2": 20.0})
    guard = Guard(GuardSettings(**LOOSE), scale=given)
    assert not guard.learn_scale(market)
    assert guard.detector.scale is given
    assert not Guard(GuardSettings(**LOOSE)).learn_scale(None)


def test_a_started_service_judges_by_its_model_s_training_rows(bundles: Path, tmp_path: Path):
    settings = ServeSettings(
        model=str(bundles),
        alias_poll_seconds=0,
        hot_cities=["global"],
        guard={**LOOSE, "keys_url": f"sqlite:///{tmp_path / 'keys.db'}"},
    )
    app = create_app(settings)
    for client in ready_client(app):
        scale = app.state.guard.detector.scale
        deadline = time.monotonic() + 10  # the start thread hands it over after loading
        while not scale.known and time.monotonic() < deadline:
            time.sleep(0.05)
            scale = app.state.guard.detector.scale
        assert scale.known
        answer = client.post("/v1/valuations", json={"city": "Milano", "area_m2": 80})
        assert answer.status_code == 200


def test_a_request_one_limit_refuses_is_charged_to_no_other():
    """A key over its own limit must not eat its address's quota (nor the reverse)."""
    settings = GuardSettings(
        anonymous_tier="public",
        key_limits={"public": "1/minute"},
        address_limit="3/minute",
        extraction={"enabled": False},
    )
    guard = Guard(settings)
    first, second = (Client(f"key:{k}", "public", "10.0.0.9") for k in ("a", "b"))
    query = [{"city": "Milano", "area_m2": 80}]
    guard.admit(first, query)
    for _ in range(3):  # refused by the key's limit: the address keeps its two left
        with pytest.raises(ProblemError) as refused:
            guard.admit(first, query)
        assert refused.value.status == 429
    guard.admit(second, query)  # the address's second request
    with pytest.raises(ProblemError):
        guard.admit(second, query)  # the key's limit again


def test_a_sweep_spread_over_several_keys_from_one_address_is_still_caught(market) -> None:
    """Five keys from one address each stayed under the detector's minimum (194 answers of
    a one-feature sweep, no audit line); the address is watched too."""
    guard = Guard(GuardSettings(**LOOSE, extraction={"min_queries": 20}))
    base = _honest_queries(market, 1)[0]
    keys = [Client(f"key:k{i}", "public", "10.0.0.9") for i in range(5)]
    refused_at = None
    for step in range(100):
        query = {**base, "area_m2": 40 + step}
        try:
            guard.admit(keys[step % 5], [query])
        except ProblemError as exc:
            refused_at = step
            assert exc.status in (403, 429)
            break
    assert refused_at is not None and refused_at < 40  # each key saw at most 8 queries
    other = Client("key:k9", "public", "10.0.0.10")  # another address is not refused
    guard.admit(other, [_honest_queries(market, 1)[0]])
