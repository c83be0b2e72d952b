"""Descriptions and comments as sanitised HTML; the converter is reused between calls."""

from tickets.markdown import render_markdown


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown("**Printer** on fire\n\n<script>alert(1)</script>")
    assert "<strong>Printer</strong>" in html
    assert "<script>" not in html


def test_a_reused_converter_forgets_the_previous_text():
    # A link reference defined in one description must not resolve in the next one.
    render_markdown("See [the manual][m].\n\n[m]: https://example.com/manual")
    assert "example.com" not in render_markdown("See [the manual][m].")
