"""Files the app writes are 0600 in 0700 folders: stat what the real writers create."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui import clipboard
from tui.cli import main
from tui.crash import write_report
from tui.exporting import write_export
from tui.preferences import preferences_path, remember_theme, remembered_theme
from tui.private_files import private_dir, replace_private_text, write_private_text
from tui.store.migrations import MIGRATIONS
from tui.store.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The most permissive usual umask, so a file is private only if we made it so."""
    old = os.umask(0o002)
    yield
    os.umask(old)


def test_history_database_and_its_side_files_are_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "new" / "deeper" / "history.sqlite3"
    store = open_store(db)
    assert store.create_conversation("private chat") is not None
    sides = [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]
    assert all(side.exists() for side in sides)  # WAL mode, checked while the store is open
    assert [mode(p) for p in (db, *sides)] == [0o600, 0o600, 0o600]
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    store.close()


def test_an_existing_world_readable_database_is_tightened_on_open(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t(x)")  # leaves -wal and -shm while this connection is open
    os.chmod(db, 0o644)
    os.chmod(db.with_name(db.name + "-wal"), 0o666)
    open_store(db).close()
    conn.close()
    assert mode(db) == 0o600
    read_only = tmp_path / "ro.sqlite3"
    open_store(read_only).close()
    os.chmod(read_only, 0o444)
    open_store(read_only).close()
    assert mode(read_only) == 0o400  # still read-only for its owner, no longer for others


def test_the_default_data_folder_is_made_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("INTERNLM_TUI_DB")
    folder = Path(os.environ["XDG_DATA_HOME"]) / "internlm-tui"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    open_store().close()
    assert mode(folder) == 0o700 and mode(folder / "history.sqlite3") == 0o600


def test_the_backup_taken_before_a_migration_is_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    conn.close()
    open_store(db).close()
    assert mode(tmp_path / "h.sqlite3.v1.bak") == 0o600


def test_exports_are_private_even_over_an_existing_file(tmp_path: Path, loose_umask: None) -> None:
    fresh = tmp_path / "chat.md"
    write_export(fresh, "hello")
    assert mode(fresh) == 0o600 and fresh.read_text() == "hello"
    old = tmp_path / "old.json"
    old.write_text("{}")
    os.chmod(old, 0o644)
    write_private_text(old, "[]")  # what -o PATH uses: an existing file is overwritten, made private
    assert mode(old) == 0o600 and old.read_text() == "[]"


def test_an_export_never_writes_through_a_planted_file_or_link(tmp_path: Path) -> None:
    """Export names are predictable: in a shared folder someone may plant the name first."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = tmp_path / "chat.json"
    planted.symlink_to(victim)
    with pytest.raises(OSError):
        write_export(planted, "[]")
    assert victim.read_text() == "precious"
    with pytest.raises(FileExistsError):
        write_export(victim, "[]")
    assert victim.read_text() == "precious"
    with pytest.raises(OSError):
        write_private_text(planted, "[]")  # not even -o follows a link
    assert victim.read_text() == "precious"


def test_cli_export_to_a_file_is_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "h.sqlite3"
    store = open_store(db)
    cid = store.create_conversation("t")
    assert cid is not None
    store.add_message(cid, "user", "secret plans")
    store.close()
    out = tmp_path / "out.md"
    assert main(["--export", str(cid), "--db", str(db), "-o", str(out)]) == 0
    assert mode(out) == 0o600 and "secret plans" in out.read_text()


def test_crash_reports_are_private(loose_umask: None) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        report = write_report(error, [])
    assert report is not None
    assert mode(report) == 0o600 and "boom" in report.read_text()
    assert mode(report.parent) == 0o700 and mode(report.parent.parent) == 0o700


def test_copy_file_and_preferences_are_private(loose_umask: None) -> None:
    copied = clipboard.write_copy_file("copied text")
    remember_theme("internlm-light")
    for path in (copied, preferences_path()):
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert remembered_theme() == "internlm-light"
    assert [p.name for p in preferences_path().parent.iterdir() if p.name.endswith(".tmp")] == []


def test_helpers(tmp_path: Path, loose_umask: None) -> None:
    folder = private_dir(tmp_path / "a" / "b")
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_dir(shared)  # a folder the user chose is left as it is
    assert mode(shared) == 0o755
    private_dir(shared, tighten_existing=True)
    assert mode(shared) == 0o700
    target = write_private_text(folder / "x.txt", "bad \ud800 char")
    assert target.read_text(encoding="utf-8") == "bad ? char"  # never an encoding error
    replace_private_text(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600


def test_writing_to_a_device_leaves_its_mode_alone() -> None:
    before = mode(Path("/dev/null"))
    write_private_text(Path("/dev/null"), "nothing")
    assert mode(Path("/dev/null")) == before
