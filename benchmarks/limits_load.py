"""Limits under load: several server processes sharing one Redis never let a client through
more than its limit.

Starts ``--servers`` uvicorn processes of the service (one worker each, a small synthetic
model) whose limits live in ``--redis``, then ``--clients`` clients (anonymous callers told
apart by ``X-Forwarded-For``, which the servers trust) each send valuations as fast as they
can for ``--seconds``, spreading their requests over every server in turn (a load balancer).
Every client's limit is ``--limit`` per a window longer than the run (default ``40 per 130
seconds`` for a 60-s run), so a client may get at most 40 answers in the run. Reported per
client: the answers it got (200), the refusals (429, each with ``Retry-After``), and how far
it went over its limit.

The baseline in the same run: the same load against servers that count in memory, each
process on its own (what several pods without Redis do): a client gets up to ``--servers``
times its limit.

Run from the repository root (about 2.5 minutes with the defaults)::

    nice python benchmarks/limits_load.py
    nice python benchmarks/limits_load.py --seconds 10 --json    # short, machine-readable
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("limits_load")

PROPERTY = {"city": "Milano", "area_m2": 80, "rooms": 3, "lat": 45.46, "lon": 9.19}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextlib.contextmanager
def servers(
    model: Path, storage: str, limit: str, n: int, timeout: float = 120.0
) -> Iterator[list[int]]:
    """``n`` uvicorn processes of the service counting limits in ``storage``; their ports."""
    namespace = f"load-{uuid.uuid4().hex[:8]}"  # fresh counters for every run
    env = {
        **os.environ,
        "ESTIMO_SERVE__MODEL": str(model),
        "ESTIMO_SERVE__ALIAS_POLL_SECONDS": "0",
        "ESTIMO_SERVE__LOG_LEVEL": "WARNING",
        "ESTIMO_SERVE__GUARD__ANONYMOUS_TIER": "public",
        "ESTIMO_SERVE__GUARD__TRUST_FORWARDED_FOR": "true",
        "ESTIMO_SERVE__GUARD__LIMITS_STORAGE": storage,
        "ESTIMO_SERVE__GUARD__LIMITS_NAMESPACE": namespace,
        "ESTIMO_SERVE__GUARD__KEY_LIMITS": json.dumps({"public": limit}),
        "ESTIMO_SERVE__GUARD__ADDRESS_LIMIT": "100000/second",
        "ESTIMO_SERVE__GUARD__EXTRACTION__ENABLED": "false",
    }
    ports = [_free_port() for _ in range(n)]
    processes = []
    with tempfile.TemporaryDirectory() as logs:
        try:
            for port in ports:
                command = [
                    sys.executable, "-m", "uvicorn", "estimo.serve.main:app_from_env",
                    "--factory", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning", "--no-access-log",
                ]  # fmt: skip
                out = open(Path(logs) / f"{port}.log", "wb")  # noqa: SIM115 (closed below)
                processes.append((subprocess.Popen(command, env=env, stdout=out, stderr=out), out))
            deadline = time.monotonic() + timeout
            for (process, _), port in zip(processes, ports, strict=True):
                while not _ready(port):
                    if process.poll() is not None or time.monotonic() > deadline:
                        text = (Path(logs) / f"{port}.log").read_text(errors="replace")
                        raise RuntimeError(f"server on port {port} never became ready:\n{text}")
                    time.sleep(0.2)
            for port in ports:  # the first valuations of a process load lazy parts
                _warm_up(port)
            yield ports
        finally:
            for process, _ in processes:
                process.terminate()
            for process, out in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                out.close()


def _warm_up(port: int, n: int = 5) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": "warm-up"}
    for _ in range(n):
        connection.request("POST", "/v1/valuations?explain=false", json.dumps(PROPERTY), headers)
        connection.getresponse().read()
    connection.close()


def _client(
    name: str, ports: list[int], stop: float, counts: dict[str, dict[int, int]], errors: list
) -> None:
    """One client: valuations as fast as it can, over every server in turn."""
    connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports]
    body = json.dumps(PROPERTY)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": name}
    tally = counts[name]
    i = 0
    while time.monotonic() < stop:
        connection = connections[i % len(connections)]
        i += 1
        try:
            connection.request("POST", "/v1/valuations?explain=false", body, headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{name}: {exc!r}")
            connection.close()
            continue
        tally[response.status] = tally.get(response.status, 0) + 1
        if response.status == 429 and not response.getheader("Retry-After"):
            errors.append(f"{name}: 429 without Retry-After")


def load(ports: list[int], n_clients: int, seconds: float) -> dict:
    """Run the clients against ``ports`` for ``seconds``; answers per client and status."""
    counts: dict[str, dict[int, int]] = {f"10.0.0.{i + 1}": {} for i in range(n_clients)}
    errors: list[str] = []
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(name, ports, stop, counts, errors))
        for name in counts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"counts": counts, "errors": errors[:20], "n_errors": len(errors)}


def summary(result: dict, allowed: int) -> dict:
    """Per client: answers, refusals, excess over ``allowed`` (the limit in the run)."""
    rows = []
    for name, tally in result["counts"].items():
        ok = tally.get(200, 0)
        rows.append(
            {
                "client": name,
                "ok": ok,
                "refused": tally.get(429, 0),
                "other": sum(v for k, v in tally.items() if k not in (200, 429)),
                "excess": ok / allowed - 1,
            }
        )
    return {
        "clients": rows,
        "max_excess": max(r["excess"] for r in rows),
        "requests": sum(r["ok"] + r["refused"] + r["other"] for r in rows),
        "n_errors": result["n_errors"],
        "errors": result["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--limit", type=int, default=40, help="answers per run length")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--no-baseline", action="store_true", help="skip the memory baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # the window outlasts the run (twice its length, plus 10 s for the last answers in
    # flight and a loaded machine): a client gets at most --limit in the whole run
    limit = f"{args.limit} per {int(-(-args.seconds // 1)) * 2 + 10} seconds"
    out: dict = {"limit": limit, "servers": args.servers, "clients": args.clients}
    with tempfile.TemporaryDirectory() as folder:
        from estimo.serve.page.screenshots import synthetic_bundle

        model = synthetic_bundle(Path(folder) / "model")
        runs = [("redis", args.redis)] + ([] if args.no_baseline else [("memory", "memory://")])
        for name, storage in runs:
            with servers(model, storage, limit, args.servers) as ports:
                started = time.monotonic()
                result = load(ports, args.clients, args.seconds)
                out[name] = summary(result, args.limit)
                out[name]["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.servers} servers, {args.clients} clients, limit {limit} each")
    for name in ("redis", "memory"):
        if name not in out:
            continue
        run = out[name]
        label = "shared Redis" if name == "redis" else "baseline: memory, one count per process"
        print(
            f"{label}: {run['requests']} requests in {run['seconds']} s "
            f"({run['requests'] / run['seconds']:.0f}/s), transport errors {run['n_errors']}; "
            f"max over the limit: {run['max_excess']:+.1%}"
        )
        for row in run["clients"]:
            print(
                f"  {row['client']:<10} ok {row['ok']:>4}  429 {row['refused']:>5}  "
                f"other {row['other']:>3}  over the limit {row['excess']:+.1%}"
            )


if __name__ == "__main__":
    main()
