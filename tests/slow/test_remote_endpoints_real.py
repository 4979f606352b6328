"""Two real ``transformers serve`` processes and a dead URL behind one remote backend: new chats
avoid the dead one, a chat stays on its server, a death mid-stream is one clear error with no
second reply elsewhere, and a server killed between turns moves the next turn."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from backends.events import ChatMessage, Done, Error, GenerationParams, TokenDelta
from backends.options import BackendOptions, RemoteOptions
from backends.remote.backend import RemoteBackend
from testkit import contract
from testkit.fault_server import dead_url, text_of
from testkit.serve import ServedModel, serving

SHORT = GenerationParams(max_new_tokens=6, temperature=0)
LONG = GenerationParams(max_new_tokens=400, temperature=0)


@pytest.fixture
def two_servers(embedded_model_dir: Path, tmp_path: Path) -> Iterator[list[ServedModel]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serving(embedded_model_dir, tmp_path / f"s{i}")) for i in range(2)]


def chat_posts(server: ServedModel) -> int:
    """How many chat requests the server has received (uvicorn's access log)."""
    return server.log.read_text(errors="replace").count('"POST /v1/chat/completions')


def test_failover_and_stickiness_on_real_servers(two_servers: list[ServedModel]) -> None:
    dead = dead_url()
    urls = [dead, *(s.base_url for s in two_servers)]
    options = RemoteOptions(base_url=urls[0], more_urls=tuple(urls[1:]), max_retries=0)
    backend = RemoteBackend.connect(BackendOptions(backend="remote", remote=options), lambda _s, _f: None)
    try:
        assert [s.healthy for s in backend.endpoint_statuses()] == [False, True, True]
        conversation = [ChatMessage("user", "Name a fruit.")]
        events = contract.collect(backend, conversation, SHORT)
        assert isinstance(events[-1], Done) and text_of(events)
        on = next(s for s in two_servers if s.base_url == backend.current_endpoint())
        other = next(s for s in two_servers if s is not on)
        assert chat_posts(on) == 1 and chat_posts(other) == 0

        conversation += [ChatMessage("assistant", text_of(events)), ChatMessage("user", "Another one.")]
        events = contract.collect(backend, conversation, SHORT)
        assert isinstance(events[-1], Done) and chat_posts(on) == 2 and chat_posts(other) == 0

        # the server dies after the first token: one clear error, never sent again elsewhere
        def kill_after_first_token(event: object, cancel: threading.Event) -> None:
            if isinstance(event, TokenDelta) and not killed.is_set():
                killed.set()
                os.killpg(on.pid, signal.SIGKILL)

        killed = threading.Event()
        story = [*conversation, ChatMessage("assistant", "ok"), ChatMessage("user", "Tell a long story.")]
        events = contract.collect(backend, story, LONG, on_event=kill_after_first_token)
        contract.assert_one_terminal_event(events)
        last = events[-1]
        assert killed.is_set() and isinstance(last, Error), last
        assert "cut off" in last.message and "\n" not in last.message
        assert text_of(events)  # what came before the death is kept
        assert chat_posts(other) == 0  # no duplicate reply

        # the next turn of the same chat moves to the live server
        story += [ChatMessage("assistant", text_of(events)), ChatMessage("user", "Shorter, please.")]
        events = contract.collect(backend, story, SHORT)
        assert isinstance(events[-1], Done) and text_of(events)
        assert chat_posts(other) == 1 and backend.current_endpoint() == other.base_url
        healthy = {s.url: s.healthy for s in backend.endpoint_statuses()}
        assert healthy == {dead: False, on.base_url: False, other.base_url: True}
    finally:
        backend.close()
