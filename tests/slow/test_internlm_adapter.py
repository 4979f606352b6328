"""``--adapter`` with InternLM models: an xtuner-style LoRA on InternLM2's own module names.

``xtuner convert pth_to_hf`` saves a peft LoRA whose ``target_modules`` are InternLM2's
``wqkv``/``wo``/``w1``/``w2``/``w3``. The expected logits come from the reference forward pass
over the original tensors with each LoRA update merged in (``W + alpha / r * B @ A``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from backends.base import BackendConfigError, no_progress
from backends.local.backend import load_model
from backends.options import BackendOptions
from testkit.internlm import model_logits, reference_logits, write_internlm2, write_internlm3

RANK, ALPHA = 4, 8


def adapter_config(targets: list[str], **extra: Any) -> dict[str, Any]:
    """An adapter_config.json as peft (and so xtuner) writes it for a LoRA."""
    config: dict[str, Any] = {
        "base_model_name_or_path": "internlm/internlm2-chat-1_8b",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "lora_alpha": ALPHA,
        "lora_dropout": 0.1,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": RANK,
        "target_modules": targets,
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }
    config.update(extra)
    return config


def write_adapter(
    folder: Path, tensors: dict[str, torch.Tensor], modules: dict[str, str], targets: list[str], seed: int = 7
) -> dict[str, torch.Tensor]:
    """Random LoRA A/B for each ``prefix -> weight name`` in ``modules``; returns merged tensors."""
    folder.mkdir(parents=True)
    generator = torch.Generator().manual_seed(seed)
    weights: dict[str, torch.Tensor] = {}
    merged = dict(tensors)
    for module, weight_name in modules.items():
        out_features, in_features = tensors[weight_name].shape
        a = torch.randn(RANK, in_features, generator=generator) * 0.1
        b = torch.randn(out_features, RANK, generator=generator) * 0.1
        weights[f"base_model.model.{module}.lora_A.weight"] = a
        weights[f"base_model.model.{module}.lora_B.weight"] = b
        merged[weight_name] = tensors[weight_name] + (ALPHA / RANK) * b @ a
    save_file(weights, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    (folder / "adapter_config.json").write_text(json.dumps(adapter_config(targets)))
    return merged


def test_an_xtuner_lora_on_internlm2_names_applies_to_the_mapped_model(tmp_path: Path) -> None:
    config, tensors = write_internlm2(tmp_path / "base")
    targets = ["w3", "wqkv", "w2", "w1", "wo"]
    modules = {}
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}"
        modules[f"{prefix}.attention.wqkv"] = f"{prefix}.attention.wqkv.weight"
        modules[f"{prefix}.attention.wo"] = f"{prefix}.attention.wo.weight"
        for name in ("w1", "w2", "w3"):
            modules[f"{prefix}.feed_forward.{name}"] = f"{prefix}.feed_forward.{name}.weight"
    merged = write_adapter(tmp_path / "lora", tensors, modules, targets)
    options = BackendOptions(model=str(tmp_path / "base"), device="cpu", adapter=str(tmp_path / "lora"))
    loaded = load_model(options, no_progress)
    assert type(loaded.model).__name__ == "PeftModelForCausalLM"
    ids = [1, *range(5, 25)]
    with_adapter = model_logits(loaded, ids)
    assert torch.allclose(with_adapter, reference_logits(config, merged, ids), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(with_adapter, reference_logits(config, tensors, ids), atol=1e-3)


def test_an_adapter_on_llama_names_is_used_as_it_is(tmp_path: Path) -> None:
    config = write_internlm3(tmp_path / "base")
    tensors: dict[str, torch.Tensor] = {}
    for shard in sorted((tmp_path / "base").glob("model-*.safetensors")):
        tensors.update(load_file(str(shard)))
    modules = {
        f"model.layers.{i}.self_attn.q_proj": f"model.layers.{i}.self_attn.q_proj.weight" for i in range(2)
    }
    merged = write_adapter(tmp_path / "lora", tensors, modules, ["q_proj"])
    options = BackendOptions(model=str(tmp_path / "base"), device="cpu", adapter=str(tmp_path / "lora"))
    loaded = load_model(options, no_progress)
    ids = [1, *range(5, 20)]
    expected = reference_logits(config, merged, ids, layout="internlm3")
    assert torch.allclose(model_logits(loaded, ids), expected, atol=1e-4, rtol=1e-4)


def test_a_non_lora_internlm2_adapter_is_refused_clearly(tmp_path: Path) -> None:
    write_internlm2(tmp_path / "base")
    folder = tmp_path / "ia3"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(adapter_config(["wqkv"], peft_type="IA3")))
    options = BackendOptions(model=str(tmp_path / "base"), device="cpu", adapter=str(folder))
    with pytest.raises(BackendConfigError, match="must be LoRA"):
        load_model(options, no_progress)
