"""Filesystem helpers of the registry modules: its error, JSON files; the atomic writes and
URLs come from :mod:`estimo.storage` (shared with model folders) and are re-exported here."""

from __future__ import annotations

import json
import logging
from typing import Any

import fsspec

from estimo.errors import EstimoError
from estimo.jsonutil import to_jsonable
from estimo.storage import create_exclusive, is_local, sha256, to_url, write_atomic

__all__ = [
    "RegistryError",
    "create_exclusive",
    "dumps",
    "is_local",
    "read_json",
    "sha256",
    "to_url",
    "write_atomic",
]

log = logging.getLogger(__name__)


class RegistryError(EstimoError):
    """A registry operation cannot be done (unknown version or alias, bad name, ...)."""


def dumps(value: Any) -> bytes:
    """Strict, indented JSON bytes (numpy/pandas values converted, NaN as null)."""
    return json.dumps(to_jsonable(value), indent=2, allow_nan=False).encode("utf-8")


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    """Parse a JSON file."""
    return json.loads(fs.cat_file(path))
