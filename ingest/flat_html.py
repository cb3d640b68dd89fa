"""Text of HTML that the tree parsers cannot hold: markup nested deeper than libxml2 goes.

lxml (and so trafilatura) stops building the tree 255 elements deep and drops what lies
below, so a page wrapping its story in 5,000 `div`s came out as "no article text". This
reader does not build a tree: Python's streaming `html.parser` gives the text between the
tags, a line break at each block element, scripts, styles and the head left out. It is the
fallback for such pages only; a shallow page keeps trafilatura's verdict.
"""

from __future__ import annotations

from html.parser import HTMLParser

LXML_DEPTH = 255  # libxml2's nesting limit without XML_PARSE_HUGE: deeper elements are dropped
DEEP = 200  # nesting from which the tree parsers' result is not trusted
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_OPTIONAL_END = {"p", "li", "td", "th", "tr", "dt", "dd", "option", "thead", "tbody", "tfoot", "colgroup"}  # often left open
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer", "button", "select", "form"}
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "section",
    "article", "main", "header", "blockquote", "pre", "figure", "figcaption", "dd", "dt", "dl", "hr",
}


class _Flat(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = self.max_depth = 0
        self.skipping = 0  # inside this many skipped elements
        self.in_title = False
        self.title: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag in _VOID:
            return
        if tag not in _OPTIONAL_END:
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)
        if tag == "title":
            self.in_title = True
        elif tag in _SKIP:
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag not in _OPTIONAL_END:
            self.depth = max(self.depth - 1, 0)
        if tag == "title":
            self.in_title = False
        elif tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)


def deep_text(html: str) -> tuple[str, str, int]:
    """(title, text, nesting depth) of `html` read without a tree; the text is "" unless the
    markup nests at least DEEP levels (then the tree parsers may have lost part of it)."""
    flat = _Flat()
    try:
        flat.feed(html)
        flat.close()
    except (AssertionError, ValueError):  # html.parser rejects a few malformed declarations
        pass
    if flat.max_depth < DEEP:
        return "", "", flat.max_depth
    lines = (" ".join(line.split()) for line in "".join(flat.parts).splitlines())
    text = "\n\n".join(line for line in lines if line)
    return " ".join("".join(flat.title).split()), text, flat.max_depth
