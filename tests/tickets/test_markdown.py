"""Descriptions and comments as sanitised HTML; the converter is reused between calls;
plain text is written directly, as Markdown and nh3 would write it."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets import markdown
from tickets.markdown import _render, render_markdown


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown("**Printer** on fire\n\n<script>alert(1)</script>")
    assert "<strong>Printer</strong>" in html
    assert "<script>" not in html


def test_a_reused_converter_forgets_the_previous_text():
    # A link reference defined in one description must not resolve in the next one.
    render_markdown("See [the manual][m].\n\n[m]: https://example.com/manual")
    assert "example.com" not in render_markdown("See [the manual][m].")


# Lines of letters, digits and the punctuation plain text may hold, mixed with the
# characters that start Markdown's blocks and inlines, apart by line and paragraph
# breaks: texts the direct path takes and texts it must leave to Markdown.
_LINE = st.text(alphabet="Ab1 .,;:!?'\"()/-=+*#>_`&<|~", max_size=15)
_LINES = st.lists(
    st.tuples(st.sampled_from(["A", ""]), _LINE, st.sampled_from(["\n", "\n\n", " \n", "\n \n"])),
    min_size=1,
    max_size=5,
)
_TEXT = _LINES.map(lambda lines: "".join(a + b + c for a, b, c in lines).rstrip("\n"))


# Texts that look plain but are Markdown: lists, a hard break (two spaces), emphasis, a
# setext heading, code, a table, HTML and entities.
_TRAPS = [
    "1. Printer", "- Printer", "Printer  \njammed", "The *printer*", "Printer\n=", "# Printer",
    "> Printer", "    Printer", "Printer\n\n    jammed", "A\n```\nb\n```", "A | B\n--|--\nc | d",
    "An _urgent_ one", "A & B", "A <b>B</b>", "Printer\\", "~~gone~~", "Printer\r\njammed",
]  # fmt: skip


@pytest.mark.parametrize("text", _TRAPS)
def test_markdown_that_looks_plain_is_left_to_markdown(text):
    assert render_markdown(text) == _render(text)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT)
def test_plain_text_is_written_as_markdown_and_nh3_would(text):
    assert render_markdown(text) == _render(text)


def test_plain_text_takes_the_direct_path(monkeypatch):
    def unused(text: str) -> str:
        raise AssertionError("Markdown was run for plain text")

    monkeypatch.setattr(markdown, "_render", unused)
    text = 'The printer on floor 2 (room 2.14) says: "paper jam".\nIt\'s new/urgent!\n\nThanks'
    assert render_markdown(text) == (
        '<p>The printer on floor 2 (room 2.14) says: "paper jam".<br>\nIt\'s new/urgent!</p>'
        "\n<p>Thanks</p>"
    )
