"""The agent's tools as one small registry: a name, a description, JSON-schema parameters,
whether the tool acts (needs the user's approval) and a ``run`` returning text and images.

The set of tools is built outside the backend (the app adds Python, MCP tools and a
knowledge-base search) and injected into ``AgentBackend``; each chat chooses a subset by name
(``ToolSet.chosen``). Names are valid OpenAI function names (``[A-Za-z0-9_-]``, at most 64
characters), so the same set serves the ReAct prompt, InternLM2's plugin prompt and a server's
``tools`` parameter; MCP tools are named ``server__tool``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from backends.events import Attachment

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one tool run returned: text for the model, whether it worked, images it made."""

    text: str
    ok: bool = True
    attachments: tuple[Attachment, ...] = ()


@runtime_checkable
class Tool(Protocol):
    """One tool the agent may call."""

    name: str
    description: str
    parameters: dict[str, Any]
    acts: bool
    """True when running it changes something or runs code: the user approves each call."""
    server: str
    """The MCP server it belongs to ("" for built-in tools), shown in the approval dialog."""

    def run(self, arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput: ...


@runtime_checkable
class SimpleTool(Protocol):
    """The smallest tool shape (the knowledge base's ``kb_search``): run returns text."""

    name: str
    description: str

    def run(self, arguments: dict[str, Any]) -> str: ...


@dataclass
class FunctionTool:
    """A tool made from a function (MCP tools and simple objects are wrapped as this)."""

    name: str
    description: str
    parameters: dict[str, Any]
    runner: Callable[[dict[str, Any], threading.Event], ToolOutput] = field(repr=False)
    acts: bool = True
    server: str = ""

    def run(self, arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        """Run the tool (errors are the runner's to report as ``ok=False``)."""
        return self.runner(arguments, cancel)


def from_simple(obj: SimpleTool, *, acts: bool = False) -> FunctionTool:
    """Wrap an object with ``name``, ``description``, JSON-schema ``parameters`` and
    ``run(arguments) -> str`` (e.g. ``kb.tool``'s search) as a registry tool."""
    params = getattr(obj, "parameters", None) or getattr(obj, "params", None)
    schema = dict(params) if isinstance(params, Mapping) else {"type": "object", "properties": {}}

    def runner(arguments: dict[str, Any], cancel: threading.Event) -> ToolOutput:
        try:
            return ToolOutput(str(obj.run(arguments)))
        except Exception as exc:  # a tool's failure is the model's answer, not a crash
            return ToolOutput(f"{obj.name} failed: {type(exc).__name__}: {exc}", ok=False)

    return FunctionTool(safe_name(obj.name), str(obj.description), schema, runner, acts=acts)


def safe_name(raw: str, taken: Iterable[str] = ()) -> str:
    """``raw`` as an OpenAI function name (``[A-Za-z0-9_-]``, at most 64 characters), made
    unique against ``taken`` with a ``_2``, ``_3``… suffix."""
    base = _UNSAFE.sub("_", raw).strip("_") or "tool"
    base = base[:MAX_NAME]
    used = set(taken)
    name, number = base, 1
    while name in used:
        number += 1
        suffix = f"_{number}"
        name = base[: MAX_NAME - len(suffix)] + suffix
    return name


def openai_spec(tool: Tool) -> dict[str, Any]:
    """The tool as one entry of the OpenAI ``tools`` parameter."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def parse_arguments(text: str) -> dict[str, Any] | str:
    """A call's arguments as a dict, or one line saying why they are not a JSON object."""
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        return f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(value, dict):
        return "the arguments must be a JSON object"
    return value


class ToolSet:
    """The tools the app knows, by unique name, in the order they were added."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool | SimpleTool) -> Tool:
        """Register a tool (a simple object is wrapped); a clashing name gets a suffix."""
        if not isinstance(tool, Tool):
            tool = from_simple(tool)
        name = safe_name(tool.name, self._tools)
        if name != tool.name:
            tool.name = name
        self._tools[name] = tool
        return tool

    def remove_server(self, server: str) -> None:
        """Forget every tool of one MCP server (it died or was reloaded)."""
        self._tools = {n: t for n, t in self._tools.items() if t.server != server}

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def chosen(self, names: Iterable[str] | None) -> ToolSet:
        """The subset a chat chose (None: all of them); unknown names are skipped."""
        if names is None:
            return ToolSet(self)
        wanted = set(names)
        return ToolSet(t for t in self if t.name in wanted)
