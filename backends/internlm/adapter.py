"""LoRA adapters trained on InternLM2 (e.g. by ``xtuner convert pth_to_hf``), rewritten for Llama.

xtuner's InternLM2 adapters target InternLM2's module names (``wqkv``, ``wo``, ``w1``, ``w2``,
``w3``). Loaded on the Llama-mapped model (``backends.internlm.convert``) those names do not
exist, so the adapter is rewritten first: names are renamed the same way as the base weights,
and the packed ``wqkv`` adapter becomes three. ``lora_A`` is shared by q, k and v (each gets a
copy) while ``lora_B`` (and a DoRA magnitude) is split per key-value group like ``wqkv`` itself;
row blocks of ``B @ A`` are exactly the q, k and v updates, so the result is the same model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from backends.base import BackendConfigError
from backends.internlm.convert import RENAMES, split_packed_qkv

ADAPTER_CONFIG = "adapter_config.json"
MODULE_NAMES = {"wqkv": ("q_proj", "k_proj", "v_proj"), "wo": ("o_proj",), "w1": ("gate_proj",)}
MODULE_NAMES |= {"w3": ("up_proj",), "w2": ("down_proj",), "output": ("lm_head",)}
MODULE_NAMES |= {"tok_embeddings": ("embed_tokens",)}
"""InternLM2 module names and their Llama names (``wqkv`` becomes three modules)."""

_PACKED = re.compile(r"\.attention\.wqkv\.")


def targets_internlm2(adapter_dir: str) -> bool:
    """True when the adapter at ``adapter_dir`` names InternLM2 modules (so it needs rewriting)."""
    config = _read_config(Path(adapter_dir))
    names = _module_list(config.get("target_modules")) + _module_list(config.get("modules_to_save"))
    return any(name in MODULE_NAMES for name in names)


def _read_config(folder: Path) -> dict[str, Any]:
    """The adapter's ``adapter_config.json``, or a one-line error."""
    path = folder / ADAPTER_CONFIG
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendConfigError(f"--adapter {folder}: cannot read {ADAPTER_CONFIG}: {exc}") from None
    return config


def _module_list(value: Any) -> list[str]:
    """Module names from a config value that may be a list, a pattern string or None."""
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _rename_modules(names: list[str]) -> list[str]:
    """InternLM2 module names replaced by their Llama names, in order, without repeats."""
    renamed: list[str] = []
    for name in names:
        for new in MODULE_NAMES.get(name, (name,)):
            if new not in renamed:
                renamed.append(new)
    return renamed


def convert_config(config: dict[str, Any]) -> dict[str, Any]:
    """The adapter config with InternLM2 module names replaced by Llama ones."""
    if config.get("peft_type", "LORA") != "LORA":
        raise BackendConfigError(f"InternLM2 adapters must be LoRA; this one is {config.get('peft_type')}")
    targets = config.get("target_modules")
    if isinstance(targets, str) and targets != "all-linear":
        raise BackendConfigError("InternLM2 adapters whose target_modules is a pattern are not supported")
    converted = dict(config)
    if isinstance(targets, list):
        converted["target_modules"] = _rename_modules(_module_list(targets))
    if config.get("modules_to_save"):
        converted["modules_to_save"] = _rename_modules(_module_list(config["modules_to_save"]))
    for key in ("rank_pattern", "alpha_pattern"):
        patterns = config.get(key) or {}
        converted[key] = {_rename_key(name): value for name, value in patterns.items()}
    return converted


def _rename_key(key: str) -> str:
    """A weight or module path with InternLM2 names replaced by Llama ones."""
    for old, new in RENAMES:
        key = key.replace(old.strip("."), new.strip("."))
    return re.sub(r"(^|\.)output(?=\.|$)", r"\1lm_head", key)


def convert_weights(weights: dict[str, torch.Tensor], llama_config: Any) -> dict[str, torch.Tensor]:
    """Adapter tensors with InternLM2 names renamed and packed ``wqkv`` ones split."""
    heads = llama_config.num_attention_heads
    kv_heads = llama_config.num_key_value_heads
    head_dim = llama_config.head_dim
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in weights.items():
        if not _PACKED.search(key):
            converted[_rename_key(key)] = tensor
            continue
        if ".lora_A." in key or ".lora_embedding_A" in key:
            parts = [tensor.clone(), tensor.clone(), tensor.clone()]
        else:
            parts = split_packed_qkv(tensor, heads, kv_heads, head_dim)
        for name, part in zip(("q_proj", "k_proj", "v_proj"), parts, strict=True):
            converted[_rename_key(_PACKED.sub(f".self_attn.{name}.", key))] = part.contiguous()
    return converted


def _load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The adapter's tensors from safetensors, or from a ``.bin`` written by older peft."""
    safetensors_file = folder / "adapter_model.safetensors"
    if safetensors_file.is_file():
        return load_file(str(safetensors_file))
    bin_file = folder / "adapter_model.bin"
    if bin_file.is_file():
        loaded: dict[str, torch.Tensor] = torch.load(bin_file, map_location="cpu", weights_only=True)
        return loaded
    raise BackendConfigError(f"--adapter {folder}: no adapter_model.safetensors or adapter_model.bin")


def convert_adapter(adapter_dir: str, out_dir: Path, llama_config: Any) -> Path:
    """Write the Llama form of the InternLM2 adapter at ``adapter_dir`` into ``out_dir``."""
    source = Path(adapter_dir)
    config = convert_config(_read_config(source))
    weights = convert_weights(_load_weights(source), llama_config)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file(weights, str(out_dir / "adapter_model.safetensors"), metadata={"format": "pt"})
    return out_dir
