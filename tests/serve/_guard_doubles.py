"""Test doubles of the guard, loadable by name from settings (``serve.guard.captcha_verifier``).

``"_guard_doubles:SolvedToken"`` names :class:`SolvedToken` (``tests/serve`` is on the path
of the service tests): the service calls the class with no arguments, as it would a real
provider's factory.
"""

from __future__ import annotations

#: The name of :class:`SolvedToken` as ``serve.guard.captcha_verifier`` takes it.
SOLVED_TOKEN = "_guard_doubles:SolvedToken"


class SolvedToken:
    """A captcha verifier that accepts the token ``"solved"`` and records every check."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def verify(self, token: str, client_id: str) -> bool:
        self.calls.append((token, client_id))
        return token == "solved"


class NotAVerifier:
    """Has no ``verify``: naming it must be refused when the service starts."""
