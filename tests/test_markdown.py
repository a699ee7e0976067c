"""Operator markdown comes out as inert HTML."""

import pytest

from maintenant.markdown import render_markdown


def test_markdown_becomes_html():
    html = render_markdown("# Cause\n\nA **bad** deploy; see [the log](https://example.com/x).")
    assert "<h1>Cause</h1>" in html and "<strong>bad</strong>" in html
    assert '<a href="https://example.com/x" rel="nofollow noopener noreferrer">the log</a>' in html


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href='javascript:alert(1)'>x</a>",
    "![x](https://tracker.example/pixel.png)",
    '<iframe src="https://evil.example"></iframe>',
])
def test_nothing_active_survives(hostile):
    html = str(render_markdown(hostile))
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert 'href="javascript' not in html.lower() and 'href="vbscript' not in html.lower()
    assert 'href="data:' not in html.lower()
    assert "onerror=" not in html or "&lt;img" in html  # shown as text, not markup


def test_no_text_is_no_html():
    assert render_markdown("") == "" and render_markdown(None) == ""
