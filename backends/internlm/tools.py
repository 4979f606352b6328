"""Parses InternLM2's own tool-call protocol out of a reply.

An InternLM2 chat model calls a tool by writing some text for the user, then
``<|action_start|><|interpreter|>`` and Python code (usually in a Markdown fence), or
``<|action_start|><|plugin|>`` and a JSON object ``{"name": ..., "parameters": {...}}``, and
ends the call with ``<|action_end|>`` (the InternLM2 chat format document). Lagent's
``Internlm2Protocol.parse`` splits on the same tokens but raises or misreads on text that is
cut off or malformed, and cannot tell what is safe to show while the reply streams; this
module does both, without running anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from backends.internlm.tokens import ACTION_END, ACTION_START, INTERPRETER, PLUGIN

_KINDS: dict[str, Literal["interpreter", "plugin"]] = {INTERPRETER: "interpreter", PLUGIN: "plugin"}
_MARKERS = (ACTION_START, INTERPRETER, PLUGIN)


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One tool call: its kind, the tool's name, its arguments and whether it was closed."""

    kind: Literal["interpreter", "plugin"]
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    closed: bool = True


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """A reply split into the text for the user and the tool call that followed it, if any.

    ``error`` is set (and ``call`` is None) when the reply started a call that cannot be used."""

    text: str
    call: ActionCall | None = None
    error: str | None = None


def _first_marker(text: str) -> tuple[int, str] | None:
    """Where the first call marker is in ``text``, and which one."""
    found = [(text.find(marker), marker) for marker in _MARKERS if marker in text]
    return min(found) if found else None


def visible_text(text: str) -> str:
    """The part of a streaming reply that is certainly text for the user (before any call).

    A tail that could be the start of a marker is held back until more text arrives."""
    first = _first_marker(text)
    if first is not None:
        return text[: first[0]]
    for size in range(min(len(text), max(map(len, _MARKERS)) - 1), 0, -1):
        if any(marker.startswith(text[-size:]) for marker in _MARKERS):
            return text[:-size]
    return text


def parse_reply(text: str) -> ParsedReply:
    """Split a finished reply into user text and at most one tool call (the first one)."""
    first = _first_marker(text)
    if first is None:
        return ParsedReply(text)
    at, marker = first
    before = text[:at]
    rest = text[at + len(marker) :]
    if marker == ACTION_START:
        rest = rest.lstrip(" ")
        kind_marker = next((m for m in _KINDS if rest.startswith(m)), None)
        if kind_marker is None:
            unknown = f"the model started a tool call of an unknown kind: {rest[:40]!r}"
            return ParsedReply(before, error=unknown)
        rest = rest[len(kind_marker) :]
    else:
        kind_marker = marker  # a tool token without <|action_start|>: taken as the call's start
    closed = ACTION_END in rest
    body = rest.split(ACTION_END, 1)[0].strip()
    kind = _KINDS[kind_marker]
    if kind == "interpreter":
        return ParsedReply(before, ActionCall("interpreter", "python", {"command": body}, body, closed))
    return _plugin_call(before, body, closed)


def _plugin_call(before: str, body: str, closed: bool) -> ParsedReply:
    """A plugin call from its JSON body, or the reason it cannot be used."""
    if not body:
        return ParsedReply(before, error="the model's plugin call is empty")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        cut = "" if closed else " (it was cut off)"
        return ParsedReply(before, error=f"the model's plugin call is not valid JSON{cut}: {exc}")
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) or not payload["name"]:
        return ParsedReply(before, error='the model\'s plugin call has no "name"')
    parameters = payload.get("parameters", payload.get("arguments", {}))
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            parameters = {"input": parameters}
    if not isinstance(parameters, dict):
        return ParsedReply(before, error='the model\'s plugin call has "parameters" that are not an object')
    return ParsedReply(before, ActionCall("plugin", payload["name"], parameters, body, closed))
