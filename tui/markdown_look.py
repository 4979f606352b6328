"""Draws Markdown as lines of styled text that look like Textual's ``Markdown`` widget.

A reply that streams is shown by plain widgets (``StreamTail``), because Markdown widgets that
grow, or are mounted block by block, make Textual lay out the whole screen each time. Drawn as raw text
it would show ``**``, ``- `` and fences until it became Markdown; drawn here it already has the
look the Markdown will give it (paragraphs with bold, italic, struck and code spans, headings,
lists, code fences), so when the Markdown takes its place no cell changes and the user sees no
jump. Blocks it does not know (quotes, tables, rules, HTML) are shown as their source while they
are being written; once finished, the reply puts them in a Markdown widget (``drawn_runs``).

Inline styles are named (``.strong``, ``.h2``, ``.fence``...) and resolved by the widget that
draws the lines, from its component classes; see ``tui/widgets/stream_tail.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from textual.content import Content, Span
from textual.highlight import ANSIDarkHighlightTheme, ANSILightHighlightTheme, HighlightTheme, highlight
from textual.style import Style

from tui.markdown_split import lines_of

_PARSER = MarkdownIt("gfm-like")  # what textual.widgets.Markdown parses with
BULLETS = ("• ", "▪ ", "‣ ", "⭑ ", "◦ ")  # textual.widgets.Markdown.BULLETS
_INLINE_STYLES = {"em_open": ".em", "strong_open": ".strong", "s_open": ".s"}
_SPACES = re.compile(r"\s+")
_DRAWN = frozenset({"paragraph", "heading", "fence", "code_block", "bullet_list", "ordered_list"})


@dataclass(frozen=True)
class Block:
    """Lines of one block, with the blank rows Textual keeps above and below it (margins)."""

    lines: list[Content]
    top: int = 0
    bottom: int = 1


def inline(node: SyntaxTreeNode | None) -> Content:
    """An inline node as styled text, as ``MarkdownBlock._token_to_content`` builds it."""
    if node is None:
        return Content("")
    parts: list[str] = []
    spans: list[Span] = []
    opened: list[tuple[str, int]] = []
    position = 0

    def add(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += len(text)

    for child in node.token.children or [] if node.token else []:
        kind = child.type
        if kind == "text":
            add(_SPACES.sub(" ", child.content))
        elif kind == "hardbreak":
            add("\n")
        elif kind == "softbreak":
            add(" ")
        elif kind == "code_inline":
            spans.append(Span(position, position + len(child.content), ".code_inline"))
            add(child.content)
        elif kind == "image":
            add("🖼  " + (f"({child.attrs.get('alt', '')})" if child.attrs.get("alt") else ""))
        elif kind in _INLINE_STYLES:
            opened.append((_INLINE_STYLES[kind], position))
        elif kind in ("em_close", "strong_close", "s_close") and opened:
            style, start = opened.pop()
            spans.append(Span(start, position, style))
    return Content("".join(parts), spans=spans)


def _wrap(content: Content, width: int) -> list[Content]:
    return content.wrap(max(1, width)) if content.plain else [Content("")]


def _heading(node: SyntaxTreeNode, width: int) -> Block:
    level = int(node.tag[1:]) if node.tag[1:].isdigit() else 1
    text = inline(node.children[0] if node.children else None).stylize(f".h{level}")
    lines = (
        text.wrap(max(1, width), align="center" if level == 1 else "left") if text.plain else [Content("")]
    )
    return Block(lines, top=2 if level <= 2 else 1, bottom=1)


@dataclass(frozen=True)
class Look:
    """How the terminal is drawn: in its own ANSI colours (fences then have no margin and no
    indent, as Textual draws them), whether the theme is dark, and the fence's style. That one
    is best given resolved: a component style with a translucent background (``white 30%``)
    is not blended as the fence widget blends it."""

    ansi: bool = False
    dark: bool = True
    fence: str | Style = ".fence"


TRUE_COLOUR = Look()
"""The usual look: a theme in full colour, dark."""


def _fence(node: SyntaxTreeNode, width: int, look: Look) -> Block:
    theme: type[HighlightTheme] = HighlightTheme
    if look.ansi:
        theme = ANSIDarkHighlightTheme if look.dark else ANSILightHighlightTheme
    code = highlight(node.content.rstrip(), language=node.info or None, theme=theme)
    indent = 0 if look.ansi else 2
    inner = max(1, width - 2 * indent)
    rows = (
        [Content("")]
        + [Content(" " * indent) + line[:inner].stylize_before(".code") for line in code.split("\n")]
        + [Content("")]
    )
    if not look.ansi:  # the fence's background fills its rows
        rows = [(row + " " * max(0, width - row.cell_length)).stylize_before(look.fence) for row in rows]
    margin = 0 if look.ansi else 1
    return Block(rows, top=margin, bottom=margin)


def _list(node: SyntaxTreeNode, width: int, look: Look, depth: int) -> Block:
    items = [child for child in node.children if child.type == "list_item"]
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1) or 1) if ordered else 1
    size = max((len(f"{number}. ") for number in range(start, start + len(items))), default=0)
    lines: list[Content] = []
    for number, item in enumerate(items, start):
        symbol = f"{number}. ".rjust(size + 1) if ordered else BULLETS[depth % len(BULLETS)]
        bullet = Content(symbol).stylize(".bullet")
        body: list[Content] = []
        for child in item.children:
            body += _block(child, width - len(symbol), look, depth + 1, nested=True).lines
        body = body or [Content("")]
        pad = Content(" " * len(symbol))
        lines += [(bullet if index == 0 else pad) + line for index, line in enumerate(body)]
    return Block(lines, top=0, bottom=0 if depth else 1)


def _block(node: SyntaxTreeNode, width: int, look: Look, depth: int = 0, *, nested: bool = False) -> Block:
    if node.type == "paragraph":
        text = inline(node.children[0] if node.children else None)
        return Block(_wrap(text, width), bottom=0 if nested else 1)
    if node.type == "heading":
        return _heading(node, width)
    if node.type in ("fence", "code_block"):
        return _fence(node, width, look)
    if node.type in ("bullet_list", "ordered_list"):
        return _list(node, width, look, depth)
    source = "".join(token.content for token in node.to_tokens() if token.type in ("inline", "html_block"))
    return Block(_wrap(Content(source), width), top=1, bottom=1)


def markdown_lines(text: str, width: int, *, above: int = 0, look: Look = TRUE_COLOUR) -> list[Content]:
    """``text`` drawn ``width`` cells wide, one ``Content`` a line, with no trailing blank rows.

    ``above`` is the blank rows already drawn above (the bottom margin of the block before):
    margins collapse, so the first block only adds what it needs beyond them.
    """
    return markdown_blocks(text, width, above=above, look=look)[0]


def markdown_blocks(
    text: str, width: int, *, above: int = 0, look: Look = TRUE_COLOUR
) -> tuple[list[Content], int | None]:
    """``markdown_lines`` and the bottom margin of the last block (None for no block), which
    the block drawn after it collapses with (``above``)."""
    lines: list[Content] = []
    bottom: int | None = None  # the bottom margin of the block before, once there is one
    source = [line.rstrip("\n") for line in lines_of(text)]
    for node in SyntaxTreeNode(_PARSER.parse(text)).children:
        if node.type in _DRAWN or node.map is None:
            block = _block(node, width, look)
        else:  # a quote, table, rule or HTML: its source lines as they are
            start, end = node.map
            block = Block(_wrap(Content("\n".join(source[start:end])), width), top=1, bottom=1)
        gap = max(above, block.top) - above if bottom is None else max(bottom, block.top)
        lines += [Content("")] * gap + block.lines
        bottom = block.bottom
    return lines, bottom


def _drawn_as_markdown_draws_it(node: SyntaxTreeNode) -> bool:
    """Whether this module draws a top-level block with the cells (and rows) the Markdown gives
    it: a list only when its items hold nothing but paragraphs and lists (a quote, fence or
    table inside an item is drawn flattened here, a few rows shorter)."""
    if node.type in ("bullet_list", "ordered_list"):
        return all(
            child.type == "paragraph"
            or (child.type in ("bullet_list", "ordered_list") and _drawn_as_markdown_draws_it(child))
            for item in node.children
            for child in item.children
        )
    return node.type in _DRAWN


def drawn_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` (whole blocks) cut into runs of blocks this module draws as the Markdown does
    (True) and of blocks it does not (quotes, tables, rules, HTML, lists holding them: False), in
    order; together they are ``text``."""
    starts = [0]
    for line in lines_of(text):
        starts.append(starts[-1] + len(line))
    runs: list[tuple[str, bool]] = []
    begin, drawn = 0, True
    for node in SyntaxTreeNode(_PARSER.parse(text)).children:
        if node.map is None:
            continue
        kind = _drawn_as_markdown_draws_it(node)
        if kind != drawn:
            at = starts[min(node.map[0], len(starts) - 1)]
            if at > begin:
                runs.append((text[begin:at], drawn))
            begin, drawn = at, kind
    if begin < len(text) or not runs:
        runs.append((text[begin:], drawn))
    return runs
