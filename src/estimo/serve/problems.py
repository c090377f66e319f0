"""One error shape for every answer that is not a success: RFC 9457 problem details.

Every 4xx/5xx is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail``, ``instance`` (the path), ``request_id`` and, for bad input, ``errors``: one
``{"field", "value", "message"}`` per problem. No traceback and no file path ever reaches a
client: details pass through :func:`public_text`, and unexpected errors answer 500 with the
request id only (the traceback is in the log line with the same id).

Examples
--------
>>> public_text("cannot read /srv/models/v3/bundle/model.json: bad JSON")
'cannot read <path>: bad JSON'
>>> shorten("x" * 200)[-5:]
'x ...'
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from estimo.errors import EstimoError
from estimo.serve.logs import request_id
from estimo.serve.responses import SafeJSONResponse as JSONResponse

log = logging.getLogger(__name__)

__all__ = [
    "PROBLEM_TYPE",
    "ProblemError",
    "cannot_value",
    "install_problem_handlers",
    "public_text",
    "shorten",
]

PROBLEM_TYPE = "urn:estimo:problem:"
MEDIA_TYPE = "application/problem+json"
_PATH = re.compile(r"(?<![\w<])(?:[A-Za-z]:\\|file://|s3://|gs://|memory://|/)[^\s'\",;:)]+")


def public_text(text: str) -> str:
    """``text`` with anything that looks like a file path or storage URL replaced."""
    return _PATH.sub("<path>", str(text))


def shorten(value: Any, limit: int = 80) -> str:
    """A value as JSON wrote it (``null``, ``true``, ``{"a": 1}``; text quoted), cut to
    ``limit`` characters.

    Examples
    --------
    >>> shorten(None), shorten(True), shorten({"a": 1}), shorten("big"), shorten(b"x")
    ('null', 'true', '{"a": 1}', '"big"', "b'x'")
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


class ProblemError(Exception):
    """An answer in problem-details form, raised from anywhere in a request.

    Parameters
    ----------
    status : int
        HTTP status.
    kind : str
        Short slug of the problem type (``"invalid-input"``); the ``type`` is
        ``urn:estimo:problem:<kind>``.
    title : str
        Short summary of the problem type.
    detail : str
        What happened in this request.
    errors : list of dict, optional
        Field-level problems ``{"field", "value", "message"}``.
    headers : dict, optional
        Extra response headers (``Retry-After``, ...).
    """

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers

    def body(self, instance: str) -> dict[str, Any]:
        """The problem-details object."""
        out: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": public_text(self.detail),
            "instance": instance,
            "request_id": request_id.get(),
        }
        if self.errors is not None:
            out["errors"] = [{k: public_text(v) for k, v in e.items()} for e in self.errors]
        return out

    def response(self, instance: str) -> JSONResponse:
        """The JSON response of this problem."""
        return JSONResponse(
            self.body(instance), self.status, headers=self.headers, media_type=MEDIA_TYPE
        )


def field_errors(errors: list[dict[str, Any]], skip: int = 1) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field", "value", "message"}`` (``skip`` drops 'body')."""
    out = []
    for err in errors:
        where = [str(p) for p in err.get("loc", ())[skip:]]
        field = ".".join(where) or "body"
        value = err.get("input")
        if err.get("type") == "json_invalid":  # loc: the character where the JSON breaks
            at = where[-1] if where else "?"
            field, value = "body", None
            message = f"the body is not valid JSON (at character {at}): {err.get('msg', '')}"
        elif err.get("type") == "extra_forbidden":
            message = f"unknown field {where[-1]!r}; expected a field of the canonical record"
        elif err.get("type") == "missing":
            message = f"field {field!r} is required"
            value = None
        else:
            message = _plain(f"{err.get('msg', 'invalid')}")
        out.append({"field": field, "value": shorten(value), "message": message})
    return out


_CLASS_NAME = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")
_PYTHON_KINDS = {
    "str": "text",
    "int": "a number",
    "float": "a number",
    "bytes": "bytes",
    "dict": "an object",
    "list": "a list",
    "NoneType": "nothing",
}


def _plain(message: str) -> str:
    """A validation message without Python class names (``<class 'str'>`` -> ``text``;
    ``Expected UploadFile`` -> ``expected a file``).

    Examples
    --------
    >>> _plain("Value error, Expected UploadFile, received: <class 'str'>")
    'expected a file upload, received: text'
    """
    message = message.removeprefix("Value error, ")
    message = message.replace("Expected UploadFile", "expected a file upload")
    return _CLASS_NAME.sub(
        lambda m: _PYTHON_KINDS.get(m.group(1), "another kind of value"), message
    )


def _unknown_fields(
    body: dict[str, Any], allowed: Any, found: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Unknown fields of a property that failed validation, so all problems come at once."""
    from estimo.serve.schemas import PropertyIn, check_extra_fields

    named = {e["field"] for e in found}
    extras = {k: v for k, v in body.items() if k not in PropertyIn.model_fields and k not in named}
    item = PropertyIn.model_construct(**extras)
    return check_extra_fields(item, frozenset(allowed))


def invalid_input(errors: list[dict[str, str]]) -> ProblemError:
    """The 422 problem for field-level errors."""
    names = ", ".join(repr(e["field"]) for e in errors[:5])
    return ProblemError(
        422,
        "invalid-input",
        "The request has invalid fields",
        f"{len(errors)} problem(s) with the request: {names}",
        errors,
    )


#: FastAPI's detail when the body is not JSON it can decode for another reason than syntax
_UNPARSED_BODY = "There was an error parsing the body"


def _unreadable_body(request: Request) -> ProblemError:
    """The problem of a body FastAPI could not read (not UTF-8, compressed, a number too
    long, nested too deep): 415 for a compressed body, else the 422 naming the body."""
    encoding = request.headers.get("content-encoding", "").strip()
    if encoding and encoding.lower() != "identity":
        return ProblemError(
            415,
            "unsupported-encoding",
            "Unsupported content encoding",
            f"Content-Encoding {encoding[:40]!r} is not supported; send the JSON uncompressed",
        )
    return invalid_input(
        [
            {
                "field": "body",
                "value": "",
                "message": "the body cannot be read as JSON: expected UTF-8 text, numbers of "
                "at most a few hundred digits and objects nested at most a few hundred deep",
            }
        ]
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error raised in a request as problem details."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        body = getattr(exc, "body", None)
        if isinstance(body, dict) and request.url.path.endswith("/valuations"):
            errors += _unknown_fields(body, request.app.state.settings.extra_fields, errors)
        return invalid_input(errors).response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
            return _unreadable_body(request).response(request.url.path)
        detail, errors = exc.detail, None
        if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
            errors = [_error_of(d) for d in detail]  # field-level problems of a router
            names = ", ".join(repr(e["field"]) for e in errors[:5])
            detail = f"{len(errors)} problem(s) with the request: {names}"
        elif isinstance(detail, list):  # problems in words
            detail = "; ".join(str(d) for d in detail)
        if exc.status_code == 422 and errors:
            problem = invalid_input(errors)
        else:
            problem = ProblemError(
                exc.status_code,
                "http-" + str(exc.status_code),
                titles.get(exc.status_code, "HTTP error"),
                str(detail),
                errors,
                headers=dict(exc.headers or {}) or None,
            )
        return problem.response(request.url.path)

    @app.exception_handler(EstimoError)
    async def _estimo(request: Request, exc: EstimoError) -> JSONResponse:
        return cannot_value(exc).response(request.url.path)


def cannot_value(exc: EstimoError) -> ProblemError:
    """The 422 problem of a property the model cannot value (the input contract's fields
    named one by one when the error lists them)."""
    problems = getattr(exc, "problems", None)
    errors = None
    if problems and all(isinstance(p, dict) for p in problems):  # InputError.problems
        errors = [{k: str(p.get(k, "")) for k in ("field", "value", "message")} for p in problems]
    return ProblemError(422, "cannot-value", "The property cannot be valued", str(exc), errors)


def _error_of(item: dict[str, Any]) -> dict[str, str]:
    """One ``{"field", "value", "message"}`` from a router's problem or a pydantic error."""
    if "field" in item:
        return {k: str(item.get(k, "")) for k in ("field", "value", "message")}
    where = [str(p) for p in item.get("loc", ())[1:]] or ["body"]
    return {
        "field": ".".join(where),
        "value": shorten(item.get("input")),
        "message": str(item.get("msg", "invalid")),
    }


def internal_error() -> ProblemError:
    """The 500 problem of an unexpected error (its traceback goes to the log only)."""
    return ProblemError(
        500,
        "internal",
        "Internal error",
        f"the service failed on this request; quote request id {request_id.get()}",
    )
