"""Turns a search box query into one SQL query over the two full-text indexes (no Textual).

Every whitespace-separated term must occur in the message. A term of three or more
characters is looked up in the ``trigram`` index, which finds any substring in any script
(a Chinese word inside a sentence, part of an English word). A shorter term that is a word
of a spaced script ("AI", "go") is a word-prefix search in the ``unicode61`` index; any other
short term (two CJK characters such as 部署, 設定 or 모델, or punctuation) is a literal
``LIKE`` match over the messages, which the row limit bounds. Terms are always passed as
quoted strings or escaped patterns, never as FTS syntax, so no input can raise. Which
characters count as CJK is shared with the knowledge base's search (``kb.terms``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.terms import is_word, phrase

TRIGRAM_MIN = 3
"""The trigram tokenizer matches nothing for shorter strings."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The SQL (selecting message_id, conversation_id, title, content) and its arguments."""

    sql: str
    args: tuple[object, ...]
    needles: tuple[str, ...]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def build(query: str, limit: int) -> SearchQuery | None:
    """The SQL for ``query`` newest first, at most ``limit`` rows; None for an empty query."""
    terms = query.split()
    if not terms:
        return None
    long_terms = [t for t in terms if len(t) >= TRIGRAM_MIN]
    word_terms = [t for t in terms if len(t) < TRIGRAM_MIN and is_word(t)]
    literal_terms = [t for t in terms if len(t) < TRIGRAM_MIN and not is_word(t)]
    sources: list[tuple[str, str]] = []
    if long_terms:
        sources.append(("messages_trigram", " ".join(phrase(t) for t in long_terms)))
    if word_terms:
        sources.append(("messages_fts", " ".join(phrase(t) + "*" for t in word_terms)))
    where: list[str] = []
    args: list[object] = []
    if sources:
        first_table, first_match = sources[0]
        source = f"{first_table} f JOIN messages m ON m.id = f.rowid"
        where.append(f"{first_table} MATCH ?")
        args.append(first_match)
        for table, match in sources[1:]:
            where.append(f"m.id IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)")
            args.append(match)
    else:
        source = "messages m"
    for term in literal_terms:
        where.append("m.content LIKE ? ESCAPE '\\'")
        args.append(_like(term))
    sql = (
        "SELECT m.id AS message_id, m.conversation_id, c.title, m.content"
        f" FROM {source} JOIN conversations c ON c.id = m.conversation_id"
        f" WHERE {' AND '.join(where)} ORDER BY m.id DESC LIMIT ?"
    )
    return SearchQuery(sql, (*args, limit), tuple(t.lower() for t in terms))


def matching_line(content: str, needles: tuple[str, ...] | list[str], width: int = 200) -> str:
    """The line showing the hit: the one holding the most search terms, cut around the first.

    A long line (Chinese text often has no line breaks) is cut so that the hit stays in the
    first ``width`` characters.
    """
    best, best_count = "", 0
    for line in content.splitlines():
        lowered = line.lower()
        count = sum(1 for needle in needles if needle and needle in lowered)
        if count > best_count:
            best, best_count = line.strip(), count
    if not best_count:
        return content.strip().splitlines()[0][:width] if content.strip() else ""
    lowered = best.lower()
    where = min((lowered.find(n) for n in needles if n and n in lowered), default=0)
    longest = max((len(n) for n in needles), default=0)
    if len(best) <= width or where + longest <= width:
        return best[:width]
    start = max(0, where - width // 4)
    return "…" + best[start : start + width - 1]
