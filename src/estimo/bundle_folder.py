"""A folder of a saved bundle (local path or fsspec URL): text, JSON and Parquet files only.

Every fitted component saves and loads itself through one :class:`BundleFolder`:
``component.to_bundle(folder) -> dict`` writes its tables and returns the JSON-ready facts
that :meth:`from_bundle` (a classmethod) reads back with the same folder. Nothing stored
executes code: no pickles.

**Atomic, checked model folders.** A model folder is written inside
:meth:`BundleFolder.writing`: on the local filesystem into a hidden temporary sibling
(``.<name>.saving-<uuid>``) that is swapped into place once complete (an existing model
folder there is replaced in the same step), so a crash leaves the complete old or the
complete new folder, never a mix. On other fsspec URLs (object stores) the files are
written and the manifest last. The manifest, ``checksums.json``, holds the SHA-256 of every
file; :meth:`BundleFolder.open` checks them all before anything is parsed and every later
read checks its file again, so a missing, truncated or altered file is refused with one
:class:`~estimo.errors.BundleError` naming the folder and the file. Folders saved before
manifests existed still load, with a warning.

Examples
--------
>>> import tempfile
>>> folder = BundleFolder(tempfile.mkdtemp()).sub("part")
>>> folder.write_json("facts.json", {"a": 1})
>>> folder.read_json("facts.json"), folder.exists("facts.json"), folder.exists("other.json")
({'a': 1}, True, False)
>>> target = tempfile.mkdtemp() + "/model"
>>> with BundleFolder.writing(target) as out:
...     out.write_json("model.json", {"kind": "demo", MANIFEST_KEY: CHECKSUM_FILE})
>>> sorted(BundleFolder.open(target).read_json(CHECKSUM_FILE)["files"])
['model.json']
"""

from __future__ import annotations

import ctypes
import io
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import fsspec
import pandas as pd

from estimo.errors import BundleError
from estimo.lightgbm_text import lightgbm_text_problem
from estimo.storage import file_sha256, fsync_folder, is_local, sha256

log = logging.getLogger(__name__)

__all__ = [
    "CHECKSUM_FILE",
    "MANIFEST_KEY",
    "META_FILES",
    "BundleFolder",
    "lightgbm_problem",
    "publish_folder",
    "staged_folder",
]

CHECKSUM_FILE = "checksums.json"
MANIFEST_KEY = "checksums"  # key of a bundle's meta JSON: "this folder has a CHECKSUM_FILE"
META_FILES = ("pipeline.json", "model.json")  # the files that make a folder a model folder
MANIFEST_FORMAT = 1
ADVICE = "re-save the model or re-train it (`estimo train --out <folder>`)"


@dataclass
class _BundleState:
    """What the folders of one bundle share: its name, verified and written checksums."""

    name: str
    checksums: dict[str, str] | None = None
    written: dict[str, str] | None = None


class BundleFolder:
    """Files under one folder of a bundle.

    Parameters
    ----------
    url : str
        Local path or fsspec URL of the folder (created on first write).
    """

    def __init__(self, url: str, *, _state: _BundleState | None = None, _prefix: str = "") -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self._state = _state or _BundleState(name=_last_part(self.url))
        self._prefix = _prefix

    def __repr__(self) -> str:
        return f"BundleFolder({self.url!r})"

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, url: str) -> BundleFolder:
        """The model folder at ``url``, every file checked against ``checksums.json``.

        A folder without a manifest whose meta file (``pipeline.json``/``model.json``) does
        not claim one was saved before manifests: it is opened unchecked, with a warning.

        Raises
        ------
        BundleError
            If a file listed in the manifest is missing or does not match its checksum,
            or the manifest is missing or damaged.
        """
        folder = cls(url)
        if not folder.exists(CHECKSUM_FILE):
            folder._check_unclaimed()
            return folder
        manifest = folder.read_json(CHECKSUM_FILE)
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise folder._error(CHECKSUM_FILE, "is not a checksum manifest (no 'files' table)")
        for relative, digest in sorted(files.items()):
            try:
                actual = file_sha256(folder.fs, folder.path(relative))
            except (FileNotFoundError, IsADirectoryError):
                raise folder._error(relative, "is missing") from None
            except OSError as exc:
                raise folder._error(relative, f"cannot be read ({exc})") from None
            if actual != digest:
                raise folder._mismatch(relative)
        folder._state.checksums = dict(files)
        return folder

    def _check_unclaimed(self) -> None:
        """Refuse a folder whose meta file says it has a manifest; warn for an old folder."""
        present = [name for name in META_FILES if self.exists(name)]
        for name in present:
            meta = self.read_json(name)
            if isinstance(meta, dict) and meta.get(MANIFEST_KEY):
                raise self._error(
                    CHECKSUM_FILE, f"is missing, though {name} says the folder was saved with one"
                )
        if present:
            log.warning(
                "model folder %r has no %s (saved by an older Estimo): its files are not "
                "verified; re-save it to add one",
                self._state.name,
                CHECKSUM_FILE,
            )

    # ------------------------------------------------------------------ writing

    @classmethod
    @contextmanager
    def writing(cls, url: str) -> Iterator[BundleFolder]:
        """Write a whole model folder at ``url`` atomically; yields the folder to write into.

        Locally the files go to a hidden sibling folder; on leaving the block
        ``checksums.json`` is written last and the folder is swapped into place (an existing
        model folder at ``url`` is replaced only then). On an error nothing at ``url``
        changes and the temporary folder is removed. On object stores the files are written
        in place and the manifest last (an old manifest is removed first).

        Raises
        ------
        BundleError
            If ``url`` is a file or a folder holding other files than a model.
        """
        fs, root = fsspec.core.url_to_fs(url.rstrip("/"))
        name = _last_part(url)
        if not is_local(fs):
            if fs.exists(f"{root}/{CHECKSUM_FILE}"):
                fs.rm_file(f"{root}/{CHECKSUM_FILE}")
            folder = cls(url, _state=_BundleState(name=name, written={}))
            yield folder
            folder._write_manifest()
            return
        root = os.path.abspath(root)
        parent, base = os.path.split(root)
        _check_replaceable(root)
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(parent, f".{base}.saving-{uuid.uuid4().hex}")
        os.makedirs(staging)
        try:
            folder = cls(staging, _state=_BundleState(name=base, written={}))
            yield folder
            folder._write_manifest()
            _swap_into_place(staging, root)
        finally:
            if os.path.lexists(staging):
                shutil.rmtree(staging, ignore_errors=True)
        log.debug("model folder written atomically to %s", root)

    def _write_manifest(self) -> None:
        written = dict(sorted((self._state.written or {}).items()))
        body = {"format": MANIFEST_FORMAT, "algorithm": "sha256", "files": written}
        self._write_bytes(CHECKSUM_FILE, json.dumps(body, indent=2).encode("utf-8"), track=False)

    def _write_bytes(self, name: str, data: bytes, track: bool = True) -> None:
        self._parent(name)
        path = self.path(name)
        if is_local(self.fs):
            with open(path, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            with self.fs.open(path, "wb") as fh:
                fh.write(data)
        if track and self._state.written is not None:
            self._state.written[self._prefix + name] = sha256(data)

    # ------------------------------------------------------------------ files

    def path(self, name: str) -> str:
        """Filesystem path of a file of this folder."""
        return f"{self.root}/{name}"

    def sub(self, name: str) -> BundleFolder:
        """The sub-folder ``name``."""
        return BundleFolder(
            f"{self.url}/{name}", _state=self._state, _prefix=f"{self._prefix}{name}/"
        )

    def exists(self, name: str) -> bool:
        """Whether the file ``name`` exists."""
        return bool(self.fs.exists(self.path(name)))

    def _parent(self, name: str) -> None:
        parent = self.path(name).rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)

    def write_text(self, name: str, text: str) -> None:
        """Write a text file."""
        self._write_bytes(name, text.encode("utf-8"))

    def read_bytes(self, name: str) -> bytes:
        """Read a file, checked against the manifest when the folder has one.

        Raises
        ------
        BundleError
            If the file is missing or does not match its recorded checksum.
        """
        try:
            data = bytes(self.fs.cat_file(self.path(name)))
        except (FileNotFoundError, IsADirectoryError):
            raise self._error(self._prefix + name, "is missing") from None
        except OSError as exc:
            raise self._error(self._prefix + name, f"cannot be read ({exc})") from None
        checksums = self._state.checksums
        relative = self._prefix + name
        if checksums is not None and relative != CHECKSUM_FILE:
            if relative not in checksums:
                raise self._error(relative, f"is not listed in {CHECKSUM_FILE}")
            if sha256(data) != checksums[relative]:
                raise self._mismatch(relative)
        return data

    def read_text(self, name: str) -> str:
        """Read a text file."""
        try:
            return self.read_bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            raise self._error(self._prefix + name, "is not valid UTF-8 text") from None

    def write_json(self, name: str, data: Any) -> None:
        """Write JSON (indented, for people reading the bundle)."""
        self.write_text(name, json.dumps(data, indent=2))

    def read_json(self, name: str) -> Any:
        """Read JSON."""
        text = self.read_text(name)
        relative = self._prefix + name

        def checked(pairs: dict) -> _JsonObject:
            found = _JsonObject(pairs)
            found.missing = lambda key: self._error(
                relative, f"has no {str(key)[:40]!r} where a whole one has it (cut or altered)"
            )
            return found

        try:
            return json.loads(text, object_hook=checked)
        except ValueError as exc:
            raise self._error(relative, f"is not valid JSON ({exc})") from None

    def write_parquet(self, name: str, table: pd.DataFrame) -> None:
        """Write a table as Parquet (its index is not kept: reset it first if it matters)."""
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        self._write_bytes(name, buffer.getvalue())

    def read_parquet(self, name: str) -> pd.DataFrame:
        """Read a Parquet table."""
        data = self.read_bytes(name)
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many kinds for a damaged file
            raise self._error(
                self._prefix + name, f"is not a readable Parquet table ({type(exc).__name__})"
            ) from None

    def read_lightgbm(self, name: str) -> str:
        """Read a LightGBM text model, checked before LightGBM parses it.

        Raises
        ------
        BundleError
            If the file fails its checksum or does not look like a whole LightGBM model.
        """
        text = self.read_text(name)
        # a file that matches its checksum is the text LightGBM wrote: the deep check is
        # for folders without checksums (it takes about 2-3 times LightGBM's own parse)
        problem = lightgbm_problem(text, deep=self._state.checksums is None)
        if problem:
            raise self._error(self._prefix + name, problem)
        return text

    # ------------------------------------------------------------------ errors

    def _error(self, relative: str, problem: str) -> BundleError:
        return BundleError(
            f"model folder {self._state.name!r} cannot be loaded: file {relative!r} {problem}; "
            f"{ADVICE}"
        )

    def _mismatch(self, relative: str) -> BundleError:
        return self._error(
            relative,
            "does not match the checksum recorded when it was saved (truncated or altered)",
        )


class MissingKeyError(BundleError, KeyError):
    """A key a whole file of the bundle has is missing (a :class:`KeyError` too, so code
    reading optional keys with ``try``/``except KeyError`` keeps working)."""

    __str__ = BundleError.__str__


class _JsonObject(dict):
    """A JSON object of a bundle file: ``obj[key]`` of a missing key is a
    :class:`MissingKeyError` naming the file, not a bare ``KeyError`` from the code that
    reads it (no ``__missing__``: pandas would call it when mapping values through the
    dict)."""

    missing: Any = None

    def __getitem__(self, key: Any) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            if self.missing is None:
                raise
            raise MissingKeyError(str(self.missing(key))) from None


def lightgbm_problem(text: str, deep: bool = True) -> str | None:
    """What is wrong with a LightGBM text model, or None when it looks whole.

    Parameters
    ----------
    text : str
        The model text.
    deep : bool
        Also check its structure (:func:`estimo.lightgbm_text.lightgbm_text_problem`: every
        tree's keys, array lengths, numbers, feature and node indices), which LightGBM
        would otherwise meet with a process abort.

    Examples
    --------
    >>> lightgbm_problem("tree\\nversion=v4\\n...\\nend of trees\\n", deep=False) is None
    True
    >>> lightgbm_problem("tree\\nversion=v4\\nTree=0")
    'is not a whole LightGBM model (no "end of trees")'
    """
    head = text[:200]
    if not head.startswith("tree\n") or "version=" not in head:
        return 'is not a LightGBM text model (expected "tree" and "version=" at its start)'
    if "end of trees" not in text:
        return 'is not a whole LightGBM model (no "end of trees")'
    problem = lightgbm_text_problem(text) if deep else None
    return None if problem is None else f"is a damaged LightGBM model: {problem}"


@contextmanager
def staged_folder(target: str) -> Iterator[str]:
    """A hidden empty sibling of the local folder ``target`` to build a whole model folder
    in (saved model, reports); :func:`publish_folder` puts it in place at once. Removed on
    leaving the block if it was not published (a failure or a kill leaves at most a hidden
    ``.<name>.staged-<uuid>`` sibling, never a half-made ``target``).

    Raises
    ------
    BundleError
        If ``target`` is a file or a folder holding other files than a model.
    """
    root = os.path.abspath(target)
    _check_replaceable(root)
    parent, base = os.path.split(root)
    os.makedirs(parent, exist_ok=True)
    _remove_stale_staging(parent, base)
    staging = os.path.join(parent, f".{base}.staged-{uuid.uuid4().hex}")
    try:
        yield staging
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)


STALE_STAGING_SECONDS = 6 * 3600
"""A staging sibling untouched this long was left by a killed run (none takes so long)."""


def _remove_stale_staging(parent: str, base: str) -> None:
    """Remove the ``.<base>.staged-*`` siblings that killed runs left behind (untouched for
    :data:`STALE_STAGING_SECONDS`; a run still building its folder is left alone)."""
    prefix, now = f".{base}.staged-", time.time()
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if not name.startswith(prefix) or not os.path.isdir(path):
            continue
        try:
            if now - os.stat(path).st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
                log.info("removed %s, left by a run that was stopped", name)
        except OSError:  # removed meanwhile by another run
            continue


def publish_folder(staging: str, target: str) -> None:
    """Replace the local folder ``target`` (a model folder, or nothing) by the complete
    ``staging`` folder in one atomic step (see :meth:`BundleFolder.writing`)."""
    root = os.path.abspath(target)
    _check_replaceable(root)
    _swap_into_place(staging, root)


def _last_part(url: str) -> str:
    stripped = url.rstrip("/")
    return stripped.rsplit("/", 1)[-1] or stripped


def _check_replaceable(root: str) -> None:
    """Refuse to replace a file, or a folder that holds other files than a model."""
    if not os.path.lexists(root):
        return
    if not os.path.isdir(root):
        raise BundleError(f"cannot save the model to {root!r}: it is a file; expected a folder")
    entries = sorted(os.listdir(root))
    if entries and not {CHECKSUM_FILE, *META_FILES} & set(entries):
        raise BundleError(
            f"cannot save the model to {root!r}: the folder holds other files (e.g. "
            f"{entries[0]!r}) and is not a model folder; choose a new or empty folder"
        )


def _swap_into_place(staging: str, root: str) -> None:
    """Move the complete ``staging`` folder to ``root``, replacing a folder there.

    On Linux the two folders are exchanged in one atomic step (``renameat2`` with
    ``RENAME_EXCHANGE``); elsewhere the old folder is renamed aside first and the new one
    renamed in. The old folder is removed last.
    """
    parent = os.path.dirname(root)
    if not os.path.lexists(root):
        os.rename(staging, root)
        fsync_folder(parent)
        return
    if _exchange(staging, root):
        fsync_folder(parent)
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old folder
        return
    old = f"{staging}.old"
    os.rename(root, old)
    try:
        os.rename(staging, root)
    except BaseException:
        os.rename(old, root)
        raise
    fsync_folder(parent)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: str, b: str) -> bool:
    """Atomically exchange two paths (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0
