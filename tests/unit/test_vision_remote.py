"""Images to an OpenAI-compatible server: content parts with data URLs, byte-exact or scaled,
and a server's refusal as one line (against a loopback server that records what arrives)."""

from __future__ import annotations

import base64
import io
import socket
from typing import Any

from PIL import Image

from backends.events import Attachment, ChatMessage, Error, GenerationParams
from backends.images import prepare_image
from testkit import contract, images
from testkit.fault_server import connect, fault_server, head, json_response, sse, text_of

FINISH = sse("a cat", finish="stop") + b"data: [DONE]\n\n"


def answer(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head() + FINISH)


def refuse(status: int, body: str) -> Any:
    def handler(conn: socket.socket, attempt: int) -> None:
        conn.sendall(json_response(status, body))

    return handler


def sent_images(body: dict[str, Any]) -> list[bytes]:
    user = [m for m in body["messages"] if m["role"] == "user"][-1]
    urls = [p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url"]
    found = []
    for url in urls:
        head_part, _, data = url.partition(",")
        assert head_part.startswith("data:image/") and head_part.endswith(";base64")
        found.append(base64.b64decode(data))
    return found


def ask(server_url: str, *attachments: Attachment, **remote: Any) -> tuple[list[Any], Any]:
    backend = connect(server_url, **remote)
    try:
        messages = [ChatMessage("user", "what is this?", attachments=attachments)]
        return contract.collect(backend, messages, GenerationParams(max_new_tokens=5)), backend
    finally:
        backend.close()


def test_small_images_reach_the_server_byte_for_byte_as_content_parts() -> None:
    first = Attachment("a.png", "image/png", images.png(64, 48))
    second = Attachment("b.jpg", "image/jpeg", images.jpeg(30, 20, seed=2))
    with fault_server(answer) as server:
        events, _ = ask(server.base_url, first, second)
        body = server.posts[-1].body
    assert text_of(events) == "a cat"
    user = body["messages"][-1]  # type: ignore[index]
    assert user["content"][0] == {"type": "text", "text": "what is this?"}
    assert sent_images(body) == [first.data, second.data]
    assert user["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert user["content"][2]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_text_only_messages_keep_the_plain_string_shape() -> None:
    with fault_server(answer) as server:
        backend = connect(server.base_url)
        contract.collect(backend, [ChatMessage("user", "hi")])
        backend.close()
        assert server.posts[-1].body["messages"] == [{"role": "user", "content": "hi"}]


def test_large_images_are_scaled_to_the_longest_side() -> None:
    big = Attachment("big.png", "image/png", images.png(900, 300))
    with fault_server(answer) as server:
        ask(server.base_url, big, image_max_side=256)
        sent = sent_images(server.posts[-1].body)[0]
    with Image.open(io.BytesIO(sent)) as image:
        assert image.size == (256, 85) and image.format == "JPEG"  # opaque: JPEG, far smaller
    assert sent == prepare_image(big, 256).data  # what the docs promise is what is sent


def test_transparency_survives_scaling_as_png() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (600, 200), (255, 0, 0, 128)).save(out, format="PNG")
    prepared = prepare_image(Attachment("t.png", "image/png", out.getvalue()), 300)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert prepared.mime == "image/png" and image.mode == "RGBA" and image.size == (300, 100)


def test_a_photo_is_scaled_as_jpeg_and_zero_turns_scaling_off() -> None:
    photo = Attachment("p.jpg", "image/jpeg", images.jpeg(800, 600))
    prepared = prepare_image(photo, 400)
    assert prepared.scaled and prepared.mime == "image/jpeg"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.size == (400, 300)
    assert prepare_image(photo, 0).data == photo.data and not prepare_image(photo, 0).scaled


def one_line(events: list[Any]) -> str:
    contract.assert_one_terminal_event(events)
    last = events[-1]
    assert isinstance(last, Error) and "\n" not in last.message
    return last.message


def test_a_text_only_server_refusal_is_one_line() -> None:
    body = '{"error": {"message": "This model does not support image input"}}'
    with fault_server(refuse(400, body)) as server:
        events, _ = ask(server.base_url, Attachment("a.png", "image/png", images.png()))
    message = one_line(events)
    assert message.startswith("the server refused the image (400): the model may be text-only")
    assert "does not support image input" in message


def test_too_large_is_one_line_naming_the_flag() -> None:
    with fault_server(refuse(413, "Request Entity Too Large")) as server:
        events, _ = ask(server.base_url, Attachment("a.png", "image/png", images.png()))
    assert "--image-max-side" in one_line(events)


def test_a_hostile_refusal_is_scrubbed_of_the_key(monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-key-123")
    body = '{"error": "bad image for Bearer sk-secret-key-123 \\u001b[2J"}'
    with fault_server(refuse(400, body)) as server:
        events, _ = ask(server.base_url, Attachment("a.png", "image/png", images.png()))
    message = one_line(events)
    assert "sk-secret-key-123" not in message
