"""The HTTP side of the remote backend: the httpx client, safe URLs for messages, hanging up.

Kept apart from the streaming logic so the rules that protect the user (certificates checked,
no proxy for loopback, no secrets in messages, a connection that really closes) sit in one
short place.
"""

from __future__ import annotations

import email.utils
import ipaddress
import os
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from backends.base import BackendConfigError
from backends.options import RemoteOptions


def is_loopback(url: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 URLs (no proxy is ever used for those)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_url(url: str | None) -> str:
    """The URL without user:password, query or fragment, for messages and the status line."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def make_client(options: RemoteOptions) -> httpx.Client:
    """An httpx client with our timeouts, certificate checks and proxy rules.

    Keep-alive is off so every streamed reply gets its own connection: hanging up on it
    then tells the server to stop generating without touching other requests.
    """
    if not options.base_url:
        raise BackendConfigError("--backend remote needs --base-url (e.g. http://host:23333/v1)")
    if urlsplit(options.base_url).scheme not in ("http", "https"):
        raise BackendConfigError(f"--base-url must start with http:// or https://, not {options.base_url!r}")
    read = max(options.first_token_timeout_s, options.chunk_timeout_s)
    timeout = httpx.Timeout(connect=options.connect_timeout_s, read=read, write=30.0, pool=10.0)
    verify: ssl.SSLContext | bool = True
    if options.ca_file:
        try:
            verify = ssl.create_default_context(cafile=options.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise BackendConfigError(f"cannot read --ca-file {options.ca_file}: {exc}") from None
    headers = {"Accept": "application/json"}
    key = os.environ.get(options.api_key_env, "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(
        base_url=options.base_url.rstrip("/") + "/",
        timeout=timeout,
        verify=verify,
        headers=headers,
        trust_env=not is_loopback(options.base_url),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


class HangUp:
    """Remembers a request's socket (via httpcore's trace hook) so it can be shut down.

    ``shutdown`` wakes a reader blocked in ``recv`` at once and sends FIN, so the server sees
    the disconnect even when it has not sent a byte yet.
    """

    def __init__(self) -> None:
        self._stream: Any = None

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self._stream = info.get("return_value")

    def now(self) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            sock = stream.get_extra_info("socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass


def retry_after_s(response: httpx.Response | None) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), if it sent one."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def unreachable_message(exc: Exception, url: str | None) -> str:
    """One line for a failed connection; certificate problems say how to fix them."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return (
                f"certificate verification failed for {display_url(url)} "
                "(pass --ca-file with the server's CA certificate)"
            )
        cause = cause.__cause__ or cause.__context__
    return f"server unreachable at {display_url(url)} ({type(exc).__name__})"
