"""Which model bundles exist to serve: from a registry's aliases or from a folder.

A catalog lists :class:`BundleRef` objects: one ``global`` bundle (the fallback, which may
hold city sub-models of its own: a "whole" bundle) and any number of city bundles ("city
parts"), each keyed by :func:`city_key` of its city. It is re-read on every
:meth:`refresh`, which is how a new champion is picked up without a restart.

- :class:`RegistryCatalog`: the alias (``champion``) names the global bundle; aliases
  ``<alias>--<city key>`` (``champion--milano``) name city bundles. A version's files are
  checked against their recorded checksums before it is loaded.
- :class:`FolderCatalog`: a model folder (one whole bundle), or a folder of bundles with one
  sub-folder per city and ``_global`` for the fallback.

Examples
--------
>>> city_key("Kraków"), city_key("  Reggio Emilia "), city_key("Łódź")
('krakow', 'reggio-emilia', 'lodz')
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from estimo.errors import EstimoError
from estimo.names import name_key
from estimo.serve.valuer import Valuer, load_valuer

__all__ = [
    "GLOBAL",
    "BundleRef",
    "Catalog",
    "FolderCatalog",
    "RegistryCatalog",
    "city_key",
    "make_catalog",
]

GLOBAL = "global"
GLOBAL_FOLDER = "_global"
#: Files that make a folder one servable model: a saved pipeline, or an engine saved alone.
MODEL_FILES = ("pipeline.json", "model.json")
CITY_SEPARATOR = "--"


def city_key(city: str) -> str:
    """Lower-case ASCII key of a city name (accents dropped, other characters to '-'):
    :func:`estimo.names.name_key`."""
    return name_key(city)


@dataclass(frozen=True)
class BundleRef:
    """One bundle the service can load.

    Attributes
    ----------
    key : str
        ``"global"`` or the city key.
    city : str or None
        The city's name as written (None for the global bundle).
    version : str
        Registry version (``"v3"``) or folder name; a new version means a new bundle.
    url : str
        Folder to load.
    """

    key: str
    city: str | None
    version: str
    url: str


class Catalog(Protocol):
    """Lists bundles and loads one."""

    source: str

    def refresh(self) -> dict[str, BundleRef]:
        """Current bundles by key (re-read from storage)."""
        ...

    def load(self, ref: BundleRef) -> Valuer:
        """Load one bundle (raises on a missing or damaged bundle)."""
        ...


class FolderCatalog:
    """Bundles in a local folder (see the module docstring).

    Parameters
    ----------
    root : str or Path
        A model folder, or a folder of model folders.
    loader : callable, optional
        Turns a folder into a :class:`Valuer` (default :func:`load_valuer`).
    """

    def __init__(self, root: str | Path, loader: Callable[[str], Valuer] | None = None) -> None:
        self.root = Path(root)
        self.source = f"folder {self.root.name!r}"
        self.loader = loader or load_valuer

    def refresh(self) -> dict[str, BundleRef]:
        """The bundles now in the folder."""
        if not self.root.is_dir():
            raise EstimoError(f"model folder {self.root.name!r} does not exist")
        if any((self.root / name).is_file() for name in MODEL_FILES):  # one model folder
            return {GLOBAL: BundleRef(GLOBAL, None, self.root.name, str(self.root))}
        refs = {}
        # hidden folders are skipped: a model folder being written (``.<name>.saving-*``)
        subs = (p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for sub in sorted(subs):
            if sub.name == GLOBAL_FOLDER:
                refs[GLOBAL] = BundleRef(GLOBAL, None, sub.name, str(sub))
            elif key := city_key(sub.name):
                refs[key] = BundleRef(key, sub.name, sub.name, str(sub))
        if GLOBAL not in refs:
            raise EstimoError(
                f"model folder {self.root.name!r} has no pipeline.json (written by `estimo "
                f"train`), no model.json and no {GLOBAL_FOLDER!r} "
                "sub-folder; expected a model folder or one folder per city plus "
                f"{GLOBAL_FOLDER!r} (the fallback)"
            )
        return refs

    def load(self, ref: BundleRef) -> Valuer:
        """Load a bundle folder."""
        return self.loader(ref.url)


class RegistryCatalog:
    """Bundles named by aliases of a :class:`~estimo.registry.Registry`.

    Parameters
    ----------
    url : str
        Registry folder or fsspec URL.
    alias : str
        Alias of the global bundle; ``<alias>--<city key>`` aliases name city bundles.
    loader : callable, optional
        Turns a bundle URL into a :class:`Valuer` (default :func:`load_valuer`).
    """

    def __init__(
        self, url: str, alias: str = "champion", loader: Callable[[str], Valuer] | None = None
    ) -> None:
        from estimo.registry.store import Registry

        self.registry = Registry(url)
        self.alias = alias
        self.source = f"registry alias {alias!r}"
        self.loader = loader or load_valuer
        self._names: dict[str, str | None] = {}

    def refresh(self) -> dict[str, BundleRef]:
        """The bundles the aliases point to now."""
        aliases = self.registry.aliases.all()
        if self.alias not in aliases:
            raise EstimoError(f"registry has no alias {self.alias!r}; aliases: {sorted(aliases)!r}")
        refs = {GLOBAL: self._ref(GLOBAL, None, aliases[self.alias])}
        prefix = self.alias + CITY_SEPARATOR
        for name, version in aliases.items():
            if name.startswith(prefix) and (key := name[len(prefix) :]):
                city = self._city_name(version) or key
                refs[key] = self._ref(key, city, version)
        return refs

    def _ref(self, key: str, city: str | None, version: str) -> BundleRef:
        url = self.registry.bundle_url(version) if self.registry.exists(version) else ""
        return BundleRef(key, city, version, url)

    def _city_name(self, version: str) -> str | None:
        if version not in self._names:  # versions are immutable: read each manifest once
            try:
                self._names[version] = self.registry.manifest(version).tags.get("city")
            except Exception:  # a missing manifest shows up when the bundle is loaded
                return None
        return self._names[version]

    def load(self, ref: BundleRef) -> Valuer:
        """Check the version's checksums, then load its bundle."""
        if not ref.url:
            raise EstimoError(f"version {ref.version!r} of bundle {ref.key!r} does not exist")
        self.registry.verify(ref.version)
        return self.loader(ref.url)


def make_catalog(settings: Any, loader: Callable[[str], Valuer] | None = None) -> Catalog:
    """The catalog the settings name (``registry`` + ``alias``, or ``model``); bundles
    are loaded by ``loader`` (default: :func:`load_valuer` with the settings' ``coalesce``)."""
    if loader is None:
        loader = functools.partial(load_valuer, coalesce=getattr(settings, "coalesce", 1))
    if settings.registry is not None:
        return RegistryCatalog(settings.registry, settings.alias, loader=loader)
    return FolderCatalog(settings.model, loader=loader)
