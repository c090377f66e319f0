"""The service's JSON response: any text a client sent can be echoed back.

JSON allows escapes of lone UTF-16 surrogates (``"\\ud800"``); Python decodes them into
strings that UTF-8 cannot encode, so echoing such a value (a refused field's value, an id)
would fail while the answer is written and turn a client's error into a 500.
:class:`SafeJSONResponse` writes those characters as JSON escapes instead.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """Starlette's JSON response, with lone surrogates written as ``\\ud800`` escapes.

    Examples
    --------
    >>> SafeJSONResponse({"value": "a\\ud800"}).body
    b'{"value":"a\\\\ud800"}'
    >>> SafeJSONResponse({"city": "Kraków"}).body.decode()
    '{"city":"Kraków"}'
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # a lone surrogate: ASCII escapes carry it
            return json.dumps(
                content, ensure_ascii=True, allow_nan=False, indent=None, separators=(",", ":")
            ).encode("ascii")
