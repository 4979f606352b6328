"""The unfinished end of a streaming reply: Markdown drawn by one plain widget, in a box whose
height its owner sets.

Textual lays out the whole screen whenever a widget may have changed size, and a Markdown block
that grows by a word does exactly that on every redraw. This widget only repaints: it draws the
block still being written with the look the Markdown widget will give it (``tui.markdown_look``:
headings, paragraphs with inline styles, lists, code fences), never parsing it as markup, and its
height changes only when the text outgrows the room its owner (``AssistantMessage``) gave it. A
new word then costs parsing and wrapping one block and repainting the rows that changed; when
the block later moves into the Markdown, its cells stay as they were.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget

from tui.markdown_look import Look, markdown_lines

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _same(a: Content, b: Content) -> bool:
    """Whether two lines draw the same (``Content`` equality compares the text only)."""
    return a.plain == b.plain and a.spans == b.spans


class StreamTail(Widget):
    """Shows Markdown ``text`` as ``Markdown`` would; ``rows`` says how many lines it takes."""

    COMPONENT_CLASSES = {"em", "strong", "s", "code_inline", "bullet", "fence", "code", *_HEADINGS}
    """The looks ``tui.markdown_look`` names, styled as Textual's Markdown styles its blocks."""

    DEFAULT_CSS = (
        """
    StreamTail {
        color: $foreground;
        &:dark > .code_inline { background: $warning 10%; color: $text-warning 95%; }
        &:light > .code_inline { background: $error 5%; color: $text-error 95%; }
        &:ansi > .code_inline { background: ansi_default; }
        & > .em { text-style: italic; }
        & > .strong { text-style: bold; }
        & > .s { text-style: strike; }
        & > .bullet { color: $text-primary; }
        &:light > .bullet { color: $text-secondary; }
        & > .fence { background: black 10%; }
        &:light > .fence { background: white 30%; }
        &:ansi > .fence { background: transparent; }
        & > .code { color: rgb(210,210,210); }
    """
        + "".join(
            f"    & > .{h} {{ color: $markdown-{h}-color; background: $markdown-{h}-background;"
            f" text-style: $markdown-{h}-text-style; }}\n"
            for h in _HEADINGS
        )
        + "}\n"
    )

    def __init__(self) -> None:
        super().__init__(classes="tail")
        self._text = ""
        self._above = 0
        self._lines: tuple[int, list[Content]] = (0, [])  # (width, lines) of the text shown

    @property
    def text(self) -> str:
        """The Markdown source shown (already sanitised by the caller)."""
        return self._text

    def show(self, text: str, *, above: int = 0) -> None:
        """Show ``text`` in place of what was there; repaints, never lays out again.

        ``above`` is how many blank rows the Markdown above already ends with (its last block's
        margin). Only the rows from the first that changed down are drawn and sent.
        """
        width = self.content_region.width
        old = self.lines(width)
        self._text, self._above, self._lines = text, above, (0, [])
        new = self.lines(width)
        same = (row for row, (a, b) in enumerate(zip(old, new, strict=False)) if not _same(a, b))
        first = next(same, min(len(old), len(new)))
        if width <= 0:
            self.refresh()
        elif first < max(len(old), len(new)):
            self.refresh(Region(0, first, width, max(len(old), len(new)) - first))

    def lines(self, width: int) -> list[Content]:
        """The text drawn ``width`` cells wide, one ``Content`` a line (none for no text)."""
        if not self._text.strip() or width <= 0:
            return []
        if self._lines[0] != width:
            ansi, dark = self.app.native_ansi_color, self.app.current_theme.dark
            look = Look(ansi=ansi, dark=dark, fence=self.get_visual_style("fence"))
            self._lines = (width, markdown_lines(self._text, width, above=self._above, look=look))
        return self._lines[1]

    def rows(self, width: int) -> int:
        """Lines the text takes at ``width`` cells (0 for no text)."""
        return len(self.lines(width))

    def render(self) -> Content:
        return Content("\n").join(self.lines(self.content_region.width))
