"""Settings that choose and configure a backend; filled by the CLI and the config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Device = Literal["auto", "cpu", "cuda"]
DType = Literal["auto", "float32", "float16", "bfloat16"]


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    """How to reach an OpenAI-compatible server."""

    base_url: str | None = None
    more_urls: tuple[str, ...] = ()
    """Further servers of the same model (``--base-url`` given again): see ``remote.endpoints``."""
    api_key_env: str = "OPENAI_API_KEY"
    connect_timeout_s: float = 10.0
    first_token_timeout_s: float = 120.0
    chunk_timeout_s: float = 60.0
    deadline_s: float = 900.0
    max_retries: int = 3
    ca_file: str | None = None
    image_max_side: int = 1536
    """Attached images larger than this on their longest side are scaled down before sending
    (0: always sent as attached; see ``backends.images``)."""

    @property
    def urls(self) -> tuple[str, ...]:
        """Every server URL, the first one first."""
        return tuple(url for url in (self.base_url, *self.more_urls) if url)


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """The agent backend's tools and approval policy."""

    llm_backend: str = "local"
    tools: tuple[str, ...] = ()
    """The tools a new chat may call (``--tools``); empty: every tool the app knows."""
    mcp_config: str | None = None
    """An ``mcpServers`` JSON file (``--mcp-config``) whose servers become tools."""
    approve: Literal["ask", "auto"] = "ask"
    max_steps: int = 8
    tool_timeout_s: float = 20.0
    protocol: Literal["auto", "react", "internlm2", "openai"] = "auto"
    """How the model calls tools: ReAct text, InternLM2's own tokens, the server's OpenAI
    ``tools`` parameter, or ``auto`` (InternLM2's with an InternLM2-family local model, the
    server's ``tools`` with a remote model, falling back to ReAct if the server rejects them,
    else ReAct)."""
    unisolated_tools: bool = False
    """Run tools even where the sandbox cannot be isolated (the user's explicit opt-in)."""


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """Everything needed to create a backend; ``model=None`` means the embedded model."""

    backend: str = "local"
    model: str | None = None
    device: Device = "auto"
    dtype: DType = "auto"
    trust_remote_code: bool = False
    adapter: str | None = None
    bits: int | None = None
    remote: RemoteOptions = field(default_factory=RemoteOptions)
    agent: AgentOptions = field(default_factory=AgentOptions)
