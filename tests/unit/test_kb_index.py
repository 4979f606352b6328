"""The knowledge-base index on real folders and real SQLite files: search, updates, skips."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kb.errors import KbError
from kb.extract import Skipped
from kb.fuse import rrf
from kb.index import KnowledgeBase
from kb.output import dumps_hits
from testkit.hostile_text import HOSTILE
from testkit.kb import HashEmbedder, encrypted_pdf, text_pdf, write_docs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "docs")


def _open(folder: Path, tmp_path: Path, embedder: HashEmbedder | None = None) -> KnowledgeBase:
    return KnowledgeBase(folder, data_dir=tmp_path / "index", embedder=embedder)


def _paths(kb: KnowledgeBase, question: str, mode: str = "bm25") -> list[str]:
    return [hit.path for hit in kb.search(question, 5, mode)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question", "word", "line"),
    [
        ("部署", "部署", 8),  # a two-character Chinese word inside a sentence
        ("怎么部署模型", "部署模型", 8),
        ("設定", "設定", 12),  # Japanese
        ("ファイル", "ファイル", 12),
        ("모델", "모델", 16),  # Korean, with a particle attached in the text (모델을)
    ],
)
def test_cjk_words_inside_sentences_are_found(
    folder: Path, tmp_path: Path, question: str, word: str, line: int
) -> None:
    kb = _open(folder, tmp_path)
    kb.update()
    hits = kb.search(question, 3, "bm25")
    assert hits and hits[0].path == "guide/deploy.md"
    assert hits[0].first <= line <= hits[0].last
    assert word in hits[0].text


def test_english_questions_rank_the_right_file_and_lines(folder: Path, tmp_path: Path) -> None:
    kb = _open(folder, tmp_path)
    report = kb.update()
    assert report.added == 4
    top = kb.search("which port does the api server listen on", 3, "bm25")[0]
    assert (top.path, top.first, top.last) == ("guide/deploy.md", 3, 4)
    assert _paths(kb, "fine-tune with QLoRA")[0] == "guide/finetune.rst"
    assert _paths(kb, "camelids humming")[0] == "notes.txt"  # porter stemming: humming ~ hum
    assert _paths(kb, "basalt lava")[0] == "page.html"
    assert _paths(kb, "secret") == []  # script text is not indexed
    assert kb.search("the of and", 5) == []  # only stopwords
    assert kb.search('"; DROP TABLE zzz; -- NEAR( * ^ {title}:', 5) == []  # FTS syntax is never parsed


def test_incremental_update_modify_delete_rename_touch(folder: Path, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    kb = _open(folder, tmp_path, embedder)
    kb.update()
    assert kb.embed_pending() == kb.status().chunks
    embedded = embedder.encoded

    again = kb.update()
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 4)

    (folder / "notes.txt").write_text("Alpacas are smaller than llamas.\n", encoding="utf-8")
    (folder / "page.html").unlink()
    (folder / "guide" / "finetune.rst").rename(folder / "guide" / "training.rst")
    deploy = folder / "guide" / "deploy.md"
    os.utime(deploy, ns=(deploy.stat().st_atime_ns, deploy.stat().st_mtime_ns + 10**9))  # touched only
    report = kb.update()
    assert (report.added, report.changed, report.renamed, report.removed) == (0, 1, 1, 1)
    assert report.unchanged == 1  # the touched file: same hash, not re-read into passages
    assert kb.embed_pending() == 1  # only the changed file's one passage
    assert embedder.encoded == embedded + 1

    assert _paths(kb, "alpacas") == ["notes.txt"]
    assert _paths(kb, "camelids") == []
    assert _paths(kb, "basalt") == []
    assert _paths(kb, "QLoRA") == ["guide/training.rst"]
    assert _paths(kb, "QLoRA", "dense")[0] == "guide/training.rst"  # kept its vectors
    status = kb.status()
    assert (status.files, status.embedded) == (3, status.chunks)


def test_index_file_is_private_and_reopens(folder: Path, tmp_path: Path) -> None:
    kb = _open(folder, tmp_path)
    kb.update()
    kb.close()
    assert stat.S_IMODE(kb.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(kb.path.parent.stat().st_mode) == 0o700
    reopened = _open(folder, tmp_path)
    assert reopened.update().unchanged == 4
    assert _paths(reopened, "basalt") == ["page.html"]


def test_hybrid_fuses_both_rankings(folder: Path, tmp_path: Path) -> None:
    kb = _open(folder, tmp_path, HashEmbedder())
    kb.update()
    kb.embed_pending()
    hits = kb.search("lmdeploy server port", 3)
    assert hits[0].path == "guide/deploy.md"
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank is not None
    assert hits[0].score == pytest.approx(1 / 61 + 1 / (60 + hits[0].dense_rank))


def test_rrf_prefers_agreement() -> None:
    fused = rrf([["a", "b", "c"], ["c", "b", "d"]])
    assert [item for item, _ in fused][:2] == ["b", "c"] or [item for item, _ in fused][:2] == ["c", "b"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(2 / 62)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] > scores["a"] and scores["d"] < scores["a"]
    assert rrf([]) == []


def test_skipped_files_are_counted_by_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_docs(tmp_path / "docs", {"ok.md": "# Fine\n\nreadable text\n"})
    (folder / "latin1.txt").write_bytes("café".encode("latin-1"))
    (folder / "nul.md").write_bytes(b"text\x00binary")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    (folder / "locked.pdf").write_bytes(encrypted_pdf())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (folder / "real.pdf").write_bytes(text_pdf("Glaciers carve fjords"))
    (folder / "huge.txt").write_bytes(b"a" * (4 * 1024 * 1024 + 1))
    (folder / ".gitignore").write_text("build/\n*.log.md\n")
    (folder / "build").mkdir()
    (folder / "build" / "out.md").write_text("ignored")
    (folder / "x.log.md").write_text("ignored")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "a.md").write_text("hidden")
    (folder / "loop").symlink_to(folder)
    (folder / "outside.md").symlink_to(tmp_path / "secret.md")
    (tmp_path / "secret.md").write_text("private text elsewhere")
    (folder / "dangling.md").symlink_to(tmp_path / "nowhere")
    (folder / "denied.md").write_text("# Denied\n\nyou may not read me\n")
    os.mkfifo(folder / "pipe.md")

    real_open = os.open

    def deny(path: object, flags: int, *args: object) -> int:  # root reads anything: simulate EACCES
        if str(path).endswith("denied.md"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("kb.extract.os.open", deny)
    kb = _open(folder, tmp_path)
    report = kb.update()
    assert report.added == 2  # ok.md, real.pdf
    assert dict(report.skipped) == {
        "not UTF-8": 1,
        "binary": 1,
        "unsupported type": 1,
        "encrypted PDF": 1,
        "broken PDF": 1,
        "too large": 1,
        "ignored (.gitignore)": 2,
        "hidden folder": 1,
        "hidden file": 1,
        "link loop": 1,
        "link outside the folder": 1,
        "broken link or vanished": 1,
        "permission denied": 1,
        "not a regular file": 1,
    }
    assert kb.status().skipped == dict(report.skipped)
    assert _paths(kb, "glaciers fjords") == ["real.pdf"]
    assert _paths(kb, "private elsewhere") == []


def test_a_file_changing_while_read_is_skipped_then_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_docs(tmp_path / "docs", {"growing.md": "# Log\n\nfirst line\n"})
    real_fstat = os.fstat
    calls = {"n": 0}

    def fstat_then_append(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        calls["n"] += 1
        if calls["n"] == 1:  # another program appends between our two looks at the file
            with (folder / "growing.md").open("a") as handle:
                handle.write("appended meanwhile\n")
        return result

    monkeypatch.setattr("kb.extract.os.fstat", fstat_then_append)
    kb = _open(folder, tmp_path)
    assert dict(kb.update().skipped) == {"changed while reading": 1}
    assert kb.status().files == 0
    monkeypatch.setattr("kb.extract.os.fstat", real_fstat)
    assert kb.update().added == 1
    assert _paths(kb, "appended meanwhile") == ["growing.md"]


def test_missing_and_vanished_folders_are_errors_not_crashes(tmp_path: Path) -> None:
    with pytest.raises(KbError, match="does not exist"):
        _open(tmp_path / "nope", tmp_path)
    (tmp_path / "file.md").write_text("x")
    with pytest.raises(KbError, match="not a folder"):
        _open(tmp_path / "file.md", tmp_path)
    folder = write_docs(tmp_path / "docs")
    kb = _open(folder, tmp_path)
    kb.update()
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
    with pytest.raises(KbError, match="disappeared"):
        kb.update()
    assert _paths(kb, "basalt") == ["page.html"]  # the old index still answers


def test_hostile_names_and_contents_give_valid_safe_json(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    name = "\x1b]0;PWNED\x07\x9b2J.md"
    (folder / name).write_text(f"# Title {HOSTILE.replace(chr(0xD800), '')}\n\nvolcano {HOSTILE[:40]}\n")
    raw = os.fsencode(str(folder)) + b"/bad\xff-name.md"  # not UTF-8: Python sees a lone surrogate
    with open(raw, "wb") as handle:
        handle.write(b"volcano ash\n")
    kb = _open(folder, tmp_path)
    kb.update()
    hits = kb.search("volcano", 5, "bm25")
    assert len(hits) == 1
    assert kb.status().skipped == {"name not UTF-8": 1}
    text = dumps_hits(hits)
    for forbidden in ("\x1b", "\x07", "\x9b", "\x85"):
        assert forbidden not in text
    text.encode("utf-8")  # no lone surrogate left to break a UTF-8 stream
    decoded = json.loads(text)
    assert [item["path"] for item in decoded] == [name]
    assert all(set(item) == {"path", "lines", "score", "text"} for item in decoded)


def test_extract_skip_reason_is_an_exception_message() -> None:
    assert str(Skipped("binary")) == "binary"


def test_an_english_only_model_is_not_asked_about_chinese_questions(folder: Path, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    embedder.multilingual = False
    kb = _open(folder, tmp_path, embedder)
    kb.update()
    kb.embed_pending()
    before = embedder.encoded
    chinese = kb.search("怎么部署模型", 3)
    assert chinese[0].path == "guide/deploy.md" and chinese[0].dense_rank is None
    assert embedder.encoded == before  # the question was not embedded
    english = kb.search("lmdeploy server port", 3)
    assert english[0].dense_rank is not None and embedder.encoded == before + 1


def test_a_file_swapped_after_the_scan_for_a_huge_one_or_a_fifo_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan checked type and size a moment before the read: the read checks them again."""
    from kb.scan import MAX_TEXT_BYTES, scan

    folder = write_docs(tmp_path / "docs", {"big.md": "# small at first\n", "pipe.md": "# a file\n"})

    def scan_then_swap(root: Path) -> object:
        found = scan(root)
        grown = folder / "big.tmp"
        grown.write_text("words and more words\n" * (MAX_TEXT_BYTES // 20))
        grown.replace(folder / "big.md")
        (folder / "pipe.md").unlink()
        os.mkfifo(folder / "pipe.md")
        return found

    monkeypatch.setattr("kb.index.scan", scan_then_swap)
    index = _open(folder, tmp_path)
    report = index.update()
    assert dict(report.skipped) == {"too large": 1, "not a regular file": 1}
    assert index.status().files == 0
