"""A versioned model registry on a local folder or any fsspec URL.

Layout of a registry root::

    versions/v1/bundle/...        the model folder written by ``save_model`` (LightGBM text,
                                  JSON, Parquet; never pickles)
    versions/v1/manifest.json     :class:`~estimo.registry.manifest.ModelManifest`
    versions/v1/COMMITTED         written last: SHA-256 of every file of the version
    aliases/<name>.json           see :mod:`estimo.registry.aliases`
    aliases/_history/*.json
    decisions/                    gate decision records (JSON + Markdown)
    _claims/v1                    version numbers taken (exclusive create)
    _staging/<uuid>/              versions being written (invisible)

**Immutable, atomic versions.** A save first claims the next number by creating
``_claims/v<n>`` exclusively (``O_EXCL`` locally); two concurrent saves, in threads or in
processes, therefore never get the same number. Everything is written under a hidden
``_staging/<uuid>/`` folder. On a local filesystem the finished folder, ``COMMITTED`` marker
included, is renamed to ``versions/v<n>`` in one atomic step; on object stores the files are
copied and ``COMMITTED`` is written last. Only folders with a ``COMMITTED`` marker are
versions: a crash at any point leaves no visible partial version (at most a staging folder,
removed by :meth:`Registry.clean_staging`, and an unused number).

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(800, seed=1, faults=False).frame
>>> model = ValuationModel(n_estimators=10).fit(frame)
>>> registry = Registry("memory://doc-registry")
>>> registry.save(model).version
'v1'
>>> registry.aliases.set("champion", "v1", reason="first").to_version
'v1'
>>> loaded = registry.load("champion")
>>> loaded.manifest.version, bool((loaded.model.predict(frame.head(2)) > 0).all())
('v1', True)
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import fsspec

from estimo.jsonutil import to_jsonable
from estimo.registry._fs import (
    RegistryError,
    create_exclusive,
    dumps,
    is_local,
    read_json,
    sha256,
    to_url,
)
from estimo.registry.aliases import ALIAS_PATTERN, AliasStore
from estimo.registry.manifest import (
    DataWindow,
    ModelManifest,
    TestReport,
    code_version,
    current_user,
    utc_now,
)
from estimo.registry.model_facts import model_features, model_kind

log = logging.getLogger(__name__)

__all__ = ["LoadedVersion", "Registry", "RegistryError"]

MANIFEST_FILE = "manifest.json"
COMMIT_FILE = "COMMITTED"
BUNDLE_DIR = "bundle"
_VERSION_RE = re.compile(r"v(\d+)")
_REF_RE = re.compile(r"v?(\d+)")
_CLAIM_LOCKS: dict[str, threading.Lock] = {}
_CLAIM_LOCKS_GUARD = threading.Lock()


@dataclass
class LoadedVersion:
    """A model loaded from the registry with its manifest."""

    version: str
    model: Any
    manifest: ModelManifest
    url: str


class Registry:
    """Versioned model bundles with manifests and aliases, on any fsspec URL.

    Parameters
    ----------
    url : str
        Local folder (created on first save) or fsspec URL such as ``s3://bucket/models``
        or ``memory://registry``.
    """

    def __init__(self, url: str) -> None:
        if not isinstance(url, str) or not url.strip():
            raise RegistryError(f"registry url {url!r} is empty; expected a folder or URL")
        self.url = url.rstrip("/") or url
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:  # e.g. s3:// without s3fs
            raise RegistryError(
                f"registry url {url!r} needs a package that is not installed ({exc}); install "
                "the file system's fsspec package (s3fs for s3://, gcsfs for gs://, adlfs for "
                "az://)"
            ) from None
        except (ValueError, TypeError) as exc:  # an unknown protocol such as sqlite://
            raise RegistryError(
                f"registry url {url!r} is not a folder or fsspec URL ({exc}); expected a folder "
                "or a URL such as s3://bucket/models (a registry is files, not a database)"
            ) from None
        self.root = root.rstrip("/") or root
        self.aliases = AliasStore(self.fs, self.root, self.exists)

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    # ------------------------------------------------------------------ paths

    def _path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def version_path(self, version: str) -> str:
        """Path of a version folder on :attr:`fs`."""
        return self._path("versions", version)

    def bundle_url(self, ref: str) -> str:
        """URL of the model folder of a version, as given to ``load_model``."""
        return to_url(self.fs, self._path("versions", self.resolve(ref), BUNDLE_DIR))

    @property
    def decisions_path(self) -> str:
        """Folder of the gate's decision records."""
        return self._path("decisions")

    # ------------------------------------------------------------------ reading

    def versions(self) -> list[str]:
        """Committed versions, oldest first (``['v1', 'v2', ...]``)."""
        if not self.fs.exists(self._path("versions")):
            return []
        found = []
        for marker in self.fs.glob(self._path("versions", "*", COMMIT_FILE)):
            name = marker.rstrip("/").split("/")[-2]
            match = _VERSION_RE.fullmatch(name)
            if match:
                found.append((int(match.group(1)), name))
        return [name for _, name in sorted(found)]

    def exists(self, version: str) -> bool:
        """Whether ``version`` is a committed version."""
        return bool(_VERSION_RE.fullmatch(version)) and self.fs.exists(
            self._path("versions", version, COMMIT_FILE)
        )

    def resolve(self, ref: str) -> str:
        """Version id of a reference: ``'v3'``, ``'3'``, ``'latest'`` or an alias name.

        Raises
        ------
        RegistryError
            If nothing matches; the message lists the versions and aliases.
        """
        ref = str(ref).strip()
        match = _REF_RE.fullmatch(ref)
        if match:
            version = f"v{int(match.group(1))}"
            if self.exists(version):
                return version
        elif ref == "latest":
            versions = self.versions()
            if versions:
                return versions[-1]
        else:
            target = self.aliases.get(ref) if _alias_like(ref) else None
            if target is not None:
                return target
        raise RegistryError(
            f"no version or alias {ref!r} in registry {self.url!r}; {self._inventory()}"
        )

    def manifest(self, ref: str) -> ModelManifest:
        """The manifest of a version.

        Raises
        ------
        RegistryError
            If the version is unknown, or its ``manifest.json`` is damaged (the message
            names the file inside the registry and what to do).
        """
        version = self.resolve(ref)
        relative = f"versions/{version}/{MANIFEST_FILE}"
        try:
            return ModelManifest.from_json(self.fs.cat_file(self._path(relative)))
        except FileNotFoundError:
            problem = "is missing"
        except (ValueError, UnicodeDecodeError):  # pydantic's ValidationError is a ValueError
            problem = "is damaged (not a whole manifest: cut or altered)"
        raise RegistryError(
            f"registry {self.url!r}: file {relative!r} {problem}; restore it from a backup, or "
            f"remove the version's folder 'versions/{version}' if the version is not needed "
            "(re-register its model with `estimo models register`)"
        )

    def manifests(self, damaged: dict[str, str] | None = None) -> list[ModelManifest]:
        """Manifests of every committed version, oldest first.

        Parameters
        ----------
        damaged : dict, optional
            When given, a version whose manifest is damaged is left out and recorded here
            (version -> the problem) instead of raising.
        """
        found = []
        for version in self.versions():
            try:
                found.append(self.manifest(version))
            except RegistryError as exc:
                if damaged is None:
                    raise
                damaged[version] = str(exc)
        return found

    def load(self, ref: str, *, verify: bool = True) -> LoadedVersion:
        """Load a version's model (with ``load_model``) and manifest.

        Parameters
        ----------
        ref : str
            Version id, number, ``'latest'`` or alias.
        verify : bool, default True
            Check every file against the SHA-256 recorded in ``COMMITTED`` first.

        Raises
        ------
        RegistryError
            If the reference is unknown or a file does not match its checksum.
        """
        version = self.resolve(ref)
        folder = self._path("versions", version)
        if verify:
            self.verify(version)
        manifest = ModelManifest.from_json(self.fs.cat_file(f"{folder}/{MANIFEST_FILE}"))
        url = to_url(self.fs, f"{folder}/{BUNDLE_DIR}")
        from estimo.pipeline import load_bundle  # lazy: keeps this module light

        return LoadedVersion(version=version, model=load_bundle(url), manifest=manifest, url=url)

    def verify(self, ref: str) -> None:
        """Check the files of a version against the checksums of its ``COMMITTED`` marker."""
        version = self.resolve(ref)
        folder = self._path("versions", version)
        recorded = read_json(self.fs, f"{folder}/{COMMIT_FILE}")["files"]
        for relative, digest in recorded.items():
            path = f"{folder}/{relative}"
            if not self.fs.exists(path) or sha256(self.fs.cat_file(path)) != digest:
                raise RegistryError(
                    f"version {version!r} is damaged: file {relative!r} is missing or does not "
                    f"match the checksum recorded when it was saved"
                )

    # ------------------------------------------------------------------ writing

    def save(
        self,
        model: Any,
        *,
        extra: dict[str, Any] | None = None,
        training: DataWindow | None = None,
        valuation_date: date | None = None,
        features: list[str] | None = None,
        schema: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        quality: dict[str, Any] | None = None,
        test: TestReport | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> ModelManifest:
        """Save a fitted model as a new immutable version and return its manifest.

        The bundle is written by :func:`estimo.model.bundle.save_model` (``extra`` is passed
        through). The other arguments fill the manifest; see
        :func:`estimo.registry.register.register_model` to compute them from the training
        and test tables.
        """
        fields = {
            "model_class": type(model).__name__,
            "training": training,
            "valuation_date": valuation_date,
            "features": features if features is not None else model_features(model),
            "model_kind": model_kind(model),
            "schema": schema or {},
            "parameters": to_jsonable(
                parameters if parameters is not None else _model_params(model)
            ),
            "quality": quality,
            "test": test,
            "description": description,
            "tags": tags or {},
        }
        from estimo.pipeline import save_bundle

        return self._publish(lambda url: save_bundle(model, url, extra), fields)

    def add_folder(
        self, folder: str, *, validate: bool = True, **manifest_fields: Any
    ) -> ModelManifest:
        """Register an existing model folder (written by ``save_model``) as a new version.

        The files are copied byte for byte. With ``validate`` (default) the folder must
        load with ``load_model`` first, and the manifest gets the model's class, features
        and parameters; ``manifest_fields`` fill or override the rest of the manifest.
        """
        fields: dict[str, Any] = {"model_class": "unknown"}
        if validate:
            from estimo.pipeline import load_bundle

            model = load_bundle(folder)
            fields = {
                "model_class": type(model).__name__,
                "features": model_features(model),
                "model_kind": model_kind(model),
                "parameters": to_jsonable(_model_params(model)),
                **_recorded_window(model),
            }
        fields.update(manifest_fields)
        src_fs, src_root = fsspec.core.url_to_fs(folder)
        src_root = src_root.rstrip("/")

        def copy(url: str) -> None:
            dst_fs, dst_root = fsspec.core.url_to_fs(url)
            for path in sorted(src_fs.find(src_root)):
                relative = path[len(src_root) + 1 :]
                dst_fs.makedirs(f"{dst_root}/{relative}".rsplit("/", 1)[0], exist_ok=True)
                dst_fs.pipe_file(f"{dst_root}/{relative}", src_fs.cat_file(path))

        return self._publish(copy, fields)

    def clean_staging(self, older_than_s: float = 3600.0) -> list[str]:
        """Remove staging folders left by crashed saves, older than ``older_than_s`` seconds."""
        staging = self._path("_staging")
        if not self.fs.exists(staging):
            return []
        removed = []
        now = time.time()
        for path in self.fs.ls(staging, detail=False):
            age = now - _modified(self.fs, path)
            if age >= older_than_s:
                self.fs.rm(path, recursive=True)
                removed.append(path)
        return removed

    # ------------------------------------------------------------------ internals

    def _publish(self, write_bundle: Any, fields: dict[str, Any]) -> ModelManifest:
        number = self._claim_number()
        version = f"v{number}"
        staging = self._path("_staging", uuid.uuid4().hex)
        final = self.version_path(version)
        try:
            self.fs.makedirs(f"{staging}/{BUNDLE_DIR}", exist_ok=True)
            write_bundle(to_url(self.fs, f"{staging}/{BUNDLE_DIR}"))
            manifest = ModelManifest(
                version=version,
                number=number,
                created_at=utc_now(),
                created_by=current_user(),
                code=code_version(),
                **fields,
            )
            self.fs.pipe_file(f"{staging}/{MANIFEST_FILE}", manifest.to_json().encode("utf-8"))
            commit = dumps(
                {"version": version, "committed_at": utc_now(), "files": self._checksums(staging)}
            )
            self._move_into_place(staging, final, commit)
        except BaseException:
            self._discard(staging)
            raise
        log.info("registered %s in %s", version, self.url)
        return manifest

    def _checksums(self, folder: str) -> dict[str, str]:
        out = {}
        for path in sorted(self.fs.find(folder)):
            out[path[len(folder) + 1 :]] = sha256(self.fs.cat_file(path))
        return out

    def _move_into_place(self, staging: str, final: str, commit: bytes) -> None:
        self.fs.makedirs(self._path("versions"), exist_ok=True)
        if is_local(self.fs):
            with open(f"{staging}/{COMMIT_FILE}", "wb") as fh:
                fh.write(commit)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(staging, final)  # atomic: the version appears complete or not at all
            return
        for path in sorted(self.fs.find(staging)):
            self.fs.pipe_file(f"{final}/{path[len(staging) + 1 :]}", self.fs.cat_file(path))
        self.fs.pipe_file(f"{final}/{COMMIT_FILE}", commit)  # last: makes the version visible
        self._discard(staging)

    def _discard(self, staging: str) -> None:
        try:
            if self.fs.exists(staging):
                self.fs.rm(staging, recursive=True)
        except OSError as exc:  # pragma: no cover - best effort
            log.warning("could not remove staging folder %s: %s", staging, exc)

    def _highest_number(self) -> int:
        numbers = [0]
        for folder in ("_claims", "versions"):
            path = self._path(folder)
            if self.fs.exists(path):
                for entry in self.fs.ls(path, detail=False):
                    match = _VERSION_RE.fullmatch(entry.rstrip("/").rsplit("/", 1)[-1])
                    if match:
                        numbers.append(int(match.group(1)))
        return max(numbers)

    def _claim_number(self) -> int:
        claims = self._path("_claims")
        self.fs.makedirs(claims, exist_ok=True)
        with _CLAIM_LOCKS_GUARD:
            lock = _CLAIM_LOCKS.setdefault(self.url, threading.Lock())
        with lock:  # threads of one process; other processes rely on exclusive create
            number = self._highest_number() + 1
            body = dumps({"by": current_user(), "at": utc_now(), "pid": os.getpid()})
            for _ in range(10_000):
                if create_exclusive(self.fs, f"{claims}/v{number}", body):
                    return number
                number += 1
        raise RegistryError(f"could not claim a version number in {self.url!r}")  # pragma: no cover

    def _inventory(self) -> str:
        versions = self.versions()
        shown = ", ".join(versions[-10:]) if versions else "none"
        aliases = ", ".join(f"{k} -> {v}" for k, v in self.aliases.all().items()) or "none"
        return f"versions: {shown}; aliases: {aliases}"


def _alias_like(ref: str) -> bool:
    return bool(ALIAS_PATTERN.fullmatch(ref))


def _modified(fs: fsspec.AbstractFileSystem, path: str) -> float:
    try:
        info = fs.info(path)
    except OSError:
        return time.time()
    stamp = info.get("mtime") or info.get("created") or info.get("LastModified")
    if stamp is None:
        return 0.0
    return stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)


def _model_params(model: Any) -> dict[str, Any]:
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        try:
            return dict(get_params())
        except TypeError:
            return {}
    return {}


def _recorded_window(model: Any) -> dict[str, Any]:
    """The training window and valuation date a saved model records itself (its
    ``training_window``), for a version registered without its data: no fingerprint can be
    computed then, and the manifest says so."""
    extra = getattr(model, "bundle_extra_", None) or {}
    window = extra.get("training_window") or {}
    if not window.get("to"):
        return {}
    start = date.fromisoformat(str(window["from"])[:10]) if window.get("from") else None
    end = date.fromisoformat(str(window["to"])[:10])
    training = DataWindow(
        date_from=start,
        date_to=end,
        n_rows=int(extra.get("n_train") or 0),
        fingerprint="not recorded (registered without its data)",
        fingerprint_method="none",
    )
    return {"training": training, "valuation_date": end}
