"""The local backend: a transformers causal LM in this process, streamed token by token.

Prompts come from the tokenizer's own chat template; tokens come from transformers'
``TextIteratorStreamer`` fed by ``generate`` in a helper thread; cancellation is a
``StoppingCriteria`` that watches the turn's cancel event, so a cancelled turn stops within
one token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.base import BackendConfigError, BackendLoadError, ProgressCallback
from backends.events import (
    BackendEvent,
    BackendInfo,
    ChatMessage,
    Done,
    DoneReason,
    Error,
    GenerationParams,
    TokenDelta,
    Usage,
)
from backends.internlm import loading as internlm
from backends.internlm.tokenizer import load_tokenizer
from backends.local.embedded import EMBEDDED_HINT, EMBEDDED_HUB_ID, convert_gguf
from backends.local.model_source import ModelSource, resolve_model
from backends.local.prefix_cache import PrefixCache
from backends.options import BackendOptions

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from backends.local.hub_download import DownloadProgress


def pick_device(requested: str) -> str:
    """``auto`` means CUDA when a GPU is visible, else CPU; asking for CUDA without one fails."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BackendConfigError("--device cuda was given but no CUDA GPU is visible; use --device cpu")
    return requested


def pick_dtype(requested: str, device: str) -> torch.dtype:
    """``auto`` is bfloat16 on a GPU that supports it, float32 on CPU (fastest there)."""
    import torch

    if requested == "auto":
        if device == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    dtype: torch.dtype = getattr(torch, requested)
    return dtype


def quantization_config(bits: int | None, device: str) -> Any:
    """A bitsandbytes config for ``--bits 4|8``; CUDA only, with a clear error elsewhere."""
    if bits is None:
        return None
    if bits not in (4, 8):
        raise BackendConfigError("--bits must be 4 or 8")
    if device != "cuda":
        raise BackendConfigError(
            f"--bits {bits} needs a CUDA GPU (bitsandbytes); this machine runs on {device}"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise BackendConfigError("--bits needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    if bits == 4:
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype="bfloat16")
    return BitsAndBytesConfig(load_in_8bit=True)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model and tokenizer ready to generate, with where they came from."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    source: ModelSource
    device: str
    family: internlm.Family | None = None


def fetch_from_hub(source: ModelSource, progress: ProgressCallback) -> Path:
    """Download a hub model with the bytes, rate and time left shown as the loading stage.

    The progress callback raising (the app's load worker was cancelled: Esc) stops the download;
    what was fetched stays in the cache and the next start resumes it.
    """
    from backends.local.hub_download import DownloadError, describe, download

    def report(figures: DownloadProgress) -> None:
        fraction = figures.done / figures.total if figures.total else None
        progress(
            f"Downloading {source.label}: {describe(figures)}", None if fraction is None else 0.85 * fraction
        )

    def notice(line: str) -> None:
        progress(line, None)

    try:
        return download(source.location, hub=source.hub, progress=report, notice=notice)
    except DownloadError as exc:
        hint = f" ({EMBEDDED_HINT})" if source.location == EMBEDDED_HUB_ID else ""
        raise BackendLoadError(f"{exc}{hint}") from None


def load_model(options: BackendOptions, progress: ProgressCallback) -> LoadedModel:
    """Resolve, convert if needed, and load the model named in ``options``."""
    source = resolve_model(options.model)
    folder = source.location
    if source.kind in ("embedded", "gguf"):
        folder = str(convert_gguf(Path(source.location), progress))
    elif source.kind == "hub":
        folder = str(fetch_from_hub(source, progress))
    progress(f"Loading {source.label}…", 0.9)
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    quant = quantization_config(options.bits, device)
    # trust_remote_code is always passed explicitly: left unset, transformers may ask on stdin,
    # which would hang a full-screen app.
    common: dict[str, Any] = {"trust_remote_code": options.trust_remote_code}
    loading: dict[str, Any] = {"dtype": dtype, "device_map": device, "quantization_config": quant}
    try:
        config = internlm.read_config(folder)
        family = internlm.family_of(config)
        # InternLM tokenizers load natively; InternLM2's hub tokenizer code misnumbers its chat tokens.
        if family is not None:
            tokenizer = load_tokenizer(folder, family)
        else:
            tokenizer = AutoTokenizer.from_pretrained(folder, **common)
        mapped = family == "internlm2" and not options.trust_remote_code
        if mapped:
            model = internlm.load_internlm2_model(folder, config, **loading)
        else:
            model = AutoModelForCausalLM.from_pretrained(folder, **loading, **common)
        if options.adapter:
            model = internlm.apply_adapter(model, options.adapter, family, mapped)
        if family is not None:
            internlm.prepare_chat(tokenizer, model)
    except (BackendConfigError, BackendLoadError):
        raise
    except Exception as exc:  # transformers raises many types; the user needs one line
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BackendLoadError(f"could not load model {source.label}: {first_line}") from exc
    model.eval()
    if not getattr(tokenizer, "chat_template", None):
        raise BackendLoadError(f"{source.label} has no chat template; use an instruction-tuned (chat) model")
    return LoadedModel(model, tokenizer, source, device, family)


def _cancel_criteria(cancel: threading.Event) -> Any:
    """A StoppingCriteria that ends generation for every sequence once ``cancel`` is set."""
    import torch
    from transformers import StoppingCriteria

    class CancelCriteria(StoppingCriteria):  # type: ignore[misc]
        def __call__(
            self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
        ) -> torch.BoolTensor:
            flag = torch.full(
                (input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device
            )
            return flag

    return CancelCriteria()


def _context_window(loaded: LoadedModel) -> int | None:
    """The model's context length from its config (the tokenizer's limit is often a placeholder)."""
    config = loaded.model.config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and 0 < value < 10_000_000:
            return value
    return None


class LocalBackend:
    """Generates with a transformers model in this process; one turn at a time."""

    def __init__(self, loaded: LoadedModel) -> None:
        self._loaded = loaded
        self._lock = threading.Lock()
        self.prefix_cache = PrefixCache()
        """The KV cache kept between turns (see ``backends.local.prefix_cache``)."""
        self.info = BackendInfo(
            name="local",
            model=loaded.source.label,
            device=loaded.device,
            capabilities=frozenset({"stream", "cancel", "count-tokens"}),
            context_window=_context_window(loaded),
        )

    @classmethod
    def load(cls, options: BackendOptions, progress: ProgressCallback) -> LocalBackend:
        """Load the model named in ``options`` (slow; call from a worker thread)."""
        return cls(load_model(options, progress))

    @property
    def family(self) -> internlm.Family | None:
        """The InternLM family of the model ("internlm2", "internlm3"), or None for others."""
        return self._loaded.family

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer, for callers that render prompts themselves (the agent)."""
        return self._loaded.tokenizer

    def encode(self, messages: Sequence[ChatMessage]) -> torch.Tensor:
        """Render the conversation with the model's chat template into input ids."""
        payload = [{"role": m.role, "content": m.content} for m in messages]
        encoded = self._loaded.tokenizer.apply_chat_template(
            payload, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        ids: torch.Tensor = encoded["input_ids"]
        return ids.to(self._loaded.model.device)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        """The prompt's length in tokens, as the chat template renders it; None while a reply is
        being generated (the tokenizer is never used by two threads at once, and the caller, the
        UI thread, must not wait)."""
        if not messages:
            return 0
        if not self._lock.acquire(blocking=False):
            return None
        try:
            payload = [{"role": m.role, "content": m.content} for m in messages]
            encoded = self._loaded.tokenizer.apply_chat_template(
                payload, add_generation_prompt=True, tokenize=True, return_dict=True
            )
            return len(encoded["input_ids"])
        finally:
            self._lock.release()

    def generation_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        """Map our parameters onto ``generate`` arguments; ``None`` keeps the model default."""
        kwargs: dict[str, Any] = {}
        if params.max_new_tokens is not None:
            kwargs["max_new_tokens"] = params.max_new_tokens
        if params.temperature is not None:
            if params.temperature <= 0:
                kwargs["do_sample"] = False
            else:
                kwargs["do_sample"] = True
                kwargs["temperature"] = params.temperature
        for name in ("top_p", "top_k", "repetition_penalty"):
            value = getattr(params, name)
            if value is not None:
                kwargs[name] = value
        if params.stop:
            kwargs["stop_strings"] = list(params.stop)
            kwargs["tokenizer"] = self._loaded.tokenizer
        return kwargs

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        *,
        cancel: threading.Event,
    ) -> Iterator[BackendEvent]:
        """Stream one reply; ends with exactly one ``Done`` or ``Error``."""
        with self._lock:
            yield from self._stream_locked(messages, params, cancel)

    def _stream_locked(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: threading.Event
    ) -> Iterator[BackendEvent]:
        from transformers import StoppingCriteriaList, TextIteratorStreamer, set_seed

        started = time.perf_counter()
        if cancel.is_set():
            yield Done("cancelled")
            return
        try:
            input_ids = self.encode(messages)
            kwargs = self.generation_kwargs(params)
        except Exception as exc:
            yield Error(f"could not build the prompt: {exc}".splitlines()[0], repr(exc))
            return
        tokenizer = self._loaded.tokenizer
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        outcome: dict[str, Any] = {}
        cache, cached_tokens = self.prefix_cache.take(input_ids)
        if cache is None:
            cache = self._new_cache()

        def run_generate() -> None:
            try:
                if params.seed is not None:
                    set_seed(params.seed)
                outcome["ids"] = self._loaded.model.generate(
                    input_ids=input_ids,
                    attention_mask=input_ids.new_ones(input_ids.shape),
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_cancel_criteria(cancel)]),
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                    cache=cache,
                    **kwargs,
                )
            except Exception as exc:  # reported as an Error event below
                outcome["error"] = exc
                streamer.end()

        thread = threading.Thread(target=run_generate, name="local-generate", daemon=True)
        thread.start()
        first_token_at: float | None = None
        pieces: list[str] = []
        for text in streamer:
            if not text:
                continue
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if params.stream:
                yield TokenDelta(text)
            else:
                pieces.append(text)
        thread.join()
        finished = time.perf_counter()
        if "error" in outcome:
            failure = outcome["error"]
            yield Error(
                f"generation failed: {type(failure).__name__}: {failure}".splitlines()[0], repr(failure)
            )
            return
        self.prefix_cache.keep(cache, outcome["ids"])
        if pieces:
            yield TokenDelta("".join(pieces))
        prompt_tokens = int(input_ids.shape[1])
        completion_tokens = int(outcome["ids"].shape[1]) - prompt_tokens
        total = finished - started
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            ttft_s=(first_token_at - started) if first_token_at is not None else None,
            tokens_per_s=completion_tokens / total if total > 0 and completion_tokens else None,
            total_s=total,
            cached_prompt_tokens=cached_tokens,
        )
        yield Done(self._finish_reason(outcome["ids"], completion_tokens, kwargs, cancel), usage)

    def _new_cache(self) -> Any:
        """An empty cache that ``generate`` fills and we keep; None where the model has its own kind."""
        from transformers import DynamicCache

        try:
            return DynamicCache(config=self._loaded.model.config)
        except Exception:  # a model with a special cache type: let generate make it, no reuse
            return None

    def _finish_reason(
        self, ids: torch.Tensor, completion_tokens: int, kwargs: dict[str, Any], cancel: threading.Event
    ) -> DoneReason:
        if cancel.is_set():
            return "cancelled"
        limit = kwargs.get("max_new_tokens")
        eos = self._loaded.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        if limit is not None and completion_tokens >= limit and int(ids[0, -1]) not in eos_ids:
            return "length"
        return "stop"

    def close(self) -> None:
        """Drop the model and the kept cache so their memory can be freed."""
        self.prefix_cache.clear()
        self._loaded = None  # type: ignore[assignment]
