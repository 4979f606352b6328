"""One-line descriptions of HTTP failures from an OpenAI-compatible server.

The server's own message is kept (it is usually the most useful part) but shortened to one
line and never includes request headers, so an API key cannot leak through an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_SERVER_MESSAGE = 200
_BEARER = re.compile(r"(?i)\b(bearer)\s+\S+")


def scrub(text: str, secret: str = "") -> str:
    """``text`` with the API key and any ``Bearer …`` credential replaced by ``***``."""
    if len(secret) >= 4:
        text = text.replace(secret, "***")
    return _BEARER.sub(r"\1 ***", text)


def server_message(body: str) -> str:
    """The ``error.message`` / ``detail`` of a JSON error body, or the body's first line."""
    text = body.strip()
    try:
        data: Any = json.loads(text, strict=False)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            text = str(error)
    line = " ".join(text.split())
    return line if len(line) <= MAX_SERVER_MESSAGE else line[: MAX_SERVER_MESSAGE - 1] + "…"


def describe_status(status: int, body: str, *, model: str, key_env: str, secret: str = "") -> str:
    """What a failed response means for the user, in one line (``secret`` is never echoed)."""
    detail = server_message(scrub(body, secret))
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return f"401 unauthorised: the server rejected the API key (check ${key_env}){suffix}"
    if status == 403:
        return f"403 forbidden: the API key may not use this model{suffix}"
    if status == 404:
        return f"404 not found: the server has no model {model!r} or no such endpoint{suffix}"
    if status == 429:
        return f"429 rate limited by the server; try again shortly{suffix}"
    if status >= 500:
        return f"server error {status}{suffix}"
    return f"request rejected ({status}){suffix}"


def describe_image_refusal(status: int | None, body: str, secret: str = "") -> str | None:
    """What a request with images refused by the server means, in one line (None: not such a
    refusal). 413 is the body size; 400/415/422 usually mean a text-only model or an image
    the server cannot take."""
    if status not in (400, 413, 415, 422):
        return None
    detail = server_message(scrub(body, secret))
    suffix = f" ({detail})" if detail else ""
    if status == 413:
        return (
            "the server refused the request as too large (413): send fewer or smaller images, "
            f"or lower --image-max-side{suffix}"
        )
    return f"the server refused the image ({status}): the model may be text-only{suffix}"


def is_retryable_status(status: int) -> bool:
    """Retry 429 and 5xx; never other 4xx (they will fail the same way again)."""
    return status == 429 or status >= 500
