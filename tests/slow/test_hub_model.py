"""``--model ORG/NAME`` end to end: a tiny InternLM3 checkpoint served by the loopback fake hub is
downloaded with progress, loaded by the local backend and answers (the hub, the cache layout,
sharded safetensors and the tokenizer files all as huggingface_hub and transformers really use
them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.events import ChatMessage, Done, GenerationParams
from backends.options import BackendOptions
from backends.registry import create_backend
from testkit import contract
from testkit.fake_hub import FakeHub, FakeRepo, fake_hub
from testkit.internlm import write_internlm3


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    folder = tmp_path / "checkpoint"
    write_internlm3(folder)
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    lfs = frozenset(name for name in files if name.endswith((".safetensors", ".model")))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with fake_hub({"internlm/tiny-internlm3": FakeRepo(files, lfs=lfs)}) as served:
        # what HF_ENDPOINT sets when the library is imported (it is imported already here)
        monkeypatch.setattr(constants, "ENDPOINT", served.endpoint)
        template = served.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        yield served


def test_a_hub_model_downloads_with_progress_loads_and_answers(hub: FakeHub) -> None:
    stages: list[tuple[str, float | None]] = []
    options = BackendOptions(model="internlm/tiny-internlm3", device="cpu")
    backend = create_backend(options, lambda stage, fraction: stages.append((stage, fraction)))
    try:
        downloading = [s for s in stages if s[0].startswith("Downloading internlm/tiny-internlm3: ")]
        assert downloading and " / " in downloading[-1][0]
        fractions = [f for _s, f in downloading if f is not None]
        assert fractions == sorted(fractions)
        assert backend.info.model == "internlm/tiny-internlm3"
        events = contract.collect(
            backend, [ChatMessage("user", "hi")], GenerationParams(max_new_tokens=4, temperature=0)
        )
        assert isinstance(events[-1], Done)
    finally:
        backend.close()
    gets = [path for method, path, _r in hub.log.requests if method == "GET" and "/resolve/" in path]
    assert any(path.endswith(".safetensors") for path in gets)
