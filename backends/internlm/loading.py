"""Loading InternLM chat models: which family a checkpoint is, and how each is loaded.

* InternLM3 (``model_type`` ``internlm3``): transformers 5 maps it onto its Llama classes, so
  the model loads natively; only the tokenizer and chat details below are ours.
* InternLM2/2.5 (``internlm2``): unless the user passes ``--trust-remote-code``, the weights are
  mapped onto Llama at load time (``backends.internlm.convert``) and an adapter trained on
  InternLM2 names is rewritten first (``backends.internlm.adapter``). The tokenizer is always
  the native one (``backends.internlm.tokenizer``).

For both, the chat template gets the default system prompt and named turns
(``backends.internlm.chat``) and ``<|im_end|>`` is made an end-of-sequence token for
``generate``; the rest of the generation config (sampling defaults) is the model's own.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from backends.base import BackendLoadError
from backends.internlm.chat import wrap_template
from backends.internlm.tokens import END_OF_TURN

Family = Literal["internlm2", "internlm3"]


def family_of(config: dict[str, Any]) -> Family | None:
    """The InternLM family a ``config.json`` describes, or None for other models."""
    model_type = config.get("model_type")
    architectures = config.get("architectures") or []
    if model_type == "internlm2" or "InternLM2ForCausalLM" in architectures:
        return "internlm2"
    if model_type == "internlm3" or "InternLM3ForCausalLM" in architectures:
        return "internlm3"
    return None


def read_config(location: str) -> dict[str, Any]:
    """``config.json`` of a model folder or hub id, read without instantiating any class."""
    from transformers import PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(location)
    return dict(config)


def load_internlm2_model(location: str, config: dict[str, Any], **kwargs: Any) -> Any:
    """Load InternLM2 weights onto Llama; a checkpoint that does not map completely is an error."""
    from backends.internlm.convert import load_internlm2

    model, info = load_internlm2(location, config, output_loading_info=True, **kwargs)
    missing = sorted(info.get("missing_keys") or [])
    unexpected = sorted(info.get("unexpected_keys") or [])
    if missing or unexpected:
        raise BackendLoadError(
            f"{location} is not a complete InternLM2 checkpoint: "
            f"missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    return model


def apply_adapter(model: Any, adapter: str, family: Family | None, converted: bool) -> Any:
    """Wrap ``model`` with the LoRA adapter at ``adapter`` (rewritten if it names InternLM2 modules)."""
    from peft import PeftModel

    if family == "internlm2" and converted:
        from backends.internlm.adapter import convert_adapter, targets_internlm2

        if targets_internlm2(adapter):
            with tempfile.TemporaryDirectory(prefix="internlm-tui-adapter-") as scratch:
                folder = convert_adapter(adapter, Path(scratch), model.config)
                return PeftModel.from_pretrained(model, str(folder))
    return PeftModel.from_pretrained(model, adapter)


def end_of_turn_ids(tokenizer: Any, eos: int | list[int] | None) -> list[int]:
    """``eos`` as a list, with the tokenizer's ``<|im_end|>`` id added when it has one."""
    ids = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    if isinstance(end, int) and end != tokenizer.unk_token_id and end not in ids:
        ids.append(end)
    return ids


def prepare_chat(tokenizer: Any, model: Any) -> None:
    """Default system prompt and named turns in the template; ``<|im_end|>`` ends generation."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str) and template:
        tokenizer.chat_template = wrap_template(template)
    generation = model.generation_config
    generation.eos_token_id = end_of_turn_ids(tokenizer, generation.eos_token_id)
