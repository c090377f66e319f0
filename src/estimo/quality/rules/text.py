"""Text: where the description contradicts a given value, and contact details in descriptions.

Reads the ``description`` column with :mod:`estimo.text` (when the table has one and
``quality.text.enabled``): a given value the text contradicts (area off by more than 5 %,
another floor, "senza ascensore" for a home with a lift) is a finding per column (the given
value is kept); descriptions holding phone numbers, e-mail addresses or URLs are counted
(cleaning masks them).

Examples
--------
>>> import pandas as pd
>>> from estimo.config import QualityConfig
>>> from estimo.quality.findings import AuditContext
>>> texts = ["Bilocale al secondo piano", "Monolocale al terzo piano, tel 06 1234567"]
>>> frame = pd.DataFrame({"id": ["a", "b"], "floor": [4.0, 3.0], "description": texts})
>>> ctx = AuditContext(frame, QualityConfig())
>>> check(ctx)
>>> [(f.rule, f.column, f.count) for f in ctx.findings]
[('text.disagreement', 'floor', 1), ('text.contacts', 'description', 1)]
"""

from __future__ import annotations

import numpy as np

from estimo.quality.findings import AuditContext


def check(ctx: AuditContext) -> None:
    """Add ``text.disagreement`` (per column) and ``text.contacts`` findings."""
    settings = ctx.config.text
    frame = ctx.frame
    if not settings.enabled or "description" not in frame or frame["description"].isna().all():
        return
    from estimo.text.extractor import AMENITY_FIELDS
    from estimo.text.fill import plan_fills, read_descriptions

    reading = read_descriptions(frame["description"], min_confidence=settings.min_confidence)
    columns = [c for c in (*settings.fields, *AMENITY_FIELDS) if c in frame]
    _, disagreements = plan_fills(frame, reading, columns)
    for d in disagreements:
        mask = np.zeros(ctx.n, dtype=bool)
        mask[d.rows] = True
        ctx.flag(
            "text.disagreement",
            mask,
            column=d.column,
            severity="info",
            message=f"the description states another {d.column} than the table, e.g. "
            f'{d.found[0]!r} ("{d.spans[0][:40]}") against {d.given[0]!r}',
            values=frame[d.column],
            action="given value kept",
        )
    if settings.redact and reading.rows_with_contacts:
        counts = ", ".join(f"{v} {k}" for k, v in reading.contacts.items() if v)
        ctx.note(
            "text.contacts",
            column="description",
            severity="info",
            count=reading.rows_with_contacts,
            message=f"{reading.rows_with_contacts} descriptions hold contact details ({counts})",
        ).action = "masked in the cleaned descriptions"
