"""Credentials never stored: a ``user:password@`` in a URL is dropped before the URL is saved.

``--base-url http://user:pw@host/v1`` works for the session, but the history database keeps the
URL (so ``--resume`` reconnects) and exports copy it; what they keep is the URL without its
user information. The password is not needed to resume: API keys come from the environment.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def without_credentials(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` removed; everything else (port, path, query) kept."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]  # the last @: a password may hold an unencoded one
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
