"""Captcha verification, pluggable: anything with ``verify(token, client_id) -> bool``.

The service asks for a token (header ``X-Captcha-Token``) when the extraction detector
says ``captcha``; the verifier checks it with the captcha provider. Name one in
``serve.guard.captcha_verifier`` as ``"package.module:factory"`` (called with no
arguments). Without one, a client asked for a captcha is refused (nothing can pass).
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

__all__ = ["CaptchaVerifier", "load_verifier"]


@runtime_checkable
class CaptchaVerifier(Protocol):
    """Checks a captcha token a client sent."""

    def verify(self, token: str, client_id: str) -> bool:
        """Whether ``token`` is a valid, unused captcha answer for ``client_id``."""
        ...


def load_verifier(spec: str | None) -> CaptchaVerifier | None:
    """The verifier named ``"package.module:factory"`` (None: no verifier).

    Raises
    ------
    ValueError
        If the name is not ``module:attribute``, cannot be imported, or does not give a
        verifier.
    """
    if not spec:
        return None
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        raise ValueError(f"captcha_verifier {spec[:60]!r} is not 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"captcha_verifier {spec[:60]!r} cannot be loaded ({exc}); expected "
            "'package.module:factory' importable by the service"
        ) from None
    verifier = factory()
    if not isinstance(verifier, CaptchaVerifier):
        raise ValueError(
            f"captcha_verifier {spec[:60]!r} gave {type(verifier).__name__}; expected an "
            "object with verify(token, client_id) -> bool"
        )
    return verifier
