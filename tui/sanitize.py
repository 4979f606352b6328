"""Makes untrusted text safe to display: control characters become visible placeholders.

Model replies, tool output and server errors may contain terminal escape sequences. Textual
renders through Rich, but we never want a raw ESC, BEL or C1 byte to reach the terminal or a
Rich parser, so every control character except newline and tab is replaced by a visible
symbol (U+2400 block for C0, ``\\x9b``-style text for C1). The mapping is per character, so
a sequence split across streamed chunks is sanitised identically chunk by chunk.
"""

from __future__ import annotations

_KEEP = {"\n", "\t"}


def _placeholder(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟ (␛ for ESC)
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"  # C1 controls have no picture symbols


_TABLE: dict[int, str] = {
    code: _placeholder(chr(code))
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
    if chr(code) not in _KEEP
}


def sanitize(text: str) -> str:
    """Replace every control character except newline and tab by a visible placeholder."""
    return text.translate(_TABLE)
