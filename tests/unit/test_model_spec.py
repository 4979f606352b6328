"""What the user types to switch model mid-chat, read into backend options."""

from __future__ import annotations

from backends.options import AgentOptions, BackendOptions, RemoteOptions
from tui.model_spec import describe, parse_model_spec

LOCAL = BackendOptions(backend="local", model="./qwen", device="cpu")
REMOTE = BackendOptions(backend="remote", model="a", remote=RemoteOptions(base_url="http://box:8000/v1"))


def test_local_remote_agent_and_embedded() -> None:
    remote = parse_model_spec("http://gpu:23333/v1 internlm3", LOCAL)
    assert isinstance(remote, BackendOptions)
    assert (remote.backend, remote.model, remote.remote.base_url, remote.device) == (
        "remote",
        "internlm3",
        "http://gpu:23333/v1",
        "cpu",
    )
    local = parse_model_spec("internlm/internlm3-8b-instruct", REMOTE)
    assert isinstance(local, BackendOptions) and (local.backend, local.model) == (
        "local",
        "internlm/internlm3-8b-instruct",
    )
    embedded = parse_model_spec("embedded", REMOTE)
    assert isinstance(embedded, BackendOptions) and embedded.model is None and embedded.backend == "local"
    agent = parse_model_spec("agent", REMOTE)
    assert isinstance(agent, BackendOptions) and agent.backend == "agent"
    assert agent.agent == AgentOptions(llm_backend="remote") and agent.remote == REMOTE.remote
    assert describe(agent) == "agent over remote" and describe(REMOTE) == "remote · http://box:8000/v1 · a"


def test_bad_input_is_one_line() -> None:
    for spec, expected in [
        ("", "type what to switch to"),
        ("ftp://x/v1", "is not an http(s) URL"),
        ("http:///v1", "is not an http(s) URL"),
        ("http://x/v1 a b", "at most one model name"),
        ("my model", "one folder, file or hub id"),
        ("agent now", "takes nothing after it"),
    ]:
        result = parse_model_spec(spec, LOCAL)
        assert isinstance(result, str) and expected in result and "\n" not in result


def test_trust_remote_code_is_never_carried_to_another_model() -> None:
    trusted = BackendOptions(backend="local", model="./internlm2", trust_remote_code=True)
    for spec in ("./other", "org/name", "embedded", "http://box/v1"):
        switched = parse_model_spec(spec, trusted)
        assert isinstance(switched, BackendOptions) and switched.trust_remote_code is False
    assert "pw" not in describe(parse_model_spec("http://me:pw@box/v1", LOCAL))  # type: ignore[arg-type]
