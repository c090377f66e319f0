"""benchmarks/limits_load.py, short: three server processes sharing Redis keep every
client within its limit (the 60-s run is in benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _guard_backends import REDIS_URL, require_server

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "limits_load.py"


def test_three_servers_sharing_redis_keep_each_client_within_its_limit() -> None:
    host, port = REDIS_URL.split("//")[1].split(":")
    require_server("Redis", host, int(port.split("/")[0]))
    command = [
        sys.executable, str(SCRIPT), "--servers", "3", "--clients", "3", "--seconds", "5",
        "--limit", "8", "--redis", REDIS_URL, "--json",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shared, alone = result["redis"], result["memory"]
    assert shared["n_errors"] == 0 and alone["n_errors"] == 0, (shared["errors"], alone["errors"])
    for row in shared["clients"]:
        assert row["ok"] == 8 and row["refused"] > 0 and row["other"] == 0, row
    # without the shared store every process counts alone: a client gets more
    assert alone["max_excess"] > 0.5
