"""Tiny random-weight InternLM checkpoints written the way the hub lays them out.

Each writer creates a folder with ``config.json``, sharded safetensors with an index,
``generation_config.json``, a sentencepiece ``tokenizer.model`` trained here on a few lines,
and ``tokenizer_config.json`` with the six chat tokens replacing placeholder pieces at the end
of the vocabulary (as InternLM2's ``[UNUSED_TOKEN_141..146]`` are) and the stock chat template.
The writers return the original tensors so tests can compute a reference from them.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from backends.local.backend import LoadedModel

CHAT_TOKENS = (
    "<|plugin|>",
    "<|interpreter|>",
    "<|action_end|>",
    "<|action_start|>",
    "<|im_end|>",
    "<|im_start|>",
)
"""In InternLM2's id order: 92538..92543 there; the last six ids of the tiny vocabulary here."""

STOCK_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""The ``chat_template`` in InternLM2/2.5 and InternLM3 chat models' ``tokenizer_config.json``."""

CORPUS = (
    "Hello world, this is a tiny corpus for InternLM tests.",
    "The quick brown fox jumps over the lazy dog.",
    "x = (10 - 3) / 2\nprint(x)",
    "def add(a, b):\n    return a + b",
    "你好，世界！书生浦语是一个对话模型。",
    "What is the capital of France? Paris is the capital.",
    '{"name": "python", "parameters": {"command": "print(1)"}}',
)


def write_tokenizer(folder: Path, *, add_dummy_prefix: bool = True) -> int:
    """Train a tiny BPE sentencepiece model with byte fallback and write the tokenizer files.

    Returns the vocabulary size (trained pieces plus the six placeholders)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_writer=buffer,
        vocab_size=400,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        add_dummy_prefix=add_dummy_prefix,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        split_digits=True,
        minloglevel=2,
    )
    proto = model_pb2.ModelProto()
    proto.ParseFromString(buffer.getvalue())
    for number in range(141, 147):
        piece = proto.pieces.add()
        piece.piece = f"[UNUSED_TOKEN_{number}]"
        piece.score = 0.0
        piece.type = model_pb2.ModelProto.SentencePiece.USER_DEFINED
    (folder / "tokenizer.model").write_bytes(proto.SerializeToString())
    vocab_size = len(proto.pieces)

    def added(content: str) -> dict[str, Any]:
        return {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }

    decoder = {"0": added("<unk>"), "1": added("<s>"), "2": added("</s>")}
    first = vocab_size - len(CHAT_TOKENS)
    decoder.update({str(first + i): added(token) for i, token in enumerate(CHAT_TOKENS)})
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": list(reversed(CHAT_TOKENS)),
        "auto_map": {
            "AutoTokenizer": [
                "tokenization_internlm2.InternLM2Tokenizer",
                "tokenization_internlm2_fast.InternLM2TokenizerFast",
            ]
        },
        "bos_token": "<s>",
        "chat_template": STOCK_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "decode_with_prefix_space": False,
        "eos_token": "</s>",
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "</s>",
        "sp_model_kwargs": None,
        "tokenizer_class": "InternLM2Tokenizer",
        "unk_token": "<unk>",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    special = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    return vocab_size


def save_sharded(folder: Path, tensors: dict[str, torch.Tensor], shards: int = 2) -> None:
    """Write ``tensors`` as ``model-0000i-of-0000n.safetensors`` files plus the index."""
    names = sorted(tensors)
    weight_map: dict[str, str] = {}
    per_shard = -(-len(names) // shards)
    for index in range(shards):
        file_name = f"model-{index + 1:05d}-of-{shards:05d}.safetensors"
        chunk = {
            name: tensors[name].contiguous() for name in names[index * per_shard : (index + 1) * per_shard]
        }
        save_file(chunk, str(folder / file_name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(chunk, file_name))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    index_json = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index_json, indent=2))


def write_generation_config(folder: Path, eos: int | list[int]) -> None:
    """A generation config with the sampling defaults InternLM chat models document."""
    config = {"bos_token_id": 1, "eos_token_id": eos, "pad_token_id": 2, "do_sample": True}
    config.update({"temperature": 0.8, "top_p": 0.8})
    (folder / "generation_config.json").write_text(json.dumps(config))


def write_internlm2(
    folder: Path,
    *,
    hidden: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    layers: int = 2,
    intermediate: int = 96,
    max_positions: int = 32,
    rope_scaling: dict[str, Any] | None = None,
    bias: bool = False,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """An InternLM2/2.5-layout checkpoint (packed ``wqkv``); returns its config and tensors."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_tokenizer(folder)
    head_dim = hidden // heads
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.08) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    tensors: dict[str, torch.Tensor] = {
        "model.tok_embeddings.weight": rand(vocab, hidden, scale=0.5),
        "model.norm.weight": 1.0 + rand(hidden),
        "output.weight": rand(vocab, hidden),
    }
    qkv_rows = (heads + 2 * kv_heads) * head_dim
    for layer in range(layers):
        prefix = f"model.layers.{layer}"
        tensors[f"{prefix}.attention.wqkv.weight"] = rand(qkv_rows, hidden)
        tensors[f"{prefix}.attention.wo.weight"] = rand(hidden, heads * head_dim)
        if bias:
            tensors[f"{prefix}.attention.wqkv.bias"] = rand(qkv_rows)
            tensors[f"{prefix}.attention.wo.bias"] = rand(hidden)
        tensors[f"{prefix}.feed_forward.w1.weight"] = rand(intermediate, hidden)
        tensors[f"{prefix}.feed_forward.w3.weight"] = rand(intermediate, hidden)
        tensors[f"{prefix}.feed_forward.w2.weight"] = rand(hidden, intermediate)
        tensors[f"{prefix}.attention_norm.weight"] = 1.0 + rand(hidden)
        tensors[f"{prefix}.ffn_norm.weight"] = 1.0 + rand(hidden)
    save_sharded(folder, tensors)
    config: dict[str, Any] = {
        "architectures": ["InternLM2ForCausalLM"],
        "attn_implementation": "eager",
        "auto_map": {
            "AutoConfig": "configuration_internlm2.InternLM2Config",
            "AutoModel": "modeling_internlm2.InternLM2ForCausalLM",
            "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM",
        },
        "bias": bias,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_positions,
        "model_type": "internlm2",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pad_token_id": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": rope_scaling,
        "rope_theta": 1000000,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.41.0",
        "use_cache": True,
        "vocab_size": vocab,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    write_generation_config(folder, 2)
    return config, tensors


def write_internlm3(folder: Path, *, seed: int = 0) -> dict[str, Any]:
    """An InternLM3-layout checkpoint (Llama weight names, ``model_type`` internlm3)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = write_tokenizer(folder)
    hidden, heads, kv_heads, head_dim, layers, intermediate = 64, 4, 2, 16, 2, 96
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.08) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    tensors = {
        "model.embed_tokens.weight": rand(vocab, hidden, scale=0.5),
        "model.norm.weight": 1.0 + rand(hidden),
        "lm_head.weight": rand(vocab, hidden),
    }
    for layer in range(layers):
        prefix = f"model.layers.{layer}"
        tensors[f"{prefix}.self_attn.q_proj.weight"] = rand(heads * head_dim, hidden)
        tensors[f"{prefix}.self_attn.k_proj.weight"] = rand(kv_heads * head_dim, hidden)
        tensors[f"{prefix}.self_attn.v_proj.weight"] = rand(kv_heads * head_dim, hidden)
        tensors[f"{prefix}.self_attn.o_proj.weight"] = rand(hidden, heads * head_dim)
        tensors[f"{prefix}.mlp.gate_proj.weight"] = rand(intermediate, hidden)
        tensors[f"{prefix}.mlp.up_proj.weight"] = rand(intermediate, hidden)
        tensors[f"{prefix}.mlp.down_proj.weight"] = rand(hidden, intermediate)
        tensors[f"{prefix}.input_layernorm.weight"] = 1.0 + rand(hidden)
        tensors[f"{prefix}.post_attention_layernorm.weight"] = 1.0 + rand(hidden)
    save_sharded(folder, tensors)
    config: dict[str, Any] = {
        "architectures": ["InternLM3ForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_internlm3.InternLM3Config",
            "AutoModel": "modeling_internlm3.InternLM3Model",
            "AutoModelForCausalLM": "modeling_internlm3.InternLM3ForCausalLM",
        },
        "bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": 32768,
        "model_type": "internlm3",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pad_token_id": 2,
        "qkv_bias": False,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 6.0, "rope_type": "dynamic"},
        "rope_theta": 50000000,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.47.1",
        "use_cache": True,
        "vocab_size": vocab,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["tokenizer_class"] = "InternLM3Tokenizer"
    tokenizer_config["auto_map"] = {"AutoTokenizer": ["tokenization_internlm3.InternLM3Tokenizer", None]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    write_generation_config(folder, [2, vocab - 2])
    return config


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
