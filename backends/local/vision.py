"""The local backend for image-text-to-text models (InternVL ``-hf``, LLaVA, Qwen-VL, ...).

Any model transformers serves through ``AutoModelForImageTextToText`` is loaded with its
``AutoProcessor``; the processor's own chat template turns messages with images into input ids
and pixel values (images go in as content parts ``{"type": "image", "image": PIL image}``), and
tokens stream through ``TextIteratorStreamer`` exactly like text models, with the same cancel
criterion. The backend declares ``images`` and ``vision`` so the UI sends it images.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from backends.base import BackendLoadError, ProgressCallback
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
from backends.local.backend import _cancel_criteria, pick_device, pick_dtype
from backends.local.model_source import ModelSource, resolve_model
from backends.options import BackendOptions


def is_vision_model(source: ModelSource) -> bool:
    """Whether a local folder holds a model transformers loads as image-text-to-text (its
    ``config.json`` model type is in that auto mapping); hub ids and GGUF files are not looked at."""
    if source.kind != "folder":
        return False
    try:
        config = json.loads((Path(source.location) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    return isinstance(config, dict) and config.get("model_type") in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def _parts(message: ChatMessage) -> dict[str, Any]:
    """One message as the processor's template takes it: image parts first, then the text."""
    from PIL import Image

    parts: list[dict[str, Any]] = []
    for attachment in message.attachments:
        if attachment.is_image:
            with Image.open(io.BytesIO(attachment.data)) as image:
                parts.append({"type": "image", "image": image.convert("RGB")})
    parts.append({"type": "text", "text": message.content})
    return {"role": message.role, "content": parts}


class VisionBackend:
    """Generates with a local image-text-to-text model; one turn at a time."""

    def __init__(self, model: Any, processor: Any, source: ModelSource, device: str) -> None:
        self._model = model
        self._processor = processor
        self._lock = threading.Lock()
        self.info = BackendInfo(
            name="local",
            model=source.label,
            device=device,
            capabilities=frozenset({"stream", "cancel", "images", "vision"}),
        )

    @classmethod
    def load(cls, options: BackendOptions, progress: ProgressCallback) -> VisionBackend:
        """Load the processor and the model from a local folder (slow; call from a worker thread)."""
        source = resolve_model(options.model)
        progress(f"Loading {source.label} (vision)…", 0.5)
        import transformers
        from transformers import AutoModelForImageTextToText, AutoProcessor

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        device = pick_device(options.device)
        dtype = pick_dtype(options.dtype, device)
        trust = {"trust_remote_code": options.trust_remote_code}  # always explicit (never a prompt)
        try:
            processor = AutoProcessor.from_pretrained(source.location, **trust)
            model = AutoModelForImageTextToText.from_pretrained(
                source.location, dtype=dtype, device_map=device, **trust
            )
        except Exception as exc:  # transformers raises many types; the user needs one line
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BackendLoadError(f"could not load vision model {source.label}: {first_line}") from exc
        model.eval()
        if not getattr(processor, "chat_template", None):
            raise BackendLoadError(f"{source.label} has no chat template; use an instruction-tuned model")
        return cls(model, processor, source, device)

    def encode(self, messages: Sequence[ChatMessage]) -> Any:
        """Input ids, attention mask and pixel values for the conversation, on the model's device."""
        encoded = self._processor.apply_chat_template(
            [_parts(m) for m in messages],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        )
        return encoded.to(self._model.device)

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, *, cancel: threading.Event
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
            encoded = self.encode(messages)
        except Exception as exc:
            yield Error(f"could not build the prompt: {exc}".splitlines()[0], repr(exc))
            return
        tokenizer = self._processor.tokenizer
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = _generation_kwargs(params)
        outcome: dict[str, Any] = {}

        def run_generate() -> None:
            try:
                if params.seed is not None:
                    set_seed(params.seed)
                outcome["ids"] = self._model.generate(
                    **encoded,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_cancel_criteria(cancel)]),
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                    **kwargs,
                )
            except Exception as exc:  # reported as an Error event below
                outcome["error"] = exc
                streamer.end()

        thread = threading.Thread(target=run_generate, name="vision-generate", daemon=True)
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
        if "error" in outcome:
            failure = outcome["error"]
            yield Error(
                f"generation failed: {type(failure).__name__}: {failure}".splitlines()[0], repr(failure)
            )
            return
        if pieces:
            yield TokenDelta("".join(pieces))
        prompt_tokens = int(encoded["input_ids"].shape[1])
        completion = int(outcome["ids"].shape[1]) - prompt_tokens
        total = time.perf_counter() - started
        limit = kwargs.get("max_new_tokens")
        reason: DoneReason = "cancelled" if cancel.is_set() else "stop"
        if reason == "stop" and limit is not None and completion >= limit:
            reason = "length"
        yield Done(
            reason,
            Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion,
                ttft_s=(first_token_at - started) if first_token_at is not None else None,
                tokens_per_s=completion / total if total > 0 and completion else None,
                total_s=total,
            ),
        )

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self._model = None


def _generation_kwargs(params: GenerationParams) -> dict[str, Any]:
    """Our parameters as ``generate`` arguments; ``None`` keeps the model's default."""
    kwargs: dict[str, Any] = {}
    if params.max_new_tokens is not None:
        kwargs["max_new_tokens"] = params.max_new_tokens
    if params.temperature is not None:
        kwargs["do_sample"] = params.temperature > 0
        if params.temperature > 0:
            kwargs["temperature"] = params.temperature
    for name in ("top_p", "top_k", "repetition_penalty"):
        value = getattr(params, name)
        if value is not None:
            kwargs[name] = value
    return kwargs
