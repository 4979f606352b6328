"""Hits as JSON that is valid and safe to print to a terminal.

``json.dumps`` escapes C0 controls but, with ``ensure_ascii=False`` (kept so Chinese stays
readable), not DEL, the C1 controls (``\\x9b`` is an 8-bit CSI) or the line separators, and a
file name that is not UTF-8 reaches Python as lone surrogates that no UTF-8 stream can write.
Those are written as ``\\uXXXX`` escapes, which every JSON parser reads back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from kb.hit import Hit

_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def dumps_hits(hits: Sequence[Hit], *, with_folder: bool = False) -> str:
    """The ``--kb-query`` JSON list (``folder`` added when several folders were searched)."""
    items = []
    for hit in hits:
        item = hit.as_json()
        if with_folder:
            item["folder"] = hit.folder
        items.append(item)
    text = json.dumps(items, ensure_ascii=False, indent=2)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
