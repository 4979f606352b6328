"""What the user types to switch model mid-chat, read into backend options (no UI).

``embedded`` (the packaged model), a local folder, GGUF file or hub id (``local``), a server
URL optionally followed by a model name (``remote``), or ``agent`` (the agent over the model in
use now) — each keeps every other option of the current backend.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from backends.options import AgentOptions, BackendOptions
from backends.remote.http import display_url

HINT = "embedded · a model folder, .gguf file or hub id · http(s)://host:port/v1 [model] · agent"


def parse_model_spec(spec: str, current: BackendOptions) -> BackendOptions | str:
    """The options ``spec`` asks for, or one line saying why it cannot be read."""
    words = spec.split()
    if not words:
        return f"type what to switch to: {HINT}"
    first = words[0]
    if first.lower() == "agent":
        if len(words) > 1:
            return "'agent' takes nothing after it: it runs over the model in use now"
        llm = current.agent.llm_backend if current.backend == "agent" else current.backend
        if llm not in ("local", "remote"):
            return "the agent runs over a local model or a server; switch to one of those first"
        return replace(current, backend="agent", agent=replace(current.agent, llm_backend=llm))
    if "://" in first:
        parts = urlsplit(first)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"{first!r} is not an http(s) URL of a server"
        if len(words) > 2:
            return "a server URL takes at most one model name after it"
        remote = replace(current.remote, base_url=first, more_urls=())
        model = words[1] if len(words) > 1 else None
        return replace(current, backend="remote", model=model, remote=remote, trust_remote_code=False)
    if len(words) > 1:
        return "a local model is one folder, file or hub id (quote nothing; no spaces)"
    model = None if first.lower() == "embedded" else first
    # Another model's code is never trusted because the first one was: --trust-remote-code is
    # for the model named with it at launch.
    return replace(
        current, backend="local", model=model, adapter=None, trust_remote_code=False, agent=AgentOptions()
    )


def describe(options: BackendOptions) -> str:
    """How the options read back to the user: ``remote · http://box/v1 · name``."""
    if options.backend == "remote":
        url = display_url(options.remote.base_url or "")
        return " · ".join(p for p in ("remote", url, options.model or "") if p)
    if options.backend == "agent":
        return f"agent over {options.agent.llm_backend}"
    return f"{options.backend} · {options.model or 'embedded'}"
