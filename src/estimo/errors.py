"""Exceptions that carry user-facing messages.

Every error a user can cause (a bad file, a wrong mapping, a cut-off outside the data) is
raised as an :class:`EstimoError` subclass whose message names the field, the bad value and
what was expected. The CLI prints the message without a traceback and exits with
:attr:`EstimoError.exit_code`.
"""

from __future__ import annotations

from collections.abc import Iterable


class EstimoError(Exception):
    """Base class of errors caused by the user's input or configuration."""

    exit_code: int = 1


class ConfigError(EstimoError):
    """The project file (estimo.yaml) or an option is invalid."""

    exit_code = 2


class DataError(EstimoError):
    """The data cannot be used as given.

    Parameters
    ----------
    problems : iterable of str
        Every problem found, one line each; they are reported together.
    header : str
        First line of the message.
    """

    def __init__(self, problems: Iterable[str], header: str = "the data cannot be used") -> None:
        self.problems = list(problems)
        lines = [f"{header}:"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class MappingError(DataError):
    """The project's ``data:`` settings (column mapping, constants, formats, units) do not
    fit the data: every problem listed at once; bad usage of the project file, so exit
    code 2 as for :class:`ConfigError` (the README's exit codes)."""

    exit_code = 2


class NotFittedError(EstimoError, ValueError):
    """An estimator was used before ``fit``."""


class InputError(DataError):
    """A property to value breaks the input contract (:mod:`estimo.property_input`).

    Parameters
    ----------
    problems : iterable of dict
        One ``{"field", "value", "message"}`` per refused field (the value shortened);
        the API answers them as the problem's ``errors``, the CLI prints the messages.
    header : str
        First line of the message.
    """

    exit_code = 1

    def __init__(
        self, problems: Iterable[dict[str, str]], header: str = "cannot value this property"
    ) -> None:
        items = [dict(p) for p in problems]
        super().__init__([p["message"] for p in items], header=header)
        self.problems = items  # type: ignore[assignment]


class BundleError(EstimoError):
    """A saved model folder cannot be read: a file is missing, truncated or altered, or the
    folder lacks the checksum manifest it claims to have; the message names the folder and
    the file and says to re-save or re-train the model."""
