"""Filesystem helpers shared by the registry modules: atomic writes, JSON files, URLs."""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from estimo.errors import EstimoError
from estimo.jsonutil import to_jsonable

log = logging.getLogger(__name__)


class RegistryError(EstimoError):
    """A registry operation cannot be done (unknown version or alias, bad name, ...)."""


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local filesystem (where ``os.rename`` is atomic)."""
    return isinstance(fs, LocalFileSystem)


def to_url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A URL that :func:`fsspec.core.url_to_fs` maps back to ``path`` on ``fs``."""
    return path if is_local(fs) else fs.unstrip_protocol(path)


def dumps(value: Any) -> bytes:
    """Strict, indented JSON bytes (numpy/pandas values converted, NaN as null)."""
    return json.dumps(to_jsonable(value), indent=2, allow_nan=False).encode("utf-8")


def write_atomic(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` so readers see the old or the new file.

    Locally the data goes to a hidden temporary file in the same folder, which is then
    renamed over the target (``os.replace`` is atomic). On object stores a single ``PUT``
    is already atomic.
    """
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def create_exclusive(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> bool:
    """Create ``path`` only if it does not exist; return whether this call created it.

    Uses the exclusive-create mode (``xb``) of the filesystem, which local files (``O_EXCL``)
    and fsspec's memory filesystem support.
    """
    try:
        with fs.open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        return False
    return True


def read_json(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    """Parse a JSON file."""
    return json.loads(fs.cat_file(path))
