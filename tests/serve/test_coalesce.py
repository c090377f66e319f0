"""Single valuations queued behind a busy model are valued together, with the same answers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from estimo.errors import EstimoError
from estimo.serve.coalesce import Coalescer


class _Gate:
    """A ``run`` whose first pass waits until released (so that requests queue behind it)."""

    def __init__(self, answer=lambda p: p * 10) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[tuple[object, list]] = []
        self.answer = answer

    def __call__(self, key, payloads):
        self.calls.append((key, list(payloads)))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(10)
        return [self.answer(p) for p in payloads]


def _queue_behind_first(coalescer: Coalescer, gate: _Gate, items: list[tuple[object, int]]):
    """Submit ``items[0]``, wait until its pass runs, submit the rest, then release."""
    pool = ThreadPoolExecutor(len(items))
    first = pool.submit(coalescer.submit, *items[0])
    assert gate.entered.wait(10)
    rest = [pool.submit(coalescer.submit, *item) for item in items[1:]]
    deadline = time.monotonic() + 10
    while len(coalescer._pending) < len(items) - 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.release.set()
    futures = [first, *rest]
    pool.shutdown(wait=True)
    return futures


def test_requests_queued_behind_a_busy_pass_are_run_in_one_pass() -> None:
    gate = _Gate()
    coalescer = Coalescer(gate, max_items=16)
    futures = _queue_behind_first(coalescer, gate, [("en", i) for i in range(6)])
    assert [f.result() for f in futures] == [0, 10, 20, 30, 40, 50]
    assert [payloads for _, payloads in gate.calls] == [[0], [1, 2, 3, 4, 5]]
    assert (coalescer.passes, coalescer.largest) == (2, 5)


def test_a_pass_takes_at_most_max_items_oldest_first() -> None:
    gate = _Gate()
    coalescer = Coalescer(gate, max_items=3)
    futures = _queue_behind_first(coalescer, gate, [("en", i) for i in range(8)])
    assert [f.result() for f in futures] == [i * 10 for i in range(8)]
    assert [payloads for _, payloads in gate.calls] == [[0], [1, 2, 3], [4, 5, 6], [7]]


def test_each_key_is_run_in_its_own_call() -> None:
    gate = _Gate()
    coalescer = Coalescer(gate, max_items=16)
    items = [("en", 0), ("it", 1), ("en", 2), ("it", 3), ("en", 4)]
    futures = _queue_behind_first(coalescer, gate, items)
    assert [f.result() for f in futures] == [0, 10, 20, 30, 40]
    assert gate.calls[1:] == [("it", [1, 3]), ("en", [2, 4])]


def test_an_error_in_place_reaches_its_caller_alone() -> None:
    def answer(p):
        return EstimoError(f"field 'area_m2' of {p} is bad") if p == 2 else p

    gate = _Gate(answer)
    coalescer = Coalescer(gate, max_items=16)
    futures = _queue_behind_first(coalescer, gate, [("en", i) for i in range(4)])
    assert [f.result() for f in futures if f is not futures[2]] == [0, 1, 3]
    with pytest.raises(EstimoError, match="of 2 is bad"):
        futures[2].result()


def test_a_failed_pass_fails_its_callers_and_the_next_pass_runs() -> None:
    calls = []

    def run(key, payloads):
        calls.append(list(payloads))
        if len(calls) == 1:
            raise RuntimeError("the model crashed")
        return payloads

    coalescer = Coalescer(run, max_items=4)
    with pytest.raises(RuntimeError, match="crashed"):
        coalescer.submit("en", 1)
    assert coalescer.submit("en", 2) == 2  # not left busy


def test_a_run_giving_the_wrong_number_of_answers_is_an_error() -> None:
    coalescer = Coalescer(lambda key, payloads: [], max_items=4)
    with pytest.raises(RuntimeError, match="0 results for 1 requests"):
        coalescer.submit("en", 1)


def test_max_items_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_items is 0; expected an integer >= 1"):
        Coalescer(lambda key, payloads: payloads, max_items=0)


def test_concurrent_valuations_coalesced_equal_each_valued_alone(bundles) -> None:
    """Many threads valuing at once through a coalescing valuer get exactly the answers
    of each property valued alone, and some of them were valued together."""
    from estimo.serve.valuer import load_valuer

    alone = load_valuer(str(bundles / "_global"))
    together = load_valuer(str(bundles / "_global"), coalesce=8)
    records = [
        {"city": city, "area_m2": 40.0 + 7 * i, "rooms": 1.0 + i % 4, "date": "2024-01-15"}
        for i, city in enumerate(["Milano", "Roma", "Napoli", "Torino"] * 6)
    ]
    records.append({"city": "Milano", "area_m2": -5.0})  # refused: its error, in its place
    expected = []
    for record in records:
        try:
            expected.append(alone.value_one(record, lang="it"))
        except EstimoError as exc:
            expected.append(type(exc))
    _hold_first_pass(together, queued=4, seconds=10)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(together.value_one, r, lang="it") for r in records]
    got = []
    for future in futures:
        try:
            got.append(future.result())
        except EstimoError as exc:
            got.append(type(exc))
    assert got == expected
    assert together.coalescer.largest >= 4  # the ones queued behind the first pass
    assert alone.coalescer is None


def test_a_ray_replica_values_concurrent_requests_together(bundles) -> None:
    """The Ray Serve replica values off its event loop: requests it holds at once reach the
    bundle's coalescer together (valued on the loop, each would wait for the one before)."""
    import asyncio

    from estimo.serve.ray_app import ValuationsReplica
    from estimo.serve.valuer import load_valuer

    replica = ValuationsReplica({"model": str(bundles), "coalesce": 8, "alias_poll_seconds": 0})
    records = [
        {"city": "Roma", "area_m2": 40.0 + 9 * i, "rooms": 1.0 + i % 4, "date": "2024-01-15"}
        for i in range(8)
    ]
    slot = asyncio.run(replica.get_model("roma"))
    valuer = slot.current[1]
    _hold_first_pass(valuer, queued=4, seconds=3)
    replica.get_model = _same(slot)  # the deployment's multiplexing cache, in one replica

    async def all_at_once():
        return await asyncio.gather(*(replica.value(r, lang="it") for r in records))

    answers = asyncio.run(all_at_once())
    alone = load_valuer(str(bundles / "Roma"))
    for record, answer in zip(records, answers, strict=True):
        expected = alone.value_one(record, lang="it")
        assert answer["price"] == expected["price"]
        assert answer["explanation"]["reasons"] == expected["explanation"]["reasons"]
        assert answer["model"] == {"bundle": "roma", "version": "Roma", "fallback": False}
    assert valuer.coalescer.largest >= 4


def _same(valuer):
    async def get_model(key: str):
        return valuer

    return get_model


def _hold_first_pass(valuer, queued: int, seconds: float) -> None:
    """Make the valuer's next pass wait (``seconds`` at most) until ``queued`` requests have
    queued behind it; the passes after it run as usual."""
    pipeline = valuer.pipeline
    single = pipeline.value_many_explained

    def held(batch, **kwargs):
        deadline = time.monotonic() + seconds
        while len(valuer.coalescer._pending) < queued and time.monotonic() < deadline:
            time.sleep(0.001)
        pipeline.value_many_explained = single
        return single(batch, **kwargs)

    pipeline.value_many_explained = held
