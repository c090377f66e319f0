"""Start-up time of ``import estimo``, ``estimo --help`` and the service's app module next to
``python -c pass``.

Each command runs ``--repeat`` times as a fresh process, in turns (pass, import, help, pass,
...) so that the machine's load affects all three alike; the script prints the median and the
spread of the wall times, the ratio of each median to ``python -c pass``, and the heavy
modules each start-up loaded (pandas, scipy, LightGBM, ...). Targets (issue 15): ``estimo
--help`` <= 0.3 s, ``import estimo`` <= 0.15 s; the service's app module (what a pod
imports before ``/readyz``; issue 16's cold start <= 1 s) loads none of the engine's
libraries.

Usage::

    python benchmarks/startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "scipy", "lightgbm", "sklearn", "rich", "pydantic", "pyarrow", "sqlalchemy")
HELP = "import sys; sys.argv = ['estimo', '--help']\nfrom estimo.cli import main\nmain()"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import estimo'": [sys.executable, "-c", "import estimo"],
    "estimo --help": [sys.executable, "-c", HELP],
    "import estimo.serve.main": [sys.executable, "-c", "import estimo.serve.main"],
}


def wall_seconds(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` (output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def heavy_modules(code: str) -> list[str]:
    """The heavy top-level packages a snippet leaves in ``sys.modules``."""
    probe = (
        "import sys\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except SystemExit:\n    pass\n"
        + "print('HEAVY:' + ','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        + f"set({HEAVY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    [line] = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")]
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    for argv in COMMANDS.values():  # warm the file cache once
        wall_seconds(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, argv in COMMANDS.items():
            times[name].append(wall_seconds(argv))
    base = statistics.median(times["python -c pass"])
    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"{'command':28s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'x pass':>7s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:28s} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {median / base:7.1f}"
        )
    print("heavy modules after `import estimo`:", heavy_modules("import estimo") or "none")
    print("heavy modules after `estimo --help`:", heavy_modules(HELP) or "none")
    print(
        "heavy modules after `import estimo.serve.main`:",
        heavy_modules("import estimo.serve.main") or "none",
    )


if __name__ == "__main__":
    main()
