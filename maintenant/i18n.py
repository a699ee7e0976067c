"""The page's languages: English and French, chosen per request.

A reader gets, in order: the language named by ``?lang=`` (a link can pin one), the best
match of their browser's Accept-Language, else the page's own language setting. Strings are
marked with ``_()`` (``gettext``) in templates and code; their translations live in
``maintenant/translations/<lang>/LC_MESSAGES/messages.po``, compiled to ``.mo`` files at start-up
(into the instance folder), so the repository holds no build output and there is no build
step.

    .venv/bin/pybabel extract -F babel.cfg -o messages.pot .
    .venv/bin/pybabel update -i messages.pot -d maintenant/translations
"""

import logging
import os

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import Babel, refresh

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
SOURCE = os.path.join(os.path.dirname(__file__), "translations")

babel = Babel()


def requested_language():
    """The ``?lang=`` of the request when it names a language the page has, else None."""
    if not has_request_context():
        return None
    lang = request.args.get("lang", "").strip().lower()
    return lang if lang in LANGUAGES else None


def chosen_language():
    """The language the request itself asks for (?lang=, else Accept-Language), or None when
    it asks for none we have. Reads no database: the page cache keys on it."""
    explicit = requested_language()
    if explicit:
        return explicit
    if has_request_context():
        return request.accept_languages.best_match(LANGUAGES)
    return None


def select_locale():
    return chosen_language() or page_language()


def page_language():
    """The page's own language (settings), the default for readers who ask for none we have."""
    try:
        from .services.settings import get_settings

        language = get_settings().language
    except Exception:  # noqa: BLE001 — no database yet (start-up, a broken connection)
        return DEFAULT_LANGUAGE
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def compile_translations(target):
    """Compile every ``.po`` under SOURCE into ``target`` (same layout), when newer.

    Returns:
        The number of catalogues compiled.
    """
    compiled = 0
    for language in os.listdir(SOURCE) if os.path.isdir(SOURCE) else ():
        po_path = os.path.join(SOURCE, language, "LC_MESSAGES", "messages.po")
        if not os.path.isfile(po_path):
            continue
        mo_dir = os.path.join(target, language, "LC_MESSAGES")
        mo_path = os.path.join(mo_dir, "messages.mo")
        if os.path.isfile(mo_path) and os.path.getmtime(mo_path) >= os.path.getmtime(po_path):
            continue
        os.makedirs(mo_dir, exist_ok=True)
        with open(po_path, "rb") as po_file:
            catalog = read_po(po_file, locale=language)
        partial = f"{mo_path}.{os.getpid()}.tmp"
        with open(partial, "wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)  # atomic: another process may be reading it
        compiled += 1
    return compiled


def init_app(app):
    """Compile the catalogues and let Flask-Babel pick each request's language."""
    target = os.path.join(app.instance_path, "translations")
    try:
        compile_translations(target)
    except OSError as error:  # a read-only instance folder: compile next to the sources
        log.warning("translations not compiled into %s (%s); using %s", target, error, SOURCE)
        target = SOURCE
        compile_translations(target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = target
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_locale)
    # The language is chosen afresh for each request, also when requests share an app
    # context (tests, tools): Flask-Babel keeps the choice on the app context.
    app.before_request(refresh)
