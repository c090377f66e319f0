"""Bad inputs on the value path (issue 17): replay them through ``estimo value`` and the API.

Each case is a property (or a malformed ``--property`` text) with what a fair user expects:
``refuse`` (a clear error) or ``warn`` (a valuation that says what limits it). Every case goes
through ``estimo value --json`` (Typer's CliRunner, in process) and ``POST /v1/valuations``
(FastAPI's TestClient) on a small synthetic model fitted here, and is classified:

- ``clear error``: exit code 1 or 2 with one ``error:`` message (CLI), or a 4xx problem
  (API);
- ``valued with warning``: a valuation with low confidence or an input warning, where the
  case asks for one (or a valuation where the case is refused: see ``wrong success``);
- ``traceback``: an exception escaped, another exit code, an "unexpected failure", a 5xx;
- ``wrong success``: a valuation where the case must be refused, or one without a warning
  where the case asks for one.

With ``--baseline-src DIR`` the same replay runs first with the package sources in ``DIR``
(e.g. ``git archive main src | tar -x -C /tmp/base``) in a subprocess, and both counts are
printed.

    python benchmarks/bad_inputs.py [--baseline-src /tmp/base/src] [--details]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLASSES = ("clear error", "valued with warning", "traceback", "wrong success")

# (name, property (a dict, or the raw --property text), expected: refuse | warn)
ISSUE_CASES: list[tuple[str, Any, str]] = [
    ("area_m2 1e9", {"city": "Milano", "area_m2": 1e9}, "refuse"),
    ("area_m2 0", {"city": "Milano", "area_m2": 0}, "refuse"),
    ("area_m2 -50", {"city": "Milano", "area_m2": -50}, "refuse"),
    ("area_m2 true", {"city": "Milano", "area_m2": True}, "refuse"),
    ("rooms -3", {"city": "Milano", "area_m2": 80, "rooms": -3}, "refuse"),
    (
        "year 3000, floor 250, castle",
        {"city": "Milano", "year_built": 3000, "floor": 250, "property_type": "castle"},
        "refuse",
    ),
    ("year_built 3000", {"city": "Milano", "area_m2": 80, "year_built": 3000}, "refuse"),
    ("floor 250", {"city": "Milano", "area_m2": 80, "floor": 250}, "refuse"),
    ("property_type castle", {"city": "Milano", "property_type": "castle"}, "refuse"),
    ("date 2100-01-01", {"city": "Milano", "area_m2": 80, "date": "2100-01-01"}, "refuse"),
    ("date 1500-01-01", {"city": "Milano", "area_m2": 80, "date": "1500-01-01"}, "refuse"),
    ("NaN / Infinity", '{"city": "Milano", "area_m2": NaN, "rooms": Infinity}', "refuse"),
    ("city as a list", {"city": ["Milano"]}, "refuse"),
    ("area_m2 '[/x]'", {"city": "Milano", "area_m2": "[/x]"}, "refuse"),
    ("city '[/]'", {"city": "[/]", "area_m2": 80}, "refuse"),
]
OWN_CASES: list[tuple[str, Any, str]] = [
    ("area_m2 '1e400'", {"city": "Milano", "area_m2": "1e400"}, "refuse"),
    ("area_m2 'Infinity'", {"city": "Milano", "area_m2": "Infinity"}, "refuse"),
    ("area_m2 -Infinity", '{"city": "Milano", "area_m2": -Infinity}', "refuse"),
    ("area_m2 3", {"city": "Milano", "area_m2": 3}, "refuse"),
    ("area_m2 1e308", {"city": "Milano", "area_m2": 1e308}, "refuse"),
    ("rooms 1e15", {"city": "Milano", "area_m2": 80, "rooms": 10**15}, "refuse"),
    ("rooms false", {"city": "Milano", "area_m2": 80, "rooms": False}, "refuse"),
    ("bathrooms -1", {"city": "Milano", "area_m2": 80, "bathrooms": -1}, "refuse"),
    ("floor -50", {"city": "Milano", "area_m2": 80, "floor": -50}, "refuse"),
    ("year_built -200", {"city": "Milano", "area_m2": 80, "year_built": -200}, "refuse"),
    ("year_built 0", {"city": "Milano", "area_m2": 80, "year_built": 0}, "refuse"),
    ("lat 123", {"city": "Milano", "area_m2": 80, "lat": 123}, "refuse"),
    ("lon -500", {"city": "Milano", "area_m2": 80, "lon": -500}, "refuse"),
    ("rooms as object", {"city": "Milano", "rooms": {"$gt": 1}}, "refuse"),
    ("area_m2 as list", {"city": "Milano", "area_m2": [80]}, "refuse"),
    ("city 123", {"city": 123, "area_m2": 80}, "refuse"),
    ("city empty", {"city": "", "area_m2": 80}, "refuse"),
    ("city missing", {"area_m2": 80}, "refuse"),
    ("city 10,000 chars", {"city": "x" * 10_000}, "refuse"),
    ("city <script>", {"city": "<script>alert(1)</script>"}, "refuse"),
    ("neighbourhood [bold]", {"city": "Milano", "neighbourhood": "[bold]x[/bold]"}, "refuse"),
    ("description <img>", {"city": "Milano", "description": "<img src=x onerror=1>"}, "refuse"),
    ("condition control chars", {"city": "Milano", "condition": "good\x1b[31m"}, "refuse"),
    ("property_type FLAT!", {"city": "Milano", "property_type": "FLAT!"}, "refuse"),
    ("unknown field pool", {"city": "Milano", "area_m2": 80, "pool": 1}, "refuse"),
    ("unknown field '[/x]'", {"city": "Milano", "[/x]": 1}, "refuse"),
    ("date dd/mm/yyyy", {"city": "Milano", "date": "01/02/2023"}, "refuse"),
    ("date 2024-13-45", {"city": "Milano", "date": "2024-13-45"}, "refuse"),
    ("date as a number", {"city": "Milano", "date": 20240101}, "refuse"),
    ("date 99999-01-01", {"city": "Milano", "date": "99999-01-01"}, "refuse"),
    ("date before training", {"city": "Milano", "area_m2": 80, "date": "2019-06-01"}, "refuse"),
    ("date 2262-05-01", {"city": "Milano", "date": "2262-05-01"}, "refuse"),
    (
        "floor above building",
        {"city": "Milano", "area_m2": 80, "floor": 9, "floors_in_building": 5},
        "refuse",
    ),
    ("10 m2 for 5 rooms", {"city": "Milano", "area_m2": 10, "rooms": 5}, "refuse"),
    ("property is a list", '["Milano"]', "refuse"),
    ("property is null", "null", "refuse"),
    ("property is a number", "3", "refuse"),
    ("truncated JSON", '{"city": "Milano", "area_m2": ', "refuse"),
    ("deeply nested JSON", "[" * 5000, "refuse"),
    ("single-quoted JSON", "{'city': 'Milano'}", "refuse"),
    ("date after training", {"city": "Milano", "area_m2": 80, "date": "2025-06-01"}, "warn"),
    ("no date (valued today)", {"city": "Milano", "area_m2": 80, "rooms": 3}, "warn"),
    ("900 m2 for 2 rooms", {"city": "Milano", "area_m2": 900, "rooms": 2}, "warn"),
]


def fit_model(root: Path) -> tuple[str, str]:
    """A small synthetic pipeline (for the CLI) and its engine bundle (for the API)."""
    from estimo.model.avm import AVM
    from estimo.model.bundle import save_model
    from estimo.pipeline import ValuationPipeline
    from estimo.synth import generate_market

    frame = generate_market(1_500, seed=3, faults=False).frame
    engine = AVM(n_estimators=20, min_city_rows=300, n_jobs=1, progress=False, currency="EUR")
    pipeline = ValuationPipeline(engine=engine).fit(frame)
    pipeline.save(str(root / "pipeline"))
    save_model(pipeline.engine_, str(root / "engine"))
    return str(root / "pipeline"), str(root / "engine")


def payload_text(case: Any) -> str:
    return case if isinstance(case, str) else json.dumps(case, allow_nan=True)


def is_valid_answer(answer: dict[str, Any]) -> bool:
    price, low, high = answer.get("price"), answer.get("low"), answer.get("high")
    numbers = (price, low, high)
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
        return False
    return 0 < low <= price <= high


def classify_answer(answer: dict[str, Any], expected: str) -> str:
    if not is_valid_answer(answer):
        return "wrong success"
    if expected == "refuse":
        return "wrong success"
    warned = answer.get("confidence") == "low" or bool(answer.get("warnings"))
    return "valued with warning" if warned else "wrong success"


def replay_cli(folder: str, cases: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    from typer.testing import CliRunner

    from estimo.cli import app

    runner = CliRunner()
    out = []
    for name, case, expected in cases:
        result = runner.invoke(app, ["value", "-m", folder, "--json", "-p", payload_text(case)])
        text = result.output
        escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
        if escaped or "Traceback" in text or "unexpected failure" in text:
            verdict = "traceback"
        elif result.exit_code in (1, 2) and "error:" in text:
            verdict = "clear error"
        elif result.exit_code == 0:
            try:
                answers = json.loads(result.stdout)
                verdicts = [classify_answer(a["valuation"], expected) for a in answers]
                verdict = "wrong success" if "wrong success" in verdicts else verdicts[0]
            except (ValueError, KeyError, IndexError, TypeError):
                verdict = "wrong success"
        else:
            verdict = "traceback"
        message = text.strip().splitlines()[:2]
        out.append({"name": name, "expected": expected, "verdict": verdict, "shown": message})
    return out


def replay_api(folder: str, cases: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from estimo.serve.main import create_app
    from estimo.serve.settings import ServeSettings

    settings = ServeSettings(
        model=folder,
        alias_poll_seconds=0,
        guard={
            "anonymous_tier": "internal",
            "address_limit": "1000000/second",
            "key_limits": {"internal": "1000000/second"},
        },
    )
    out = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        for name, case, expected in cases:
            response = client.post(
                "/v1/valuations",
                content=payload_text(case),
                headers={"content-type": "application/json"},
            )
            status = response.status_code
            if status >= 500 or "Traceback" in response.text:
                verdict = "traceback"
            elif 400 <= status < 500:
                verdict = "clear error"
            else:
                try:
                    verdict = classify_answer(response.json(), expected)
                except ValueError:
                    verdict = "wrong success"
            out.append({"name": name, "expected": expected, "verdict": verdict, "shown": [status]})
    return out


def run(cases: list[tuple[str, Any, str]]) -> dict[str, Any]:
    """Fit the model and replay every case through both entry points."""
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        pipeline, engine = fit_model(Path(tmp))
        return {"cli": replay_cli(pipeline, cases), "api": replay_api(engine, cases)}


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    return {c: sum(1 for r in results if r["verdict"] == c) for c in CLASSES}


def table(title: str, outcome: dict[str, Any]) -> str:
    lines = [title, f"{'entry point':<12}" + "".join(f"{c:>21}" for c in CLASSES) + f"{'n':>6}"]
    for entry in ("cli", "api"):
        row = counts(outcome[entry])
        cells = "".join(f"{row[c]:>21}" for c in CLASSES)
        lines.append(f"{entry:<12}{cells}{len(outcome[entry]):>6}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", help="package sources of the baseline (main)")
    parser.add_argument("--details", action="store_true", help="print every case's verdict")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = ISSUE_CASES + OWN_CASES
    if args.json:  # the baseline's subprocess
        print(json.dumps(run(cases), default=str))
        return
    print(
        f"{len(ISSUE_CASES)} cases of the issue + {len(OWN_CASES)} of the same kinds, "
        "through `estimo value` and POST /v1/valuations"
    )
    if args.baseline_src:
        env = {**os.environ, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--json"], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            print("baseline failed:", done.stderr[-2000:])
        else:
            baseline = json.loads(done.stdout.strip().splitlines()[-1])
            seconds = time.perf_counter() - started
            print(table(f"\nbaseline ({args.baseline_src}, {seconds:.0f} s)", baseline))
            if args.details:
                show_details(baseline)
    started = time.perf_counter()
    outcome = run(cases)
    print(table(f"\nthis branch ({time.perf_counter() - started:.0f} s)", outcome))
    if args.details:
        show_details(outcome)
    issue_names = {name for name, _, _ in ISSUE_CASES}
    for entry in ("cli", "api"):
        issue = [r for r in outcome[entry] if r["name"] in issue_names]
        print(f"  {entry}, the issue's cases only: {counts(issue)}")


def show_details(outcome: dict[str, Any]) -> None:
    for entry in ("cli", "api"):
        for r in outcome[entry]:
            shown = " | ".join(str(s) for s in r["shown"])[:110]
            print(f"  {entry} {r['name']:<30} {r['expected']:<7} {r['verdict']:<20} {shown}")


if __name__ == "__main__":
    main()
