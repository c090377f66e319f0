"""Reading descriptions once per training, against reading them in each of the three steps.

Training reads the descriptions in the audit (text findings), the text plan and the cleaning
(fills): :func:`estimo.text.fill.read_descriptions` keeps the last reading, so the second and
third steps reuse the first. This times the three readings of the same descriptions with the
kept reading (what training does) and, as the baseline in the same run, with the reading
dropped before each call (what training did), on ``--rows`` generated listings of about
``--chars`` characters each (Italian listing phrases with a phone number, repeated).

Run from the repository root::

    python benchmarks/text_reading.py --rows 2000 --chars 5000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from estimo.text import fill

PHRASES = (
    "Trilocale luminoso di {area} mq al {floor} piano con ascensore",
    "cucina abitabile, due camere e bagno finestrato",
    "riscaldamento autonomo, classe energetica C",
    "box auto e cantina inclusi nel prezzo",
    "per informazioni tel 333 {phone}",
    "ottimo stato, infissi nuovi, zona servita dai mezzi",
)
FLOORS = ("primo", "secondo", "terzo", "quarto")


def descriptions(rows: int, chars: int, seed: int = 0) -> list[str]:
    """``rows`` listings of about ``chars`` characters each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rows):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < chars:
            phrase = PHRASES[int(rng.integers(len(PHRASES)))]
            parts.append(
                phrase.format(
                    area=int(rng.integers(40, 160)),
                    floor=FLOORS[int(rng.integers(len(FLOORS)))],
                    phone=int(rng.integers(1_000_000, 9_999_999)),
                )
            )
        out.append(". ".join(parts) + ".")
    return out


def three_readings(texts: list[str], keep: bool) -> float:
    """Seconds for the three readings of one training (the kept reading dropped first)."""
    fill._LAST.clear()
    started = time.perf_counter()
    for _ in range(3):
        if not keep:
            fill._LAST.clear()
        fill.read_descriptions(texts)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=5000)
    args = parser.parse_args()
    texts = descriptions(args.rows, args.chars)
    fill.read_descriptions(texts[:10])  # imports and compiled patterns, not counted
    before = os.getloadavg()
    baseline = three_readings(texts, keep=False)
    kept = three_readings(texts, keep=True)
    after = os.getloadavg()
    size = sum(map(len, texts)) / len(texts)
    print(f"{len(texts):,} descriptions of {size:,.0f} characters on average")
    print(f"three readings, each from scratch (baseline): {baseline:6.2f} s")
    print(f"three readings, the first kept (training now): {kept:6.2f} s  ({baseline / kept:.2f}x)")
    print(f"load average before {before[0]:.1f}, after {after[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
