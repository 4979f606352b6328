"""Model backends for internlm-tui: typed stream events and the local, agent, remote backends.

Nothing in this package imports the UI; heavy libraries load inside backend factories.
"""

from backends.base import BackendConfigError, BackendLoadError, ChatBackend
from backends.events import (
    Attachment,
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from backends.options import BackendOptions
from backends.registry import create_backend

__all__ = [
    "Attachment",
    "BackendConfigError",
    "BackendEvent",
    "BackendInfo",
    "BackendLoadError",
    "BackendOptions",
    "ChatBackend",
    "ChatMessage",
    "Done",
    "Error",
    "GenerationParams",
    "ThoughtDelta",
    "TokenDelta",
    "ToolCall",
    "ToolResult",
    "Usage",
    "create_backend",
]
