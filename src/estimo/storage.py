"""Filesystem helpers shared by model folders and the registry: atomic writes, checksums, URLs.

A low module (it imports only fsspec): :mod:`estimo.bundle_folder` and
:mod:`estimo.registry` both build on it.

Examples
--------
>>> sha256(b"estimo")[:12]
'4d889c136d99'
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid

import fsspec
from fsspec.implementations.local import LocalFileSystem

log = logging.getLogger(__name__)

__all__ = [
    "create_exclusive",
    "file_sha256",
    "fsync_folder",
    "is_local",
    "sha256",
    "to_url",
    "write_atomic",
]

_CHUNK = 1 << 20


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local filesystem (where ``os.rename`` is atomic)."""
    return isinstance(fs, LocalFileSystem)


def to_url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A URL that :func:`fsspec.core.url_to_fs` maps back to ``path`` on ``fs``."""
    return path if is_local(fs) else fs.unstrip_protocol(path)


def sha256(data: bytes) -> str:
    """Hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """Hex SHA-256 digest of the file at ``path`` (read in chunks)."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_folder(path: str) -> None:
    """Flush a local folder's entries (renames, new files) to disk; best effort."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


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
