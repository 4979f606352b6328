"""A reply while it streams: Markdown drawn by one plain widget, in a box whose height its owner
sets.

Textual lays out the whole screen whenever a widget may have changed size, and mounting Markdown
blocks as they finish does that (twice: the blocks, then what they compose) every time. So while
a reply streams, nothing is mounted: this widget draws the text with the look the Markdown
widget will give it (``tui.markdown_look``: headings, paragraphs with inline styles, lists, code
fences), never parsing it as markup, and its height changes only when the text outgrows the room
its owner (``AssistantMessage``) gave it. Finished blocks are drawn once and kept; a new word
costs parsing and wrapping the one block still being written and repainting the rows that
changed (each row is rendered once and kept until it changes). The text is kept in pieces of
``SEGMENT_CHARS``, each drawn as a Markdown widget of its own will draw it: when the reply ends,
its owner cuts it into one box per piece and puts their Markdown in their place without a
visible change.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual

from tui.markdown_look import Look, markdown_blocks, markdown_lines
from tui.markdown_split import SEGMENT_CHARS, safe_split_point
from tui.widgets.laid_out_once import LaidOutOnce

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _same(a: Content, b: Content) -> bool:
    """Whether two lines draw the same (``Content`` equality compares the text only)."""
    return a is b or (a.plain == b.plain and a.spans == b.spans)


class StreamTail(LaidOutOnce):
    """Shows Markdown as ``Markdown`` would: ``finished`` blocks for good, then the block being
    written; ``rows`` says how many lines it takes."""

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
        self._pieces = [""]  # blocks that will not change (sanitised by the caller), by piece
        self._piece_drawn = False  # whether the last piece has drawn any row yet
        self._writing = ""  # the block still being written
        self._look_for: tuple[object, Look] | None = None  # the look, and the theme it is for
        # Drawn lines for a (width, look): the finished blocks (with the bottom margin of the
        # last), the block being written (with the blank rows between them), and both.
        self._finished_lines: tuple[object, list[Content], int | None] = (None, [], None)
        self._spans: list[tuple[int, int, int]] = []  # each drawn piece's rows and bottom margin
        self._writing_lines: tuple[object, list[Content]] = (None, [])
        self._all_lines: tuple[object, list[Content]] = (None, [])
        self._strips: dict[int, tuple[Content, Strip]] = {}  # rendered rows, kept until they change
        self._strips_key: object = None

    @property
    def text(self) -> str:
        """The Markdown source shown (already sanitised by the caller)."""
        return "".join(self._pieces) + self._writing

    @property
    def pieces(self) -> list[str]:
        """The finished text by piece: each drawn as a Markdown widget of its own would draw it
        (its first block's top margin in full), below the one before and its bottom margin."""
        return [piece for piece in self._pieces if piece]

    def cut(self) -> list[StreamTail]:
        """The finished pieces as finished tails of their own, drawn as here: the rows already
        drawn are handed over where they are known (re-parsing a long reply's pieces took about
        60 ms of UI time at 3,000 tokens)."""
        pieces = self.pieces
        key, lines, _ = self._finished_lines
        spans = self._spans if key is not None and len(self._spans) == len(pieces) else None
        tails: list[StreamTail] = []
        for index, text in enumerate(pieces):
            tail = StreamTail()
            tail._pieces = [text]
            if spans is not None:
                start, end, bottom = spans[index]
                tail._finished_lines = (key, lines[start:end], bottom)
                tail._spans = [(0, end - start, bottom)]
                tail._piece_drawn = True
            tail.add_class("-finished")
            tails.append(tail)
        return tails

    @property
    def bottom(self) -> int:
        """Blank rows the Markdown keeps under the last finished block (its bottom margin)."""
        width = self.content_region.width
        self.lines(width)
        return self._finished_lines[2] or 0 if width > 0 else 0

    def show(self, writing: str, *, finished: str = "") -> None:
        """Add ``finished`` blocks for good and show ``writing`` in place of the block shown as
        being written; repaints, never lays out again.

        Only the rows from the first that changed down are drawn and sent.
        """
        width = self.content_region.width
        old = self.lines(width)
        if finished:
            self._add_finished(finished, width)
        self._writing = writing
        self._writing_lines = self._all_lines = (None, [])
        new = self.lines(width)
        same = (row for row, (a, b) in enumerate(zip(old, new, strict=False)) if not _same(a, b))
        first = next(same, min(len(old), len(new)))
        if width <= 0:
            self.refresh()
        elif first < max(len(old), len(new)):
            self.refresh(Region(0, first, width, max(len(old), len(new)) - first))

    def _add_finished(self, blocks: str, width: int) -> None:
        """Add finished blocks, starting a new piece at the first safe cut once the last one
        holds ``SEGMENT_CHARS`` (where ``split_segments`` cuts the Markdown)."""
        while blocks:
            new_piece = self._piece_full()
            so_far = "" if new_piece else self._pieces[-1]
            cut = safe_split_point(so_far + blocks)
            take = len(blocks) if cut is None else cut - len(so_far)
            self._add_blocks(blocks[:take], width, new_piece=new_piece)
            blocks = blocks[take:]

    def _piece_full(self) -> bool:
        """Whether the next finished block starts a new piece."""
        return len(self._pieces[-1]) >= SEGMENT_CHARS

    def _add_blocks(self, blocks: str, width: int, *, new_piece: bool) -> None:
        """Draw only the new blocks when the finished ones are drawn for this width and look."""
        key, lines, bottom = self._finished_lines
        if new_piece:
            self._pieces.append(blocks)
            self._piece_drawn = False
        else:
            self._pieces[-1] += blocks
        self._all_lines = (None, [])
        if width <= 0 or key != self._key(width):
            self._finished_lines = (None, [], None)
            return
        # A piece's first block keeps its top margin, as in a widget of its own.
        above = bottom or 0 if self._piece_drawn else 0
        added, last = markdown_blocks(blocks, width, above=above, look=self._look())
        if last is not None:
            gap = [Content("")] * (bottom or 0) if lines else []
            drawn = lines + gap + added
            self._finished_lines = (key, drawn, last)
            start = self._spans.pop()[0] if self._piece_drawn else len(lines) + len(gap)
            self._spans.append((start, len(drawn), last))
            self._piece_drawn = True

    def _look(self) -> Look:
        """How the lines are drawn, worked out once per theme (every row asks)."""
        app = self.app
        theme = (app.theme, app.native_ansi_color)
        if self._look_for is None or self._look_for[0] != theme:
            look = Look(ansi=theme[1], dark=app.current_theme.dark, fence=self.get_visual_style("fence"))
            self._look_for = (theme, look)
        return self._look_for[1]

    def _key(self, width: int) -> tuple[int, Look]:
        return width, self._look()

    def lines(self, width: int) -> list[Content]:
        """The text drawn ``width`` cells wide, one ``Content`` a line (none for no text)."""
        if width <= 0:
            return []
        key = self._key(width)
        if self._all_lines[0] == key:
            return self._all_lines[1]
        look = key[1]
        if self._finished_lines[0] != key:
            drawn: list[Content] = []
            last: int | None = None
            self._spans = []
            for piece in self._pieces:
                piece_lines, piece_last = markdown_blocks(piece, width, look=look)
                self._piece_drawn = piece_last is not None
                if piece_last is None:
                    continue
                if drawn:
                    drawn += [Content("")] * (last or 0)
                self._spans.append((len(drawn), len(drawn) + len(piece_lines), piece_last))
                drawn += piece_lines
                last = piece_last
            self._finished_lines = (key, drawn, last)
            self._writing_lines = (None, [])
        _, finished, bottom = self._finished_lines
        if self._writing_lines[0] != key:
            writing: list[Content] = []
            if self._writing.strip():
                # The block being written starts the next piece once the last one is full.
                above = bottom or 0 if self._piece_drawn and not self._piece_full() else 0
                writing = markdown_lines(self._writing, width, above=above, look=look)
                if finished and writing:
                    writing = [Content("")] * (bottom or 0) + writing
            self._writing_lines = (key, writing)
        self._all_lines = (key, finished + self._writing_lines[1])
        return self._all_lines[1]

    def rows(self, width: int) -> int:
        """Lines the text takes at ``width`` cells (0 for no text)."""
        return len(self.lines(width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The rows of the text and the blank rows the Markdown keeps under it (the height of a
        finished piece, class ``-finished``)."""
        lines = self.lines(width)
        return len(lines) + (self._finished_lines[2] or 0) if lines else 0

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._look_for = None  # a new theme: every row is drawn again
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        """One row, rendered when it changed: a redraw renders the rows it repaints, not the piece."""
        width = self.content_region.width
        lines = self.lines(width)
        style = self.visual_style
        key = (width, style)
        if key != self._strips_key:
            self._strips_key = key
            self._strips.clear()
        if y >= len(lines):
            return Strip.blank(width, style.rich_style)
        line = lines[y]
        kept = self._strips.get(y)
        if kept is not None and _same(kept[0], line):
            return kept[1]
        strips = Visual.to_strips(self, line, width, 1, style)
        strip = strips[0] if strips else Strip.blank(width, style.rich_style)
        self._strips[y] = (line, strip)
        return strip
