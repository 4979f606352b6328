"""Makes untrusted text safe to display: control characters become visible placeholders.

Model replies, tool output, server errors and chat titles may contain terminal escape
sequences. Textual renders through Rich, but we never want a raw ESC, BEL or C1 character to
reach the terminal or a Rich parser, so every control character except newline and tab is
replaced by a visible symbol (the U+2400 block for C0, ``\\x9b``-style text for C1). Replacing
the ESC itself defuses every kind of escape sequence (CSI, OSC, DCS, APC, ...): what follows it
is shown as ordinary text. The mapping is per character, so a sequence split across streamed
chunks is sanitised identically chunk by chunk, and no state is carried between chunks.

``reveal`` goes further for text the user must judge (code waiting for approval): every
character that can make code read differently from what runs (controls, bidi, zero-width,
variation selectors, the combining grapheme joiner, tags, other default-ignorable and
format characters, unusual spaces, private-use and unassigned code points) is shown as a
``⟨U+202E⟩`` marker, and so is ``⟨`` itself, so every marker on screen is one character.

The database keeps the raw text; only what is displayed goes through here.
"""

from __future__ import annotations

import unicodedata

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

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"})
"""Controls, format (bidi, zero-width, tags, BOM, soft hyphen), private use, unassigned,
surrogates, line/paragraph separators and spaces (U+0020 itself is kept)."""

_HIDDEN_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner (legal inside identifiers)
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x2800, 0x2800),  # braille blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors (legal inside identifiers)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement (U+E0100-E01EF)
)
"""Default-ignorable and blank-looking characters that are not in the categories above."""

_KEEP_SHOWN = {"\n", "\t", " "}


def _is_invisible(char: str) -> bool:
    if char in _KEEP_SHOWN:
        return False
    if char == "⟨" or unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _HIDDEN_RANGES)


def sanitize(text: str) -> str:
    """Replace every control character except newline and tab by a visible placeholder."""
    return text.translate(_TABLE)


def reveal(text: str) -> str:
    """Every control, invisible, bidi, variation-selector, joiner, tag, format or blank-looking
    character (and ``⟨``) as ``⟨U+XXXX⟩``; newline, tab and space stay: for code to approve."""
    if all(not _is_invisible(char) for char in text):
        return text
    return "".join(f"⟨U+{ord(char):04X}⟩" if _is_invisible(char) else char for char in text)


def one_line(text: str, limit: int = 300) -> str:
    """The first line of untrusted text, sanitised and shortened: for notifications and errors."""
    first = sanitize(text.strip()).split("\n", 1)[0].replace("\t", " ")
    return first if len(first) <= limit else first[: limit - 1] + "…"
