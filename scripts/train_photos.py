"""Rebuild the room-type model shipped in ``src/estimo/photos/model/room_model.json``.

Usage (from the repository root, with ``pip install -e ".[photos]"``)::

    nice python scripts/train_photos.py [--photos ../shared/photos/houses] \
        [--out src/estimo/photos/model/room_model.json] [--cache /tmp/estimo-photo-features]

The photos default to ``$ESTIMO_SHARED_PHOTOS/houses``, else ``../shared/photos/houses``.
It reads the labelled photos (``<house>_<room>.jpg``), computes their features (cached per
file when ``--cache`` is given), cross-validates the model with 5 folds grouped by house,
fits the temperature and the unsure threshold on the out-of-fold probabilities, fits the
model on every photo and writes it as JSON with its cross-validated metrics. Deterministic:
the same photos give the same file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from estimo.photos.dataset import extract_features, read_labelled_folder
from estimo.photos.training import train_room_model

REPO = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = Path(os.environ.get("ESTIMO_SHARED_PHOTOS", REPO.parent / "shared" / "photos"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=SHARED_PHOTOS / "houses")
    parser.add_argument(
        "--out", type=Path, default=REPO / "src/estimo/photos/model/room_model.json"
    )
    parser.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    photos = read_labelled_folder(args.photos)
    features = extract_features(photos.files, args.cache, progress=True)
    model, _ = train_room_model(features, photos.labels, photos.groups, n_folds=args.folds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(json.dumps({"model": str(args.out), "photos": len(photos), **model.metrics_}, indent=2))


if __name__ == "__main__":
    main()
