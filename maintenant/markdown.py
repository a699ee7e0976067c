"""Operator markdown (postmortems, the announcement banner) as safe HTML for the public page.

CommonMark by markdown-it-py with raw HTML off: any HTML in the text comes out as escaped
text, never as markup. Links keep only http(s) and mailto targets (markdown-it already
refuses javascript:, vbscript:, file: and most data: URLs) and open nothing else. Images are
off: the page loads nothing from elsewhere (its CSP allows only data: images).
"""

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = {"http", "https", "mailto"}


def _safe_link(url):
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in SAFE_SCHEMES or (not scheme and not url.strip().startswith("//"))


def _renderer():
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.validateLink = _safe_link
    default_link_open = md.renderer.rules.get("link_open")

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        if default_link_open is not None:
            return default_link_open(tokens, idx, options, env)
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _renderer()
MAX_LENGTH = 100_000


def render_markdown(text):
    """``text`` (markdown) as HTML safe to put in the page: a Markup, "" for no text."""
    if not text:
        return Markup("")
    return Markup(_MD.render(text[:MAX_LENGTH]))
