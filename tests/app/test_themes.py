"""Themes: bundled ones load, user ones add or fail softly, a choice is remembered, 16 colours get ANSI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.color import Color

from testkit.app import ready_screen, scripted_app
from themes import BUNDLED_DIR, ThemeError, load_catalog, load_theme
from tui.preferences import remembered_theme
from tui.settings import AppSettings


def test_every_bundled_theme_loads() -> None:
    for path in BUNDLED_DIR.glob("*.toml"):
        assert load_theme(path).name == path.stem


def test_the_basic_theme_uses_only_the_16_ansi_colours() -> None:
    theme = load_theme(BUNDLED_DIR / "internlm-ansi.toml")
    assert theme.ansi
    colours = [getattr(theme, name) for name in ("primary", "secondary", "accent", "error", "background")]
    colours += list(theme.variables.values())
    for value in colours:
        assert Color.parse(value).ansi is not None, value


def test_user_theme_added_and_broken_one_reported(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#ff0000"\n', encoding="utf-8")
    (tmp_path / "broken.toml").write_text('primary = "not a colour"\n', encoding="utf-8")
    catalog = load_catalog(tmp_path)
    assert "mine" in catalog.themes and catalog.names.index("mine") < catalog.names.index("textual-dark")
    assert len(catalog.problems) == 1 and "broken.toml" in catalog.problems[0]
    assert "is not a colour" in catalog.problems[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('primary = "#fff"\nshiny = true\n', "unknown key 'shiny'"),
        ('secondary = "#fff"\n', "primary colour is required"),
        ('primary = "#fff"\ndark = "yes"\n', "dark must be true or false"),
        ("primary = \n", "line 1"),
    ],
)
def test_bad_theme_file(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThemeError, match=reason):
        load_theme(path)


def test_user_theme_from_the_config_folder_is_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cfg" / "internlm-tui" / "themes"
    folder.mkdir(parents=True)
    (folder / "ocean.toml").write_text('primary = "#0077be"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    app, _ = scripted_app(settings=AppSettings(theme="ocean"))

    async def scenario() -> None:
        async with app.run_test() as pilot:
            await ready_screen(pilot)
            assert app.theme == "ocean"

    asyncio.run(scenario())


def test_a_theme_picked_in_the_app_is_used_next_time() -> None:
    first, _ = scripted_app()

    async def pick() -> None:
        async with first.run_test() as pilot:
            await ready_screen(pilot)
            assert first.theme == "internlm-dark"
            assert remembered_theme() is None  # starting is not choosing
            first.theme = "high-contrast"
            await pilot.pause(0.1)

    asyncio.run(pick())
    assert remembered_theme() == "high-contrast"
    second, _ = scripted_app()

    async def reopen() -> None:
        async with second.run_test() as pilot:
            await ready_screen(pilot)
            assert second.theme == "high-contrast"

    asyncio.run(reopen())


@pytest.mark.parametrize(("term", "expected"), [("linux", "internlm-ansi"), ("screen", "internlm-ansi")])
def test_16_colour_terminals_start_with_the_ansi_theme(
    monkeypatch: pytest.MonkeyPatch, term: str, expected: str
) -> None:
    monkeypatch.setenv("TERM", term)
    app, _ = scripted_app()

    async def scenario() -> None:
        async with app.run_test() as pilot:
            await ready_screen(pilot)
            assert app.theme == expected

    asyncio.run(scenario())
