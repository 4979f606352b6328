"""Maps backend names to factories; heavy libraries are imported only inside a factory.

Importing this module is cheap, so the UI can show its first frame before torch or
transformers load (DESIGN rule 4).
"""

from __future__ import annotations

from collections.abc import Callable

from backends.base import BackendConfigError, ChatBackend, ProgressCallback, no_progress
from backends.options import BackendOptions

Factory = Callable[[BackendOptions, ProgressCallback], ChatBackend]


def _local(options: BackendOptions, progress: ProgressCallback) -> ChatBackend:
    from backends.local.backend import LocalBackend
    from backends.local.model_source import resolve_model
    from backends.local.vision import VisionBackend, is_vision_model

    if is_vision_model(resolve_model(options.model)):
        return VisionBackend.load(options, progress)
    return LocalBackend.load(options, progress)


def _remote(options: BackendOptions, progress: ProgressCallback) -> ChatBackend:
    from backends.remote.backend import RemoteBackend

    return RemoteBackend.connect(options, progress)


def _agent(options: BackendOptions, progress: ProgressCallback) -> ChatBackend:
    llm_name = options.agent.llm_backend
    if llm_name not in ("local", "remote", "scripted"):
        raise BackendConfigError(f"the agent cannot use backend {llm_name!r} as its model")
    progress("loading lagent", None)
    from backends.agent.backend import AgentBackend

    tools = None
    hub = None
    if options.agent.mcp_config:
        from backends.agent.mcp_client import McpConfigError, McpHub, load_config
        from backends.agent.tools import ToolSet

        try:
            configs = load_config(options.agent.mcp_config)
        except McpConfigError as exc:
            raise BackendConfigError(str(exc)) from None
        tools = ToolSet()
        hub = McpHub(configs, tools)
    llm = FACTORIES[llm_name](options, progress)
    agent = AgentBackend(llm, options.agent, tools=tools, mcp=hub)
    if hub is not None:
        progress("starting MCP servers", None)
        hub.start()
    return agent


def _scripted(options: BackendOptions, progress: ProgressCallback) -> ChatBackend:
    from backends.scripted import ScriptedBackend

    return ScriptedBackend.from_options(options)


FACTORIES: dict[str, Factory] = {
    "local": _local,
    "remote": _remote,
    "scripted": _scripted,
    "agent": _agent,
}

BACKEND_NAMES: tuple[str, ...] = tuple(FACTORIES)


def check_backend_name(name: str) -> None:
    """Raise a one-line ``BackendConfigError`` for an unknown backend name."""
    if name not in FACTORIES:
        raise BackendConfigError(f"unknown backend {name!r}; choose one of: {', '.join(BACKEND_NAMES)}")


def create_backend(options: BackendOptions, progress: ProgressCallback = no_progress) -> ChatBackend:
    """Create the backend named in ``options`` (slow: may load a model or contact a server)."""
    check_backend_name(options.backend)
    return FACTORIES[options.backend](options, progress)
