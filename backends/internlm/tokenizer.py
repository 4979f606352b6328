"""InternLM tokenizers loaded by transformers itself (``trust_remote_code=False``), made to match.

transformers 5 builds InternLM2/InternLM3 tokenizers from ``tokenizer.model`` natively (its
generic ``TokenizersBackend``, which it also picks for these model types) and gives the chat
tokens their ids from ``tokenizer_config.json`` (the hub's own tokenizer code numbers them past
the embedding table on transformers 5). Two InternLM2 details are adjusted here, by rewriting
the ``tokenizers`` backend:

* The hub tokenizer encodes each stretch of text between special tokens with sentencepiece,
  which adds a leading ``▁`` when the model's ``add_dummy_prefix`` is set; the native one did
  not before transformers 5.24 (it now prepends through its ``Metaspace`` pre-tokeniser). When
  the sentencepiece model asks for it and the backend does not prepend, the hub fast tokenizer's
  ``Prepend("▁")`` normaliser is installed; either way decoding drops that ``▁`` again at the
  start and after each added token (the hub's fast decoder only does the former), so text
  round-trips.
* The tool-protocol tokens (``<|action_start|>``, ``<|action_end|>``, ``<|interpreter|>``,
  ``<|plugin|>``) stay whole tokens but are no longer "special", so a streamed reply that calls
  a tool keeps them (they are how the agent sees the call); ``<|im_start|>``/``<|im_end|>``
  stay special and are still hidden.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backends.internlm.tokens import ACTION_TOKENS


def _dummy_prefix(vocab_file: str | None) -> bool:
    """Whether the sentencepiece model at ``vocab_file`` adds a leading ``▁`` to each text."""
    if not vocab_file or not vocab_file.endswith(".model") or not Path(vocab_file).is_file():
        return False
    from transformers.convert_slow_tokenizer import import_protobuf

    proto = import_protobuf().ModelProto()
    proto.ParseFromString(Path(vocab_file).read_bytes())
    return bool(proto.normalizer_spec.add_dummy_prefix)


def _steps(config: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    """The steps of a ``tokenizers`` normaliser or decoder, whether or not it is a Sequence."""
    if not config:
        return []
    steps: list[dict[str, Any]] = config.get(key) or [config]
    return steps


def _decoder_steps(decoder: dict[str, Any] | None, added: list[str]) -> list[dict[str, Any]]:
    """Decoding that drops the ``▁`` sentencepiece put in front of the text and after each added
    token, so ``decode(encode(text)) == text`` as with sentencepiece itself."""
    steps = _steps(decoder, "decoders")
    if not any(step.get("type") == "Strip" for step in steps):
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    replaces = [{"type": "Replace", "pattern": {"String": f"{token} "}, "content": token} for token in added]
    return steps + [step for step in replaces if step not in steps]


def _prepends_already(data: dict[str, Any]) -> bool:
    """Whether the native backend adds the ``▁`` itself (transformers >= 5.24 does, through a
    ``Metaspace`` pre-tokeniser that prepends)."""
    steps = _steps(data.get("pre_tokenizer"), "pretokenizers") + _steps(data.get("normalizer"), "normalizers")
    return any(
        step.get("type") == "Prepend"
        or (step.get("type") == "Metaspace" and step.get("prepend_scheme") in ("always", "first"))
        for step in steps
    )


def match_internlm2(tokenizer: Any) -> None:
    """Adjust a natively loaded InternLM2 tokenizer in place (see the module docstring)."""
    from tokenizers import Tokenizer

    data = json.loads(tokenizer.backend_tokenizer.to_str())
    added = [token["content"] for token in data.get("added_tokens", [])]
    if _dummy_prefix(getattr(tokenizer, "vocab_file", None)):
        if not _prepends_already(data):
            normalizers = _steps(data.get("normalizer"), "normalizers")
            normalizers.insert(0, {"type": "Prepend", "prepend": "▁"})
            data["normalizer"] = {"type": "Sequence", "normalizers": normalizers}
        data["decoder"] = {"type": "Sequence", "decoders": _decoder_steps(data.get("decoder"), added)}
    for token in data.get("added_tokens", []):
        if token.get("content") in ACTION_TOKENS:
            token["special"] = False
    tokenizer._tokenizer = Tokenizer.from_str(json.dumps(data))


def load_tokenizer(location: str, family: str) -> Any:
    """Load an InternLM tokenizer without hub code; InternLM2's is adjusted to match the hub's.

    The generic ``tokenizers`` class is named directly: ``AutoTokenizer`` picks it for these
    model types only when it sees their ``config.json``, else it asks for the hub code."""
    from transformers import TokenizersBackend

    tokenizer = TokenizersBackend.from_pretrained(location)
    if family == "internlm2":
        match_internlm2(tokenizer)
    return tokenizer
