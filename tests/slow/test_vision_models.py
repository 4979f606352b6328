"""A real (tiny, random) image-text-to-text model through both paths: loaded locally with its
processor and chat template, and behind a real ``transformers serve`` that receives the image
as an ``image_url`` data URL (its processor turns it into the image's tokens: the prompt grows
by exactly the 2×2 patches). The byte-exact check of what reaches a server is in
``tests/unit/test_vision_remote.py`` (a recording loopback server)."""

from __future__ import annotations

from pathlib import Path

from backends.events import Attachment, ChatMessage, Done, GenerationParams, TokenDelta
from backends.local.vision import VisionBackend
from backends.options import BackendOptions
from backends.registry import create_backend
from testkit import contract, images
from testkit.fault_server import connect, text_of
from testkit.serve import ServedModel

GREEDY = GenerationParams(max_new_tokens=8, temperature=0)
PICTURE = Attachment("red.png", "image/png", images.png(40, 30))


def look(*attachments: Attachment) -> list[ChatMessage]:
    return [ChatMessage("user", "what is it?", attachments=attachments)]


def test_local_vision_model_streams_a_reply_about_an_image(tiny_vision_dir: Path) -> None:
    backend = create_backend(BackendOptions(backend="local", model=str(tiny_vision_dir), device="cpu"))
    try:
        assert isinstance(backend, VisionBackend)
        assert {"images", "vision", "stream", "cancel"} <= backend.info.capabilities
        events = contract.collect(backend, look(PICTURE), GREEDY)
        contract.assert_one_terminal_event(events)
        assert any(isinstance(e, TokenDelta) for e in events)
        done = events[-1]
        assert isinstance(done, Done) and done.usage.completion_tokens > 0
        with_image = done.usage.prompt_tokens
        plain = contract.collect(backend, look(), GREEDY)[-1]
        assert isinstance(plain, Done) and with_image - plain.usage.prompt_tokens == 4  # 2×2 patches
        contract.check_cancel_before_start(backend)
    finally:
        backend.close()


def test_the_server_gets_the_image_and_answers_like_the_local_model(
    vision_server: ServedModel, tiny_vision_dir: Path
) -> None:
    remote = connect(vision_server.base_url, model=vision_server.model)
    local = create_backend(BackendOptions(backend="local", model=str(tiny_vision_dir), device="cpu"))
    try:
        served = contract.collect(remote, look(PICTURE), GREEDY)
        served_plain = contract.collect(remote, look(), GREEDY)
        here = contract.collect(local, look(PICTURE), GREEDY)
    finally:
        remote.close()
        local.close()
    done, plain = served[-1], served_plain[-1]
    assert isinstance(done, Done) and isinstance(plain, Done)
    assert done.usage.prompt_tokens - plain.usage.prompt_tokens == 4  # the image's tokens were there
    assert text_of(served) and text_of(here)
    # Greedy replies agree at first and may drift later: the server runs its own generation
    # defaults, and a random model's near-ties flip with the smallest numeric difference.
    assert text_of(served)[:2] == text_of(here)[:2]
