"""Lazy re-exports for a package's ``__init__``: names imported from their module on first use.

A package that re-exports names this way imports nothing at ``import`` time; the module
defining a name is imported when the name is first read (PEP 562's module ``__getattr__``).
Only the standard library is imported here (no ``typing``: it costs ~10 ms at start-up).

Examples
--------
>>> namespace = {}
>>> read, listing = lazy_exports("pkg", {"dumps": "json"}, namespace)
>>> read("dumps").__module__, "dumps" in namespace, listing()
('json', True, ['dumps'])
>>> read("loads")
Traceback (most recent call last):
...
AttributeError: module 'pkg' has no attribute 'loads'
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~15 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` re-exporting ``exports`` (name ->
    module) into ``namespace`` (the package's ``globals()``), each name imported once."""

    def read(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def listing() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return read, listing
