"""History search: substrings in Chinese, Japanese and Korean sentences, English words and
prefixes, the line shown for a hit, hostile queries, and the schema 4 migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui.store.store import HistoryStore, open_store

FIXTURES = Path(__file__).parent / "fixtures"

SENTENCES = {
    "zh": "请介绍一下书生浦语模型的部署方法",
    "ja": "モデルの設定を変更する方法を教えてください",
    "ko": "이 모델을 서버에 배포하는 방법을 알려주세요",
    "en": "How do I serve a volleyball? AI models said nothing.",
    "mixed": "用 lmdeploy 部署 InternLM2.5 的步骤",
}


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    store = open_store(tmp_path / "h.sqlite3")
    cid = store.create_conversation("search")
    assert cid is not None
    for text in SENTENCES.values():
        store.add_message(cid, "user", text)
    return store


def _found(store: HistoryStore, query: str) -> list[str]:
    return sorted(hit.snippet for hit in store.search(query))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("部署", ["mixed", "zh"]),  # two characters inside a sentence
        ("部署方法", ["zh"]),  # four: the trigram index
        ("浦语模型", ["zh"]),
        ("設定", ["ja"]),
        ("変更する", ["ja"]),
        ("모델", ["ko"]),
        ("배포하는", ["ko"]),
        ("方法", ["ja", "zh"]),  # the same Han characters in Chinese and Japanese
        ("volley", ["en"]),  # an English prefix
        ("VOLLEYBALL", ["en"]),  # case does not matter
        ("ai", ["en"]),  # a short word: word prefix, not inside "said"
        ("lmdeploy 部署", ["mixed"]),  # every term must occur
        ("volleyball 部署", []),
        ("部 署", ["mixed", "zh"]),  # single characters too
    ],
)
def test_finds_substrings_in_every_script(store: HistoryStore, query: str, expected: list[str]) -> None:
    assert _found(store, query) == sorted(SENTENCES[key] for key in expected)


def test_two_character_cjk_search_is_bounded_by_the_limit(store: HistoryStore) -> None:
    cid = store.create_conversation("many")
    assert cid is not None
    for i in range(30):
        store.add_message(cid, "assistant", f"第{i}次部署")
    hits = store.search("部署", limit=7)
    assert len(hits) == 7 and hits[0].snippet == "第29次部署"  # newest first


def test_the_hit_line_is_shown_even_far_into_a_long_line(store: HistoryStore) -> None:
    cid = store.create_conversation("long")
    assert cid is not None
    long_line = "书生浦语" * 120 + "部署在服务器上" + "。" * 50
    store.add_message(cid, "assistant", "第一行\n" + long_line + "\n最后一行")
    (hit,) = store.search("部署在")
    assert "部署在" in hit.snippet and len(hit.snippet) <= 200 and hit.snippet.startswith("…")
    (short,) = [h for h in store.search("部署") if h.conversation_id == cid]
    assert "部署" in short.snippet


def test_search_follows_edits_and_deletes(store: HistoryStore) -> None:
    cid = store.create_conversation("edit")
    assert cid is not None
    mid = store.add_message(cid, "assistant", "量化部署指南")
    assert mid is not None
    assert mid in [h.message_id for h in store.search("量化部署")]
    store.update_message(mid, content="nothing now")
    assert mid not in [h.message_id for h in store.search("量化部署")]
    store.delete(cid)
    assert store.search("nothing now") == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "**",
        "NEAR(",
        "NEAR(a b)",
        "-",
        "- -x",
        "a OR",
        "AND",
        "NOT x",
        "(",
        ")",
        "^",
        ":",
        "col:x",
        "'",
        "\\",
        "%",
        "_",
        '部"署',
        "x*y",
        "{a b}",
        "+",
        "\x00",
        "a" * 2000,
        "🙂",
        "é",
    ],
)
def test_hostile_queries_never_raise(store: HistoryStore, query: str) -> None:
    hits = store.search(query)
    assert all(isinstance(h.snippet, str) for h in hits)


def test_like_wildcards_are_literal(store: HistoryStore) -> None:
    assert store.search("%") == [] and store.search("_") == []
    cid = store.create_conversation("percent")
    assert cid is not None
    store.add_message(cid, "user", "it went up 5% today")
    assert [h.snippet for h in store.search("%")] == ["it went up 5% today"]
    assert [h.snippet for h in store.search("5%")] == ["it went up 5% today"]


def test_schema_3_database_gets_the_trigram_index_for_its_old_messages(tmp_path: Path) -> None:
    """A database as schema 3 wrote it, with CJK text saved before the migration existed."""
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.executescript((FIXTURES / "history_schema_v3.sql").read_text())
    for number, text in enumerate(SENTENCES.values(), start=10):
        conn.execute(
            "INSERT INTO messages(id, conversation_id, role, content, created_at)"
            " VALUES (?, 1, 'user', ?, 1)",
            (number, text),
        )
    conn.close()
    store = open_store(db)
    assert store.warning is None and store.integrity_ok()
    assert _found(store, "部署") == sorted([SENTENCES["zh"], SENTENCES["mixed"]])
    assert _found(store, "書生浦語") == []  # traditional characters are other characters
    assert _found(store, "书生浦语") == [SENTENCES["zh"]]
    assert _found(store, "設定") == [SENTENCES["ja"]] and _found(store, "모델") == [SENTENCES["ko"]]
    assert [h.message_id for h in store.search("volleyball net")] == [1]  # the fixture's own text
