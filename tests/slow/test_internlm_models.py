"""InternLM2/2.5 and InternLM3 checkpoints through the real loading path, on tiny random weights.

The InternLM2 checkpoints use the hub layout (packed ``wqkv``, ``w1/w2/w3``, ``attention_norm``,
``tok_embeddings``, ``output``); ``load_model`` maps them onto Llama without hub code. The
reference below computes InternLM2's forward pass directly from the original tensors, reading
each head's rows out of ``wqkv`` by index arithmetic from the documented layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from backends.base import BackendConfigError, BackendLoadError, no_progress
from backends.events import GenerationParams
from backends.local.backend import LoadedModel, LocalBackend, load_model
from backends.options import BackendOptions
from testkit.internlm import CHAT_TOKENS, model_logits, reference_logits, write_internlm2, write_internlm3


def load(folder: Path, **options: Any) -> LoadedModel:
    return load_model(BackendOptions(model=str(folder), device="cpu", **options), no_progress)


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
