"""The valuation page's caller: the same limits and captcha hook as the anonymous API.

A page visitor has no API key: :func:`page_client` makes them the anonymous client of
their address (``anon:<address>``) at ``serve.guard.page_tier`` (``public`` by default),
so a visitor's page valuations and anonymous API calls share one set of counters and one
extraction history. :func:`captcha_token` reads the token the captcha widget posts.

Examples
--------
>>> captcha_token(None, {"h-captcha-response": "tok"})
'tok'
>>> captcha_token(None, {}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import Request

from estimo.serve.guard import Client, client_address

if TYPE_CHECKING:
    from estimo.serve.guard import Guard

__all__ = ["CAPTCHA_FIELDS", "captcha_token", "page_client"]

#: Form fields that carry a captcha token (ours, then the usual providers' own names).
CAPTCHA_FIELDS = (
    "captcha_token",
    "h-captcha-response",
    "g-recaptcha-response",
    "cf-turnstile-response",
)


def page_client(request: Request, guard: Guard) -> Client:
    """The page visitor as a client of the guard (anonymous, ``page_tier``)."""
    address = client_address(
        request, guard.settings.trust_forwarded_for, guard.settings.forwarded_hops
    )
    return Client(f"anon:{address}", guard.settings.page_tier, address)


def captcha_token(request: Request | None, form: Mapping[str, str]) -> str | None:
    """The captcha token of a page request: a form field, else ``X-Captcha-Token``."""
    for name in CAPTCHA_FIELDS:
        value = form.get(name)
        if value:
            return value[:4096]
    if request is not None:
        return request.headers.get("x-captcha-token") or None
    return None
