"""Versioned model registry: immutable bundles with manifests, aliases and their history.

See :mod:`estimo.registry.store` for the layout and the atomicity guarantees,
:mod:`estimo.registry.aliases` for aliases and rollback, and
:func:`estimo.registry.register.register_model` to register a freshly trained model.

Names are imported lazily (PEP 562), so ``import estimo.registry.store`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimo.registry._fs import RegistryError
    from estimo.registry.aliases import AliasEvent, AliasStore
    from estimo.registry.manifest import ModelManifest, TestReport, fingerprint_frame
    from estimo.registry.register import register_model
    from estimo.registry.store import LoadedVersion, Registry

_WHERE = {
    "AliasEvent": "aliases",
    "AliasStore": "aliases",
    "LoadedVersion": "store",
    "ModelManifest": "manifest",
    "Registry": "store",
    "RegistryError": "_fs",
    "TestReport": "manifest",
    "fingerprint_frame": "manifest",
    "register_model": "register",
}

__all__ = [
    "AliasEvent",
    "AliasStore",
    "LoadedVersion",
    "ModelManifest",
    "Registry",
    "RegistryError",
    "TestReport",
    "fingerprint_frame",
    "register_model",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'estimo.registry' has no attribute {name!r}")
    return getattr(importlib.import_module(f"estimo.registry.{_WHERE[name]}"), name)
