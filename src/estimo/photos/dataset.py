"""Labelled photo folders and their cached feature vectors.

A labelled folder holds either files named ``<group>_<room>.<ext>`` (the group is the house
or listing: cross-validation never splits a group) or one sub-folder per room
(``kitchen/IMG_001.jpg``; each file is then its own group). Room words are mapped by
:func:`estimo.photos.rooms.room_from_word` (``frontal`` is ``exterior``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from estimo.photos.features import FEATURE_VERSION, N_FEATURES, photo_features
from estimo.photos.images import PhotoError, list_photos, open_photo
from estimo.photos.rooms import ROOMS, room_from_word
from estimo.progress import step_progress

log = logging.getLogger(__name__)


@dataclass
class LabelledPhotos:
    """Photos with a room label and a group (house), in a fixed order."""

    files: list[Path]
    labels: np.ndarray
    groups: np.ndarray

    def __len__(self) -> int:
        return len(self.files)


def read_labelled_folder(folder: Path) -> LabelledPhotos:
    """Find the labelled photos in ``folder`` (see the module docstring for the layouts).

    Raises
    ------
    PhotoError
        When no file carries a known room label.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PhotoError(f"photo folder {str(folder)!r} does not exist or is not a folder")
    files: list[Path] = []
    labels: list[int] = []
    groups: list[str] = []
    subfolders = [d for d in sorted(folder.iterdir()) if d.is_dir() and room_from_word(d.name)]
    if subfolders:
        for sub in subfolders:
            room = room_from_word(sub.name)
            for path in list_photos(sub):
                files.append(path)
                labels.append(ROOMS.index(room))
                groups.append(f"{sub.name}/{path.stem}")
    else:
        for path in list_photos(folder):
            group, _, word = path.stem.rpartition("_")
            room = room_from_word(word)
            if room is None or not group:
                continue
            files.append(path)
            labels.append(ROOMS.index(room))
            groups.append(group)
    if not files:
        raise PhotoError(
            f"photo folder {str(folder)!r} has no labelled photo; expected files named "
            "<house>_<room>.jpg or one sub-folder per room, rooms: " + ", ".join(ROOMS)
        )
    return LabelledPhotos(files, np.asarray(labels, dtype=np.int64), np.asarray(groups))


def _cache_key(path: Path) -> str:
    stat = path.stat()
    raw = f"{FEATURE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(raw.encode()).hexdigest()


def extract_features(
    files: list[Path], cache_dir: Path | None = None, *, progress: bool = False
) -> np.ndarray:
    """Feature vectors of photo files, shape (n, N_FEATURES), cached per file when asked.

    Parameters
    ----------
    files : list of Path
        Photo files.
    cache_dir : Path, optional
        Folder for one ``.npy`` per photo, keyed by path, size, mtime and feature version.
    progress : bool
        Show a progress bar on stderr.
    """
    out = np.empty((len(files), N_FEATURES), dtype=np.float32)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    with step_progress("photo features", len(files), enabled=progress, done="read") as advance:
        for i, path in enumerate(files):
            cached = cache_dir / f"{_cache_key(path)}.npy" if cache_dir is not None else None
            if cached is not None and cached.exists():
                out[i] = np.load(cached)
            else:
                out[i] = photo_features(open_photo(path.read_bytes(), path.name))
                if cached is not None:
                    np.save(cached, out[i])
            advance(path.name)
    return out
