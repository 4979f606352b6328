"""Splits text into full-text search terms for English and Chinese, Japanese and Korean alike.

SQLite's ``unicode61`` tokenizer keeps a run of CJK characters as one token, so a word inside a
Chinese sentence (部署 in 使用LMDeploy部署模型) is never found, and the ``trigram`` tokenizer finds
nothing shorter than three characters, while most Chinese words are two. So CJK runs are also
written as overlapping character pairs (bigrams, as Lucene's CJK analyzer does) into a column of
their own, which ``unicode61`` keeps as tokens and BM25 ranks. Query terms are always passed
to FTS5 as quoted strings, never as its query syntax, so no input can raise.
"""

from __future__ import annotations

import re

CJK = re.compile(
    "["
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended-A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended-B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003ffff"  # CJK extensions B onwards
    "]"
)
"""Characters of scripts written without spaces between words (and Hangul, whose words carry
particles: 모델을 holds 모델)."""

CJK_OR_PUNCT = re.compile(CJK.pattern[:-1] + "\u3000-\u303f\uff00-\uffef]")
"""CJK characters plus CJK punctuation and full-width forms (for the history search)."""

_CJK_RUN = re.compile(CJK.pattern + "+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "my",
        "me",
        "we",
        "our",
        "should",
        "could",
        "would",
        "there",
        "their",
        "they",
        "them",
        "then",
        "than",
        "into",
        "about",
        "if",
        "not",
        "no",
        "yes",
    }
)
"""English words too common to help rank passages (a question is mostly made of them)."""


def is_word(term: str) -> bool:
    """A word of a script written with spaces, which the unicode61 index keeps as a token."""
    return term.isalnum() and not CJK_OR_PUNCT.search(term)


def phrase(term: str) -> str:
    """``term`` as an FTS5 string literal (matched as a phrase, never parsed as syntax)."""
    return '"' + term.replace('"', '""') + '"'


def bigrams(text: str) -> list[str]:
    """The overlapping character pairs of every CJK run in ``text`` (a lone character as itself)."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def grams_column(text: str) -> str:
    """What the bigram column of a chunk holds: its CJK bigrams separated by spaces."""
    return " ".join(bigrams(text))


def query_terms(question: str) -> tuple[list[str], list[str]]:
    """The words (lower case, no stopwords) and the CJK bigrams of a question, each once."""
    words: list[str] = []
    for word in _WORD.findall(_CJK_RUN.sub(" ", question)):
        lowered = word.lower()
        if lowered not in STOPWORDS and lowered not in words:
            words.append(lowered)
    grams = list(dict.fromkeys(bigrams(question)))
    return words, grams


def mostly_cjk(text: str) -> bool:
    """True when most letters of ``text`` are Chinese, Japanese or Korean."""
    cjk = len(CJK.findall(text))
    letters = sum(1 for char in text if char.isalpha())
    return cjk > 0 and cjk * 2 >= letters
