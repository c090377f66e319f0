"""Hypothesis settings of the fuzz suites beyond the value path (issue 17).

The default test run keeps each suite to a few seconds (``ESTIMO_FUZZ_SCALE`` unset or 1,
derandomized); CI sets ``ESTIMO_FUZZ_SCALE=5`` (.ci/run), which runs each suite's CI volume:
with the value path's, more than 5,000 generated cases per CI run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("ESTIMO_FUZZ_SCALE", "1")))


def volume(default: int, ci: int) -> settings:
    """``default`` examples in the default run, ``ci`` at CI's scale 5 (proportionally at
    other scales); no deadline, derandomized in the default run."""
    examples = default if SCALE == 1 else max(default, ci * SCALE // 5)
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=SCALE == 1,
        database=None,
    )
