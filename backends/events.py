"""Typed values that cross the backend boundary: chat messages, parameters and stream events.

Everything here is a frozen dataclass so events can be posted between threads safely and
compared in tests. No UI library is imported: backends are usable from plain scripts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
DoneReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that travels with a message: an image for a vision model, a file for the agent's
    tools, or an image a tool produced. ``name`` is a plain base name (no folders); ``data`` is
    the exact bytes, which the history stores once by their sha256."""

    name: str
    mime: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        """The content hash (hex) that names the stored copy."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def is_image(self) -> bool:
        """True for image/* media types."""
        return self.mime.startswith("image/")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation, in the OpenAI chat shape (plus attached files)."""

    role: Role
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    """The calls an assistant message made (OpenAI ``tool_calls``; ``call_id`` is the server's id)."""


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling settings; ``None`` means "use the model's own default"."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    max_new_tokens: int | None = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The non-default settings, for storing next to a reply."""
        values: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "stop": list(self.stop) or None,
            "stream": self.stream,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What a backend is: shown in the status line and stored with each reply."""

    name: str
    model: str
    device: str = ""
    capabilities: frozenset[str] = field(default_factory=frozenset)
    """What the UI may offer: stream, cancel, models (a server's list), tools, tools-unisolated,
    tools-off, count-tokens (``CountsTokens``)."""
    context_window: int | None = None
    """How many tokens the model takes, prompt and reply together (None: unknown)."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Figures for one reply; times are seconds, rates tokens per second."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    total_s: float | None = None
    cached_prompt_tokens: int | None = None
    """Prompt tokens whose KV cache was reused from the previous turn (local backend)."""


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """A piece of the visible answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ThoughtDelta:
    """A piece of an agent's reasoning, shown in the trace panel."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for a tool to run."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returned (or why it did not run)."""

    call_id: str
    output: str
    ok: bool = True
    elapsed_s: float | None = None
    attachments: tuple[Attachment, ...] = ()
    """Files the tool produced (a saved plot), shown and stored with the reply."""


TOOLS_REJECTED = "tools-rejected"
"""``Error.detail`` when a server refused the OpenAI ``tools`` parameter (the agent falls back
to the ReAct prompt)."""


def code_sha256(code: str) -> str:
    """The sha256 (hex) of code as UTF-8: what was shown and what runs are compared by it."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """The agent waits until the user approves or denies running ``code`` (see ``Approver``).

    ``code`` is exactly what will run (normalised once, never changed again) and ``sha256`` its
    digest, which the tool checks again just before running; the dialog refuses to approve a
    request whose code does not match it.
    """

    call_id: str
    name: str
    code: str
    network_blocked: bool = True
    sha256: str = ""
    server: str = ""
    """The MCP server the tool belongs to ("" for built-in tools)."""
    language: Literal["python", "json"] = "python"
    """What ``code`` is: a Python program, or a tool's arguments as JSON."""

    @property
    def intact(self) -> bool:
        """True when ``sha256`` is the digest of ``code`` (so what is shown is what will run)."""
        return self.sha256 == code_sha256(self.code)


@dataclass(frozen=True, slots=True)
class Done:
    """The stream ended normally, by length, or by cancellation."""

    reason: DoneReason = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class Error:
    """The stream ended with an expected failure; ``message`` is one line for the user."""

    message: str
    detail: str = ""


BackendEvent = TokenDelta | ThoughtDelta | ToolCall | ToolResult | ApprovalRequest | Done | Error
TerminalEvent = Done | Error


def is_terminal(event: BackendEvent) -> bool:
    """True for the one event that ends every stream."""
    return isinstance(event, Done | Error)
