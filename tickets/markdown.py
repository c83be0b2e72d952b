"""Markdown for descriptions and comments, rendered once at write time and sanitised."""

import threading

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip


EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
# One converter per thread, reset before each use: building one (its extensions and
# processors) cost three times the conversion of a short description.
_converters = threading.local()


def render_markdown(text: str) -> str:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = markdown_lib.Markdown(extensions=EXTENSIONS)
    html = converter.reset().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
