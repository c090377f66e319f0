"""A small Python client of the valuation service (standard library only).

It needs no extra: a core install can call a running ``estimo serve``. Every error answer
(RFC 9457 problem details) is raised as :class:`ServiceError` with the problem's fields.

Examples
--------
>>> client = EstimoClient("http://127.0.0.1:8000", lang="it")
>>> client.base_url, client.lang
('http://127.0.0.1:8000', 'it')
>>> print(ServiceError(422, {"title": "Invalid", "detail": "1 problem",
...     "errors": [{"field": "area_m2", "value": "-3", "message": "must be > 0"}]}))
HTTP 422 Invalid: 1 problem
  - area_m2 = -3: must be > 0

Typical use (with a service running)::

    client = EstimoClient("http://127.0.0.1:8000")
    answer = client.value({"city": "Milano", "area_m2": 80, "rooms": 3})
    answer["price"], answer["low"], answer["high"], answer["explanation"]["text"]["total"]
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from estimo.errors import ConfigError, EstimoError

__all__ = ["EstimoClient", "ServiceError"]


class ServiceError(EstimoError):
    """The service answered with a problem (or could not be reached: status 0).

    Attributes
    ----------
    status : int
        HTTP status (0 when the service could not be reached).
    problem : dict
        The problem details (``title``, ``detail``, ``errors``, ``request_id`` ...).
    """

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        said = f"HTTP {status} {problem.get('title', 'error')}" if status else "cannot reach"
        lines = [f"{said}: {problem.get('detail', '')}"]
        for error in problem.get("errors") or ():
            lines.append(f"  - {error.get('field')} = {error.get('value')}: {error.get('message')}")
        super().__init__("\n".join(lines))


class EstimoClient:
    """Calls one service (see the module docstring).

    Parameters
    ----------
    base_url : str
        Where the service listens, e.g. ``"http://127.0.0.1:8000"``.
    timeout : float
        Seconds to wait for each answer.
    lang : str
        Language of the words (``Accept-Language``): ``"en"``, ``"it"`` or ``"es"``.
    api_key : str, optional
        The API key (``estimo keys create``); default: the ``ESTIMO_API_KEY`` variable.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        lang: str = "en",
        api_key: str | None = None,
    ) -> None:
        scheme, _, rest = base_url.partition("://")
        if scheme.lower() not in ("http", "https") or not rest.strip("/"):
            raise ConfigError(
                f"the service URL {base_url!r} is not an http(s) URL; expected e.g. "
                "http://127.0.0.1:8000"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.lang = lang
        self.api_key = api_key or os.environ.get("ESTIMO_API_KEY") or None

    def value(
        self, record: Mapping[str, Any], *, explain: bool = True, lang: str | None = None
    ) -> dict[str, Any]:
        """Value one property (``POST /v1/valuations``)."""
        return self._call("POST", "/v1/valuations", dict(record), explain=explain, lang=lang)

    def value_batch(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        explain: bool = False,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """Value many properties (``POST /v1/valuations:batch``): ``items`` in order, each
        with ``ok`` and a ``valuation`` or a ``problem``."""
        body = {"properties": [dict(r) for r in records]}
        return self._call("POST", "/v1/valuations:batch", body, explain=explain, lang=lang)

    def models(self) -> dict[str, Any]:
        """Bundles, versions, cities and memory (``GET /v1/models``)."""
        return self._call("GET", "/v1/models")

    def health(self) -> dict[str, Any]:
        """``{"alive": bool, "ready": bool}`` from ``/healthz`` and ``/readyz``."""
        alive = self._status("/healthz") == 200
        return {"alive": alive, "ready": alive and self._status("/readyz") == 200}

    def _status(self, path: str) -> int:
        try:
            self._call("GET", path)
            return 200
        except ServiceError as exc:
            return exc.status

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        explain: bool | None = None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        url = self.base_url + path
        if explain is not None:
            url += "?" + urllib.parse.urlencode({"explain": str(explain).lower()})
        headers = {"Accept": "application/json", "Accept-Language": lang or self.lang}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        data = None
        if body is not None:
            data = json.dumps(body, default=str).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(exc.code, _problem(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceError(
                0,
                {"title": "unreachable", "detail": f"no answer from {self.base_url}: {reason}"},
            ) from None


def _problem(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        payload = json.loads(exc.read())
    except (ValueError, OSError):
        payload = None
    if isinstance(payload, dict):
        return payload
    return {"title": exc.reason or "error", "detail": f"HTTP {exc.code} from {exc.url!r}"}
