"""Fixtures for the photo tests: generated images (fast suite) and ../shared/photos (realdata).

They need the ``estimo[photos]`` extra; without it the repository's conftest.py does not
collect them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_photos_dir() -> Path:
    """``../shared/photos`` next to the repository (or ``$ESTIMO_SHARED_PHOTOS``)."""
    return Path(os.environ.get("ESTIMO_SHARED_PHOTOS", REPO.parent / "shared" / "photos"))


@pytest.fixture(scope="session")
def shared_photos() -> Path:
    """The real photos; a real-data test fails (not skips) when they are missing."""
    folder = shared_photos_dir()
    if not (folder / "houses").is_dir() or not (folder / "people").is_dir():
        pytest.fail(f"photos not found in {folder}; real-data tests need ../shared/photos")
    return folder
