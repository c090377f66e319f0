"""Estimo: an open-source automated valuation model (AVM) platform.

The public names are re-exported lazily: ``import estimo`` imports nothing heavy (no pandas,
LightGBM or scipy); ``estimo.<name>`` imports the module that defines ``<name>`` on first
use. To re-export a name, add it to :data:`_EXPORTS` (name -> module).

Examples
--------
>>> import estimo
>>> estimo.generate_market.__module__
'estimo.synth.market'
>>> estimo.no_such_name
Traceback (most recent call last):
...
AttributeError: module 'estimo' has no attribute 'no_such_name'
"""

from __future__ import annotations

from estimo._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "generate_market": "estimo.synth",
    "load_config": "estimo.config",
    "load_pipeline": "estimo.pipeline",
}
"""Public name -> the module it is imported from, on first use."""

__all__ = ["__version__", *_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
