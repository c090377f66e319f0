"""The valuation service over HTTP against a bare FastAPI endpoint, in the same run.

Both servers run the same way (``python -m uvicorn``, one worker, 127.0.0.1, the same
client: ``http.client`` keep-alive connections from this process). The bare app answers a
constant from ``POST /v1/valuations`` and ``POST /v1/valuations:batch``. Measured:

1. cold start: process start to ``/readyz`` 200, with 15 city bundles registered (lazy),
   median of 3 starts, and the ratio to the bare app's start;
2. first request for a city whose bundle is not loaded yet (median and max of 5 cities);
3. one valuation with reasons and comparables: p50/p99 of sequential requests, and
   valuations/s with 4 client threads; ratio to the bare endpoint; the same for the service
   around a constant valuer (what the service adds, whatever the engine costs), the
   service with ``coalesce: 1`` (every request valued alone: the baseline of request
   coalescing) and, for reference, the engine alone in this process (no HTTP);
4. a batch of 100 without reasons: valuations/s;
5. 100 synthetic city bundles under a 1 GiB budget: resident memory of the server sampled
   every second over a load touching all of them (random city per request, 4 threads);
   repeated with a budget that holds about a third of them, so the LRU evicts all along;
6. champion swap during a load: the global alias and a city alias move every 3 s; failed
   requests are counted.

Run from the repository root (about 5 minutes; 100 small bundles are trained first)::

    nice python benchmarks/serve.py
    nice python benchmarks/serve.py --load-seconds 20 --swap-seconds 10   # quicker
    nice python benchmarks/serve.py --part memory --part swap              # parts 5 and 6
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
N_CITIES = 100
N_COLD = 15


# ---------------------------------------------------------------------- the bare app


def bare_app() -> Any:
    """The baseline: FastAPI answering constants (uvicorn factory)."""
    from fastapi import FastAPI

    app = FastAPI()
    answer = {"price": 412000.0, "low": 371000.0, "high": 455000.0, "currency": "EUR"}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/valuations")
    def value(body: dict[str, Any]) -> dict[str, Any]:
        return answer

    @app.post("/v1/valuations:batch")
    def value_batch(body: dict[str, Any]) -> dict[str, Any]:
        return {"items": [answer] * len(body["properties"])}

    return app


def constant_app() -> Any:
    """Estimo's app (middleware, validation, routing, problems, logs, metrics) around a valuer
    that answers a constant: what the service adds, whatever the engine costs."""
    from estimo.serve.catalog import GLOBAL, BundleRef
    from estimo.serve.logs import configure_json_logging
    from estimo.serve.main import create_app
    from estimo.serve.settings import ServeSettings

    answer = {"price": 412000.0, "low": 371000.0, "high": 455000.0, "currency": "EUR"}

    class Constant:
        cities = ()

        def memory_bytes(self) -> int:
            return 1

        def value_one(self, record: Any, *, explain: bool = True, lang: str = "en") -> dict:
            return dict(answer, warnings=[])

        def value_many(self, records: Any, *, explain: bool = True, lang: str = "en") -> list:
            return [dict(answer, warnings=[]) for _ in records]

    class OneBundle:
        source = "constant"

        def refresh(self) -> dict[str, BundleRef]:
            return {GLOBAL: BundleRef(GLOBAL, None, "v1", "")}

        def load(self, ref: BundleRef) -> Constant:
            return Constant()

    settings = ServeSettings(
        model=".",
        alias_poll_seconds=0,
        batch_max=1000,
        extra_fields=EXTRAS,
        guard={
            "anonymous_tier": "internal",
            "key_limits": {"internal": "1000000/second"},
            "address_limit": "1000000/second",
        },
    )
    configure_json_logging("INFO")
    return create_app(settings, catalog=OneBundle())


EXTRAS = ["has_elevator", "floors_in_building", "has_terrace"]


def in_process(url: str, body: dict[str, Any], n: int) -> dict[str, float]:
    """The engine alone: the same valuation through the valuer, no HTTP."""
    from estimo.registry.store import Registry
    from estimo.serve.valuer import load_valuer

    registry = Registry(url)
    valuer = load_valuer(registry.bundle_url(registry.aliases.get("champion--city000")))
    for _ in range(10):
        valuer.value_one(body)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        valuer.value_one(body)
        times.append((time.perf_counter() - started) * 1000)
    batch = [{**body, "area_m2": 40.0 + i} for i in range(100)]
    started = time.perf_counter()
    valuer.value_many(batch, explain=False)
    times.sort()
    return {
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "batch100_no_reasons_per_s": 100 / (time.perf_counter() - started),
    }


# ---------------------------------------------------------------------- bundles


def build_registry(
    root: Path, seed: int, n_cities: int = N_CITIES
) -> tuple[str, dict[str, dict[str, Any]], list[str]]:
    """A registry with a global bundle (two versions) and 100 city bundles.

    Aliases: ``champion`` (global) + ``champion--city000`` ...; ``cold`` + 15 city aliases;
    ``swap`` (global) + ``swap--city000``. Returns the URL, one request per city, extras.
    """
    from estimo.model.avm import AVM
    from estimo.registry.store import Registry
    from estimo.schema import FIELDS
    from estimo.synth import generate_market

    small = {"n_estimators": 60, "min_city_rows": 200, "n_jobs": 1, "currency": "EUR"}
    market = generate_market(6_000, seed=seed, faults=False).frame
    registry = Registry(str(root / "registry"))
    g1 = registry.save(AVM(**small).fit(market)).version
    g2 = registry.save(AVM(**{**small, "seed": 1}).fit(market)).version
    for alias in ("champion", "cold", "swap"):
        registry.aliases.set(alias, g1)
    sources = sorted(market["city"].unique())
    requests: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for i in range(n_cities):
        city = f"City{i:03d}"
        rows = market.loc[market["city"] == sources[i % len(sources)]].copy()
        rows = rows.sample(frac=0.8, random_state=i)
        rows["city"] = city
        version = registry.save(AVM(**{**small, "seed": i}).fit(rows), tags={"city": city}).version
        registry.aliases.set(f"champion--{city.lower()}", version)
        if i < N_COLD:
            registry.aliases.set(f"cold--{city.lower()}", version)
        if i == 0:
            registry.aliases.set(f"swap--{city.lower()}", version)
            registry.aliases.set("swap-next", version)
        subject = rows.drop(columns=["price", "price_kind", "id", "description"]).iloc[0]
        requests[city] = {
            k: (v.date().isoformat() if hasattr(v, "date") else v)
            for k, v in subject.items()
            if v is not None and v == v
        }
    print(
        f"trained and registered {n_cities} city bundles in {time.perf_counter() - started:.0f} s"
    )
    registry.aliases.set("swap-g2", g2)
    extras = [c for c in market.columns if c not in FIELDS]
    return registry.url, requests, extras


# ---------------------------------------------------------------------- servers


class Server:
    """A uvicorn process on a free local port."""

    def __init__(self, target: str, env: dict[str, str], app_dir: Path | None = None) -> None:
        from estimo.serve.background import free_port

        self.port = free_port()
        command = [sys.executable, "-m", "uvicorn", "--factory", target]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        command += ["--log-level", "warning"]
        if app_dir is not None:
            command += ["--app-dir", str(app_dir)]
        self.started = time.perf_counter()
        STARTED.append(self)
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from process start to ``/readyz`` 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = request(self.connection(), "GET", "/readyz")
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError("server did not become ready")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def rss(self) -> int:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024

    def metric(self, name: str) -> float:
        _, body = request(self.connection(), "GET", "/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


STARTED: list[Server] = []  # every server of the run, stopped at the end whatever happens


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def estimo_env(url: str, alias: str, extras: list[str], **more: Any) -> dict[str, str]:
    env = {
        "ESTIMO_SERVE__REGISTRY": url,
        "ESTIMO_SERVE__ALIAS": alias,
        "ESTIMO_SERVE__EXTRA_FIELDS": json.dumps(extras),
        "ESTIMO_SERVE__BATCH_MAX": "1000",
        "ESTIMO_SERVE__LOG_LEVEL": "INFO",
        # the guard's defaults require a key and limit each client: this benchmark measures
        # the service itself (benchmarks/limits_load.py and extraction.py measure the guard)
        "ESTIMO_SERVE__GUARD__ANONYMOUS_TIER": "internal",
        "ESTIMO_SERVE__GUARD__KEY_LIMITS": json.dumps({"internal": "1000000/second"}),
        "ESTIMO_SERVE__GUARD__ADDRESS_LIMIT": "1000000/second",
    }
    env.update({f"ESTIMO_SERVE__{k.upper()}": str(v) for k, v in more.items()})
    return env


ESTIMO = "estimo.serve.main:app_from_env"
BARE = "serve:bare_app"
CONSTANT = "serve:constant_app"


# ---------------------------------------------------------------------- measurements


def cold_start(url: str, extras: list[str]) -> dict[str, float]:
    """Registry with 15 city aliases; also the champion's folder served alone (no registry)."""
    from estimo.registry.store import Registry

    folder = Registry(url).bundle_url("champion")
    envs = {
        "estimo": estimo_env(url, "cold", extras, alias_poll_seconds=0),
        "estimo_model_folder": {
            "ESTIMO_SERVE__MODEL": folder.removeprefix("file://"),
            "ESTIMO_SERVE__ALIAS_POLL_SECONDS": "0",
        },
    }
    times: dict[str, list[float]] = {"estimo": [], "estimo_model_folder": [], "bare": []}
    for _ in range(3):
        for name in times:
            if name == "bare":
                server = Server(BARE, {}, app_dir=HERE)
            else:
                server = Server(ESTIMO, envs[name])
            times[name].append(server.wait_ready())
            server.stop()
    out = {f"{k}_s": statistics.median(v) for k, v in times.items()}
    out["ratio"] = out["estimo_s"] / out["bare_s"]
    out["ratio_model_folder"] = out["estimo_model_folder_s"] / out["bare_s"]
    return out


def first_requests(server: Server, requests: dict[str, dict[str, Any]]) -> dict[str, float]:
    conn = server.connection()
    started = time.perf_counter()  # the very first load also waits for the engine's imports
    status, body = request(conn, "POST", "/v1/valuations", requests[list(requests)[-1]])
    first_ever = (time.perf_counter() - started) * 1000
    times = []
    for city in list(requests)[1:6]:
        started = time.perf_counter()
        status, body = request(conn, "POST", "/v1/valuations", requests[city])
        assert status == 200, body[:300]
        times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": statistics.median(times),
        "max_ms": max(times),
        "very_first_request_ms": first_ever,
    }


def latency(server: Server, path: str, body: Any, n: int) -> dict[str, float]:
    conn = server.connection()
    for _ in range(30):
        request(conn, "POST", path, body)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, answer = request(conn, "POST", path, body)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, answer[:300]
    times.sort()
    return {
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "sequential_per_s": 1000 / statistics.mean(times),
    }


def load(
    server: Server,
    path: str,
    bodies: list[Any],
    seconds: float,
    threads: int = 4,
    on_tick: Any = None,
) -> dict[str, float]:
    """``threads`` clients for ``seconds``; each request takes a random body."""
    done = [0] * threads
    failed = [0] * threads
    stop = threading.Event()

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = server.connection()
        while not stop.is_set():
            try:
                status, _ = request(conn, "POST", path, rng.choice(bodies))
                ok = status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn = server.connection()
            done[k] += ok
            failed[k] += not ok

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    while time.perf_counter() - started < seconds:
        time.sleep(1.0)
        if on_tick is not None:
            on_tick(time.perf_counter() - started)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {"per_s": sum(done) / elapsed, "ok": sum(done), "failed": sum(failed)}


def budget_run(
    url: str,
    requests: dict[str, dict[str, Any]],
    extras: list[str],
    budget_mb: float,
    seconds: float,
) -> dict[str, Any]:
    server = Server(ESTIMO, estimo_env(url, "champion", extras, memory_budget_mb=budget_mb))
    server.wait_ready()
    time.sleep(2.0)  # the libraries are imported after ready
    conn = server.connection()
    for body in requests.values():  # touch every bundle once: the warm point
        status, answer = request(conn, "POST", "/v1/valuations?explain=false", body)
        assert status == 200, answer[:300]
    warm = server.rss()
    samples: list[int] = []
    result = load(
        server,
        "/v1/valuations?explain=false",
        list(requests.values()),
        seconds,
        on_tick=lambda _: samples.append(server.rss()),
    )
    _, models = request(server.connection(), "GET", "/v1/models")
    snapshot = json.loads(models)
    loaded = [b for b in snapshot["bundles"] if b["state"] == "loaded"]
    out = {
        "budget_mb": budget_mb,
        "rss_warm_mb": warm / 2**20,
        "rss_min_mb": min(samples) / 2**20,
        "rss_max_mb": max(samples) / 2**20,
        "rss_spread_pct": 100 * (max(samples) - min(samples)) / warm,
        "rss_max_over_warm_pct": 100 * (max(samples) - warm) / warm,
        "loaded_bundles": len(loaded),
        "charged_mb": snapshot["memory_bytes"] / 2**20,
        "mean_bundle_mb": statistics.mean(b["memory_bytes"] for b in loaded) / 2**20,
        "loads": server.metric("estimo_model_loads_total"),
        "evictions": server.metric("estimo_model_evictions_total"),
        **result,
    }
    server.stop()
    return out


def swap_run(url: str, requests: dict[str, dict[str, Any]], extras: list[str], seconds: float):
    from estimo.registry.store import Registry

    registry = Registry(url)
    versions = [registry.aliases.get("swap"), registry.aliases.get("swap-g2")]
    cities = [registry.aliases.get("swap--city000"), registry.aliases.get("champion--city001")]
    env = estimo_env(url, "swap", extras, alias_poll_seconds=0.5, hot_cities='["global"]')
    server = Server(ESTIMO, env)
    server.wait_ready()
    bodies = [requests["City000"], requests[list(requests)[-1]]]
    swaps = [0]

    def on_tick(elapsed: float) -> None:
        if int(elapsed) % 3 == 0:
            k = swaps[0] = swaps[0] + 1
            registry.aliases.set("swap", versions[k % 2])
            registry.aliases.set("swap--city000", cities[k % 2])

    result = load(server, "/v1/valuations", bodies, seconds, on_tick=on_tick)
    result["swaps"] = swaps[0]
    result["loads"] = server.metric("estimo_model_loads_total")
    server.stop()
    return result


# ---------------------------------------------------------------------- main


PARTS = ("cold", "first", "latency", "memory", "swap")


def fast_parts(args: Any, url: str, requests: dict, extras: list, want: Any) -> None:
    """Parts 2 (first request of a city) and 3-4 (latency, throughput, batch)."""
    one = requests["City000"]
    batch = {"properties": [{**one, "area_m2": 40.0 + i} for i in range(100)]}
    estimo = Server(ESTIMO, estimo_env(url, "champion", extras, alias_poll_seconds=0))
    estimo.wait_ready()
    time.sleep(2.0)  # the engine's libraries are imported right after ready
    if want("first"):
        print("\n2. first request for a city not loaded yet")
        print(json.dumps(first_requests(estimo, requests), indent=1))
    if not want("latency"):
        estimo.stop()
        return

    bare = Server(BARE, {}, app_dir=HERE)
    bare.wait_ready()
    constant = Server(CONSTANT, {}, app_dir=HERE)
    constant.wait_ready()
    alone = Server(ESTIMO, estimo_env(url, "champion", extras, alias_poll_seconds=0, coalesce=1))
    alone.wait_ready()
    rows = {}
    servers = {"estimo": estimo, "estimo_coalesce1": alone, "estimo_constant": constant}
    for name, server in (*servers.items(), ("bare", bare)):
        rows[name] = {
            **latency(server, "/v1/valuations", one, args.requests),
            "threads4_per_s": load(server, "/v1/valuations", [one], 5.0)["per_s"],
            "batch100_no_reasons_per_s": 100
            * load(server, "/v1/valuations:batch?explain=false", [batch], 5.0)["per_s"],
        }
    ratios = {name: {k: rows[name][k] / rows["bare"][k] for k in rows["bare"]} for name in servers}
    coalescing = {
        k: rows["estimo"][k] / rows["estimo_coalesce1"][k] for k in ("p50_ms", "threads4_per_s")
    }
    print("\n3-4. one valuation with reasons (sequential, 4 threads); batch of 100")
    print("estimo_constant: the service around a constant valuer (what HTTP + the app add)")
    print("estimo_coalesce1: the service valuing every request alone (coalesce: 1)")
    rows["engine_in_process"] = in_process(url, one, min(args.requests, 200))
    print(json.dumps({**rows, "over_bare": ratios, "coalesce16_over_1": coalescing}, indent=1))
    for server in (*servers.values(), bare):
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--swap-seconds", type=float, default=30.0)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cities", type=int, default=N_CITIES, help="city bundles (>= 15)")
    parser.add_argument("--workdir", help="keep the trained bundles here and reuse them")
    parser.add_argument(
        "--part",
        action="append",
        choices=PARTS,
        help="run only this part (repeat for several; default: all): cold (1), first (2), "
        "latency (3-4), memory (5), swap (6)",
    )
    args = parser.parse_args()
    parts = set(args.part or PARTS)

    def want(part: str) -> bool:
        return part in parts

    print(f"uptime: {os.popen('uptime').read().strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        saved = work / "requests.json"
        if saved.is_file():  # bundles trained by an earlier run with --workdir
            url, requests, extras = json.loads(saved.read_text())
            print(f"reusing the {len(requests)} city bundles in {work}")
        else:
            url, requests, extras = build_registry(work, args.seed, args.cities)
            saved.write_text(json.dumps([url, requests, extras]))
        if want("cold"):
            print("\n1. cold start to /readyz 200 (15 city bundles registered, lazy)")
            print(json.dumps(cold_start(url, extras), indent=1))
        if want("first") or want("latency"):
            fast_parts(args, url, requests, extras, want)
        if want("memory"):
            print(f"\n5. {args.cities} city bundles, 1 GiB budget, {args.load_seconds:.0f} s load")
            big = budget_run(url, requests, extras, 1024, args.load_seconds)
            print(json.dumps(big, indent=1))
            third = round(big["mean_bundle_mb"] * args.cities / 3)
            print(f"\n5b. the same with a {third} MiB budget (about a third fits: LRU at work)")
            print(json.dumps(budget_run(url, requests, extras, third, args.load_seconds), indent=1))
        if want("swap"):
            print(f"\n6. champion swap every 3 s during a {args.swap_seconds:.0f} s load")
            print(json.dumps(swap_run(url, requests, extras, args.swap_seconds), indent=1))
    print(f"\nuptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    try:
        main()
    finally:
        for server in STARTED:
            server.stop()
