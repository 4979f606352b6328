"""InternLM2/2.5 and InternLM3 checkpoints through the real loading path, on tiny random weights.

The InternLM2 checkpoints use the hub layout (packed ``wqkv``, ``w1/w2/w3``, ``attention_norm``,
``tok_embeddings``, ``output``); ``load_model`` maps them onto Llama without hub code. The
reference below computes InternLM2's forward pass directly from the original tensors, reading
each head's rows out of ``wqkv`` by index arithmetic from the documented layout.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from backends.base import BackendConfigError, BackendLoadError, no_progress
from backends.events import GenerationParams
from backends.local import LoadedModel, LocalBackend, load_model
from backends.options import BackendOptions
from tests.internlm_fixtures import CHAT_TOKENS, write_internlm2, write_internlm3


def load(folder: Path, **options: Any) -> LoadedModel:
    return load_model(BackendOptions(model=str(folder), device="cpu", **options), no_progress)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def packed_qkv(config: dict[str, Any], packed: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """q, k, v rows of InternLM2's ``wqkv``: per key-value group, its query heads, then k, then v."""
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config["hidden_size"] // heads
    per_group = heads // kv_heads

    def rows(block: int) -> torch.Tensor:
        return packed[block * head_dim : (block + 1) * head_dim]

    q = [rows((h // per_group) * (per_group + 2) + h % per_group) for h in range(heads)]
    k = [rows(g * (per_group + 2) + per_group) for g in range(kv_heads)]
    v = [rows(g * (per_group + 2) + per_group + 1) for g in range(kv_heads)]
    return torch.cat(q), torch.cat(k), torch.cat(v)


def rotary(config: dict[str, Any], length: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables as InternLM2 computes them, with dynamic NTK or linear scaling."""
    base = float(config["rope_theta"])
    positions = torch.arange(length, dtype=torch.float32)
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("type") or scaling.get("rope_type")
    if kind == "dynamic" and length > config["max_position_embeddings"]:
        factor = scaling["factor"]
        ratio = factor * length / config["max_position_embeddings"] - (factor - 1)
        base = base * ratio ** (head_dim / (head_dim - 2))
    if kind == "linear":
        positions = positions / scaling["factor"]
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(positions, inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos()[:, None, :], angles.sin()[:, None, :]


def reference_logits(
    config: dict[str, Any], tensors: dict[str, torch.Tensor], ids: list[int], layout: str = "internlm2"
) -> torch.Tensor:
    """Logits of a decoder written out step by step from the checkpoint's own tensors."""
    names = {
        "internlm2": ("model.tok_embeddings", "attention_norm", "ffn_norm", "attention.wo", "output"),
        "internlm3": (
            "model.embed_tokens",
            "input_layernorm",
            "post_attention_layernorm",
            "self_attn.o_proj",
            "lm_head",
        ),
    }[layout]
    embed, attn_norm, ffn_norm, out_proj, head = names
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config["hidden_size"] // heads
    length = len(ids)
    cos, sin = rotary(config, length, head_dim)

    def rotate(x: torch.Tensor) -> torch.Tensor:
        half = head_dim // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    x = tensors[f"{embed}.weight"][torch.tensor(ids)]
    causal = torch.full((length, length), float("-inf")).triu(1)
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, tensors[p + f"{attn_norm}.weight"])
        if layout == "internlm2":
            wq, wk, wv = packed_qkv(config, tensors[p + "attention.wqkv.weight"])
            bias = tensors.get(p + "attention.wqkv.bias")
            bq, bk, bv = packed_qkv(config, bias[:, None]) if bias is not None else (0, 0, 0)
        else:
            wq, wk, wv = (tensors[p + f"self_attn.{n}_proj.weight"] for n in "qkv")
            bq = bk = bv = 0
        q = (h @ wq.T + torch.as_tensor(bq).flatten()).view(length, heads, head_dim)
        k = (h @ wk.T + torch.as_tensor(bk).flatten()).view(length, kv_heads, head_dim)
        v = (h @ wv.T + torch.as_tensor(bv).flatten()).view(length, kv_heads, head_dim)
        q, k = rotate(q), rotate(k)
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(head_dim) + causal
        attended = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(length, heads * head_dim)
        out = attended @ tensors[p + f"{out_proj}.weight"].T
        if p + f"{out_proj}.bias" in tensors:
            out = out + tensors[p + f"{out_proj}.bias"]
        x = x + out
        h = rms_norm(x, tensors[p + f"{ffn_norm}.weight"])
        if layout == "internlm2":
            gate, up, down = (tensors[p + f"feed_forward.{w}.weight"] for w in ("w1", "w3", "w2"))
        else:
            gate, up, down = (tensors[p + f"mlp.{w}_proj.weight"] for w in ("gate", "up", "down"))
        x = x + (torch.nn.functional.silu(h @ gate.T) * (h @ up.T)) @ down.T
    return rms_norm(x, tensors["model.norm.weight"]) @ tensors[f"{head}.weight"].T


def model_logits(loaded: LoadedModel, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        logits: torch.Tensor = loaded.model(torch.tensor([ids])).logits[0]
    return logits


LAYOUTS = {
    "gqa": {},
    "dynamic-rope-past-max-positions-with-bias": {
        "rope_scaling": {"type": "dynamic", "factor": 2.0},
        "max_positions": 16,
        "bias": True,
    },
    "linear-rope-one-kv-head": {"rope_scaling": {"type": "linear", "factor": 2.0}, "kv_heads": 1},
    "no-grouping": {"kv_heads": 4, "layers": 1},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_internlm2_logits_equal_the_reference(tmp_path: Path, layout: str) -> None:
    config, tensors = write_internlm2(tmp_path / "m", **LAYOUTS[layout])
    loaded = load(tmp_path / "m")
    assert loaded.family == "internlm2"
    assert type(loaded.model).__name__ == "InternLM2AsLlamaForCausalLM"
    ids = [1, *range(3, 26)]
    expected = reference_logits(config, tensors, ids)
    assert torch.allclose(model_logits(loaded, ids), expected, atol=1e-4, rtol=1e-4)


def test_internlm2_greedy_generation_follows_the_reference(tmp_path: Path) -> None:
    config, tensors = write_internlm2(tmp_path / "m", seed=3)
    loaded = load(tmp_path / "m")
    ids = [1, 10, 20, 30, 40]
    expected = list(ids)
    for _ in range(6):
        expected.append(int(reference_logits(config, tensors, expected)[-1].argmax()))
    prompt = torch.tensor([ids])
    out = loaded.model.generate(
        prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=6, do_sample=False, eos_token_id=None
    )
    assert out[0].tolist() == expected


def test_a_checkpoint_that_does_not_map_completely_is_a_load_error(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_internlm2(folder)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shard = folder / index["weight_map"]["model.layers.0.feed_forward.w1.weight"]
    tensors = load_file(str(shard))
    tensors["model.layers.0.feed_forward.w9.weight"] = tensors.pop("model.layers.0.feed_forward.w1.weight")
    save_file(tensors, str(shard), metadata={"format": "pt"})
    index["weight_map"]["model.layers.0.feed_forward.w9.weight"] = index["weight_map"].pop(
        "model.layers.0.feed_forward.w1.weight"
    )
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(BackendLoadError, match=r"missing .*gate_proj.*unexpected .*w9"):
        load(folder)


def test_internlm3_loads_natively_onto_llama(tmp_path: Path) -> None:
    config = write_internlm3(tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.family == "internlm3"
    assert type(loaded.model).__name__ == "LlamaForCausalLM"
    tensors: dict[str, torch.Tensor] = {}
    for shard in sorted((tmp_path / "m").glob("model-*.safetensors")):
        tensors.update(load_file(str(shard)))
    ids = [1, *range(3, 20)]
    expected = reference_logits(config, tensors, ids, layout="internlm3")
    assert torch.allclose(model_logits(loaded, ids), expected, atol=1e-4, rtol=1e-4)


def test_generation_config_is_kept_and_im_end_ends_a_reply(tmp_path: Path) -> None:
    write_internlm2(tmp_path / "m")
    loaded = load(tmp_path / "m")
    im_end = loaded.tokenizer.convert_tokens_to_ids("<|im_end|>")
    generation = loaded.model.generation_config
    assert generation.eos_token_id == [2, im_end]
    assert (generation.do_sample, generation.temperature, generation.top_p) == (True, 0.8, 0.8)
    backend = LocalBackend(loaded)
    assert backend.generation_kwargs(GenerationParams(max_new_tokens=None)) == {}
    assert backend.generation_kwargs(GenerationParams(max_new_tokens=None, temperature=0)) == {
        "do_sample": False
    }
    assert im_end == len(loaded.tokenizer) - 1 - CHAT_TOKENS[::-1].index("<|im_end|>")


def test_internlm3_eos_list_is_not_duplicated(tmp_path: Path) -> None:
    write_internlm3(tmp_path / "m")
    loaded = load(tmp_path / "m")
    im_end = loaded.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert loaded.model.generation_config.eos_token_id == [2, im_end]


def test_bits_on_a_cpu_machine_is_a_clear_error(tmp_path: Path) -> None:
    write_internlm2(tmp_path / "m")
    with pytest.raises(BackendConfigError, match="needs a CUDA GPU"):
        load(tmp_path / "m", bits=4)
