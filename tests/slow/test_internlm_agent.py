"""The agent in InternLM2's own tool protocol: scripted replies, the real sandbox, and the tiny
InternLM2 checkpoint's real template and tokenizer."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from backends.agent.backend import AgentBackend
from backends.agent.python_tool import DENIED
from backends.agent.sandbox import SandboxLimits
from backends.base import no_progress
from backends.events import (
    ApprovalRequest,
    BackendEvent,
    ChatMessage,
    Done,
    Error,
    GenerationParams,
    ThoughtDelta,
    TokenDelta,
    ToolCall,
    ToolResult,
)
from backends.internlm.chat import DEFAULT_SYSTEM_PROMPT
from backends.internlm.tokenizer import load_tokenizer
from backends.local.backend import LocalBackend
from backends.options import AgentOptions, BackendOptions
from backends.scripted import ScriptedBackend
from testkit.internlm import write_internlm2

SOLVE = (
    "I will solve 2x+3=10 with Python.<|action_start|><|interpreter|>\n"
    "```python\nx = (10 - 3) / 2\nprint(x)\n```<|action_end|>"
)
PLUGIN = 'Computing.<|action_start|><|plugin|>\n{"name": "python", "parameters": {"command": "print(6*7)"}}'
ANSWER = "So x = 3.5."


def pieces(text: str) -> list[BackendEvent]:
    """A scripted LLM turn that streams ``text`` a few characters at a time."""
    return [TokenDelta(text[i : i + 4]) for i in range(0, len(text), 4)]


def run(
    turns: list[list[BackendEvent]],
    *,
    approve: str = "auto",
    answer: bool = True,
    messages: list[ChatMessage] | None = None,
) -> tuple[list[BackendEvent], ScriptedBackend]:
    llm = ScriptedBackend(turns)
    agent = AgentBackend(
        llm,
        AgentOptions(approve=approve, max_steps=3, protocol="internlm2"),  # type: ignore[arg-type]
        limits=SandboxLimits(wall_s=5, cpu_s=3),
    )
    events: list[BackendEvent] = []
    prompt = messages or [ChatMessage("user", "2x+3=10, find x")]
    for event in agent.stream(prompt, GenerationParams(), cancel=threading.Event()):
        events.append(event)
        if isinstance(event, ApprovalRequest):
            agent.answer(event.call_id, answer)
    return events, llm


def said(events: list[BackendEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenDelta))


@pytest.fixture(scope="module")
def internlm2_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    folder = tmp_path_factory.mktemp("internlm2")
    write_internlm2(folder)
    backend = LocalBackend.load(BackendOptions(model=str(folder), device="cpu"), no_progress)
    yield backend
    backend.close()


def test_interpreter_call_runs_in_the_sandbox_and_the_result_goes_back(
    internlm2_backend: LocalBackend,
) -> None:
    events, llm = run([pieces(SOLVE), pieces(ANSWER)])
    calls = [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]
    assert calls == [("python", "x = (10 - 3) / 2\nprint(x)")]
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and result.output == "3.5"
    assert said(events) == "I will solve 2x+3=10 with Python.\n\nSo x = 3.5."
    assert not any(isinstance(e, ThoughtDelta) for e in events)
    assert isinstance(events[-1], Done) and events[-1].reason == "stop"
    first, second = llm.seen
    assert [m.role for m in first] == ["system", "user"]
    assert second[-2:] == [ChatMessage("assistant", SOLVE), ChatMessage("tool", "<|interpreter|>\n3.5")]
    # Through the model's own (wrapped) template, as the local backend renders it:
    rendered = internlm2_backend.tokenizer.decode(internlm2_backend.encode(second)[0])
    assert rendered.startswith(f"<s><|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>\n")
    assert "<|im_start|>system name=<|interpreter|>\nYou can run Python code" in rendered
    assert rendered.endswith(
        f"<|im_start|>assistant\n{SOLVE}<|im_end|>\n"
        "<|im_start|>environment name=<|interpreter|>\n3.5<|im_end|>\n<|im_start|>assistant\n"
    )


def test_a_plugin_call_to_python_runs_and_is_answered_as_a_plugin() -> None:
    events, llm = run([pieces(PLUGIN + "<|action_end|>"), pieces("42.")])
    assert [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)] == [("python", "print(6*7)")]
    assert llm.seen[1][-1] == ChatMessage("tool", "<|plugin|>\n42")
    assert said(events) == "Computing.\n\n42."


def test_a_call_whose_end_token_the_server_dropped_still_runs() -> None:
    events, llm = run([[*pieces(PLUGIN), Done("stop")], pieces("42.")])
    assert next(e for e in events if isinstance(e, ToolResult)).output == "42"
    assert llm.seen[1][-2] == ChatMessage("assistant", PLUGIN + "<|action_end|>")


def test_a_call_cut_off_by_max_new_tokens_ends_the_turn_without_running() -> None:
    events, _ = run([[*pieces(SOLVE[:-30]), Done("length")]])
    assert not any(isinstance(e, ToolResult | ToolCall) for e in events)
    assert isinstance(events[-1], Error) and "cut off" in events[-1].message


def test_a_plugin_call_to_an_unknown_tool_ends_the_turn() -> None:
    body = '{"name": "get_weather", "parameters": {"city": "Shanghai"}}'
    call = f"x<|action_start|><|plugin|>\n{body}<|action_end|>"
    events, _ = run([pieces(call)])
    assert ("get_weather", '{"city": "Shanghai"}') in [
        (e.name, e.arguments) for e in events if isinstance(e, ToolCall)
    ]
    assert any(isinstance(e, ToolResult) and not e.ok for e in events)
    assert isinstance(events[-1], Error) and "unknown tool 'get_weather'" in events[-1].message


def test_a_malformed_call_ends_the_turn() -> None:
    events, _ = run([pieces("Hmm.<|action_start|><|plugin|>\n{not json}<|action_end|>")])
    assert said(events) == "Hmm."
    assert isinstance(events[-1], Error) and "not valid JSON" in events[-1].message


def test_a_denied_call_is_reported_to_the_model_as_the_environment() -> None:
    events, llm = run([pieces(SOLVE), pieces(ANSWER)], approve="ask", answer=False)
    assert any(isinstance(e, ApprovalRequest) for e in events)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.ok and "denied" in result.output
    assert llm.seen[1][-1] == ChatMessage("tool", f"<|interpreter|>\n{DENIED}")
    assert isinstance(events[-1], Done)


def test_the_users_system_prompt_and_history_come_first() -> None:
    messages = [
        ChatMessage("system", "Be terse."),
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "hello"),
        ChatMessage("user", "2+2?"),
    ]
    _, llm = run([pieces("4")], messages=messages)
    roles = [(m.role, m.content.split("\n")[0]) for m in llm.seen[0]]
    assert roles == [
        ("system", "Be terse."),
        ("system", "<|interpreter|>"),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "2+2?"),
    ]


def test_auto_picks_the_protocol_from_the_model_family(internlm2_backend: LocalBackend) -> None:
    assert AgentBackend(internlm2_backend, AgentOptions()).native_protocol
    assert not AgentBackend(internlm2_backend, AgentOptions(protocol="react")).native_protocol
    assert not AgentBackend(ScriptedBackend(), AgentOptions()).native_protocol
    assert AgentBackend(ScriptedBackend(), AgentOptions(protocol="internlm2")).native_protocol


def test_a_turn_on_the_tiny_internlm2_model_ends_properly(internlm2_backend: LocalBackend) -> None:
    agent = AgentBackend(internlm2_backend, AgentOptions(approve="auto", max_steps=2))
    params = GenerationParams(max_new_tokens=6, temperature=0)
    events = list(agent.stream([ChatMessage("user", "2+2?")], params, cancel=threading.Event()))
    assert isinstance(events[-1], Done | Error)
    assert sum(isinstance(e, Done | Error) for e in events) == 1


def make_parrot(folder: Path, reply: str) -> None:
    """Rewrite a tiny InternLM2 checkpoint so greedy decoding after the generation prompt writes
    ``reply``: every layer adds nothing (``wo`` and ``w2`` are zero), so the next token depends
    only on the last one, and ``output`` maps each token of the chain to its successor."""
    tokenizer = load_tokenizer(str(folder), "internlm2")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "q"}], add_generation_prompt=True)
    chain = [prompt["input_ids"][-1], *tokenizer(reply, add_special_tokens=False)["input_ids"]]
    assert len(set(chain)) == len(chain), "the chain must not repeat a token"
    shards = {shard: load_file(str(shard)) for shard in folder.glob("model-*.safetensors")}
    tensors = {name: tensor for part in shards.values() for name, tensor in part.items()}
    for name, tensor in tensors.items():
        if name.endswith(("attention.wo.weight", "feed_forward.w2.weight")):
            tensor.zero_()
        elif name.endswith("norm.weight"):
            tensor.fill_(1.0)
    embed, output = tensors["model.tok_embeddings.weight"], tensors["output.weight"]
    output.zero_()
    for current, following in itertools.pairwise(chain):
        output[following] = 10 * embed[current] / embed[current].norm()
    for shard, part in shards.items():
        save_file(part, str(shard), metadata={"format": "pt"})


def test_the_local_model_s_own_tool_call_runs_end_to_end(tmp_path: Path) -> None:
    """The tiny model really writes the call: the action tokens survive streaming, generation
    stops at <|action_end|>, the sandbox runs the code and the result goes back as the
    environment, after which this model (which always says the same) calls again."""
    folder = tmp_path / "parrot"
    write_internlm2(folder)
    make_parrot(folder, "<|action_start|><|interpreter|>print(6*7)<|action_end|>")
    backend = LocalBackend.load(BackendOptions(model=str(folder), device="cpu"), no_progress)
    agent = AgentBackend(backend, AgentOptions(approve="auto", max_steps=2), limits=SandboxLimits(wall_s=5))
    params = GenerationParams(max_new_tokens=32, temperature=0)
    events = list(agent.stream([ChatMessage("user", "6*7?")], params, cancel=threading.Event()))
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(c.name, c.arguments) for c in calls] == [("python", "print(6*7)")] * 2
    assert len({c.call_id for c in calls}) == 2
    assert [(r.ok, r.output) for r in results] == [(True, "42"), (True, "42")]
    assert isinstance(events[-1], Error) and "after 2 steps" in events[-1].message
