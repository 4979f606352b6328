"""The one place where model-written code is normalised before it is shown, hashed and run.

Security rule 1: what the user approves is exactly what runs. The loops call
``normalise_code`` once on what the model wrote; the result is shown in the approval dialog,
hashed into the ``ApprovalRequest`` and handed to the sandbox unchanged (the tool re-hashes it
and refuses on a mismatch). Nothing strips or rewrites the code after this.

Line breaks: ``\\r\\n`` and a lone ``\\r`` become ``\\n`` (Python itself ends a line at a lone
``\\r``, so the program means the same and the dialog shows the break where Python sees it).
The other characters that some readers take as a line break and Python does not (form feed,
vertical tab, ``\\x1c``-``\\x1e``, NEL ``\\x85``, U+2028, U+2029) cannot be shown faithfully both
ways, so a call containing one is refused (``refusal``) and the model is told why.
"""

from __future__ import annotations

import re
import unicodedata

_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\n(.*?)(?:```|$)", re.DOTALL)

AMBIGUOUS_BREAKS = frozenset("\f\v\x1c\x1d\x1e\x85\u2028\u2029")
"""Characters ``str.splitlines`` treats as line breaks but Python's tokenizer does not."""


def normalise_code(text: str) -> str:
    """The program to show and run: line endings made ``\\n``, the inside of a Markdown fence if
    the model wrote one, surrounding blank space removed, and one pair of quotes around a
    single-line program removed. Applied exactly once per call."""
    code = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FENCE.search(code)
    code = match.group(1) if match else code
    code = code.strip(" \t\n")
    if len(code) >= 2 and code[0] == code[-1] and code[0] in "\"'" and "\n" not in code:
        code = code[1:-1]
    return code


def refusal(code: str) -> str | None:
    """Why ``code`` is refused without asking (one line), or None when it may be shown and run."""
    for number, line in enumerate(code.split("\n"), start=1):
        for char in line:
            if 0xD800 <= ord(char) <= 0xDFFF:
                return f"refused: line {number} contains a lone surrogate U+{ord(char):04X} (not valid UTF-8)"
            if char in AMBIGUOUS_BREAKS:
                name = unicodedata.name(char, "control character")
                return (
                    f"refused: line {number} contains U+{ord(char):04X} ({name}), which a reader may "
                    "take as a line break and Python does not; write the program without it"
                )
    return None
