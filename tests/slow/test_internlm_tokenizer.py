"""InternLM2's tokenizer and chat template as ``load_model`` sets them up, without hub code.

The reference tokenizer is sentencepiece itself applied the way the hub's InternLM2 tokenizer
does: the text between special tokens is encoded piece by piece, after a BOS. The template is
checked byte for byte against the InternLM2 chat format document's function-call example.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.base import no_progress
from backends.internlm.chat import DEFAULT_SYSTEM_PROMPT, tool_content
from backends.internlm.tokens import INTERPRETER, PLUGIN
from backends.local.backend import LoadedModel, load_model
from backends.options import BackendOptions
from testkit.internlm import CHAT_TOKENS, write_internlm2, write_tokenizer

TEXTS = [
    "Hello world",
    "  two leading spaces and  double  spaces",
    "x = (10 - 3) / 2\nprint(x)\n\n",
    "你好，世界！",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "I will compute it.<|action_start|><|interpreter|>\n```python\nprint(1)\n```<|action_end|>",
    'ok<|action_start|><|plugin|>\n{"name": "python", "parameters": {"command": "print(1)"}}<|action_end|>',
]

# The function-call example of InternLM2's chat format document (chat/chat_format.md).
DOCUMENTED_PLUGIN_TOOLS = """[
    {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. San Francisco, CA",
                },
                "unit": {"type": "string"},
            },
            "required": ["location"],
        },
    }
]
"""
DOCUMENTED_CALL = (
    "Sure, I will search for the weather of Shanghai.<|action_start|><|plugin|>\n"
    '{"name": "get_current_weather", "parameters": {"location": "Shanghai"}}<|action_end|>'
)
DOCUMENTED = (
    "<|im_start|>system\nYou are InternLM2-Chat, a harmless AI assistant<|im_end|>\n"
    f"<|im_start|>system name=<|plugin|>\n{DOCUMENTED_PLUGIN_TOOLS}<|im_end|>\n"
    "<|im_start|>user\nI want to know today's weather in Shanghai<|im_end|>\n"
    f"<|im_start|>assistant\n{DOCUMENTED_CALL}<|im_end|>\n"
    '<|im_start|>environment name=<|plugin|>\n{"temperature": 22}<|im_end|>\n'
    "<|im_start|>assistant\nThe weather in Shanghai is 22 celsius<|im_end|>\n"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedModel]:
    folder = tmp_path_factory.mktemp("internlm2")
    write_internlm2(folder)
    yield load_model(BackendOptions(model=str(folder), device="cpu"), no_progress)


def sentencepiece_ids(model_file: Path, specials: dict[str, int], text: str) -> list[int]:
    """What the hub's InternLM2 tokenizer produces: BOS, then each stretch between special
    tokens encoded by sentencepiece on its own."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(model_file))
    ids = [processor.bos_id()]
    pattern = "(" + "|".join(re.escape(token) for token in specials) + ")"
    for part in re.split(pattern, text):
        if part in specials:
            ids.append(specials[part])
        elif part:
            ids.extend(processor.encode(part))
    return ids


@pytest.mark.parametrize("text", TEXTS)
def test_encoding_matches_sentencepiece_stretch_by_stretch(loaded: LoadedModel, text: str) -> None:
    tokenizer = loaded.tokenizer
    specials = {token: tokenizer.convert_tokens_to_ids(token) for token in CHAT_TOKENS}
    model_file = Path(tokenizer.vocab_file)
    assert tokenizer(text)["input_ids"] == sentencepiece_ids(model_file, specials, text)


@pytest.mark.parametrize("text", TEXTS)
def test_decoding_round_trips(loaded: LoadedModel, text: str) -> None:
    ids = loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert loaded.tokenizer.decode(ids) == text


def test_chat_tokens_take_the_ids_of_the_placeholders(loaded: LoadedModel) -> None:
    tokenizer = loaded.tokenizer
    size = len(tokenizer)
    assert size == loaded.model.config.vocab_size
    # InternLM2: <|plugin|> 92538 ... <|im_start|> 92543, the last six of 92544 ids.
    assert [tokenizer.convert_tokens_to_ids(t) for t in CHAT_TOKENS] == list(range(size - 6, size))
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (1, 2)


def test_a_streamed_reply_keeps_the_tool_tokens_but_not_im_end(loaded: LoadedModel) -> None:
    tokenizer = loaded.tokenizer
    reply = "Let me run it.<|action_start|><|interpreter|>\nprint(1)<|action_end|><|im_end|>"
    ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    shown = tokenizer.decode(ids, skip_special_tokens=True)
    assert shown == "Let me run it.<|action_start|><|interpreter|>\nprint(1)<|action_end|>"


def test_template_matches_the_documented_function_call_byte_for_byte(loaded: LoadedModel) -> None:
    messages = [
        {"role": "system", "content": "You are InternLM2-Chat, a harmless AI assistant"},
        {"role": "system", "content": tool_content(PLUGIN, DOCUMENTED_PLUGIN_TOOLS)},
        {"role": "user", "content": "I want to know today's weather in Shanghai"},
        {"role": "assistant", "content": DOCUMENTED_CALL},
        {"role": "tool", "content": tool_content(PLUGIN, '{"temperature": 22}')},
        {"role": "assistant", "content": "The weather in Shanghai is 22 celsius"},
    ]
    rendered = loaded.tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == "<s>" + DOCUMENTED


def test_without_a_system_prompt_the_model_card_default_is_used(loaded: LoadedModel) -> None:
    rendered = loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], tokenize=False, add_generation_prompt=True
    )
    expected = (
        f"<s><|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>\n"
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    )
    assert rendered == expected


def test_the_users_system_prompt_replaces_the_default(loaded: LoadedModel) -> None:
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]
    rendered = loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    expected = "<s><|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    assert rendered == expected + "<|im_start|>assistant\n"


def test_a_tool_description_alone_still_gets_the_default_system_prompt(loaded: LoadedModel) -> None:
    messages = [
        {"role": "system", "content": tool_content(INTERPRETER, "Run Python.")},
        {"role": "user", "content": "2+2?"},
    ]
    rendered = loaded.tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered.startswith(f"<s><|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>\n")
    assert "<|im_start|>system name=<|interpreter|>\nRun Python.<|im_end|>\n" in rendered


def test_the_rendered_prompt_tokenizes_like_the_hub_tokenizer(loaded: LoadedModel) -> None:
    tokenizer = loaded.tokenizer
    encoded = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello world"}], add_generation_prompt=True, return_dict=True
    )
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello world"}], tokenize=False, add_generation_prompt=True
    )
    specials = {token: tokenizer.convert_tokens_to_ids(token) for token in CHAT_TOKENS}
    # The template writes <s> itself, so the hub tokenizer is used without adding another.
    assert encoded["input_ids"] == sentencepiece_ids(Path(tokenizer.vocab_file), specials, text[3:])


def test_a_model_without_the_dummy_prefix_is_left_as_transformers_builds_it(tmp_path: Path) -> None:
    from backends.internlm.tokenizer import load_tokenizer

    write_tokenizer(tmp_path, add_dummy_prefix=False)
    tokenizer = load_tokenizer(str(tmp_path), "internlm2")
    specials = {token: tokenizer.convert_tokens_to_ids(token) for token in CHAT_TOKENS}
    for text in TEXTS:
        assert tokenizer(text)["input_ids"] == sentencepiece_ids(tmp_path / "tokenizer.model", specials, text)
