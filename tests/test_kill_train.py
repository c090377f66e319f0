"""``kill -9`` at random points of ``estimo train --out EXISTING`` (issue 17).

A model folder is trained once; then ``estimo train`` runs again and again into the same
``--out`` (each run with another seed, so every finished run writes a different model) and
is killed with SIGKILL at a random moment, about half of the kills aimed at the save itself
(when the hidden staging sibling appears) and the others anywhere in the run. After every
kill the folder must be a whole model, the old one or a new one, never a mix: every file
matches its ``checksums.json`` and nothing else is there but the quality report, the
pipeline loads and values a property, and ``checksums.json`` is the old one or one no
earlier run wrote.

Marked ``kill`` (not in the default run: about two minutes); CI runs it with
``pytest -m kill`` (.ci/run). ``ESTIMO_KILLS`` sets the number of kills (default 32).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from estimo.bundle_folder import CHECKSUM_FILE, BundleFolder
from estimo.pipeline import load_pipeline
from estimo.synth import generate_market

pytestmark = pytest.mark.kill

KILLS = int(os.environ.get("ESTIMO_KILLS", "32"))
RECORD = {"city": "Milano", "area_m2": 70, "rooms": 3, "date": "2024-01-15"}


def _train(data: Path, out: Path, seed: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ESTIMO_ENGINE__N_ESTIMATORS": "8",
        "ESTIMO_ENGINE__N_JOBS": "1",
        "ESTIMO_ENGINE__SEED": str(seed),
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-c", "from estimo.cli import main; main()", "train", str(data)]
    command += ["--out", str(out)]
    return subprocess.Popen(  # its own process group: the kill takes its workers too
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=out.parent,
        start_new_session=True,
    )


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / CHECKSUM_FILE).read_bytes()).hexdigest()


def _staging(out: Path) -> list[Path]:
    """The hidden siblings a save builds the new folder in (``.model.staged-*``, and
    ``..model.staged-*.saving-*`` inside the save)."""
    return [p for p in out.parent.iterdir() if p.name.lstrip(".").startswith(f"{out.name}.")]


def _whole_model(out: Path) -> None:
    """Every file listed in checksums.json matches it, no other file but the quality
    report is there, and the pipeline values a property."""
    manifest = json.loads((out / CHECKSUM_FILE).read_text())["files"]
    present = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name != CHECKSUM_FILE
    }
    assert {f for f in present if not f.startswith("quality/")} == set(manifest), present
    BundleFolder.open(str(out))  # verifies every checksum
    answer = load_pipeline(str(out)).value_one(RECORD, explain=False)
    assert answer.price > 0


def test_kill_9_during_train_out_leaves_the_old_or_the_new_model(tmp_path: Path) -> None:
    data = tmp_path / "market.parquet"
    generate_market(700, seed=2, faults=False).frame.to_parquet(data, index=False)
    out = tmp_path / "model"
    started = time.monotonic()
    first = _train(data, out, seed=0)
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()[-2000:]
    first.stderr.close()
    duration = time.monotonic() - started
    _whole_model(out)
    seen = {_digest(out)}
    current = _digest(out)
    rng = random.Random(17)
    kills = during_save = finished = new_models = 0
    seed = 0
    while kills < KILLS:
        seed += 1
        leftovers = set(_staging(out))  # of earlier kills: a killed save cannot tidy up
        run = _train(data, out, seed)
        aim_at_save = rng.random() < 0.5
        wait = duration * 4 if aim_at_save else rng.uniform(0.05, 0.8) * duration
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and run.poll() is None:
            if aim_at_save and set(_staging(out)) - leftovers:
                time.sleep(rng.uniform(0, 0.05))  # the swap follows within about 0.1 s
                break
            time.sleep(0.002)
        saving = bool(set(_staging(out)) - leftovers)
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)  # the group of the train started above
            run.wait()
            kills += 1
            during_save += saving
        else:
            finished += 1
            assert run.returncode == 0, run.stderr.read().decode()[-2000:]
        run.stderr.close()
        _whole_model(out)
        now = _digest(out)
        assert now == current or now not in seen, "an older model came back"
        new_models += now != current
        seen.add(now)
        current = now
    report = {
        "kills": kills,
        "during_save": during_save,
        "finished": finished,
        "new_model_after": new_models,
        "old_model_after": kills + finished - new_models,
    }
    (tmp_path / "kills.json").write_text(json.dumps(report))
    print(f"\nkill -9 of estimo train --out EXISTING: {report}")
    assert during_save >= KILLS // 4, report
