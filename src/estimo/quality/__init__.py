"""Data quality: audit rules, the quality report, the cleaning policy and label calibration.

Examples
--------
>>> from estimo.quality import audit
>>> from estimo.synth import generate_market
>>> report = audit(generate_market(1_000, seed=1).frame)
>>> report.summary()["n_rows"] > 0
True
"""

from __future__ import annotations

from estimo.quality.auditor import audit
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy, CleanResult
from estimo.quality.findings import Finding
from estimo.quality.prepare import TrainingData, prepare_training_data
from estimo.quality.report import QualityReport

__all__ = [
    "CleanResult",
    "CleaningPolicy",
    "Finding",
    "LabelCalibrator",
    "QualityReport",
    "TrainingData",
    "audit",
    "prepare_training_data",
]
