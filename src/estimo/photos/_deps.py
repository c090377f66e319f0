"""The optional dependencies of ``estimo.photos`` (the ``estimo[photos]`` extra)."""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'estimo[photos]'"


def require(module: str) -> ModuleType:
    """Import ``module`` or say which extra installs it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"cv2"``.

    Returns
    -------
    ModuleType
        The imported module.

    Raises
    ------
    ImportError
        When the module is missing, with the install command in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"estimo.photos needs {module!r}, which is not installed; "
            f"install it with {INSTALL_HINT}"
        ) from exc
