"""InternLM2/2.5 checkpoints loaded onto transformers' Llama classes, without running hub code.

InternLM2 is a Llama-shaped decoder whose weights have other names and whose attention has one
packed ``wqkv`` projection. Its rows are grouped per key-value head: for each of the
``num_key_value_heads`` groups come ``num_attention_heads // num_key_value_heads`` query heads,
then one key head, then one value head, each ``head_dim`` rows. The mapping below renames the
other weights and splits ``wqkv`` back into Llama's ``q_proj``/``k_proj``/``v_proj`` while
transformers reads the checkpoint, so sharding, ``device_map``, dtype and bitsandbytes
quantisation all work as for any Llama model and nothing is converted on disk. Rotary settings
(``rope_theta``, ``rope_scaling`` dynamic or linear) carry over: InternLM2 computes them as
Llama does.

This module imports transformers at the top; only ``backends.local.load_model`` imports it.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.conversion_mapping import register_checkpoint_conversion_mapping
from transformers.core_model_loading import ConversionOps, WeightConverter, WeightRenaming

from backends.base import BackendLoadError

INTERNLM2_MODEL_TYPE = "internlm2"
INTERNLM2_ARCHITECTURE = "InternLM2ForCausalLM"

RENAMES: tuple[tuple[str, str], ...] = (
    ("model.tok_embeddings.", "model.embed_tokens."),
    (".attention.wo.", ".self_attn.o_proj."),
    (".feed_forward.w1.", ".mlp.gate_proj."),
    (".feed_forward.w3.", ".mlp.up_proj."),
    (".feed_forward.w2.", ".mlp.down_proj."),
    (".attention_norm.", ".input_layernorm."),
    (".ffn_norm.", ".post_attention_layernorm."),
)
"""InternLM2 weight name pieces and their Llama names (``output`` -> ``lm_head`` is separate)."""

_ROPE_TYPES = ("default", "linear", "dynamic")


def is_internlm2(config: dict[str, Any]) -> bool:
    """True for an InternLM2/2.5 ``config.json`` (by ``model_type`` or architecture)."""
    architectures = config.get("architectures") or []
    return config.get("model_type") == INTERNLM2_MODEL_TYPE or INTERNLM2_ARCHITECTURE in architectures


def llama_config(config: dict[str, Any]) -> LlamaConfig:
    """The Llama configuration equivalent to an InternLM2 ``config.json``."""
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": float(config.get("rope_theta", 10000.0))}
    scaling = config.get("rope_scaling")
    if scaling:
        kind = scaling.get("rope_type") or scaling.get("type") or "default"
        if kind not in _ROPE_TYPES:
            raise BackendLoadError(f"InternLM2 rope_scaling type {kind!r} is not supported")
        rope["rope_type"] = kind
        if kind != "default":
            rope["factor"] = float(scaling["factor"])
    bias = bool(config.get("bias", False))
    return LlamaConfig(
        vocab_size=int(config["vocab_size"]),
        hidden_size=hidden,
        intermediate_size=int(config["intermediate_size"]),
        num_hidden_layers=int(config["num_hidden_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=hidden // heads,
        hidden_act=config.get("hidden_act", "silu"),
        max_position_embeddings=int(config.get("max_position_embeddings", 2048)),
        initializer_range=float(config.get("initializer_range", 0.02)),
        rms_norm_eps=float(config.get("rms_norm_eps", 1e-6)),
        bos_token_id=config.get("bos_token_id", 1),
        eos_token_id=config.get("eos_token_id", 2),
        pad_token_id=config.get("pad_token_id"),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        attention_bias=bias,
        mlp_bias=False,
        rope_parameters=rope,
        architectures=["LlamaForCausalLM"],
    )


def split_packed_qkv(packed: torch.Tensor, heads: int, kv_heads: int, head_dim: int) -> list[torch.Tensor]:
    """Split a packed ``wqkv`` weight (or bias) into Llama's q, k and v, rows in head order."""
    groups = heads // kv_heads
    rest = tuple(packed.shape[1:])
    grouped = packed.reshape(kv_heads, groups + 2, head_dim, *rest)
    query = grouped[:, :groups].reshape(heads * head_dim, *rest)
    key = grouped[:, groups].reshape(kv_heads * head_dim, *rest)
    value = grouped[:, groups + 1].reshape(kv_heads * head_dim, *rest)
    return [query.contiguous(), key.contiguous(), value.contiguous()]


class SplitPackedQKV(ConversionOps):  # type: ignore[misc]
    """transformers' loading operation that turns one ``wqkv`` tensor into q, k and v."""

    @torch.no_grad()  # type: ignore[untyped-decorator]
    def convert(
        self,
        input_dict: dict[str, Any],
        source_patterns: list[str],
        target_patterns: list[str],
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Split the single collected tensor along its output rows per key-value group."""
        config = kwargs["config"]
        tensors = next(iter(input_dict.values()))
        packed = tensors[0] if isinstance(tensors, list) else tensors
        parts = split_packed_qkv(
            packed, config.num_attention_heads, config.num_key_value_heads, config.head_dim
        )
        return dict(zip(target_patterns, parts, strict=True))


def conversion_rules() -> list[Any]:
    """The renames and the ``wqkv`` split, in transformers' weight-conversion form."""
    rules: list[Any] = [WeightRenaming(source, target) for source, target in RENAMES]
    rules.append(WeightRenaming(r"^output\.", "lm_head."))
    for kind in ("weight", "bias"):
        rules.append(
            WeightConverter(
                source_patterns=f"attention.wqkv.{kind}",
                target_patterns=[f"self_attn.{name}_proj.{kind}" for name in ("q", "k", "v")],
                operations=[SplitPackedQKV()],
            )
        )
    return rules


class InternLM2AsLlamaForCausalLM(LlamaForCausalLM):  # type: ignore[misc]
    """Llama's causal LM, loading InternLM2-named weights through the conversion rules."""


register_checkpoint_conversion_mapping(
    InternLM2AsLlamaForCausalLM.__name__, conversion_rules(), overwrite=True
)


def load_internlm2(location: str, config: dict[str, Any], **kwargs: Any) -> Any:
    """Load an InternLM2 checkpoint (folder or hub id) as a Llama model; ``kwargs`` go to
    ``from_pretrained`` (dtype, device_map, quantization_config)."""
    return InternLM2AsLlamaForCausalLM.from_pretrained(
        location, config=llama_config(config), trust_remote_code=False, **kwargs
    )
