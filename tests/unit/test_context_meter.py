"""The context meter: exact counts, server-measured counts, estimates, and what to leave out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from backends.events import ChatMessage, Done, TokenDelta, Usage
from backends.scripted import ScriptedBackend
from testkit.counting import WordCounter
from tui.context_meter import ContextUse, Measured, estimate, measure, oldest_to_drop
from tui.session import ChatSession
from tui.settings import AppSettings
from tui.store.store import open_store


def say(words: int, role: str = "user") -> ChatMessage:
    return ChatMessage(role, " ".join(["w"] * words))  # type: ignore[arg-type]


def test_exact_measured_and_estimated_counts_and_their_labels() -> None:
    messages = [say(9), say(19, "assistant")]
    exact = measure(WordCounter(4096), messages, None)
    assert exact == ContextUse(30, 4096, estimated=False) and exact.label() == "ctx 30/4.1k"
    plain = ScriptedBackend()
    guessed = measure(plain, messages, None)
    assert guessed == ContextUse(estimate(messages), None, estimated=True)
    assert guessed.label(dropped=2) == f"ctx ~{estimate(messages)} (2 oldest not sent)"
    server = measure(plain, [*messages, say(40)], Measured(messages=2, tokens=1500))
    assert server is not None and server.tokens == 1500 + estimate([say(40)]) and server.estimated
    assert measure(None, messages, None) is None


def test_the_oldest_whole_turns_are_left_out_until_the_prompt_and_reply_fit() -> None:
    turns = [say(10), say(10, "assistant"), say(10), say(10, "assistant"), say(10)]
    backend = WordCounter(window=60)
    assert oldest_to_drop(backend, [], turns, reply_tokens=0, measured=None) == 0  # 55 tokens fit
    assert oldest_to_drop(backend, [], turns, reply_tokens=10, measured=None) == 2  # a whole turn
    assert oldest_to_drop(backend, [], turns, reply_tokens=100, measured=None) is None
    assert oldest_to_drop(WordCounter(None), [], turns, reply_tokens=10**6, measured=None) == 0


def test_the_session_plans_drops_and_sends_only_what_fits(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    session = ChatSession(AppSettings(), store)
    backend = WordCounter(window=40)
    session.backend_ready(backend)
    session.params = replace(session.params, max_new_tokens=5)
    for text in ("one two three four five six seven eight", "nine ten eleven twelve thirteen"):
        assert session.plan_prompt(text) == 0
        session.submit(text)
        turn = session.begin_turn()
        session.apply(turn.turn_id, TokenDelta("a reply of six words in all"))
        session.finish(turn.turn_id, Done("stop", Usage(prompt_tokens=9, completion_tokens=7)))
    long_prompt = " ".join(["x"] * 12)
    needed = session.plan_prompt(long_prompt)
    assert needed == 2  # the first prompt and its reply
    session.drop_oldest(needed)
    session.submit(long_prompt)
    sent = session.begin_turn().messages
    assert sent[0].content == "nine ten eleven twelve thirteen"
    use = session.context_use()
    assert use is not None and use.label(session.conversation.dropped).endswith("(2 oldest not sent)")
    assert len(store.get_messages(session.conversation_id or 0)) == 6  # nothing left out of history
    store.close()


class Refusing(WordCounter):
    """A tokenizer whose chat template rejects the conversation (as some do for odd role orders)."""

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        raise ValueError("Conversation roles must alternate user/assistant")


def test_an_empty_chat_is_zero_and_a_failing_count_falls_back_to_an_estimate() -> None:
    assert measure(Refusing(100), [], None) == ContextUse(0, 100, estimated=False)
    use = measure(Refusing(100), [say(8)], None)
    assert use == ContextUse(estimate([say(8)]), 100, estimated=True)


def test_leaving_out_the_oldest_turns_holds_for_a_regenerate_and_a_version_switch(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite3")
    session = ChatSession(AppSettings(), store)
    session.backend_ready(WordCounter(window=40))
    session.params = replace(session.params, max_new_tokens=5)
    for text in ("one two three four five six seven eight", "nine ten eleven twelve thirteen"):
        session.submit(text)
        turn = session.begin_turn()
        session.apply(turn.turn_id, TokenDelta("a reply of six words in all"))
        session.finish(turn.turn_id, Done("stop"))
    session.drop_oldest(2)
    assert session.plan_regenerate(None) == 2  # the earlier choice still holds
    session.regenerate()
    assert session.conversation.dropped == 2
    assert session.begin_turn().messages[0].content == "nine ten eleven twelve thirteen"
    store.close()


def test_a_cjk_estimate_counts_about_a_token_a_character() -> None:
    assert estimate([ChatMessage("user", "请介绍一下书生浦语模型的部署方法")]) >= 16
