"""Knowledge-base test helpers: a small document folder and a deterministic embedder.

``HashEmbedder`` is a real (if crude) embedding: a bag of hashed words and CJK bigrams, so
passages sharing words with a question score higher. Unit and app tests use it to test
indexing, fusion and the chat without loading a neural model; the real packaged model runs in
``tests/slow``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kb.embed import Vectors
from kb.terms import bigrams, query_terms

DIM = 256

DOCS: dict[str, str] = {
    "guide/deploy.md": (
        "# Deploying\n"
        "\n"
        "Use lmdeploy serve api_server to expose the model over HTTP.\n"
        "The server listens on port 23333 by default.\n"
        "\n"
        "## 部署\n"
        "\n"
        "使用LMDeploy部署模型非常简单，只需要一条命令。\n"
        "\n"
        "## 設定\n"
        "\n"
        "設定ファイルを編集してから再起動します。\n"
        "\n"
        "## 모델\n"
        "\n"
        "모델을 배포하려면 서버를 시작하세요.\n"
    ),
    "guide/finetune.rst": (
        "Fine-tuning\n"
        "===========\n"
        "\n"
        "XTuner fine-tunes InternLM with QLoRA on a single GPU.\n"
        "Write a config file, then run xtuner train.\n"
    ),
    "notes.txt": "Llamas are South American camelids.\nThey hum when they are anxious.\n",
    "page.html": (
        "<html><head><title>t</title><script>var hidden = 'secret';</script></head>\n"
        "<body>\n"
        "<h1>Volcanoes</h1>\n"
        "<p>Lava flows downhill\n"
        "and cools into basalt.</p>\n"
        "</body></html>\n"
    ),
}


def write_docs(folder: Path, docs: dict[str, str] | None = None) -> Path:
    """Write ``docs`` (default ``DOCS``) under ``folder``; returns ``folder``."""
    for name, text in (DOCS if docs is None else docs).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


class HashEmbedder:
    """Hashed bag of words and CJK bigrams, L2-normalised; counts how many texts it embedded."""

    def __init__(self, name: str = "hash-bow") -> None:
        self.name = name
        self.multilingual = True
        self.encoded = 0

    def encode(self, texts: list[str]) -> Vectors:
        rows = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            words, _ = query_terms(text)
            for token in [*words, *bigrams(text)]:
                bucket = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")
                rows[i, bucket % DIM] += 1.0
            norm = float(np.linalg.norm(rows[i]))
            if norm:
                rows[i] /= norm
        self.encoded += len(texts)
        return rows


def text_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (ASCII) in Helvetica: a real file pypdf extracts text from."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 712 Td ({escaped}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted_pdf() -> bytes:
    """A PDF encrypted with a user password (pypdf writes it)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
