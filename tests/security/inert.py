"""Checks that a document carries operator text only as text: the hostile payloads, and
parsers that find live markup in HTML, XML feeds and SVG."""

import base64
import hashlib
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

# One payload per way out of a context: element, attribute, URL, CDATA, template, style.
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "]]>",
    "{{7*7}}",
    "</style><script>alert(2)</script>",
    "' onmouseover='alert(3)",
)
PAYLOAD = " ".join(PAYLOADS)
# For fields of at most 60 characters (footer link labels).
SHORT = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
# Scheme-less: what is left after a parser drops whitespace and control characters.
JAVASCRIPT_URL = re.compile(r"^\s*j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:", re.I)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, {attribute: value}, inline text for script/style)
        self.text = []
        self._open = None

    def handle_starttag(self, tag, attrs):
        self.elements.append([tag, dict(attrs), ""])
        self._open = self.elements[-1] if tag in ("script", "style") else None

    def handle_startendtag(self, tag, attrs):
        self.elements.append([tag, dict(attrs), ""])

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data
        else:
            self.text.append(data)


def csp_hashes(policy, directive):
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == directive:
            return set(words[1:])
    return set()


def sha256_source(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def assert_inert_html(html, policy=None):
    """``html`` has no markup but its own: every script and style is one the CSP allows by
    hash, no element has an event handler or a javascript: URL, no <img src=x>.

    Returns:
        The page's text as a reader sees it (to check the payload is shown, as text).
    """
    parser = _Elements()
    parser.feed(html)
    parser.close()
    scripts = csp_hashes(policy or "", "script-src")
    styles = csp_hashes(policy or "", "style-src")
    for tag, attrs, inline in parser.elements:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"<{tag}> has event handlers {handlers}: {attrs}"
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES and value:
                assert not JAVASCRIPT_URL.match(value), f"<{tag} {name}={value!r}>"
        assert not (tag == "img" and attrs.get("src") == "x"), f"an injected <img>: {attrs}"
        if tag == "script":
            assert "src" not in attrs, f"a script from elsewhere: {attrs}"
            if policy is not None:
                assert sha256_source(inline) in scripts, f"a script the CSP does not allow: " \
                                                         f"{inline[:200]!r}"
        if tag == "style" and policy is not None:
            assert sha256_source(inline) in styles, f"a style the CSP does not allow: " \
                                                    f"{inline[:200]!r}"
    return " ".join(parser.text)


def xml_tree(body):
    """The parsed document: a payload that broke out of its element would not parse."""
    return ElementTree.fromstring(body)


def local(name):
    return name.rsplit("}", 1)[-1]


def assert_inert_xml(root):
    """No script or foreignObject element, no event handler, no javascript: link, anywhere."""
    for element in root.iter():
        assert local(element.tag) not in ("script", "foreignObject"), element.tag
        for name, value in element.attrib.items():
            assert not local(name).startswith("on"), (element.tag, name)
            if local(name) in ("href", "src"):
                assert not JAVASCRIPT_URL.match(value), (element.tag, name, value)
