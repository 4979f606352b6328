"""The InternLM2 tool-call parser on well-formed, truncated and malformed replies."""

from __future__ import annotations

import pytest

from backends.internlm.tools import ActionCall, ParsedReply, parse_reply, visible_text

CODE = "```python\nx = (10 - 3) / 2\nprint(x)\n```"


def test_plain_text_has_no_call() -> None:
    assert parse_reply("x = 3.5") == ParsedReply("x = 3.5")


def test_interpreter_call() -> None:
    reply = f"I will compute it.\n\n<|action_start|><|interpreter|>\n{CODE}<|action_end|>"
    parsed = parse_reply(reply)
    assert parsed.text == "I will compute it.\n\n"
    assert parsed.call == ActionCall("interpreter", "python", {"command": CODE}, CODE, closed=True)
    assert parsed.error is None


def test_plugin_call_as_documented() -> None:
    reply = (
        "Sure, I will search for the weather of Shanghai.<|action_start|><|plugin|>\n"
        '{"name": "get_current_weather", "parameters": {"location": "Shanghai"}}<|action_end|>'
    )
    parsed = parse_reply(reply)
    assert parsed.text == "Sure, I will search for the weather of Shanghai."
    assert parsed.call is not None
    assert (parsed.call.kind, parsed.call.name) == ("plugin", "get_current_weather")
    assert parsed.call.arguments == {"location": "Shanghai"} and parsed.call.closed


def test_only_the_first_call_counts_and_text_after_the_end_is_dropped() -> None:
    call = "<|action_start|><|interpreter|>\nprint({})<|action_end|>"
    reply = "a" + call.format(1) + "\nmore" + call.format(2)
    parsed = parse_reply(reply)
    assert parsed.call is not None and parsed.call.arguments == {"command": "print(1)"}


def test_call_stopped_before_its_end_token_is_open() -> None:
    """A server that drops the stop string, or max_new_tokens, leaves the call unclosed."""
    parsed = parse_reply("<|action_start|><|interpreter|>\nprint(1")
    assert parsed.call is not None and not parsed.call.closed
    assert parsed.call.arguments == {"command": "print(1"}


def test_truncated_plugin_json_is_an_error_that_says_so() -> None:
    parsed = parse_reply('ok<|action_start|><|plugin|>\n{"name": "python", "parameters": {"comm')
    assert parsed.call is None and parsed.text == "ok"
    assert parsed.error is not None and "not valid JSON (it was cut off)" in parsed.error


def test_truncated_right_after_action_start() -> None:
    parsed = parse_reply("Let me check.<|action_start|>")
    assert parsed.call is None and parsed.text == "Let me check."
    assert parsed.error is not None and "unknown kind" in parsed.error


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("<|action_start|>python\nprint(1)<|action_end|>", "unknown kind"),
        ("<|action_start|><|plugin|>\nnot json<|action_end|>", "not valid JSON:"),
        ('<|action_start|><|plugin|>\n{"parameters": {}}<|action_end|>', 'no "name"'),
        ('<|action_start|><|plugin|>\n["python"]<|action_end|>', 'no "name"'),
        ('<|action_start|><|plugin|>\n{"name": "python", "parameters": 3}<|action_end|>', "not an object"),
        ("<|action_start|><|plugin|>\n<|action_end|>", "empty"),
    ],
)
def test_malformed_calls_are_errors_not_exceptions(reply: str, message: str) -> None:
    parsed = parse_reply(reply)
    assert parsed.call is None
    assert parsed.error is not None and message in parsed.error


def test_tool_token_without_action_start_is_taken_as_a_call() -> None:
    parsed = parse_reply("run:<|interpreter|>\nprint(1)<|action_end|>")
    assert parsed.text == "run:"
    assert parsed.call is not None and parsed.call.arguments == {"command": "print(1)"}


def test_plugin_arguments_given_as_a_json_string() -> None:
    body = '{"name": "python", "arguments": "{\\"command\\": \\"print(1)\\"}"}'
    parsed = parse_reply(f"<|action_start|><|plugin|>\n{body}<|action_end|>")
    assert parsed.call is not None and parsed.call.arguments == {"command": "print(1)"}


@pytest.mark.parametrize(
    ("streamed", "visible"),
    [
        ("The answer", "The answer"),
        ("Let me compute <", "Let me compute "),
        ("Let me compute <|action_st", "Let me compute "),
        ("Let me compute <|action_start|><|interp", "Let me compute "),
        ("a < b", "a < b"),
        ("done<|interpreter|>", "done"),
    ],
)
def test_streaming_text_holds_back_what_may_be_a_marker(streamed: str, visible: str) -> None:
    assert visible_text(streamed) == visible
