"""Hostile text for the tests that prove no untrusted string reaches the terminal raw.

One string holds every kind of attack we know of: terminal escape sequences (OSC 52 clipboard
write, OSC 0/2 window title, CSI clear screen and cursor report), C1 controls (``\\x9b`` is a
one-byte CSI, ``\\x85`` a newline on some terminals), a bidi override, Rich/Textual markup
that would colour text or run an action if it were parsed, and a lone surrogate (which no
UTF-8 output can encode). Each piece carries a ``PWNED`` marker, so a test can tell what it
sees. ``FORBIDDEN`` lists the byte strings that must never appear in what the app writes.
"""

from __future__ import annotations

import base64
import json
import socket
import unicodedata

from testkit.fault_server import head, json_response, sse

CLIP = base64.b64encode(b"PWNED-CLIPBOARD").decode()
MARKUP = "[red]PWNED-MARKUP[/]"
CLICK = "[@click=app.quit]PWNED-CLICK[/]"

HOSTILE = (
    f"<\x1b]52;c;{CLIP}\x07"
    "\x1b]0;PWNED-TITLE0\x07"
    "\x1b]2;PWNED-TITLE2\x1b\\"
    "\x1b[2JPWNED-CLEAR"
    "\x1b[6nPWNED-DSR"
    "\x9b31mPWNED-C1"
    "\x85PWNED-NEL"
    "\u202ePWNED-BIDI\u202c"
    f" {MARKUP} {CLICK} "
    "\ud800PWNED-SURROGATE>"
)
"""Every attack in one line (no newline, so it fits titles and status lines)."""

FORBIDDEN: list[bytes] = [
    f"\x1b]52;c;{CLIP}".encode(),
    b"\x1b]0;PWNED",
    b"\x1b]2;PWNED",
    b"\x1b[2JPWNED",
    b"\x1b[6nPWNED",
    "\x9b31mPWNED".encode(),
    "\x85PWNED".encode(),
]
"""Byte sequences the terminal must never receive (UTF-8, as the app writes)."""

SHOWN = "␛]0;PWNED-TITLE0␇"
"""How the title attack looks once sanitised: the ESC and BEL as visible symbols."""


def raw_controls(text: str) -> list[str]:
    """Control characters (C0 but tab and newline, DEL, C1) and surrogates in ``text``."""
    return [
        char
        for char in text
        if (unicodedata.category(char) == "Cc" and char not in "\t\n") or unicodedata.category(char) == "Cs"
    ]


def models_body(models: list[str]) -> str:
    """A ``/v1/models`` answer listing ``models``."""
    return json.dumps({"object": "list", "data": [{"id": m} for m in models]})


def hostile_reply(conn: socket.socket, attempt: int) -> None:
    """First chat request: a streamed reply of hostile text, split inside every sequence.
    Later ones: a 400 whose error message is hostile."""
    if attempt == 1:
        pieces = [HOSTILE[i : i + 5] for i in range(0, len(HOSTILE), 5)]
        body = b"".join(sse(piece) for piece in pieces)
        conn.sendall(head() + body + sse(finish="stop") + b"data: [DONE]\n\n")
        return
    error = json.dumps({"error": {"message": "ERRMSG " + HOSTILE}})
    conn.sendall(json_response(400, error))
